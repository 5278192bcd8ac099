#include "support/scrape.hpp"

#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace ogp::test {
namespace {

bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

// `{a="x",b="y"}` from `s[i]` == '{'; advances `i` past '}'. False on a malformed set.
bool parse_labels(std::string_view s, std::size_t& i,
                  std::vector<std::pair<std::string, std::string>>& out)
{
    ++i;  // '{'
    while (i < s.size() && s[i] != '}') {
        std::size_t k = i;
        while (i < s.size() && name_char(s[i], i == k)) {
            ++i;
        }
        if (i == k || i + 1 >= s.size() || s[i] != '=' || s[i + 1] != '"') {
            return false;
        }
        std::string key(s.substr(k, i - k));
        i += 2;
        std::string value;
        while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < s.size()) {
                ++i;
                value += s[i] == 'n' ? '\n' : s[i];
            } else {
                value += s[i];
            }
            ++i;
        }
        if (i >= s.size()) {
            return false;
        }
        ++i;  // closing quote
        out.emplace_back(std::move(key), std::move(value));
        if (i < s.size() && s[i] == ',') {
            ++i;
        }
    }
    if (i >= s.size()) {
        return false;
    }
    ++i;  // '}'
    return true;
}

std::optional<metric_sample> parse_line(std::string_view line)
{
    metric_sample m;
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) {
        ++i;
    }
    if (i == 0) {
        return std::nullopt;
    }
    m.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{' && !parse_labels(line, i, m.labels)) {
        return std::nullopt;
    }
    if (i >= line.size() || line[i] != ' ') {
        return std::nullopt;
    }
    ++i;
    std::size_t end = line.find(' ', i);
    std::string number(line.substr(i, end == std::string_view::npos ? end : end - i));
    if (number == "+Inf") {
        m.value = 1e300;
    } else if (number == "-Inf") {
        m.value = -1e300;
    } else {
        char* stop = nullptr;
        m.value = std::strtod(number.c_str(), &stop);
        if (number.empty() || stop != number.c_str() + number.size()) {
            return std::nullopt;
        }
    }
    return m;
}

bool matches(const metric_sample& m, std::string_view name, const label_match& labels)
{
    if (m.name != name) {
        return false;
    }
    for (const auto& [k, v] : labels) {
        auto got = m.label(k);
        if (!got || *got != v) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<std::string> metric_sample::label(std::string_view key) const
{
    for (const auto& [k, v] : labels) {
        if (k == key) {
            return v;
        }
    }
    return std::nullopt;
}

metric_set::metric_set(std::string_view body)
{
    std::size_t pos = 0;
    while (pos < body.size()) {
        std::size_t eol = body.find('\n', pos);
        std::string_view line =
            body.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? body.size() : eol + 1;
        if (line.empty() || line.front() == '#') {
            continue;
        }
        if (auto m = parse_line(line)) {
            samples_.push_back(std::move(*m));
        }
    }
}

std::vector<const metric_sample*> metric_set::find(std::string_view name,
                                                   const label_match& labels) const
{
    std::vector<const metric_sample*> out;
    for (const auto& m : samples_) {
        if (matches(m, name, labels)) {
            out.push_back(&m);
        }
    }
    return out;
}

double metric_set::sum(std::string_view name, const label_match& labels) const
{
    double total = 0;
    for (const auto* m : find(name, labels)) {
        total += m->value;
    }
    return total;
}

bool metric_set::has(std::string_view name, const label_match& labels) const
{
    return !find(name, labels).empty();
}

http_response get_metrics(std::uint16_t port, bool key, std::string_view accept, ms timeout)
{
    http_client c(port);
    std::string extra;
    if (!accept.empty()) {
        extra = "Accept: " + std::string(accept) + "\r\n";
    }
    return c.request("GET", "/metrics", {}, timeout, key, extra);
}

metric_set scrape_until(std::uint16_t port, const std::function<bool(const metric_set&)>& pred,
                        ms timeout)
{
    const auto deadline = steady::now() + timeout;
    for (;;) {
        auto r = get_metrics(port);
        if (r.status != 200) {
            throw std::runtime_error("GET /metrics: " + std::to_string(r.status) + " " +
                                     printable(r.body));
        }
        metric_set s(r.body);
        if (pred(s) || steady::now() >= deadline) {
            return s;
        }
        std::this_thread::sleep_for(20ms);
    }
}

}  // namespace ogp::test
