#include "ogp/server/request_guard.hpp"

#include <algorithm>
#include <cctype>
#include "ogp/util/text.hpp"

namespace ogp::server {
namespace {

using text::iequals;
using text::trim_ows;

constexpr std::size_t max_chunk_line = 4096;
constexpr std::size_t max_method = 32;

bool is_tchar(unsigned char c)
{
    // RFC 9110 token characters.
    if (std::isalnum(c)) {
        return true;
    }
    switch (c) {
        case '!':
        case '#':
        case '$':
        case '%':
        case '&':
        case '\'':
        case '*':
        case '+':
        case '-':
        case '.':
        case '^':
        case '_':
        case '`':
        case '|':
        case '~':
            return true;
        default:
            return false;
    }
}

bool is_ctl_in_head(unsigned char c)
{
    // CR and LF are line structure, HTAB is allowed whitespace; every other CTL is refused.
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

guard_reject reject(unsigned status, std::string reason)
{
    return guard_reject{status, std::move(reason)};
}

// Splits a comma-separated header value into trimmed, lower-cased tokens.
std::vector<std::string> split_tokens(std::string_view v)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= v.size()) {
        auto comma = v.find(',', start);
        auto part =
            trim_ows(v.substr(start, comma == std::string_view::npos ? v.npos : comma - start));
        std::string t(part);
        std::transform(t.begin(), t.end(), t.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.push_back(std::move(t));
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return out;
}

std::variant<std::uint64_t, guard_reject> parse_content_length(std::string_view v,
                                                               std::size_t max_body)
{
    // 1*DIGIT only: no sign, no hex, no list, at most 19 digits (fits uint64).
    if (v.empty() || v.size() > 19 ||
        !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
        return reject(400, "invalid Content-Length");
    }
    std::uint64_t n = 0;
    for (char c : v) {
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > max_body) {
        return reject(413,
                      "request body exceeds the limit of " + std::to_string(max_body) + " bytes");
    }
    return n;
}

}  // namespace

std::optional<std::string_view> request_head::find(std::string_view name) const
{
    for (const auto& [k, v] : fields) {
        if (iequals(k, name)) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

std::string_view request_head::path() const
{
    std::string_view t(target);
    auto q = t.find('?');
    return q == std::string_view::npos ? t : t.substr(0, q);
}

head_scan scan_head(std::string_view buf, const guard_limits& limits)
{
    head_scan r;
    // Ignore empty lines before the request line (RFC 9112 §2.2), CRLF only.
    std::size_t pos = 0;
    while (buf.size() - pos >= 2 && buf[pos] == '\r' && buf[pos + 1] == '\n' && pos < 64) {
        pos += 2;
    }
    r.skipped = pos;
    std::size_t line_start = pos;
    bool first_line = true;
    for (std::size_t i = pos; i < buf.size(); ++i) {
        auto c = static_cast<unsigned char>(buf[i]);
        if (is_ctl_in_head(c)) {
            r.reject = reject(400, "control character in request head");
            return r;
        }
        if (c == '\r') {
            // CR must be followed by LF; at the end of the buffer we need more bytes.
            if (i + 1 < buf.size() && buf[i + 1] != '\n') {
                r.reject = reject(400, "CR without LF in request head");
                return r;
            }
            continue;
        }
        if (c != '\n') {
            continue;
        }
        if (i == 0 || buf[i - 1] != '\r') {
            r.reject = reject(400, "bare LF line ending in request head");
            return r;
        }
        // A line ended: an empty one closes the head.
        if (i - 1 == line_start) {
            r.head_size = i + 1;
            if (r.head_size - pos > limits.max_header_bytes) {
                r.reject = reject(431, "request header fields too large");
            }
            return r;
        }
        first_line = false;
        line_start = i + 1;
    }
    // Incomplete: refuse as soon as a limit is already exceeded.
    std::size_t used = buf.size() - pos;
    if (first_line && used > limits.max_uri_bytes + max_method + 16) {
        r.reject = reject(414, "request URI too long");
    } else if (used > limits.max_header_bytes) {
        r.reject = reject(431, "request header fields too large");
    }
    return r;
}

std::variant<request_head, guard_reject> parse_head(std::string_view head,
                                                    const guard_limits& limits)
{
    request_head h;
    if (head.size() > limits.max_header_bytes) {
        return reject(431, "request header fields too large");
    }
    // Request line: method SP request-target SP HTTP-version CRLF.
    auto eol = head.find("\r\n");
    if (eol == std::string_view::npos) {
        return reject(400, "malformed request line");
    }
    std::string_view line = head.substr(0, eol);
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
        line.find(' ', sp2 + 1) != std::string_view::npos) {
        if (line.size() > limits.max_uri_bytes) {
            return reject(414, "request URI too long");
        }
        return reject(400, "malformed request line");
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (method.empty() || method.size() > max_method ||
        !std::all_of(method.begin(), method.end(), [](unsigned char c) { return is_tchar(c); })) {
        return reject(400, "malformed request method");
    }
    if (target.size() > limits.max_uri_bytes) {
        return reject(414, "request URI too long");
    }
    if (target.empty() || !std::all_of(target.begin(), target.end(),
                                       [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
        return reject(400, "malformed request target");
    }
    // Absolute form (RFC 9112 §3.2.2, servers MUST accept it): keep the path and query only.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() > scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
            auto slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
            break;
        }
    }
    if (target.front() != '/' && !(target == "*" && method == "OPTIONS")) {
        return reject(400, "request target must be an absolute path");
    }
    if (version == "HTTP/1.1") {
        h.version = 11;
    } else if (version == "HTTP/1.0") {
        h.version = 10;
    } else if (version.size() == 8 && version.starts_with("HTTP/") &&
               std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
               std::isdigit(static_cast<unsigned char>(version[7]))) {
        return reject(505, "HTTP version not supported");
    } else {
        return reject(400, "malformed HTTP version");
    }
    h.method = method;
    h.target = target;

    // Header fields, one per line, until the empty line.
    std::size_t pos = eol + 2;
    int te_count = 0;
    int cl_count = 0;
    int host_count = 0;
    int auth_count = 0;
    std::string_view te_value;
    while (pos < head.size()) {
        auto end = head.find("\r\n", pos);
        if (end == std::string_view::npos) {
            return reject(400, "malformed header section");
        }
        std::string_view f = head.substr(pos, end - pos);
        pos = end + 2;
        if (f.empty()) {
            break;  // end of head
        }
        if (f.front() == ' ' || f.front() == '\t') {
            return reject(400, "obsolete line folding is not accepted");
        }
        auto colon = f.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return reject(400, "malformed header field");
        }
        std::string_view name = f.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), [](unsigned char c) { return is_tchar(c); })) {
            return reject(400, "malformed header field name");
        }
        std::string_view value = trim_ows(f.substr(colon + 1));
        if (std::any_of(value.begin(), value.end(),
                        [](unsigned char c) { return is_ctl_in_head(c); })) {
            return reject(400, "control character in header value");
        }
        if (h.fields.size() + 1 > limits.max_header_count) {
            return reject(431, "too many header fields");
        }
        // Framing fields are checked as they come.
        if (iequals(name, "content-length")) {
            if (++cl_count > 1) {
                return reject(400, "duplicate Content-Length");
            }
            auto cl = parse_content_length(value, limits.max_body_bytes);
            if (auto* bad = std::get_if<guard_reject>(&cl)) {
                return *bad;
            }
            h.content_length = std::get<std::uint64_t>(cl);
        } else if (iequals(name, "transfer-encoding")) {
            if (++te_count > 1) {
                return reject(400, "repeated Transfer-Encoding");
            }
            te_value = value;
        } else if (iequals(name, "host")) {
            ++host_count;
        } else if (iequals(name, "authorization")) {
            // Which of two credentials counts would depend on the reader: refuse both.
            if (++auth_count > 1) {
                return reject(400, "duplicate Authorization header");
            }
        }
        h.fields.emplace_back(std::string(name), std::string(value));
    }

