#pragma once

// Bounded JSON: every JSON text the daemon parses (request bodies, strings that hold JSON such
// as tool-call arguments, OCI answers and stream events, IMDS and federation answers) goes
// through parse_bounded(), and every parsed value is written back by write_value(). Both are
// iterative, so neither a deep document nor a deep value can overflow the stack.

#include <rapidjson/document.h>
#include <rapidjson/encodedstream.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cmath>
#include <cstdint>

#include <cstddef>
#include <string_view>
#include <vector>

namespace ogp::json {

/// Nesting cap for JSON received from OCI and the instance metadata service.
inline constexpr std::size_t upstream_max_depth = 256;

/// What a pre-parse scan found wrong with a JSON text.
enum class text_issue {
    none,
    too_deep,             ///< `[`/`{` nesting (outside strings) beyond the cap
    nul_byte,             ///< a raw NUL byte
    lone_surrogate,       ///< an escaped low surrogate (`\udc00`) without its high half
    number_out_of_range,  ///< a number beyond double's range (RapidJSON would make it inf)
};

/// One linear pass over `text`, tracking strings and escapes, that finds the faults RapidJSON
/// 1.1 lets through or handles recursively. An escaped high surrogate without its low half is
/// left to the parser, which rejects it.
text_issue scan_text(std::string_view text, std::size_t max_depth);

/// Short English description of an issue (for error messages).
const char* describe(text_issue issue);

/// Flags of the one parse: iterative (no recursion) with UTF-8 validation.
inline constexpr unsigned parse_flags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

/// Forwards RapidJSON's SAX events to a document, refusing numbers that overflowed to
/// infinity: RapidJSON 1.1 parses `1e400` as inf, and its writer then refuses to write it.
template <class Document>
struct finite_numbers
{
    Document& doc;
    bool overflow = false;

    bool Null() { return doc.Null(); }
    bool Bool(bool b) { return doc.Bool(b); }
    bool Int(int i) { return doc.Int(i); }
    bool Uint(unsigned u) { return doc.Uint(u); }
    bool Int64(std::int64_t i) { return doc.Int64(i); }
    bool Uint64(std::uint64_t u) { return doc.Uint64(u); }
    bool Double(double d)
    {
        overflow = !std::isfinite(d);
        return !overflow && doc.Double(d);
    }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy)
    {
        return doc.RawNumber(s, n, copy);
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc.String(s, n, copy); }
    bool StartObject() { return doc.StartObject(); }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc.Key(s, n, copy); }
    bool EndObject(rapidjson::SizeType n) { return doc.EndObject(n); }
    bool StartArray() { return doc.StartArray(); }
    bool EndArray(rapidjson::SizeType n) { return doc.EndArray(n); }
};

/// Parses `text` into `doc` after scan_text(); false on any fault or parse error (the whole
/// text must be one value, every number finite). `issue` tells a scan fault or an out-of-range
/// number apart from a parse error, which `error` (when given) describes.
template <class Document>
bool parse_bounded(std::string_view text, std::size_t max_depth, Document& doc,
                   text_issue* issue = nullptr, rapidjson::ParseResult* error = nullptr)
{
    text_issue found = scan_text(text, max_depth);
    rapidjson::ParseResult result;
    if (found == text_issue::none) {
        // The reader's own stack starts in a small local buffer: no heap for ordinary texts.
        char stack_buffer[1024];
        rapidjson::MemoryPoolAllocator<> stack_alloc(stack_buffer, sizeof stack_buffer);
        finite_numbers<Document> handler{doc};
        auto generate = [&](Document& d) {
            (void)d;
            rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>,
                                     rapidjson::MemoryPoolAllocator<>>
                reader(&stack_alloc);
            rapidjson::MemoryStream ms(text.data(), text.size());
            rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
            result = reader.template Parse<parse_flags>(is, handler);
            return !result.IsError();
        };
        doc.SetNull();
        doc.Populate(generate);
        if (handler.overflow) {
            found = text_issue::number_out_of_range;
        }
    }
    if (issue != nullptr) {
        *issue = found;
    }
    if (error != nullptr) {
        *error = result;
    }
    if (found != text_issue::none || result.IsError()) {
        doc.SetNull();
        return false;
    }
    return true;
}

/// Writes `v` to a RapidJSON writer with an explicit stack instead of Value::Accept's
/// recursion; returns false when the writer refused an event.
template <class Writer, class Root>
bool write_value(Writer& w, const Root& v)
{
    // A Document is written as its root value.
    using Value = typename Root::ValueType;
    // A frame is a container being written and the position of its next element.
    struct frame
    {
        const Value* container;
        std::size_t next;
    };
    std::vector<frame> stack;
    const Value* cur = &v;
    for (;;) {
        // Write `cur`: scalars at once, containers by pushing a frame.
        if (cur != nullptr) {
            bool ok = true;
            switch (cur->GetType()) {
                case rapidjson::kNullType:
                    ok = w.Null();
                    break;
                case rapidjson::kFalseType:
                    ok = w.Bool(false);
                    break;
                case rapidjson::kTrueType:
                    ok = w.Bool(true);
                    break;
                case rapidjson::kStringType:
                    ok = w.String(cur->GetString(), cur->GetStringLength());
                    break;
                case rapidjson::kNumberType:
                    if (cur->IsInt()) {
                        ok = w.Int(cur->GetInt());
                    } else if (cur->IsUint()) {
                        ok = w.Uint(cur->GetUint());
                    } else if (cur->IsInt64()) {
                        ok = w.Int64(cur->GetInt64());
                    } else if (cur->IsUint64()) {
                        ok = w.Uint64(cur->GetUint64());
                    } else if (std::isfinite(cur->GetDouble())) {
                        ok = w.Double(cur->GetDouble());
                    } else {
                        ok = w.Null();  // JSON has no infinity (parse_bounded never makes one)
                    }
                    break;
                case rapidjson::kObjectType:
                    ok = w.StartObject();
                    stack.push_back({cur, 0});
                    break;
                case rapidjson::kArrayType:
                    ok = w.StartArray();
                    stack.push_back({cur, 0});
                    break;
            }
            if (!ok) {
                return false;
            }
            cur = nullptr;
        }
        if (stack.empty()) {
            return true;
        }
        // Next element of the innermost container, or close it.
        frame& top = stack.back();
        if (top.container->IsObject()) {
            auto count = static_cast<std::size_t>(top.container->MemberCount());
            if (top.next == count) {
                if (!w.EndObject(static_cast<rapidjson::SizeType>(count))) {
                    return false;
                }
                stack.pop_back();
                continue;
            }
            auto it = top.container->MemberBegin() + static_cast<std::ptrdiff_t>(top.next++);
            if (!w.Key(it->name.GetString(), it->name.GetStringLength())) {
                return false;
            }
            cur = &it->value;
        } else {
            auto count = static_cast<std::size_t>(top.container->Size());
            if (top.next == count) {
                if (!w.EndArray(static_cast<rapidjson::SizeType>(count))) {
                    return false;
                }
                stack.pop_back();
                continue;
            }
            cur = &(*top.container)[static_cast<rapidjson::SizeType>(top.next++)];
        }
    }
}

}  // namespace ogp::json
