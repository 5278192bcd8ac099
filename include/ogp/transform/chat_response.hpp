#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

/// Translates a non-streaming OCI `ChatResult` into an OpenAI `chat.completion` JSON body.
/// `created` comes from `timeCreated`, else `now_unix`. A body that is not a chat result
/// gives a 502.
result<std::string> chat_response_to_openai(std::string_view oci_body, const chat_plan& plan,
                                            std::string_view completion_id, std::int64_t now_unix);

/// Translates an OCI error response (`{code, message}`, also numeric codes with JSON inside
/// `message`) into the OpenAI error to return: 404 → model_not_found, 429 keeps Retry-After,
/// 5xx → 502/503, OCI auth failures → 502 (never blamed on the client's key). The
/// `opc-request-id` is appended to the message when it is printable.
api_error map_oci_error(unsigned status, std::string_view body, std::string_view retry_after_header,
                        std::string_view opc_request_id);

}  // namespace ogp::transform
