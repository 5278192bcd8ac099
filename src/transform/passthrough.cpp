#include "ogp/transform/passthrough.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdint>

#include "json_util.hpp"

namespace ogp::transform {
namespace {

// SAX events of one pass: tracks the depth (bounded), and the top-level `model` key and value.
struct model_finder
{
    using stream = rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream>;

    std::string_view body;
    const stream& is;
    std::size_t max_depth;
    std::size_t depth = 0;
    bool root_object = false;
    bool too_deep = false;
    bool expecting_model = false;   ///< the last event was the top-level key `model`
    bool expecting_stream = false;  ///< the last event was the top-level key `stream`
    bool found = false;
    bool duplicate = false;
    bool not_string = false;
    std::size_t value_begin = 0;
    model_field field;

    // A value at depth 1 right after the key `model`: it must be the string.
    bool scalar()
    {
        if (expecting_stream) {  // any value but `true` after `stream`: not a stream
            expecting_stream = false;
            field.stream = false;
        }
        if (expecting_model) {
            expecting_model = false;
            not_string = true;
        }
        return true;
    }
    bool open()
    {
        scalar();
        if (++depth > max_depth) {
            too_deep = true;
            return false;
        }
        return true;
    }
    bool close()
    {
        --depth;
        return true;
    }

    bool Null() { return scalar(); }
    bool Bool(bool b)
    {
        const bool is_stream_flag = expecting_stream;
        scalar();
        if (is_stream_flag) {
            field.stream = b;
        }
        return true;
    }
    bool Int(int) { return scalar(); }
    bool Uint(unsigned) { return scalar(); }
    bool Int64(std::int64_t) { return scalar(); }
    bool Uint64(std::uint64_t) { return scalar(); }
    bool Double(double) { return scalar(); }
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return scalar(); }
    bool String(const char* s, rapidjson::SizeType n, bool)
    {
        if (expecting_stream) {
            expecting_stream = false;
            field.stream = false;  // `"stream": "true"` is not a stream
        }
        if (!expecting_model) {
            return true;
        }
        expecting_model = false;
        // The reader has consumed the closing quote: the value ends here.
        field.value.assign(s, n);
        field.begin = value_begin;
        field.end = is.Tell();
        return true;
    }
    bool StartObject()
    {
        root_object = root_object || depth == 0;
        return open();
    }
    bool Key(const char* s, rapidjson::SizeType n, bool)
    {
        if (depth == 1 && std::string_view(s, n) == "stream") {
            expecting_stream = true;
            return true;
        }
        if (depth != 1 || std::string_view(s, n) != "model") {
            return true;
        }
        if (found) {
            duplicate = true;
            return false;
        }
        found = true;
        expecting_model = true;
        // After the key's closing quote: whitespace, ':', whitespace, then the value.
        std::size_t at = is.Tell();
        auto skip_ws = [&] {
            while (at < body.size() &&
                   (body[at] == ' ' || body[at] == '\t' || body[at] == '\n' || body[at] == '\r')) {
                ++at;
            }
        };
        skip_ws();
        if (at < body.size() && body[at] == ':') {
            ++at;
        }
        skip_ws();
        value_begin = at;
        return true;
    }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool StartArray() { return open(); }
    bool EndArray(rapidjson::SizeType) { return close(); }
};

api_error bad_body(std::string message)
{
    return invalid_request(std::move(message), {}, "invalid_json");
}

}  // namespace

result<model_field> locate_model(std::string_view body, std::size_t max_depth)
{
    // Numbers stay text (never converted, never out of range); the reader's stack starts in a
    // local buffer, so an ordinary body costs no heap beyond the decoded model.
    constexpr unsigned flags = rapidjson::kParseIterativeFlag |
                               rapidjson::kParseValidateEncodingFlag |
                               rapidjson::kParseNumbersAsStringsFlag;
    char stack_buffer[1024];
    rapidjson::MemoryPoolAllocator<> stack_alloc(stack_buffer, sizeof stack_buffer);
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>
        reader(&stack_alloc);
    rapidjson::MemoryStream ms(body.data(), body.size());
    model_finder::stream is(ms);
    model_finder f{.body = body, .is = is, .max_depth = max_depth == 0 ? 64 : max_depth};
    rapidjson::ParseResult r = reader.Parse<flags>(is, f);
    if (f.duplicate) {
        return invalid_request("The request body gives 'model' more than once.", "model");
    }
    if (f.too_deep) {
        return bad_body("The request body nests JSON deeper than " + std::to_string(f.max_depth) +
                        " levels.");
    }
    if (r.IsError()) {
        return bad_body(std::string("We could not parse the JSON body of your request: ") +
                        rapidjson::GetParseError_En(r.Code()) + " (at offset " +
                        std::to_string(r.Offset()) + ").");
    }
    if (!f.root_object) {
        return bad_body("The request body must be a JSON object.");
    }
    if (!f.found) {
        return invalid_request("You must provide a model parameter.", "model");
    }
    if (f.not_string) {
        return invalid_request("Invalid type for 'model': expected a string.", "model");
    }
    // The span must be exactly the string literal (a quote at each end).
    if (f.field.end <= f.field.begin + 1 || f.field.end > body.size() ||
        body[f.field.begin] != '"' || body[f.field.end - 1] != '"') {
        return bad_body("We could not parse the JSON body of your request.");
    }
    return std::move(f.field);
}

std::string splice_model(std::string_view body, const model_field& at, std::string_view new_model)
{
    std::string out;
    out.reserve(body.size() + new_model.size() + 8);
    out.append(body.substr(0, at.begin));
    detail::append_json_string(out, new_model);
    out.append(body.substr(at.end));
    return out;
}

}  // namespace ogp::transform
