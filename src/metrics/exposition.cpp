// The exposition formats: content negotiation, number and label rendering, family headers.
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "ogp/metrics/registry.hpp"
#include "ogp/util/text.hpp"

namespace ogp::metrics {

namespace {

using text::iequals;
using text::trim_ows;

/// An HTTP q-value: 0, 1, 0.xyz, 1.000 (RFC 9110 §12.4.2); nullopt-as-negative when malformed.
double parse_q(std::string_view v)
{
    if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) {
        return -1;
    }
    double q = v[0] - '0';
    if (v.size() == 1) {
        return q;
    }
    if (v[1] != '.') {
        return -1;
    }
    double scale = 0.1;
    for (std::size_t i = 2; i < v.size(); ++i) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        q += (v[i] - '0') * scale;
        scale /= 10;
    }
    return q > 1 ? -1 : q;
}

bool needs_escape_or_check(std::string_view v)
{
    for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x7f || u < 0x20 || c == '\\' || c == '"') {
            return true;
        }
    }
    return false;
}

/// The length of the well-formed UTF-8 sequence at `s[i]` (lead byte >= 0x80), 0 if invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i)
{
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

/// HELP text: `\` and LF escaped (OpenMetrics: `"` too).
void append_help(std::string& out, std::string_view help, exposition fmt)
{
    for (const char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && fmt == exposition::openmetrics_1_0_0) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

void append_u64(std::string& out, std::uint64_t v)
{
    char buf[24];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, end);
}

}  // namespace

exposition negotiate(std::string_view accept)
{
    double om_q = 0;
    double text_q = 0;
    // Bounded by the header's size (the server caps headers); one pass over the ranges.
    while (!accept.empty()) {
        const auto comma = accept.find(',');
        auto range = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
        const auto semi = range.find(';');
        const auto media = trim_ows(range.substr(0, semi));
        auto params = semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1);
        double q = 1;
        std::string_view version;
        while (!params.empty()) {
            const auto next = params.find(';');
            const auto param = trim_ows(params.substr(0, next));
            params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
            const auto eq = param.find('=');
            if (eq == std::string_view::npos) {
                continue;
            }
            const auto key = trim_ows(param.substr(0, eq));
            auto val = trim_ows(param.substr(eq + 1));
            if (val.size() >= 2 && val.front() == '"' && val.back() == '"') {
                val = val.substr(1, val.size() - 2);
            }
            if (iequals(key, "q")) {
                q = parse_q(val);
            } else if (iequals(key, "version")) {
                version = val;
            }
        }
        if (q <= 0) {
            continue;  // refused or malformed
        }
        if (iequals(media, "application/openmetrics-text")) {
            if (version.empty() || version == "1.0.0") {
                om_q = std::max(om_q, q);
            }
        } else if (iequals(media, "text/plain")) {
            if (version.empty() || version == "0.0.4") {
                text_q = std::max(text_q, q);
            }
        } else if (iequals(media, "text/*") || media == "*/*") {
            text_q = std::max(text_q, q);
        }
    }
    return om_q > 0 && om_q >= text_q ? exposition::openmetrics_1_0_0 : exposition::text_0_0_4;
}

std::string_view content_type(exposition fmt)
{
    return fmt == exposition::openmetrics_1_0_0
               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
               : "text/plain; version=0.0.4; charset=utf-8";
}

void append_double(std::string& out, double v)
{
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    // Shortest representation that parses back to the same double.
    char buf[32];
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    out.append(buf, end);
}

std::string_view truncate_utf8(std::string_view value, std::size_t max) noexcept
{
    if (value.size() <= max) {
        return value;
    }
    std::size_t n = max;
    // value[n] is the first byte dropped: back up while it continues a character.
    while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) {
        --n;
    }
    return value.substr(0, n);
}

void append_label(std::string& out, std::string_view name, std::string_view value)
{
    if (value.empty()) {
        return;
    }
    value = truncate_utf8(value);
    if (!out.empty()) {
        out += ',';
    }
    out += name;
    out += "=\"";
    if (!needs_escape_or_check(value)) {
        out += value;
        out += '"';
        return;
    }
    for (std::size_t i = 0; i < value.size();) {
        const char c = value[i];
        if (static_cast<unsigned char>(c) >= 0x80) {
            if (const auto n = utf8_sequence(value, i)) {
                out.append(value.data() + i, n);
                i += n;
            } else {
                out += "\xEF\xBF\xBD";  // U+FFFD: Prometheus rejects invalid UTF-8
                ++i;
            }
            continue;
        }
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            // No escape exists for the other control bytes (a bare CR or a NUL breaks parsers
            // that split lines or strings on them): the replacement character instead.
            out += "\xEF\xBF\xBD";
        } else {
            out += c;
        }
        ++i;
    }
    out += '"';
}

void text_writer::header(std::string_view name, metric_kind kind, std::string_view help)
{
    const bool om = fmt_ == exposition::openmetrics_1_0_0;
    // OpenMetrics names the family without the sample suffix of its type.
    if (om && kind == metric_kind::counter && name.ends_with("_total")) {
        name.remove_suffix(6);
    } else if (om && kind == metric_kind::info && name.ends_with("_info")) {
        name.remove_suffix(5);
    }
    std::string_view type = "gauge";
    switch (kind) {
        case metric_kind::counter:
            type = "counter";
            break;
        case metric_kind::gauge:
            type = "gauge";
            break;
        case metric_kind::histogram:
            type = "histogram";
            break;
        case metric_kind::info:
            type = om ? "info" : "gauge";
            break;
    }
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_help(out_, help, fmt_);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

namespace {

// `name{labels} ` (no braces without labels): what every sample line starts with.
void sample_prefix(std::string& out, std::string_view name, std::string_view labels)
{
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
}

}  // namespace

void text_writer::sample(std::string_view name, std::string_view labels, std::uint64_t v)
{
    sample_prefix(out_, name, labels);
    append_u64(out_, v);
    out_ += '\n';
}

void text_writer::sample(std::string_view name, std::string_view labels, double v)
{
    sample_prefix(out_, name, labels);
    append_double(out_, v);
    out_ += '\n';
}

void text_writer::finish()
{
    if (fmt_ == exposition::openmetrics_1_0_0) {
        out_ += "# EOF\n";
    }
}

}  // namespace ogp::metrics
