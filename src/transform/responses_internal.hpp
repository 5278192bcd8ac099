#pragma once

// Private to the Responses request translation (responses_request*.cpp): the `input` items as
// chat messages, and where each message came from, so that an error the shared chat
// validation names with a chat path (`messages[3].content[0].image_url.url`) names the
// Responses one (`input[5].content[0].image_url`).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat_internal.hpp"

namespace ogp::transform::detail {

/// Where one chat message of a Responses request came from.
struct message_source
{
    static constexpr std::size_t no_item = static_cast<std::size_t>(-1);
    enum class kind : std::uint8_t {
        instructions,  ///< the top-level `instructions`
        input_string,  ///< `input` given as a string
        message,       ///< the message item `item`
        tool_output,   ///< the function_call_output (custom, tool_search) item `item`
        assistant,     ///< reasoning, an assistant message (`item`) and function calls, merged
    };
    kind type = kind::message;
    std::size_t item = no_item;      ///< message, tool_output; assistant: its message or no_item
    std::size_t first = 0;           ///< assistant: the first item merged into it
    std::vector<std::size_t> calls;  ///< assistant: the call item of each tool call
};

/// A tool_search_output item's `tools`: the tools a client-executed tool search loaded, to be
/// offered to OCI with the request's own (`item` is the item's index in `input`).
struct loaded_tools
{
    std::size_t item = 0;
    const rapidjson::Value* tools = nullptr;  ///< an array
};

/// `s` copied into the request document's allocator: a view that lives as long as `req`.
std::string_view keep_text(chat_request& req, std::string_view s);

/// Appends the chat messages of `input` (a string or a list of items) to `req.messages` and
/// their sources to `sources`, and the tools tool_search_output items loaded to `loaded`.
/// Custom tool calls and tool search calls are tool calls of their functions (`{"input":...}`
/// arguments; `tool_search`), their outputs tool messages. At most `max_items` items. A 400 naming
/// `input...` on an item that is malformed, refers to stored state or cannot be sent to OCI.
error_opt parse_responses_input(const rapidjson::Value& input, std::size_t max_items,
                                chat_request& req, std::vector<message_source>& sources,
                                std::vector<loaded_tools>& loaded);

/// 400 `unsupported_parameter` naming `param`.
api_error unsupported(std::string message, std::string param);

/// What parse_tools found besides req.tools.
struct tools_seen
{
    std::vector<std::string> paths;  ///< the Responses path of each req.tools entry
    /// The tool object of each req.tools entry (null for those not sent to OCI): a tool a
    /// tool search loaded again is the same tool only when its definition is the same.
    std::vector<const rapidjson::Value*> defs;
    std::string web_search;   ///< the path of the web_search tool, when one was sent
    std::string tool_search;  ///< the path of the client-executed tool_search tool, when sent
    std::vector<std::pair<std::string, std::string>> namespaces;  ///< function → namespace
    std::vector<std::string> custom;                              ///< custom tools' names
};

/// `tools` (responses_request_tools.cpp): function and custom tools into chat_tool (at the
/// request's index, so that validation's `tools[i]` is the request's; a namespace's are
/// appended), one web_search tool, one client-executed tool_search, and a 400 naming any
/// other. At most `max_tools` entries in req.tools.
error_opt parse_tools(const rapidjson::Value& tools, chat_request& req, tools_seen& seen,
                      std::size_t max_tools);

/// The tools tool_search_output items loaded, offered to OCI after the request's own; the
/// same definition again is offered once, another one under a taken name is a 400.
error_opt add_loaded_tools(const std::vector<loaded_tools>& loaded, chat_request& req,
                           tools_seen& seen, std::size_t max_tools);

/// `tool_choice`: auto, none, required, or `{type: function | custom, name}`.
error_opt parse_tool_choice(const rapidjson::Value& tc, chat_tool_choice& out);

/// The Responses path of a parameter the shared chat validation named: `messages[...]`
/// through `sources`, `tools[i].function.x` → `<tool_paths[i]>.x` (function tools are flat,
/// and those of a namespace tool are flattened), `response_format...` → `text.format...`,
/// `reasoning_effort` → `reasoning.effort`, `web_search_options` → `web_search_path`, and so
/// on.
std::string responses_param(std::string_view chat_param, const std::vector<message_source>& sources,
                            const std::vector<std::string>& tool_paths,
                            std::string_view web_search_path);

}  // namespace ogp::transform::detail
