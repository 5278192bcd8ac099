#pragma once

// Private: the pieces of a Response object shared by the non-streaming writer
// (responses_answer.cpp) and the Responses event writer (responses_stream.cpp), so the final
// Response of a stream and a non-streaming Response are written by the same code.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/transform/responses.hpp"

namespace ogp::transform::detail {

enum class output_kind { reasoning, message, function_call, custom_tool_call, tool_search_call };

/// One output item to write, as views into the caller's data. An item without its part
/// (`has_part` false, no refusal) is written as `output_item.added` announces it: an empty
/// `summary` / `content`.
struct output_item_view
{
    output_kind kind = output_kind::message;
    std::string_view id;
    std::string_view status;  ///< in_progress, completed or incomplete
    /// Reasoning: the summary text; message: the output_text; function_call and
    /// tool_search_call: the arguments as OCI sent them; custom_tool_call: the `input`.
    std::string_view text;
    bool has_part = false;     ///< reasoning: a summary_text part; message: an output_text part
    std::string_view refusal;  ///< message: a refusal part when not empty
    const std::vector<answer_citation>* citations = nullptr;  ///< message: annotations
    std::string_view call_id;  ///< function_call, custom_tool_call, tool_search_call
    std::string_view name;     ///< function_call, custom_tool_call
    /// function_call, custom_tool_call: its namespace tool, when a namespace grouped it.
    std::string_view ns;
};

/// The output item a call of the function `name` is written as: custom_tool_call for a custom
/// tool, tool_search_call for the client-executed tool_search, else function_call.
output_kind call_kind(const responses_plan& plan, std::string_view name);

/// The `input` of a custom tool call whose function arguments are `arguments`: what
/// custom_input_decoder decodes from them (the one definition, streamed or not).
std::string custom_tool_input(std::string_view arguments);

/// Decodes, fragment by fragment, the `input` string of the arguments `{"input":"..."}` that
/// a custom tool's function is called with, so that a stream can forward the text as it
/// comes. The arguments must start (JSON whitespace aside) with `{"input":"`; the string is
/// then unescaped as it arrives (`\uXXXX` included, a surrogate pair split across fragments
/// too; a lone surrogate becomes U+FFFD, a malformed escape is kept as written) up to its
/// closing quote, and anything after it is ignored; a character split across fragments is
/// forwarded whole. Arguments of any other shape are kept
/// whole, and `finish()` gives the `input` member of their object when they parse as one with
/// a string `input`, else their raw text. Bounded state besides the kept arguments.
class custom_input_decoder
{
public:
    /// Appends the text decoded from `fragment` (none before the string starts) to `out`.
    void feed(std::string_view fragment, std::string& out);
    /// After the last fragment: appends to `out` what the arguments yield beyond the text
    /// feed() gave (arguments of another shape: all of it).
    void finish(std::string& out);
    /// True once the arguments started `{"input":"`: feed() forwards text as it comes.
    bool decoding() const { return state_ >= state::text; }

private:
    enum class state : std::uint8_t {
        prefix,    // matching `{"input":"`
        other,     // not that shape: the arguments are kept
        text,      // inside the string
        escape,    // after a backslash
        hex,       // after `\u`, `digits_` of 4 read
        high,      // a high surrogate read, a `\` of its low one may follow
        high_esc,  // its `\`
        low_hex,   // after its `\u`
        done,      // after the closing quote
    };
    void step(char c, std::string& out);
    void code_unit(std::uint32_t u, std::string& out);
    void hold_partial(std::string& out, std::size_t from);

    state state_ = state::prefix;
    std::size_t matched_ = 0;  // prefix: characters of the pattern matched
    std::string kept_;         // prefix, other: the arguments so far
    std::uint32_t unit_ = 0;   // hex, low_hex: the code unit so far
    std::uint32_t high_ = 0;   // high, high_esc, low_hex: the pending high surrogate
    int digits_ = 0;           // hex, low_hex
    char raw_[6] = {};         // hex, low_hex: `\u` and the digits, kept as written
    std::string held_;         // text: the start of a UTF-8 sequence a fragment cut (< 4 bytes)
};

/// Appends a tool_search_call's `arguments`: the JSON value the argument text holds
/// (re-serialised: always valid JSON), `{}` for none, or the text as a string when it does not
/// parse.
void append_tool_search_arguments(std::string& out, std::string_view arguments);

/// The namespace a function tool `name` was grouped under (responses_plan::tool_namespaces),
/// empty when none.
std::string_view namespace_of(const responses_plan& plan, std::string_view name);

/// `rs_`/`msg_`/`fc_`/`ctc_`/`ts_` + the hex of `response_id` after `resp_` + `_` + the output
/// index: the same inputs always give the same id.
std::string output_item_id(std::string_view response_id, output_kind kind, std::size_t index);

/// The output item object.
void append_output_item(std::string& out, const output_item_view& item);

/// A Responses `url_citation` annotation (`{type, start_index, end_index, title, url}`).
void append_url_citation_annotation(std::string& out, const answer_citation& a);

/// An `output_text` content part (annotations from `citations`, none when null).
void append_output_text_part(std::string& out, std::string_view text,
                             const std::vector<answer_citation>* citations);

/// `s` as a JSON string, null when empty.
void append_string_or_null(std::string& out, std::string_view s);

/// A `summary_text` part.
void append_summary_part(std::string& out, std::string_view text);

/// What a Response says about how it ended.
struct response_state
{
    std::string_view status;             ///< in_progress, completed, incomplete, failed
    std::string_view incomplete_reason;  ///< max_output_tokens, content_filter; empty: null
    const api_error* error = nullptr;    ///< failed: `{code, message}`
};

/// The Response up to and including `"output":[`; the caller appends the items.
void append_response_head(std::string& out, const responses_plan& plan,
                          std::string_view response_id, std::int64_t created_at,
                          const response_state& state);

/// Closes `output`, then usage (null when absent or not yet known) and the request's echo.
void append_response_tail(std::string& out, const responses_plan& plan, const token_usage* usage);

/// The Response status for OpenAI's finish reason: length and content_filter leave it
/// incomplete (`incomplete_reason` set), anything else completes it.
response_state state_for_finish(std::string_view finish);

}  // namespace ogp::transform::detail
