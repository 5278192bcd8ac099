#pragma once

// The OpenAI chat request as a typed value: parsed and validated once (parse_chat_request),
// then written in the model's OCI format by a writer that cannot fail. The Responses API
// reuses these types.

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/config/config.hpp"
#include "ogp/transform/chat_request.hpp"
#include "ogp/transform/result.hpp"

namespace ogp::transform {

/// One part of a message's content. Views point into the owning chat_request's document.
struct chat_part
{
    enum class kind : std::uint8_t {
        text,        ///< `{type: text, text}`
        image_url,   ///< `{type: image_url, image_url: url | {url, detail}}`
        refusal,     ///< `text` is the refusal; sent as GENERIC's assistant `refusal`, not content
        not_object,  ///< a non-object part: GENERIC and COHERE refuse it with different words
        /// A document as a data URL (chat `file` with `file_data`, Responses `input_file`):
        /// GENERIC only (OCI DOCUMENT), in user turns.
        file,
        /// Base64 audio (`input_audio` `{data, format}`): GENERIC only (OCI AUDIO, a data URL
        /// of `media_type`), in user turns.
        audio,
    };
    kind type = kind::text;
    std::string_view text;        ///< text
    std::string_view url;         ///< image_url, file (data URL); empty when missing (refused)
    std::string_view detail;      ///< image_url detail as sent; empty when absent
    std::string_view filename;    ///< file: as sent, not forwarded (OCI has no field for it)
    std::string_view data;        ///< audio: the base64 data (checked: base64 alphabet)
    std::string_view media_type;  ///< audio: `audio/wav` or `audio/mpeg` (from `format`)
};

/// Message content: absent (or null), a plain string, or a list of parts.
struct chat_content
{
    enum class kind : std::uint8_t { absent, text, parts };
    kind type = kind::absent;
    std::string_view text;  ///< kind::text
    std::vector<chat_part> parts;

    /// Absent, "" or an empty list (an assistant turn with only tool calls).
    bool empty() const
    {
        return type == kind::absent || (type == kind::text && text.empty()) ||
               (type == kind::parts && parts.empty());
    }
};

/// An assistant's function call.
struct chat_tool_call
{
    std::string_view id;    ///< may be empty
    std::string_view name;  ///< never empty
    std::string arguments;  ///< JSON text; an object sent in its place is serialised
    /// COHERE only: `arguments` parsed (an object), in the request's allocator.
    rapidjson::Value parameters;
};

enum class chat_role : std::uint8_t { system, developer, user, assistant, tool, other };

/// One message. Fields that do not belong to the role are left empty.
struct chat_message
{
    chat_role role = chat_role::other;
    std::string_view role_name;              ///< as sent; names the role in errors
    chat_content content;                    ///< not read for chat_role::other
    std::string_view name;                   ///< optional participant name
    std::vector<chat_tool_call> tool_calls;  ///< assistant
    bool tool_calls_not_array = false;       ///< assistant: GENERIC refuses, COHERE ignores
    std::string_view tool_call_id;           ///< tool; empty when missing
    /// COHERE tool results: the call answered (found by validation; stable: the messages are
    /// not resized after parsing).
    const chat_tool_call* answers = nullptr;
    /// Assistant: the model's earlier reasoning sent back (chat `reasoning_content`, Responses
    /// `reasoning` items). GENERIC writes it as `reasoningContent`; the Cohere formats drop it.
    std::string reasoning;
    /// Assistant: the refusal it gave (chat `refusal`); a refusal part's text counts too.
    /// GENERIC writes it as `refusal`; the Cohere formats drop it.
    std::string_view refusal;
};

/// One entry of `tools`. Only function tools are sent (chat refuses any other type; the
/// Responses path makes functions of the ones it can offer).
struct chat_tool
{
    enum class kind : std::uint8_t { function, other, not_object };
    kind type = kind::other;
    bool has_function = false;  ///< `function` is an object
    std::string_view name;
    std::string_view description;
    bool strict = false;
    const rapidjson::Value* parameters = nullptr;  ///< as sent (may be a non-object)
    rapidjson::Value schema;                       ///< cleaned `parameters` (validation)
    /// False when `tool_choice` `allowed_tools` leaves it out: validated, not sent.
    bool allowed = true;
};

/// `tool_choice`. `allowed_tools` (`{mode: auto | required, tools}`) is kind auto_ or required
/// with `allowed_only`: the tools not named in `allowed` are not sent (validation marks them).
struct chat_tool_choice
{
    enum class kind : std::uint8_t { auto_, none, required, function };
    kind type = kind::auto_;
    std::string_view function_name;  ///< kind::function; empty for the bare string "function"
    bool allowed_only = false;       ///< `allowed_tools`
    /// `allowed_tools`: the function names, in the order of its `tools` (entry j is
    /// `tool_choice.allowed_tools.tools[j]` in errors; the Responses path renames it).
    std::vector<std::string_view> allowed;
    /// Responses `allowed_tools` lists the web_search tool (else it is not sent either).
    bool allows_web_search = false;
};

/// The `thinking` extension (`{type: enabled | disabled, budget_tokens}`, Anthropic's shape):
/// COHEREV2's `thinking` with its `tokenBudget`; the other formats refuse it.
struct chat_thinking
{
    bool enabled = true;
    std::optional<std::int64_t> budget_tokens;  ///< enabled only; 1..2^24
};

/// `response_format`.
struct chat_response_format
{
    enum class kind : std::uint8_t { text, json_object, json_schema };
    kind type = kind::text;
    std::string_view name;                     ///< json_schema
    std::string_view description;              ///< json_schema
    std::optional<bool> strict;                ///< json_schema
    const rapidjson::Value* schema = nullptr;  ///< json_schema, as sent (an object)
    rapidjson::Value cleaned;                  ///< `schema` cleaned (validation)
};

/// `web_search_options`.
struct chat_web_search
{
    std::string_view search_context_size;
    bool has_location = false;  ///< `user_location.approximate` is an object
    std::string_view city, region, country, timezone;
};

/// A validated `/v1/chat/completions` request for one resolved model. Owns the parsed body
/// (all views and pointers point into it); move-only. Values the client did not send are
/// empty optionals: configured defaults are the writers' business.
struct chat_request
{
    std::unique_ptr<rapidjson::Document> doc;  ///< the body; owns every string viewed here
    std::string_view model_name;               ///< `model` as sent
    resolved_model model;

