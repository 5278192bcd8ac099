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

enum class output_kind { reasoning, message, function_call };

/// One output item to write, as views into the caller's data. An item without its part
/// (`has_part` false, no refusal) is written as `output_item.added` announces it: an empty
/// `summary` / `content`.
struct output_item_view
{
    output_kind kind = output_kind::message;
    std::string_view id;
    std::string_view status;  ///< in_progress, completed or incomplete
    /// Reasoning: the summary text; message: the output_text; function_call: the arguments.
    std::string_view text;
    bool has_part = false;     ///< reasoning: a summary_text part; message: an output_text part
    std::string_view refusal;  ///< message: a refusal part when not empty
    const std::vector<answer_citation>* citations = nullptr;  ///< message: annotations
    std::string_view call_id;                                 ///< function_call
    std::string_view name;                                    ///< function_call
    std::string_view ns;  ///< function_call: its namespace tool, when a namespace grouped it
};

/// The namespace a function tool `name` was grouped under (responses_plan::tool_namespaces),
/// empty when none.
std::string_view namespace_of(const responses_plan& plan, std::string_view name);

/// `rs_`/`msg_`/`fc_` + the hex of `response_id` after `resp_` + `_` + the output index: the
/// same inputs always give the same id.
std::string output_item_id(std::string_view response_id, output_kind kind, std::size_t index);

/// The output item object.
void append_output_item(std::string& out, const output_item_view& item);

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
