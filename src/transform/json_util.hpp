#pragma once

// Private helpers shared by the transform sources: bounded parsing, fast string escaping,
// small value accessors.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ogp/openai/error.hpp"
#include "ogp/util/json.hpp"

namespace ogp::transform::detail {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// Parses a request body through json::parse_bounded (nesting cap, NUL bytes, lone
/// surrogates, iterative parse with UTF-8 validation, no trailing garbage) with an object
/// root. Returns the 400 to send on failure.
std::optional<api_error> parse_request(std::string_view text, std::size_t max_depth,
                                       rapidjson::Document& doc);

/// Parses JSON held in a request string (tool-call arguments) with the request's cap.
bool parse_embedded(std::string_view text, std::size_t max_depth, rapidjson::Document& doc);

/// Parses an upstream body (same flags, json::upstream_max_depth); false on any failure.
bool parse_upstream(std::string_view text, rapidjson::Document& doc);

/// Appends `s` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

/// Appends a signed integer in decimal.
void append_int(std::string& out, std::int64_t v);

/// The string view of a string value.
inline std::string_view sv(const rapidjson::Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

/// Member `key` of object `obj`, or nullptr when absent, null, or `obj` is not an object.
const rapidjson::Value* get(const rapidjson::Value& obj, std::string_view key);

/// Member `key` as a string view when it is a string; empty otherwise.
std::string_view get_string(const rapidjson::Value& obj, std::string_view key);

/// Writes a string value.
inline void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

/// Writes an object key.
inline void write_key(json_writer& w, std::string_view s)
{
    w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

/// OCI's `servingMode`: an on-demand model by id, or a dedicated endpoint (chat and embeddings
/// requests alike).
void write_serving_mode(json_writer& w, bool dedicated, std::string_view oci_id);

/// Serialises a value to a string (iteratively: no recursion however deep the value).
std::string to_json(const rapidjson::Value& v);

/// True when `s` has a byte below 0x20 or DEL.
bool has_control_chars(std::string_view s);

/// ASCII upper/lower case copies.
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);

/// True for an integral number that fits in int64 (also `100.0`).
bool as_int(const rapidjson::Value& v, std::int64_t& out);

/// Largest token count believed from OCI: sums of such counts cannot overflow int64.
inline constexpr std::int64_t max_token_count = 1'000'000'000'000;

/// True for a token count: an integer from 0 to max_token_count.
inline bool as_count(const rapidjson::Value& v, std::int64_t& out)
{
    std::int64_t n = 0;
    if (!as_int(v, n) || n < 0 || n > max_token_count) {
        return false;
    }
    out = n;
    return true;
}

}  // namespace ogp::transform::detail
