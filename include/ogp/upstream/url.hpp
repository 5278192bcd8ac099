#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ogp::upstream {

/// Longest URL parse_url accepts (configuration values, never client input).
inline constexpr std::size_t max_url_size = 4096;
/// Longest host name (RFC 1035).
inline constexpr std::size_t max_host_size = 253;

/// An absolute `http://` or `https://` URL, as every upstream client (inference pool, control
/// plane, IMDS, federation) sees it. Made by parse_url, which guarantees: a non-empty host that
/// is a DNS name or an IP literal, no user-info, port 1..65535, no control, space or non-ASCII
/// byte anywhere (nothing can split a request line or header), a path that is empty or starts
/// with '/'. The fragment is dropped.
struct url
{
    bool tls = true;
    std::string host;          ///< DNS name or IP literal (IPv6 without brackets)
    std::uint16_t port = 443;  ///< explicit, or the scheme's default
    std::string path;          ///< "" or starting with '/'; no query
    std::string query;         ///< after '?', without it; may be empty

    /// `host` or `host:port` when the port is not the scheme's default, IPv6 in brackets (the
    /// `Host` header and the signed `host` value).
    std::string authority() const;
    /// The request target: the path (at least "/") and the query.
    std::string target() const;
    std::string port_string() const { return std::to_string(port); }
    /// True when the host is an IPv4 or IPv6 literal: never resolved, no SNI, checked against
    /// the certificate's IP addresses.
    bool is_ip_literal() const;
};

/// Parses `text`; nullopt when it is not an absolute http(s) URL with the guarantees above
/// (other schemes, user-info, empty or malformed host, bad port, forbidden bytes, too long).
std::optional<url> parse_url(std::string_view text);

/// True when `host` (without brackets) is an IPv4 or IPv6 literal.
bool is_ip_literal(std::string_view host);

}  // namespace ogp::upstream
