#pragma once
// Small ASCII text helpers shared by the parsers of configuration, credential files and
// metadata answers (one definition instead of a copy per file).

#include <string>
#include <string_view>

namespace ogp::text {

/// True for the ASCII white space of the C locale: space, \t, \n, \v, \f, \r.
constexpr bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/// `s` without leading and trailing ASCII white space (a view into `s`).
constexpr std::string_view trim(std::string_view s)
{
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

/// `s` with ASCII letters lowered; other bytes unchanged.
inline std::string to_lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

/// `s` with ASCII letters raised; other bytes unchanged.
inline std::string to_upper(std::string_view s)
{
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return out;
}

}  // namespace ogp::text
