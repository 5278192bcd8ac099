#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/transform/chat_request.hpp"

namespace ogp::transform {

/// Token counts reported by OCI, for the OpenAI body and for metering.
struct token_usage
{
    bool present = false;
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    std::int64_t reasoning_tokens = -1;  ///< -1: OCI did not report it
    std::int64_t cached_tokens = -1;     ///< -1: OCI did not report it
};

/// A fresh `chatcmpl-` id from 96 caller-supplied random bits (hex), so the library has no
/// hidden randomness.
std::string make_completion_id(std::uint64_t random_hi, std::uint32_t random_lo);

/// A fresh `chatcmpl-` id from a per-thread generator seeded by std::random_device (the
/// one convenience that is not a pure function).
std::string random_completion_id();

/// The synthetic id of tool call `index` of choice `choice` within completion
/// `completion_id`: the same inputs always give the same id.
std::string synthetic_tool_call_id(std::string_view completion_id, int choice, int index);

/// Parses an ISO-8601 timestamp (`2026-11-26T01:00:00.123Z`, `+hh:mm` offsets) to Unix
/// seconds; -1 when it is not one.
std::int64_t parse_iso8601(std::string_view text);

/// Maps an OCI finish reason (GENERIC lower-case or Cohere enum) to OpenAI's; `error` for
/// ERROR-like reasons that must become an error, `stop` for unknown ones.
std::string_view map_finish_reason(std::string_view oci_reason);

/// One function call of an answer, ids already assigned (OCI's, else synthetic).
struct answer_tool_call
{
    std::string id;
    std::string name;
    std::string arguments;  ///< JSON text; `{}` when OCI sent none
};

/// A `url_citation` annotation of an answer's text (GENERIC `annotations`).
struct answer_citation
{
    std::int64_t start_index = 0;
    std::int64_t end_index = 0;
    std::string title;
    std::string url;
};

/// One choice of an OCI answer, format-neutral.
struct answer_choice
{
    std::string text;
    bool has_text = false;  ///< OCI sent content (maybe empty)
    std::string reasoning;  ///< THINKING parts and `reasoningContent`
    std::string refusal;
    std::vector<answer_tool_call> tool_calls;
    std::vector<answer_citation> citations;
    std::string cohere_citations;  ///< serialised `citations` extension array (Cohere), or empty
    std::string finish;    ///< OpenAI's finish reason (map_finish_reason; tool calls win over stop)
    std::string logprobs;  ///< serialised OpenAI chat logprobs object, or empty
};

/// A non-streaming OCI `ChatResult` parsed once (any of the three formats), for the writers
/// of the chat completion and of the Response object.
struct chat_answer
{
    std::int64_t created = 0;   ///< `timeCreated`, else the caller's now
    std::string model_version;  ///< ChatResult `modelVersion` (printable, bounded), or empty
    std::vector<answer_choice> choices;
    token_usage usage;
};

/// Parses a non-streaming OCI `ChatResult`. A body that is not a chat result gives a 502; an
/// ERROR finish gives a 502 whose log_detail carries OCI's (sanitised) message. `id` seeds the
/// synthetic tool-call ids.
result<chat_answer> parse_chat_answer(std::string_view oci_body, const chat_plan& plan,
                                      std::string_view id, std::int64_t now_unix);

/// Writes the OpenAI `chat.completion` JSON body of `answer`: `system_fingerprint` is OCI's
/// `modelVersion` when it sent one, `service_tier` the client's when it sent one.
std::string write_chat_completion(const chat_answer& answer, const chat_plan& plan,
                                  std::string_view completion_id);

/// parse_chat_answer, then write_chat_completion.
result<std::string> chat_response_to_openai(std::string_view oci_body, const chat_plan& plan,
                                            std::string_view completion_id, std::int64_t now_unix);

/// Translates an OCI error response (`{code, message}`, also numeric codes with JSON inside
/// `message`) into the OpenAI error to return: 404 → model_not_found, 429 keeps Retry-After,
/// 5xx → 502/503, OCI auth failures → 502 (never blamed on the client's key). The
/// `opc-request-id` is appended to the message when it is printable.
api_error map_oci_error(unsigned status, std::string_view body, std::string_view retry_after_header,
                        std::string_view opc_request_id);

}  // namespace ogp::transform
