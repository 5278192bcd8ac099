// COHEREV2 ChatDetails (Command A and its vision and reasoning models): GENERIC's message
// shape with Cohere's spellings (nested `function` objects, IMAGE_URL, `toolsChoice`,
// `thinking`).

#include "chat_writer.hpp"

namespace ogp::transform::detail {

void write_chat_coherev2(json_writer& w, const chat_request& req, const config& cfg)
{
    write_messages(w, req, false);
    bool any_strict = false;
    if (req.has_function_tools) {
        // `auto` is the default; validation refused a named function.
        using k = chat_tool_choice::kind;
        if (req.tool_choice && req.tool_choice->type != k::auto_) {
            w.Key("toolsChoice");
            w.String(req.tool_choice->type == k::none ? "NONE" : "REQUIRED");
        }
        // Function tools, each nesting a `function` object.
        write_function_tools(w, req, [&](const chat_tool& t) {
            any_strict = any_strict || t.strict;
            write_function_tool(w, t, false);
        });
    }
    if (any_strict) {
        w.Key("isStrictToolsEnabled");
        w.Bool(true);
    }
    if (req.response_format) {
        write_response_format(w, *req.response_format, false);
    }
    write_generation(w, req, cfg, false);
    if (req.logprobs) {
        w.Key("isLogProbsEnabled");
        w.Bool(true);
    }
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