    // Message framing (RFC 9112 §6): refuse every ambiguous combination.
    if (te_count > 0 && cl_count > 0) {
        return reject(400, "both Content-Length and Transfer-Encoding are present");
    }
    if (te_count > 0) {
        if (h.version == 10) {
            return reject(400, "Transfer-Encoding is not allowed in HTTP/1.0 requests");
        }
        if (te_value.empty()) {
            return reject(400, "empty Transfer-Encoding");
        }
        if (!iequals(te_value, "chunked")) {
            return reject(501, "only Transfer-Encoding: chunked is supported");
        }
        h.chunked = true;
    }
    if (h.version == 11 && host_count != 1) {
        return reject(400, host_count == 0 ? "missing Host header" : "duplicate Host header");
    }
    if (host_count > 1) {
        return reject(400, "duplicate Host header");
    }

    // Expectations and connection persistence.
    if (auto e = h.find("expect")) {
        if (!iequals(*e, "100-continue")) {
            return reject(417, "only Expect: 100-continue is supported");
        }
        h.expect_continue = h.version == 11;
    }
    h.keep_alive = h.version == 11;
    for (const auto& [k, v] : h.fields) {
        if (!iequals(k, "connection")) {
            continue;
        }
        for (const auto& t : split_tokens(v)) {
            if (t == "close") {
                h.keep_alive = false;
            } else if (t == "keep-alive" && h.version == 10) {
                h.keep_alive = true;
            }
        }
    }
    return h;
}

