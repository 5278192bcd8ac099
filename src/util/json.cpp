#include "ogp/util/json.hpp"

namespace ogp::json {

namespace {

// Value of four hex digits at `p` (the caller checked there are four); -1 when not hex.
int hex4(const char* p)
{
    int v = 0;
    for (int i = 0; i < 4; ++i) {
        char c = p[i];
        int d = 0;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

}  // namespace

text_issue scan_text(std::string_view text, std::size_t max_depth)
{
    std::size_t depth = 0;
    bool in_string = false;
    // End of the last escaped high surrogate: a low one must start exactly there.
    const char* high_end = nullptr;
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        char c = *p++;
        if (c == '\0') {
            return text_issue::nul_byte;
        }
        if (in_string) {
            if (c == '"') {
                in_string = false;
            } else if (c == '\\' && p < end) {
                const char* esc = p - 1;
                char e = *p++;
                // `\uXXXX`: surrogate halves must pair up.
                if (e == 'u' && end - p >= 4) {
                    int cp = hex4(p);
                    if (cp >= 0xDC00 && cp <= 0xDFFF && high_end != esc) {
                        return text_issue::lone_surrogate;
                    }
                    p += 4;
                    high_end = (cp >= 0xD800 && cp <= 0xDBFF) ? p : nullptr;
                }
            }
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '[':
            case '{':
                if (++depth > max_depth) {
                    return text_issue::too_deep;
                }
                break;
            case ']':
            case '}':
                if (depth > 0) {
                    --depth;
                }
                break;
            default:
                break;
        }
    }
    return text_issue::none;
}

const char* describe(text_issue issue)
{
    switch (issue) {
        case text_issue::none:
            return "no fault";
        case text_issue::too_deep:
            return "nests JSON too deeply";
        case text_issue::nul_byte:
            return "contains a NUL byte";
        case text_issue::lone_surrogate:
            return "contains an unpaired UTF-16 surrogate escape";
        case text_issue::number_out_of_range:
            return "holds a number beyond the range of a double";
    }
    return "is malformed";
}

}  // namespace ogp::json
