// GENERIC ChatDetails (Llama, Grok, Gemini, OpenAI models...): OpenAI's shape in OCI's
// spelling.

#include "chat_writer.hpp"

namespace ogp::transform::detail {

namespace {

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
    write_messages(w, req, true);
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
        write_function_tools(w, req, [&](const chat_tool& t) { write_function_tool(w, t, true); });
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
