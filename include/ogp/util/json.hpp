#pragma once

// Bounded JSON: every JSON text the daemon parses (request bodies, strings that hold JSON such
// as tool-call arguments, OCI answers and stream events, IMDS and federation answers) goes
// through parse_bounded(), and every parsed value is written back by write_value(). Both are
// iterative, so neither a deep document nor a deep value can overflow the stack.

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstddef>
#include <string_view>
#include <vector>

namespace ogp::json {

/// Nesting cap for JSON received from OCI and the instance metadata service.
inline constexpr std::size_t upstream_max_depth = 256;

/// What a pre-parse scan found wrong with a JSON text.
enum class text_issue {
    none,
    too_deep,        ///< `[`/`{` nesting (outside strings) beyond the cap
    nul_byte,        ///< a raw NUL byte
    lone_surrogate,  ///< an escaped low surrogate (`\udc00`) without its high half
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

/// Parses `text` into `doc` after scan_text(); false on any fault or parse error (the whole
/// text must be one value). `issue` tells a scan fault apart from a parse error.
template <class Document>
bool parse_bounded(std::string_view text, std::size_t max_depth, Document& doc,
                   text_issue* issue = nullptr)
{
    text_issue found = scan_text(text, max_depth);
    if (issue != nullptr) {
        *issue = found;
    }
    if (found != text_issue::none) {
        doc.SetNull();
        return false;
    }
    doc.template Parse<parse_flags>(text.data(), text.size());
    return !doc.HasParseError();
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
                    } else {
                        ok = w.Double(cur->GetDouble());
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
