#pragma once

// The OpenAI Responses API (`POST /v1/responses`) on OCI's native chat API. The request
// becomes the same typed chat_request the chat-completions path uses, so the OCI body is
// written by the same per-format writers; the answer is parsed once (parse_chat_answer) and
// written as a Response object, the stream decoded once (stream_transcoder) and written as
// Responses events. Stateless: nothing is stored, `store` is accepted and ignored.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ogp/transform/chat_request.hpp"
#include "ogp/transform/chat_response.hpp"
#include "ogp/transform/stream_transcoder.hpp"

namespace ogp::transform {

/// A translated Responses request.
struct responses_plan
{
    /// The OCI chat request: body, path, model, `stream` (the client asked for SSE), n = 1,
    /// `client_model` (echoed as `model`).
    chat_plan chat;
    /// The request parameters every Response object of this request repeats, as JSON members
    /// each preceded by a comma (`,"instructions":...,"tools":[...],...`): instructions,
    /// max_output_tokens, metadata, parallel_tool_calls, previous_response_id (null),
    /// reasoning, store, temperature, text, tool_choice, tools, top_p, truncation, user.
    std::string echo;
    /// Function name → namespace, for the function tools a `namespace` tool grouped (Codex's
    /// sub-agent tools): OCI sees them under their own names, so a function_call item of the
    /// answer names the namespace again. Empty when no namespace tool was sent.
    std::vector<std::pair<std::string, std::string>> tool_namespaces;
    /// The names of the functions that stand for a `custom` (freeform) tool: OCI sees a
    /// function with one string parameter `input`, and a call of it is written back as a
    /// custom_tool_call item whose `input` is that string. Empty when none was sent.
    std::vector<std::string> custom_tools;
    /// A client-executed `tool_search` tool was offered as the function `tool_search`: a call
    /// of it is written back as a tool_search_call item (`execution: client`).
    bool client_tool_search = false;
};

/// Translates a `/v1/responses` body for a model on the native route. Every 400 (invalid JSON,
/// bad value, `previous_response_id`/`conversation` (this route keeps no state), a built-in
/// tool OCI cannot run, a feature the model's format cannot express) is decided here and names
/// `param`. Custom tools and a client-executed tool_search become functions (see
/// responses_plan); the tools a tool_search_output item loaded are offered too. Bounded by
/// cfg.limits like plan_chat; pure; never throws on bad input.
/// `names`: see resolve_model().
result<responses_plan> plan_responses(std::string_view openai_body, const config& cfg,
                                      const model_name_lookup& names = {});

/// A fresh `resp_` id from 96 caller-supplied random bits (hex).
std::string make_response_id(std::uint64_t random_hi, std::uint32_t random_lo);

/// The Response object (`object: "response"`) of a non-streaming answer: status `completed`,
/// or `incomplete` with `incomplete_details.reason` (`max_output_tokens`, `content_filter`);
/// `output` items (reasoning with a summary, message with output_text parts and annotations,
/// per tool call a function_call, or the custom_tool_call / tool_search_call its function
/// stands for), usage, the echo.
std::string write_response(const chat_answer& answer, const responses_plan& plan,
                           std::string_view response_id, std::int64_t created_at);

/// parse_chat_answer (ids seeded by `response_id`), then write_response.
result<std::string> responses_answer_to_openai(std::string_view oci_body,
                                               const responses_plan& plan,
                                               std::string_view response_id, std::int64_t now_unix);

/// The stream_writer of Responses SSE events (`event: <type>` + `data: {...,
/// "sequence_number": n}`): response.created, response.in_progress, output items opened and
/// closed around their deltas, response.completed / response.incomplete, or `error` +
/// response.failed. The final event carries the whole Response, so the writer keeps the
/// output it streamed; beyond `max_output_bytes` of it the stream fails (bounded memory).
/// `plan` must outlive the writer.
std::unique_ptr<stream_writer> make_responses_stream_writer(const responses_plan& plan,
                                                            std::string response_id,
                                                            std::int64_t created_at,
                                                            std::size_t max_output_bytes);

}  // namespace ogp::transform