    std::vector<chat_message> messages;  ///< 1..cfg.limits.max_messages
    std::vector<chat_tool> tools;        ///< at most cfg.limits.max_tools
    bool has_function_tools = false;     ///< some entry of `tools` is a function tool
    std::optional<chat_tool_choice> tool_choice;
    std::optional<bool> parallel_tool_calls;
    std::optional<chat_response_format> response_format;

    bool stream = false;
    bool include_usage = false;  ///< `stream_options.include_usage`
    std::optional<std::int64_t> n;
    std::optional<std::int64_t> max_tokens;  ///< `max_completion_tokens`, else `max_tokens`
    std::optional<double> temperature, top_p, frequency_penalty, presence_penalty;
    std::optional<std::int64_t> top_k, seed;
    std::vector<std::string_view> stop;
    bool logprobs = false;
    std::optional<std::int64_t> top_logprobs;
    const rapidjson::Value* logit_bias = nullptr;  ///< an object, passed through
    const rapidjson::Value* metadata = nullptr;    ///< an object, passed through
    std::string reasoning_effort;                  ///< NONE, MINIMAL, LOW, MEDIUM, HIGH or empty
    std::optional<chat_thinking> thinking;         ///< the `thinking` extension (COHEREV2)
    std::string verbosity;                         ///< LOW, MEDIUM, HIGH or empty
    std::optional<std::string_view> service_tier_sent;  ///< as sent; "" for a non-string
    std::string service_tier;  ///< GENERIC: AUTO, DEFAULT or PRIORITY (validation); else empty
    std::optional<chat_content> prediction;  ///< `{type: content, content}` → the content
    std::optional<chat_web_search> web_search;

    /// COHERE answers `tool_choice: none` by not offering the tools.
    bool tools_suppressed() const
    {
        return model.format == api_format::cohere && tool_choice &&
               tool_choice->type == chat_tool_choice::kind::none;
    }
};

/// Parses an OpenAI chat body, resolves its model and validates it for the model's OCI
/// format: every 400 (and the 500s of a misconfigured alias) is decided here, so writing the
/// result cannot fail. Bounded by cfg.limits (depth, messages, tools, schema nodes); pure;
/// never throws on bad input.
result<chat_request> parse_chat_request(std::string_view openai_body, const config& cfg,
                                        const model_name_lookup& names = {});

}  // namespace ogp::transform
