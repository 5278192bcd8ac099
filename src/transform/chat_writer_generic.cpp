// GENERIC ChatDetails (Llama, Grok, Gemini, OpenAI models...): OpenAI's shape in OCI's
// spelling.

#include "chat_writer.hpp"

namespace ogp::transform::detail {

namespace {

void write_messages(json_writer& w, const chat_request& req)
{
    w.Key("messages");
    w.StartArray();
    for (const chat_message& m : req.messages) {
        w.StartObject();
        w.Key("role");
        switch (m.role) {
            case chat_role::system:
                w.String("SYSTEM");
                break;
            case chat_role::developer:
                w.String("DEVELOPER");
                break;
            case chat_role::user:
                w.String("USER");
                break;
            case chat_role::assistant:
                w.String("ASSISTANT");
                break;
            case chat_role::tool:
            case chat_role::other:  // refused by validation
                w.String("TOOL");
                w.Key("toolCallId");
                write_string(w, m.tool_call_id);
                break;
        }
        if (m.role == chat_role::assistant) {
            // Text (null beside tool calls) plus flat tool calls.
            w.Key("content");
            if (m.content.empty()) {
                w.Null();
            } else {
                write_parts(w, m.content, "IMAGE");
            }
            if (!m.tool_calls.empty()) {
                w.Key("toolCalls");
                w.StartArray();
                for (const auto& tc : m.tool_calls) {
                    w.StartObject();
                    if (!tc.id.empty()) {
                        w.Key("id");
                        write_string(w, tc.id);
                    }
                    w.Key("type");
                    w.String("FUNCTION");
                    w.Key("name");
                    write_string(w, tc.name);
                    w.Key("arguments");
                    write_string(w, tc.arguments);
                    w.EndObject();
                }
                w.EndArray();
            }
        } else {
            w.Key("content");
            write_parts(w, m.content, "IMAGE");
        }
        if (!m.name.empty() && m.role != chat_role::tool) {
            w.Key("name");
            write_string(w, m.name);
        }
        w.EndObject();
    }
    w.EndArray();
}

void write_tools(json_writer& w, const chat_request& req)
{
    w.Key("tools");
    w.StartArray();
    for (const chat_tool& t : req.tools) {
        if (t.type != chat_tool::kind::function) {
            continue;
        }
        w.StartObject();
        w.Key("type");
        w.String("FUNCTION");
        w.Key("name");
        write_string(w, t.name);
        w.Key("description");
        write_string(w, t.description);
        w.Key("parameters");
        json::write_value(w, t.schema);
        w.EndObject();
    }
    w.EndArray();
}

void write_web_search(json_writer& w, const chat_web_search& ws)
{
    w.Key("webSearchOptions");
    w.StartObject();
    if (!ws.search_context_size.empty()) {
        w.Key("searchContextSize");
        write_string(w, to_upper(ws.search_context_size));
    }
    if (ws.has_location) {
        w.Key("userLocation");
        w.StartObject();
        const std::pair<const char*, std::string_view> loc[] = {{"city", ws.city},
                                                                {"region", ws.region},
                                                                {"country", ws.country},
                                                                {"timezone", ws.timezone}};
        for (const auto& [k, v] : loc) {
            if (!v.empty()) {
                w.Key(k);
                write_string(w, v);
            }
        }
        w.EndObject();
    }
    w.EndObject();
}

}  // namespace

void write_chat_generic(json_writer& w, const chat_request& req, const config& cfg)
{
    write_messages(w, req);
    // tool_choice and tools go only beside function tools.
    if (req.has_function_tools) {
        if (req.tool_choice) {
            static const char* const types[] = {"AUTO", "NONE", "REQUIRED", "FUNCTION"};
            w.Key("toolChoice");
            w.StartObject();
            w.Key("type");
            w.String(types[static_cast<int>(req.tool_choice->type)]);
            if (req.tool_choice->type == chat_tool_choice::kind::function) {
                w.Key("name");
                write_string(w, req.tool_choice->function_name);
            }
            w.EndObject();
        }
        write_tools(w, req);
    }
    if (req.parallel_tool_calls) {
        w.Key("isParallelToolCalls");
        w.Bool(*req.parallel_tool_calls);
    }
    if (req.response_format) {
        write_response_format(w, *req.response_format, true);
    }
    write_generation(w, req, cfg, true);
    if (req.n && *req.n > 1) {
        w.Key("numGenerations");
        w.Int64(*req.n);
    }
    if (req.logprobs) {
        w.Key("logProbs");
        w.Int64(req.top_logprobs.value_or(0) > 0 ? *req.top_logprobs : 1);
    }
    if (req.logit_bias != nullptr) {
        w.Key("logitBias");
        json::write_value(w, *req.logit_bias);
    }
    if (!req.reasoning_effort.empty()) {
        w.Key("reasoningEffort");
        write_string(w, req.reasoning_effort);
    }
    if (!req.verbosity.empty()) {
        w.Key("verbosity");
        write_string(w, req.verbosity);
    }
    if (!req.service_tier.empty()) {
        w.Key("serviceTier");
        write_string(w, req.service_tier);
    }
    if (req.metadata != nullptr) {
        w.Key("metadata");
        json::write_value(w, *req.metadata);
    }
    if (req.prediction) {
        // `{type: content, content}` → StaticContent.
        w.Key("prediction");
        w.StartObject();
        w.Key("type");
        w.String("CONTENT");
        w.Key("content");
        write_parts(w, *req.prediction, "IMAGE");
        w.EndObject();
    }
    if (req.web_search) {
        write_web_search(w, *req.web_search);
    }
}

}  // namespace ogp::transform::detail
