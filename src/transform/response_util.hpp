#pragma once

// Private: pieces shared by the non-streaming and streaming response translators.

#include <string>

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

}  // namespace ogp::transform::detail
