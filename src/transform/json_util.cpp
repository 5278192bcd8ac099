#include "json_util.hpp"

#include <rapidjson/error/en.h>

#include <cmath>
#include <cstdio>
#include <cstring>

namespace ogp::transform::detail {

std::optional<api_error> parse_request(std::string_view text, std::size_t max_depth,
                                       rapidjson::Document& doc)
{
    // Nesting cap, NUL bytes and lone surrogates before the parser sees the text; then an
    // iterative parse with UTF-8 validation, where trailing text is an error.
    const std::size_t cap = max_depth == 0 ? 64 : max_depth;
    json::text_issue issue = json::text_issue::none;
    rapidjson::ParseResult error;
    if (!json::parse_bounded(text, cap, doc, &issue, &error)) {
        if (issue == json::text_issue::too_deep) {
            return invalid_request(
                "The request body nests JSON deeper than " + std::to_string(cap) + " levels.", {},
                "invalid_json");
        }
        if (issue != json::text_issue::none) {
            return invalid_request(std::string("The request body ") + json::describe(issue) + ".",
                                   {}, "invalid_json");
        }
        return invalid_request(std::string("We could not parse the JSON body of your request: ") +
                                   rapidjson::GetParseError_En(error.Code()) + " (at offset " +
                                   std::to_string(error.Offset()) + ").",
                               {}, "invalid_json");
    }
    if (!doc.IsObject()) {
        return invalid_request("The request body must be a JSON object.", {}, "invalid_json");
    }
    return std::nullopt;
}

bool parse_embedded(std::string_view text, std::size_t max_depth, rapidjson::Document& doc)
{
    return json::parse_bounded(text, max_depth == 0 ? 64 : max_depth, doc);
}

bool parse_upstream(std::string_view text, rapidjson::Document& doc)
{
    // Upstream bodies get a generous but finite nesting cap too.
    return json::parse_bounded(text, json::upstream_max_depth, doc);
}

void append_json_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    const char* p = s.data();
    const char* end = p + s.size();
    const char* run = p;
    // Copy runs of safe bytes at once; escape quotes, backslashes and control bytes.
    while (p < end) {
        unsigned char c = static_cast<unsigned char>(*p);
        if (c >= 0x20 && c != '"' && c != '\\') {
            ++p;
            continue;
        }
        out.append(run, static_cast<std::size_t>(p - run));
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            default: {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                out.append(esc, 6);
            }
        }
        ++p;
        run = p;
    }
    out.append(run, static_cast<std::size_t>(end - run));
    out.push_back('"');
}

void append_int(std::string& out, std::int64_t v)
{
    char buf[24];
    int n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    out.append(buf, static_cast<std::size_t>(n));
}

const rapidjson::Value* get(const rapidjson::Value& obj, std::string_view key)
{
    // Linear scan: OpenAI/OCI objects are small.
    if (!obj.IsObject()) {
        return nullptr;
    }
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        if (sv(it->name) == key) {
            return it->value.IsNull() ? nullptr : &it->value;
        }
    }
    return nullptr;
}

std::string_view get_string(const rapidjson::Value& obj, std::string_view key)
{
    const rapidjson::Value* v = get(obj, key);
    return (v != nullptr && v->IsString()) ? sv(*v) : std::string_view{};
}

void write_serving_mode(json_writer& w, bool dedicated, std::string_view oci_id)
{
    w.Key("servingMode");
    w.StartObject();
    w.Key("servingType");
    w.String(dedicated ? "DEDICATED" : "ON_DEMAND");
    w.Key(dedicated ? "endpointId" : "modelId");
    write_string(w, oci_id);
    w.EndObject();
}

std::string to_json(const rapidjson::Value& v)
{
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    json::write_value(w, v);
    return std::string(sb.GetString(), sb.GetSize());
}

bool has_control_chars(std::string_view s)
{
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            return true;
        }
    }
    return false;
}

std::string to_upper(std::string_view s)
{
    std::string r(s);
    for (char& c : r) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return r;
}

std::string to_lower(std::string_view s)
{
    std::string r(s);
    for (char& c : r) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return r;
}

bool as_int(const rapidjson::Value& v, std::int64_t& out)
{
    if (v.IsInt64()) {
        out = v.GetInt64();
        return true;
    }
    // Integral doubles (`100.0`) count as integers.
    if (v.IsDouble()) {
        double d = v.GetDouble();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
            out = static_cast<std::int64_t>(d);
            return true;
        }
    }
    return false;
}

}  // namespace ogp::transform::detail