std::variant<std::size_t, guard_reject> chunked_decoder::feed(std::string_view in, std::string& out)
{
    std::size_t i = 0;
    while (i < in.size() && state_ != state::done) {
        switch (state_) {
            case state::size_line:
            case state::trailer_line: {
                // Collect one line, bounded, CRLF-terminated.
                char c = in[i++];
                if (c == '\n') {
                    if (line_.empty() || line_.back() != '\r') {
                        return reject(400, "bare LF in chunked body");
                    }
                    line_.pop_back();
                    if (state_ == state::trailer_line) {
                        if (!line_.empty()) {
                            return reject(400, "trailer fields are not accepted");
                        }
                        state_ = state::done;
                        break;
                    }
                    // chunk-size [ chunk-ext ]: hex digits, then optional ';' extensions.
                    std::string_view l(line_);
                    auto semi = l.find(';');
                    std::string_view hex = l.substr(0, semi);
                    while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t')) {
                        hex.remove_suffix(1);
                    }
                    if (hex.empty() || hex.size() > 15 ||
                        !std::all_of(hex.begin(), hex.end(),
                                     [](unsigned char h) { return std::isxdigit(h); })) {
                        return reject(400, "invalid chunk size");
                    }
                    std::uint64_t n = 0;
                    for (char h : hex) {
                        n = n * 16 +
                            static_cast<std::uint64_t>(
                                std::isdigit(static_cast<unsigned char>(h))
                                    ? h - '0'
                                    : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
                    }
                    line_.clear();
                    if (n > max_body_ || total_ + n > max_body_) {
                        return reject(413, "request body exceeds the limit of " +
                                               std::to_string(max_body_) + " bytes");
                    }
                    remaining_ = n;
                    state_ = n == 0 ? state::trailer_line : state::data;
                    break;
                }
                if (c == '\0') {
                    return reject(400, "NUL in chunked body framing");
                }
                line_.push_back(c);
                if (line_.size() > max_chunk_line) {
                    return reject(400, "chunk header line too long");
                }
                break;
            }
            case state::data: {
                // Copy as much chunk data as is here.
                std::size_t take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
                out.append(in.substr(i, take));
                i += take;
                remaining_ -= take;
                total_ += take;
                if (remaining_ == 0) {
                    state_ = state::data_cr;
                }
                break;
            }
            case state::data_cr:
                if (in[i++] != '\r') {
                    return reject(400, "missing CRLF after chunk data");
                }
                state_ = state::data_lf;
                break;
            case state::data_lf:
                if (in[i++] != '\n') {
                    return reject(400, "missing CRLF after chunk data");
                }
                state_ = state::size_line;
                break;
            case state::done:
                break;
        }
    }
    return i;
}

}  // namespace ogp::server
