#pragma once
// JSON probes for assertions on response bodies.

#include <string>
#include <string_view>

namespace ogp::test {

/// True when `text` parses as JSON.
bool json_ok(std::string_view text);
/// A string member by JSON pointer ("/error/code"), or empty.
std::string json_string(std::string_view text, const char* pointer);
/// An integer member by JSON pointer, or -1.
long long json_int(std::string_view text, const char* pointer);

/// True when `body` is an OpenAI error object: {"error":{"message","type","param","code"}}
/// with a non-empty string message and type.
bool is_openai_error(std::string_view body);

}  // namespace ogp::test
