// COHEREV2 ChatDetails (Command A and its vision and reasoning models): GENERIC's message
// shape with Cohere's spellings (nested `function` objects, IMAGE_URL, `toolsChoice`,
// `thinking`).

#include "chat_writer.hpp"

namespace ogp::transform::detail {

namespace {

void write_tool_calls(json_writer& w, const chat_message& m)
{
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
        w.Key("function");
        w.StartObject();
        w.Key("name");
        write_string(w, tc.name);
        w.Key("arguments");
        write_string(w, tc.arguments);
        w.EndObject();
        w.EndObject();
    }
    w.EndArray();
}

// Like GENERIC, but developer turns are SYSTEM, names are dropped and an assistant turn
// without text has no `content`.
void write_messages(json_writer& w, const chat_request& req)
{
    w.Key("messages");
    w.StartArray();
    for (const chat_message& m : req.messages) {
        w.StartObject();
        w.Key("role");
        switch (m.role) {
            case chat_role::system:
            case chat_role::developer:
                w.String("SYSTEM");
                w.Key("content");
                write_parts(w, m.content, "IMAGE_URL");
                break;
            case chat_role::user:
                w.String("USER");
                w.Key("content");
                write_parts(w, m.content, "IMAGE_URL");
                break;
            case chat_role::assistant:
                w.String("ASSISTANT");
                if (!m.content.empty()) {
                    w.Key("content");
                    write_parts(w, m.content, "IMAGE_URL");
                }
                if (!m.tool_calls.empty()) {
                    write_tool_calls(w, m);
                }
                break;
            case chat_role::tool:
            case chat_role::other:  // refused by validation
                w.String("TOOL");
                w.Key("toolCallId");
                write_string(w, m.tool_call_id);
                w.Key("content");
                write_parts(w, m.content, "IMAGE_URL");
                break;
        }
        w.EndObject();
    }
    w.EndArray();
}

// Function tools, each nesting a `function` object; true when one asks for strict mode.
bool write_tools(json_writer& w, const chat_request& req)
{
    bool any_strict = false;
    w.Key("tools");
    w.StartArray();
    for (const chat_tool& t : req.tools) {
        if (t.type != chat_tool::kind::function) {
            continue;
        }
        any_strict = any_strict || t.strict;
        w.StartObject();
        w.Key("type");
        w.String("FUNCTION");
        w.Key("function");
        w.StartObject();
        w.Key("name");
        write_string(w, t.name);
        w.Key("description");
        write_string(w, t.description);
        w.Key("parameters");
        json::write_value(w, t.schema);
        w.EndObject();
        w.EndObject();
    }
    w.EndArray();
    return any_strict;
}

}  // namespace

void write_chat_coherev2(json_writer& w, const chat_request& req, const config& cfg)
{
    write_messages(w, req);
    bool any_strict = false;
    if (req.has_function_tools) {
        // `auto` is the default; validation refused a named function.
        using k = chat_tool_choice::kind;
        if (req.tool_choice && req.tool_choice->type != k::auto_) {
            w.Key("toolsChoice");
            w.String(req.tool_choice->type == k::none ? "NONE" : "REQUIRED");
        }
        any_strict = write_tools(w, req);
    }
    if (any_strict) {
        w.Key("isStrictToolsEnabled");
        w.Bool(true);
    }
    if (req.response_format) {
        write_response_format(w, *req.response_format, false);
    }
    write_generation(w, req, cfg, false);
    if (!req.reasoning_effort.empty()) {
        // Thinking: on or off.
        w.Key("thinking");
        w.StartObject();
        w.Key("type");
        w.String(req.reasoning_effort == "NONE" ? "DISABLED" : "ENABLED");
        w.EndObject();
    }
}

}  // namespace ogp::transform::detail
