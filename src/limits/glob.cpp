// Model allow-list matching and the OpenAI reset-time spelling.
#include <string>
#include <string_view>
#include <vector>

#include "ogp/limits/limiter.hpp"

namespace ogp::limits {

bool glob_match(std::string_view pattern, std::string_view text)
{
    // Greedy with one backtrack point (the last `*`): linear in practice, never recursive.
    std::size_t p = 0;
    std::size_t t = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

bool model_allowed(const std::vector<std::string>& patterns, std::string_view model)
{
    if (patterns.empty()) {
        return true;
    }
    for (const auto& p : patterns) {
        if (glob_match(p, model)) {
            return true;
        }
    }
    return false;
}

std::string reset_text(std::chrono::milliseconds d)
{
    const auto ms = d.count() < 0 ? 0 : d.count();
    if (ms < 1000) {
        return std::to_string(ms) + "ms";
    }
    auto s = (ms + 999) / 1000;  // rounded up: never tell a client to come back too early
    std::string out;
    if (s >= 3600) {
        out += std::to_string(s / 3600) + "h";
        s %= 3600;
        out += std::to_string(s / 60) + "m";
        s %= 60;
    } else if (s >= 60) {
        out += std::to_string(s / 60) + "m";
        s %= 60;
    }
    out += std::to_string(s) + "s";
    return out;
}

}  // namespace ogp::limits
