#pragma once

// Private: pieces shared by the non-streaming and streaming response translators.

#include <string>
#include <string_view>
#include <vector>

#include "json_util.hpp"
#include "ogp/transform/chat_response.hpp"

namespace ogp::transform::detail {

/// Reads an OCI `usage` object (every field optional).
token_usage read_usage(const rapidjson::Value& u);

/// Appends OpenAI's `usage` object for `u`.
void append_usage(std::string& out, const token_usage& u);

/// Appends the text of OCI content parts (`TEXT` parts joined); sets `reasoning` from
/// `THINKING` parts.
void append_parts_text(const rapidjson::Value& content, std::string& text, std::string& reasoning);

/// Strips control characters and bounds the length of a message shown to clients.
std::string sanitize_message(std::string_view s, std::size_t max_len = 2000);

/// Appends a JSON number for a log probability (shortest round-trip form; OpenAI's -9999 for
/// a value JSON cannot carry).
void append_logprob(std::string& out, double v);

/// Appends OpenAI token-logprob objects (`{token, logprob, bytes, top_logprobs}`, comma
/// separated after the first, `first` tracking that) for OCI GENERIC `logprobs` (legacy
/// shape: `tokens`, `tokenLogprobs`, `topLogprobs` maps whose values are strings or numbers).
/// `top_logprobs` keeps the `top` most likely alternatives, numbers, most likely first (none
/// when `top` is 0: OCI's `logProbs` is at least 1 and may add the sampled token).
void append_generic_logprobs(std::string& out, bool& first, const rapidjson::Value& lp, int top);

/// The same for COHEREV2 `logProbabilities` (`[{tokenIds, text, logProbabilities}]`): one
/// object per chunk, `token` its text and `logprob` the sum over its tokens (the chunk's log
/// probability), no alternatives.
void append_cohere_logprobs(std::string& out, bool& first, const rapidjson::Value& lps);

/// OpenAI's logprobs object around appended token objects: `{"content":[...],"refusal":null}`.
std::string wrap_logprobs(std::string_view items);

/// Reads GENERIC `annotations` (`[{type, urlCitation{startIndex, endIndex, title, url}}]`);
/// other kinds have no OpenAI spelling and are skipped.
void read_url_citations(const rapidjson::Value& anns, std::vector<answer_citation>& out);

/// Appends the members of an OpenAI url citation (`"start_index":..,"end_index":..,"title":..,
/// "url":..`): chat nests them in `url_citation`, the Responses API writes them flat.
void append_url_citation_fields(std::string& out, const answer_citation& a);

/// Appends OpenAI's annotations array (`[{type:url_citation, url_citation:{...}}]`).
void append_annotations(std::string& out, const std::vector<answer_citation>& cs);

/// `s` when it is a short printable string (OCI's `modelVersion` as `system_fingerprint`),
/// else empty.
std::string_view printable_or_empty(std::string_view s, std::size_t max_len = 128);

}  // namespace ogp::transform::detail
