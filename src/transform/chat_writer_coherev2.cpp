// COHEREV2 ChatDetails (Command A and its vision and reasoning models): GENERIC's message
// shape with Cohere's spellings (nested `function` objects, IMAGE_URL, `toolsChoice`,
// `thinking` with its `tokenBudget`).

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
    if (req.thinking || !req.reasoning_effort.empty()) {
        // Thinking: on or off (the extension or the effort; validation made them agree), with
        // the extension's token budget.
        const bool on = req.thinking ? req.thinking->enabled : req.reasoning_effort != "NONE";
        w.Key("thinking");
        w.StartObject();
        w.Key("type");
        w.String(on ? "ENABLED" : "DISABLED");
        if (req.thinking && req.thinking->budget_tokens) {
            w.Key("tokenBudget");
            w.Int64(*req.thinking->budget_tokens);
        }
        w.EndObject();
    }
}

}  // namespace ogp::transform::detail
