#pragma once
// A strict parser of the Prometheus text exposition format 0.0.4 (and of OpenMetrics 1.0.0
// text, the subset our writer produces) for tests: it rejects whatever a Prometheus scrape
// could reject and what the format's rules forbid (metric and label name grammar, HELP/TYPE
// at most once and before the family's samples, samples of a family contiguous, label value
// escapes and UTF-8, float values, histogram buckets cumulative with `le` sorted and a `+Inf`
// bucket equal to `_count`, `_sum`/`_count` present, no duplicate series, trailing newline).
// Header-only; used by tests/unit/metrics and the e2e tests.
//
//   auto parsed = ogp::test::parse_exposition(body);
//   REQUIRE(parsed.ok());   // else parsed.error_line, parsed.error
//   CHECK(ogp::test::value(parsed.families, "ogp_http_requests_total",
//                          {{"route", "chat_completions"}, {"code", "200"}}) == 1);

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ogp::test {

/// Label pairs in the order they appeared (values unescaped).
using label_pairs = std::vector<std::pair<std::string, std::string>>;

/// One sample line: `name{labels} value [timestamp]`.
struct expo_sample
{
    std::string name;
    label_pairs labels;
    double value = 0;
    std::optional<std::int64_t> timestamp;
    std::size_t line = 0;  ///< 1-based line number

    /// The value of label `key`, nullopt when absent.
    std::optional<std::string> label(std::string_view key) const
    {
        for (const auto& [k, v] : labels) {
            if (k == key) {
                return v;
            }
        }
        return std::nullopt;
    }
};

/// A metric family: its metadata and its (contiguous) samples.
struct expo_family
{
    std::string name;              ///< as on the TYPE line (OpenMetrics: without `_total`)
    std::string type = "untyped";  ///< text: counter gauge histogram summary untyped
    std::optional<std::string> help;
    bool typed = false;  ///< a TYPE line was seen
    std::vector<expo_sample> samples;
};

/// The outcome of a parse: the families, or the first error and its 1-based line.
struct expo_result
{
    std::vector<expo_family> families;
    std::string error;
    std::size_t error_line = 0;

    bool ok() const { return error.empty(); }
    /// "line N: what" (for INFO/FAIL messages); empty when ok.
    std::string describe() const
    {
        return ok() ? std::string() : "line " + std::to_string(error_line) + ": " + error;
    }
};

enum class expo_format { text_0_0_4, openmetrics_1_0_0 };

namespace expo_detail {

inline bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
inline bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*
inline bool valid_metric_name(std::string_view n)
{
    if (n.empty() || !(is_name_start(n[0]) || n[0] == ':')) {
        return false;
    }
    return std::all_of(n.begin(), n.end(), [](char c) { return is_name_char(c) || c == ':'; });
}

/// Label names: [a-zA-Z_][a-zA-Z0-9_]*
inline bool valid_label_name(std::string_view n)
{
    if (n.empty() || !is_name_start(n[0])) {
        return false;
    }
    return std::all_of(n.begin(), n.end(), is_name_char);
}

/// Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
inline bool valid_utf8(std::string_view s)
{
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= s.size()) {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

/// A float as the formats allow it: [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?, [+-]Inf, NaN.
inline std::optional<double> parse_float(std::string_view t)
{
    if (t == "+Inf" || t == "Inf") {
        return HUGE_VAL;
    }
    if (t == "-Inf") {
        return -HUGE_VAL;
    }
    if (t == "NaN") {
        return std::nan("");
    }
    std::size_t i = 0;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
        ++i;
    }
    std::size_t digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
        ++i;
        ++digits;
    }
    if (i < t.size() && t[i] == '.') {
        ++i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
            ++i;
            ++digits;
        }
    }
    if (digits == 0) {
        return std::nullopt;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
            ++i;
        }
        std::size_t exp_digits = 0;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
            ++i;
            ++exp_digits;
        }
        if (exp_digits == 0) {
            return std::nullopt;
        }
    }
    if (i != t.size()) {
        return std::nullopt;
    }
    const std::string copy(t);
    return std::strtod(copy.c_str(), nullptr);
}

