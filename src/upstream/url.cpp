// The one URL parser of the upstream clients (no Beast: cheap to compile).

#include "ogp/upstream/url.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace ogp::upstream {

namespace {

bool parses_as(int family, std::string_view host)
{
    if (host.empty() || host.size() >= 64) {
        return false;
    }
    char buf[64];
    host.copy(buf, host.size());
    buf[host.size()] = '\0';
    unsigned char addr[16];
    return ::inet_pton(family, buf, addr) == 1;
}

// Letters, digits and the unreserved marks: what DNS names (and IPv4 literals) are made of.
// Percent-encoding and sub-delimiters have no business in a host we connect to.
bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// Visible ASCII only: no control byte, space, DEL or UTF-8 (all must be percent-encoded).
bool is_visible_ascii(std::string_view s)
{
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool is_ip_literal(std::string_view host)
{
    return parses_as(AF_INET, host) || parses_as(AF_INET6, host);
}

bool url::is_ip_literal() const
{
    return upstream::is_ip_literal(host);
}

std::string url::authority() const
{
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if ((tls && port == 443) || (!tls && port == 80)) {
        return h;
    }
    return h + ":" + std::to_string(port);
}

std::string url::target() const
{
    std::string t = path.empty() ? "/" : path;
    if (!query.empty()) {
        t.append("?").append(query);
    }
    return t;
}

std::optional<url> parse_url(std::string_view text)
{
    if (text.size() > max_url_size || !is_visible_ascii(text)) {
        return std::nullopt;
    }
    url out;
    // Scheme (lower case, as every configured endpoint is written).
    if (text.starts_with("https://")) {
        out.tls = true;
        out.port = 443;
        text.remove_prefix(8);
    } else if (text.starts_with("http://")) {
        out.tls = false;
        out.port = 80;
        text.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    // Authority up to the first '/', '?' or '#'; the fragment is never sent.
    text = text.substr(0, text.find('#'));
    const auto end = text.find_first_of("/?");
    const std::string_view authority = text.substr(0, end);
    std::string_view rest = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
        return std::nullopt;  // no host, or user-info (credentials do not belong in a URL)
    }
    // Host, then an optional port; IPv6 literals in brackets.
    std::string_view host;
    std::string_view port;
    bool has_port = false;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return std::nullopt;
            }
            has_port = true;
            port = after.substr(1);
        }
        if (!parses_as(AF_INET6, host)) {
            return std::nullopt;  // also refuses zone ids: they name a local interface
        }
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port = authority.substr(colon + 1);
        }
        if (host.empty() || host.size() > max_host_size) {
            return std::nullopt;
        }
        for (char c : host) {
            if (!is_name_char(c)) {
                return std::nullopt;
            }
        }
    }
    // An empty port after ':' means the default (RFC 3986 3.2.3); anything else must be a
    // number in 1..65535.
    if (has_port && !port.empty()) {
        unsigned p = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535 ||
            port.size() > 5) {
            return std::nullopt;
        }
        out.port = static_cast<std::uint16_t>(p);
    }
    out.host = std::string(host);
    // Path and query.
    const auto q = rest.find('?');
    out.path = std::string(rest.substr(0, q));
    if (q != std::string_view::npos) {
        out.query = std::string(rest.substr(q + 1));
    }
    return out;
}

}  // namespace ogp::upstream
