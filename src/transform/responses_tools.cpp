// What a function call of the answer becomes when its function stands for a Responses tool of
// another kind: the `input` of a custom (freeform) tool, decoded from the arguments
// `{"input":"..."}` its function is called with (as a whole, or fragment by fragment for a
// stream: one decoder, so both give the same text), and the `arguments` value of a
// tool_search_call.

#include "json_util.hpp"
#include "responses_util.hpp"

namespace ogp::transform::detail {

namespace {

constexpr std::string_view pattern = R"({"input":")";

bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Whitespace may come before `{`, the key, `:` and the string.
bool space_allowed(std::size_t matched)
{
    return matched == 0 || matched == 1 || matched == 8 || matched == 9;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void append_utf8(std::string& out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

constexpr std::uint32_t replacement = 0xFFFD;

bool is_high(std::uint32_t u)
{
    return u >= 0xD800 && u <= 0xDBFF;
}

bool is_low(std::uint32_t u)
{
    return u >= 0xDC00 && u <= 0xDFFF;
}

}  // namespace

output_kind call_kind(const responses_plan& plan, std::string_view name)
{
    for (const std::string& c : plan.custom_tools) {
        if (c == name) {
            return output_kind::custom_tool_call;
        }
    }
    if (plan.client_tool_search && name == "tool_search") {
        return output_kind::tool_search_call;
    }
    return output_kind::function_call;
}

void custom_input_decoder::feed(std::string_view fragment, std::string& out)
{
    for (std::size_t i = 0; i < fragment.size(); ++i) {
        if (state_ == state::other) {
            kept_.append(fragment.substr(i));  // kept whole, looked at by finish()
            return;
        }
        if (state_ == state::done) {
            return;
        }
        if (state_ == state::text) {
            // A run of plain characters at once.
            std::size_t end = fragment.find_first_of("\\\"", i);
            if (end == std::string_view::npos) {
                end = fragment.size();
            }
            const std::size_t from = out.size();
            out.append(held_);
            held_.clear();
            out.append(fragment.substr(i, end - i));
            i = end;
            if (i == fragment.size()) {
                hold_partial(out, from);
                return;
            }
        }
        step(fragment[i], out);
    }
}

// A fragment may end inside a UTF-8 sequence: its first bytes wait for the rest, so that
// every delta is whole characters.
void custom_input_decoder::hold_partial(std::string& out, std::size_t from)
{
    std::size_t lead = out.size();
    while (lead > from && out.size() - lead < 4 &&
           (static_cast<unsigned char>(out[lead - 1]) & 0xC0) == 0x80) {
        --lead;
    }
    if (lead == from) {
        return;
    }
    const auto b = static_cast<unsigned char>(out[lead - 1]);
    const std::size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    if (want > out.size() - (lead - 1)) {
        held_.assign(out, lead - 1);
        out.resize(lead - 1);
    }
}

void custom_input_decoder::step(char c, std::string& out)
{
    switch (state_) {
        case state::prefix:
            kept_.push_back(c);
            if (json_space(c) && space_allowed(matched_)) {
                return;
            }
            if (c != pattern[matched_]) {
                state_ = state::other;
                return;
            }
            if (++matched_ == pattern.size()) {
                state_ = state::text;
                kept_.clear();
                kept_.shrink_to_fit();
            }
            return;
        case state::other:
            kept_.push_back(c);
            return;
        case state::text:
            out.append(held_);
            held_.clear();
            if (c == '\\') {
                state_ = state::escape;
            } else if (c == '"') {
                state_ = state::done;
            } else {
                out.push_back(c);
            }
            return;
        case state::escape: {
            state_ = state::text;
            switch (c) {
                case '"':
                case '\\':
                case '/':
                    out.push_back(c);
                    return;
                case 'b':
                    out.push_back('\b');
                    return;
                case 'f':
                    out.push_back('\f');
                    return;
                case 'n':
                    out.push_back('\n');
                    return;
                case 'r':
                    out.push_back('\r');
                    return;
                case 't':
                    out.push_back('\t');
                    return;
                case 'u':
                    state_ = state::hex;
                    unit_ = 0;
                    digits_ = 0;
                    raw_[0] = '\\';
                    raw_[1] = 'u';
                    return;
                default:
                    // Not JSON: kept as written.
                    out.push_back('\\');
                    out.push_back(c);
                    return;
            }
        }
        case state::hex:
        case state::low_hex: {
            const int v = hex_value(c);
            if (v < 0) {
                // A malformed \u escape is kept as written (after the lone high surrogate's
                // replacement); `c` starts over as text.
                if (state_ == state::low_hex) {
                    append_utf8(out, replacement);
                }
                out.append(raw_, static_cast<std::size_t>(2 + digits_));
                state_ = state::text;
                step(c, out);
                return;
            }
            raw_[2 + digits_] = c;
            unit_ = unit_ * 16 + static_cast<std::uint32_t>(v);
            if (++digits_ < 4) {
                return;
            }
            if (state_ == state::low_hex && is_low(unit_)) {
                append_utf8(out, 0x10000 + ((high_ - 0xD800) << 10) + (unit_ - 0xDC00));
                state_ = state::text;
                return;
            }
            if (state_ == state::low_hex) {
                append_utf8(out, replacement);  // the high surrogate had no low one
            }
            code_unit(unit_, out);
            return;
        }
        case state::high:
            if (c == '\\') {
                state_ = state::high_esc;
                return;
            }
            append_utf8(out, replacement);
            state_ = state::text;
            step(c, out);
            return;
        case state::high_esc:
            if (c == 'u') {
                state_ = state::low_hex;
                unit_ = 0;
                digits_ = 0;
                return;  // raw_ still holds `\u`
            }
            append_utf8(out, replacement);
            state_ = state::escape;
            step(c, out);
            return;
        case state::done:
            return;
    }
}

void custom_input_decoder::code_unit(std::uint32_t u, std::string& out)
{
    if (is_high(u)) {
        high_ = u;
        state_ = state::high;
        return;
    }
    append_utf8(out, is_low(u) ? replacement : u);
    state_ = state::text;
}

void custom_input_decoder::finish(std::string& out)
{
    if (state_ == state::prefix || state_ == state::other) {
        // Another shape: the `input` member of an object that has a string one, else the
        // arguments as they are.
        rapidjson::Document d;
        const rapidjson::Value* input = nullptr;
        if (parse_upstream(kept_, d) && d.IsObject()) {
            input = get(d, "input");
        }
        if (input != nullptr && input->IsString()) {
            out.append(input->GetString(), input->GetStringLength());
        } else {
            out.append(kept_);
        }
        kept_.clear();
    }
    // A cut inside an escape drops it; a partial character is kept as it came.
    out.append(held_);
    held_.clear();
    state_ = state::done;
}

std::string custom_tool_input(std::string_view arguments)
{
    custom_input_decoder d;
    std::string out;
    d.feed(arguments, out);
    d.finish(out);
    return out;
}

void append_tool_search_arguments(std::string& out, std::string_view arguments)
{
    std::size_t first = 0;
    while (first < arguments.size() && json_space(arguments[first])) {
        ++first;
    }
    if (first == arguments.size()) {
        out += "{}";
        return;
    }
    rapidjson::Document d;
    if (parse_upstream(arguments, d)) {
        out += to_json(d);
    } else {
        append_json_string(out, arguments);
    }
}

}  // namespace ogp::transform::detail