/// A timestamp: [+-]?d+ (text: milliseconds).
inline std::optional<std::int64_t> parse_int(std::string_view t)
{
    std::size_t i = 0;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
        ++i;
    }
    if (i == t.size() || t.size() - i > 18) {
        return std::nullopt;
    }
    for (std::size_t k = i; k < t.size(); ++k) {
        if (t[k] < '0' || t[k] > '9') {
            return std::nullopt;
        }
    }
    return std::strtoll(std::string(t).c_str(), nullptr, 10);
}

inline bool ends_with(std::string_view s, std::string_view suffix)
{
    return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// The parser's state: one family is "current"; a family that was left may not come back.
class parser
{
public:
    explicit parser(expo_format fmt) : fmt_(fmt) {}

    expo_result run(std::string_view text)
    {
        parse_lines(text);
        if (error_.empty() && current_ != npos) {
            close_family(current_);
        }
        expo_result r;
        if (!error_.empty()) {
            r.error = error_;
            r.error_line = error_line_;
            return r;
        }
        r.families = std::move(families_);
        return r;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    bool om() const { return fmt_ == expo_format::openmetrics_1_0_0; }

    bool fail(std::size_t line, std::string what)
    {
        if (error_.empty()) {
            error_ = std::move(what);
            error_line_ = line;
        }
        return false;
    }

    void parse_lines(std::string_view text)
    {
        if (text.empty()) {
            if (om()) {
                fail(1, "missing # EOF");
            }
            return;
        }
        std::size_t pos = 0;
        std::size_t line_no = 0;
        bool eof_seen = false;
        while (pos < text.size()) {
            ++line_no;
            const auto nl = text.find('\n', pos);
            const bool terminated = nl != std::string_view::npos;
            const auto line = text.substr(pos, terminated ? nl - pos : std::string_view::npos);
            pos = terminated ? nl + 1 : text.size();
            if (eof_seen) {
                fail(line_no, "content after # EOF");
                return;
            }
            if (om() && line == "# EOF") {
                eof_seen = true;
                continue;
            }
            if (!terminated) {
                fail(line_no, "missing trailing newline");
                return;
            }
            if (!parse_line(line, line_no)) {
                return;
            }
        }
        if (om() && !eof_seen) {
            fail(line_no, "missing # EOF");
        }
    }

    bool parse_line(std::string_view line, std::size_t no)
    {
        if (line.empty()) {
            return om() ? fail(no, "empty line (not allowed in OpenMetrics)") : true;
        }
        if (line.find('\r') != std::string_view::npos) {
            return fail(no, "carriage return in line");
        }
        if (line[0] == '#') {
            return parse_comment(line, no);
        }
        return parse_sample(line, no);
    }

    bool parse_comment(std::string_view line, std::size_t no)
    {
        const bool help = line.rfind("# HELP ", 0) == 0;
        const bool type = line.rfind("# TYPE ", 0) == 0;
        const bool unit = line.rfind("# UNIT ", 0) == 0;
        if (!help && !type && !(unit && om())) {
            if (om()) {
                return fail(no, "unknown comment line");
            }
            // Text format: other comments are allowed, but `# HELP`/`# TYPE` must be exact.
            if (line.rfind("# HELP", 0) == 0 || line.rfind("# TYPE", 0) == 0) {
                return fail(no, "malformed HELP/TYPE line");
            }
            return true;
        }
        auto rest = line.substr(7);
        const auto sp = rest.find(' ');
        const auto name = rest.substr(0, sp);
        const auto arg = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
        if (!valid_metric_name(name)) {
            return fail(no, "invalid metric name '" + std::string(name) + "'");
        }
        const auto f = family_for_metadata(name, no);
        if (f == npos) {
            return false;
        }
        auto& fam = families_[f];
        if (help) {
            if (fam.help) {
                return fail(no, "second HELP for " + std::string(name));
            }
            auto text = unescape_help(arg, no);
            if (!text) {
                return false;
            }
            fam.help = std::move(*text);
            return true;
        }
        if (unit) {
            if (units_.count(f) != 0u) {
                return fail(no, "second UNIT for " + std::string(name));
            }
            units_.insert(f);
            return true;
        }
        if (fam.typed) {
            return fail(no, "second TYPE for " + std::string(name));
        }
        static const std::set<std::string_view> text_types{"counter", "gauge", "histogram",
                                                           "summary", "untyped"};
        static const std::set<std::string_view> om_types{"counter",        "gauge",   "histogram",
                                                         "gaugehistogram", "summary", "info",
                                                         "stateset",       "unknown"};
        if ((om() ? om_types : text_types).count(arg) == 0u) {
            return fail(no, "unknown type '" + std::string(arg) + "'");
        }
        if (om() && arg == "counter" && ends_with(name, "_total")) {
            return fail(no, "OpenMetrics counter family name ends in _total");
        }
        fam.type = std::string(arg);
        fam.typed = true;
        return true;
    }

    std::optional<std::string> unescape_help(std::string_view s, std::size_t no)
    {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] != '\\') {
                out += s[i];
                continue;
            }
            if (i + 1 == s.size()) {
                fail(no, "dangling backslash in HELP");
                return std::nullopt;
            }
            const char e = s[++i];
            if (e == '\\') {
                out += '\\';
            } else if (e == 'n') {
                out += '\n';
            } else if (e == '"' && om()) {
                out += '"';
            } else {
                fail(no, std::string("bad escape \\") + e + " in HELP");
                return std::nullopt;
            }
        }
        if (!valid_utf8(out)) {
            fail(no, "HELP is not UTF-8");
            return std::nullopt;
        }
        return out;
    }

    /// The family a HELP/TYPE line for `name` belongs to (created when new).
    std::size_t family_for_metadata(std::string_view name, std::size_t no)
    {
        for (std::size_t i = 0; i < families_.size(); ++i) {
            if (families_[i].name == name) {
                if (!families_[i].samples.empty()) {
                    fail(no, "HELP/TYPE for " + std::string(name) + " after its samples");
                    return npos;
                }
                switch_to(i);
                return error_.empty() ? i : npos;
            }
        }
        families_.push_back(expo_family{std::string(name)});
        if (om()) {
            families_.back().type = "unknown";
        }
        switch_to(families_.size() - 1);
        return error_.empty() ? families_.size() - 1 : npos;
    }

    void switch_to(std::size_t f)
    {
        if (current_ != f && current_ != npos) {
            close_family(current_);
            closed_.insert(current_);
        }
        current_ = f;
    }

    /// The suffixes a family's samples may carry, by type.
    std::vector<std::string_view> suffixes(const expo_family& f) const
    {
        const auto& t = f.type;
        if (om()) {
            if (t == "counter") {
                return {"_total", "_created"};
            }
            if (t == "histogram" || t == "gaugehistogram") {
                return {"_bucket", "_count", "_sum", "_created", "_gcount", "_gsum"};
            }
            if (t == "summary") {
                return {"", "_count", "_sum", "_created"};
            }
            if (t == "info") {
                return {"_info"};
            }
            return {""};
        }
        if (t == "histogram") {
            return {"_bucket", "_count", "_sum"};
        }
        if (t == "summary") {
            return {"", "_count", "_sum"};
        }
        return {""};
    }

    /// The family a sample named `name` belongs to (an untyped one is created when none).
    std::size_t family_for_sample(std::string_view name, std::size_t no)
    {
        std::size_t found = npos;
        for (std::size_t i = 0; i < families_.size() && found == npos; ++i) {
            for (auto sfx : suffixes(families_[i])) {
                if (name.size() == families_[i].name.size() + sfx.size() &&
                    name.substr(0, families_[i].name.size()) == families_[i].name &&
                    name.substr(families_[i].name.size()) == sfx) {
                    found = i;
                    break;
                }
            }
        }
        if (found == npos) {
            for (std::size_t i = 0; i < families_.size(); ++i) {
                if (families_[i].name == name) {
                    fail(no, "sample " + std::string(name) + " does not fit family type " +
                                 families_[i].type);
                    return npos;
                }
            }
            if (om()) {
                fail(no, "sample " + std::string(name) + " without a TYPE (OpenMetrics)");
                return npos;
            }
            families_.push_back(expo_family{std::string(name)});
            found = families_.size() - 1;
        }
        if (closed_.count(found) != 0u) {
            fail(no, "samples of " + families_[found].name + " are not contiguous");
            return npos;
        }
        switch_to(found);
        return error_.empty() ? found : npos;
    }

    bool parse_sample(std::string_view line, std::size_t no)
    {
        std::size_t i = 0;
        while (i < line.size() && (is_name_char(line[i]) || line[i] == ':')) {
            ++i;
        }
        const auto name = line.substr(0, i);
        if (!valid_metric_name(name)) {
            return fail(no, "invalid metric name in sample");
        }
        expo_sample s;
        s.name = std::string(name);
        s.line = no;
        if (i < line.size() && line[i] == '{') {
            ++i;
            if (!parse_labels(line, i, s.labels, no)) {
                return false;
            }
        }
        if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) {
            return fail(no, "expected a blank before the value");
        }
        // Text: blanks separate tokens; OpenMetrics: exactly one space.
        auto rest = line.substr(i);
        std::vector<std::string_view> tokens;
        std::size_t p = 0;
        while (p < rest.size()) {
            const auto start = p;
            while (p < rest.size() && (rest[p] == ' ' || rest[p] == '\t')) {
                ++p;
            }
            if (om() && (p - start != 1 || rest[start] != ' ')) {
                return fail(no, "OpenMetrics needs exactly one space between tokens");
            }
            if (p == rest.size()) {
                return fail(no, "trailing blank");
            }
            const auto tok_start = p;
            while (p < rest.size() && rest[p] != ' ' && rest[p] != '\t') {
                ++p;
            }
            tokens.push_back(rest.substr(tok_start, p - tok_start));
        }
        if (tokens.empty() || tokens.size() > 2) {
            return fail(no, "expected value [timestamp]");
        }
        const auto v = parse_float(tokens[0]);
        if (!v) {
            return fail(no, "invalid value '" + std::string(tokens[0]) + "'");
        }
        s.value = *v;
        if (tokens.size() == 2) {
            if (om()) {
                const auto ts = parse_float(tokens[1]);
                if (!ts || !std::isfinite(*ts)) {
                    return fail(no, "invalid timestamp");
                }
                s.timestamp = static_cast<std::int64_t>(*ts * 1000);
            } else {
                s.timestamp = parse_int(tokens[1]);
                if (!s.timestamp) {
                    return fail(no, "invalid timestamp '" + std::string(tokens[1]) + "'");
                }
            }
        }
        const auto f = family_for_sample(name, no);
        if (f == npos) {
            return false;
        }
        // Duplicate series: the same name and label set (order-insensitive).
        auto sorted = s.labels;
        std::sort(sorted.begin(), sorted.end());
        std::string key = s.name;
        for (const auto& [k, val] : sorted) {
            key += '\0';
            key += k;
            key += '\0';
            key += val;
        }
        if (!series_.insert(key).second) {
            return fail(no, "duplicate series " + std::string(line.substr(0, i)));
        }
        const auto& type = families_[f].type;
        if (type == "counter" && (std::isnan(s.value) || s.value < 0) &&
            (om() ? ends_with(s.name, "_total") : true)) {
            return fail(no, "counter value negative or NaN");
        }
        if (type == "histogram" || type == "gaugehistogram") {
            const bool bucket = ends_with(s.name, "_bucket");
            const auto le = s.label("le");
            if (bucket && !le) {
                return fail(no, "histogram bucket without le");
            }
            if (!bucket && le) {
                return fail(no, "le label on a non-bucket histogram sample");
            }
            if (bucket && !parse_float(*le)) {
                return fail(no, "le value is not a float");
            }
            if (ends_with(s.name, "_count") && !(s.value >= 0)) {
                return fail(no, "negative histogram count");
            }
        }
        if (type == "summary" && s.name == families_[f].name) {
            const auto q = s.label("quantile");
            const auto qv = q ? parse_float(*q) : std::nullopt;
            if (!qv || *qv < 0 || *qv > 1) {
                return fail(no, "summary quantile missing or outside [0,1]");
            }
        }
        families_[f].samples.push_back(std::move(s));
        return true;
    }

    bool parse_labels(std::string_view line, std::size_t& i, label_pairs& labels, std::size_t no)
    {
        std::set<std::string> seen;
        while (true) {
            if (i >= line.size()) {
                return fail(no, "unterminated label set");
            }
            if (line[i] == '}') {
                ++i;
                return true;
            }
            const auto start = i;
            while (i < line.size() && is_name_char(line[i])) {
                ++i;
            }
            const auto lname = line.substr(start, i - start);
            if (!valid_label_name(lname)) {
                return fail(no, "invalid label name '" + std::string(lname) + "'");
            }
            if (lname.size() >= 2 && lname.substr(0, 2) == "__") {
                return fail(no, "reserved label name '" + std::string(lname) + "'");
            }
            if (!seen.insert(std::string(lname)).second) {
                return fail(no, "duplicate label name '" + std::string(lname) + "'");
            }
            if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
                return fail(no, "expected =\" after label name");
            }
            i += 2;
            std::string value;
            bool closed = false;
            while (i < line.size()) {
                const char c = line[i++];
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c != '\\') {
                    value += c;
                    continue;
                }
                if (i >= line.size()) {
                    return fail(no, "dangling backslash in label value");
                }
                const char e = line[i++];
                if (e == '\\') {
                    value += '\\';
                } else if (e == '"') {
                    value += '"';
                } else if (e == 'n') {
                    value += '\n';
                } else {
                    return fail(no, std::string("bad escape \\") + e + " in label value");
                }
            }
            if (!closed) {
                return fail(no, "unterminated label value");
            }
            if (!valid_utf8(value)) {
                return fail(no, "label value is not UTF-8");
            }
            labels.emplace_back(std::string(lname), std::move(value));
            if (i < line.size() && line[i] == ',') {
                ++i;
                // A trailing comma before `}` is allowed by the text format, not by OpenMetrics.
                if (om() && i < line.size() && line[i] == '}') {
                    return fail(no, "trailing comma in label set");
                }
            } else if (i < line.size() && line[i] != '}') {
                return fail(no, "expected , or } after label value");
            }
        }
    }

    /// Whole-family checks once its samples are complete (histogram rules).
    void close_family(std::size_t f)
    {
        if (!error_.empty()) {
            return;
        }
        const auto& fam = families_[f];
        if (fam.type != "histogram" && fam.type != "gaugehistogram") {
            return;
        }
        struct group
        {
            std::vector<const expo_sample*> buckets;
            const expo_sample* count = nullptr;
            const expo_sample* sum = nullptr;
            std::size_t first_line = 0;
        };
        std::vector<std::pair<std::string, group>> groups;
        auto group_of = [&](const expo_sample& s) -> group& {
            auto sorted = s.labels;
            sorted.erase(std::remove_if(sorted.begin(), sorted.end(),
                                        [](const auto& kv) { return kv.first == "le"; }),
                         sorted.end());
            std::sort(sorted.begin(), sorted.end());
            std::string key;
            for (const auto& [k, v] : sorted) {
                key += k;
                key += '\0';
                key += v;
                key += '\0';
            }
            for (auto& [k, g] : groups) {
                if (k == key) {
                    return g;
                }
            }
            groups.emplace_back(key, group{});
            groups.back().second.first_line = s.line;
            return groups.back().second;
        };
        const bool gauge = fam.type == "gaugehistogram";
        for (const auto& s : fam.samples) {
            auto& g = group_of(s);
            if (ends_with(s.name, "_bucket")) {
                g.buckets.push_back(&s);
            } else if (ends_with(s.name, gauge ? "_gcount" : "_count")) {
                g.count = &s;
            } else if (ends_with(s.name, gauge ? "_gsum" : "_sum")) {
                g.sum = &s;
            }
        }
        for (const auto& [key, g] : groups) {
            if (g.buckets.empty()) {
                fail(g.first_line, fam.name + ": histogram series without buckets");
                return;
            }
            double prev_le = -HUGE_VAL;
            double prev_v = 0;
            for (std::size_t k = 0; k < g.buckets.size(); ++k) {
                const auto* b = g.buckets[k];
                const double le = *parse_float(*b->label("le"));
                if (std::isnan(le) || (k > 0 && le <= prev_le)) {
                    fail(b->line, fam.name + ": le values not sorted ascending");
                    return;
                }
                if (std::isnan(b->value) || b->value < 0 || (k > 0 && b->value < prev_v)) {
                    fail(b->line, fam.name + ": buckets not cumulative");
                    return;
                }
                prev_le = le;
                prev_v = b->value;
            }
            const auto* last = g.buckets.back();
            if (!std::isinf(prev_le)) {
                fail(last->line, fam.name + ": no +Inf bucket");
                return;
            }
            if (!g.count) {
                fail(last->line, fam.name + ": _count missing");
                return;
            }
            if (!g.sum && !om()) {
                fail(last->line, fam.name + ": _sum missing");
                return;
            }
            if (g.count->value != last->value) {
                fail(g.count->line, fam.name + ": _count differs from the +Inf bucket");
                return;
            }
        }
    }

    expo_format fmt_;
    std::vector<expo_family> families_;
    std::set<std::size_t> closed_;
    std::set<std::size_t> units_;
    std::set<std::string> series_;
    std::size_t current_ = npos;
    std::string error_;
    std::size_t error_line_ = 0;
};

inline bool labels_include(const expo_sample& s, const label_pairs& subset)
{
    return std::all_of(subset.begin(), subset.end(), [&](const auto& kv) {
        const auto v = s.label(kv.first);
        // Prometheus semantics: an empty value matches an absent label.
        return v ? *v == kv.second : kv.second.empty();
    });
}

}  // namespace expo_detail

/// Parses `text` strictly; on failure `error`/`error_line` name the first problem.
inline expo_result parse_exposition(std::string_view text,
                                    expo_format fmt = expo_format::text_0_0_4)
{
    return expo_detail::parser(fmt).run(text);
}

/// Every sample named `name` (a sample name: `x_bucket`, `x_total`, ...) whose labels include
/// `subset`.
inline std::vector<const expo_sample*> find(const std::vector<expo_family>& families,
                                            std::string_view name, const label_pairs& subset = {})
{
    std::vector<const expo_sample*> out;
    for (const auto& f : families) {
        for (const auto& s : f.samples) {
            if (s.name == name && expo_detail::labels_include(s, subset)) {
                out.push_back(&s);
            }
        }
    }
    return out;
}

/// The value of the one sample named `name` whose labels include `subset`; nullopt when there
/// is none or more than one.
inline std::optional<double> value(const std::vector<expo_family>& families, std::string_view name,
                                   const label_pairs& subset = {})
{
    const auto found = find(families, name, subset);
    if (found.size() != 1) {
        return std::nullopt;
    }
    return found.front()->value;
}

/// The sum of the values of every sample named `name` whose labels include `subset` (0 when
/// none).
inline double sum(const std::vector<expo_family>& families, std::string_view name,
                  const label_pairs& subset = {})
{
    double total = 0;
    for (const auto* s : find(families, name, subset)) {
        total += s->value;
    }
    return total;
}

/// The family named `name` (as on its TYPE line), nullptr when absent.
inline const expo_family* family(const std::vector<expo_family>& families, std::string_view name)
{
    for (const auto& f : families) {
        if (f.name == name) {
            return &f;
        }
    }
    return nullptr;
}

}  // namespace ogp::test
