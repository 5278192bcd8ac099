#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ogp::http {

/// The parts of an `http://` or `https://` URL a client needs.
struct url_parts
{
    bool tls = false;
    std::string host;       ///< without brackets for IPv6 literals
    std::string port;       ///< explicit or the scheme default
    std::string target;     ///< path and query, at least `/`
    std::string authority;  ///< `host[:port]` as written in the URL (the `Host` header)
};

/// Splits `url`; nullopt for other schemes, user-info, or an empty host.
std::optional<url_parts> parse_url(std::string_view url);

/// One request: method, absolute URL, extra headers (Host, Content-Length and Connection are
/// set by the client), body.
struct request
{
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// A complete response (status and body; the body is capped by client_options::body_limit).
struct response
{
    unsigned status = 0;
    std::string body;
    std::string content_type;
};

/// Settings of a small_client.
struct client_options
{
    std::string ca_file;  ///< extra PEM trust anchors, added to the system store
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};  ///< whole exchange
    std::size_t body_limit = 1024 * 1024;
};

/// A minimal HTTP/1.1 client for control-plane calls (IMDS, federation): one request per
/// connection, TLS with peer verification (system store + `ca_file`), SNI and host-name/IP
/// checks, and a deadline on the whole exchange. Thread-safe: fetch() may run concurrently.
/// Not for the data path (no pooling).
class small_client
{
public:
    /// Builds the TLS context. Throws std::runtime_error when `ca_file` cannot be loaded
    /// (start-up only).
    explicit small_client(client_options options);
    ~small_client();
    small_client(const small_client&) = delete;
    small_client& operator=(const small_client&) = delete;

    /// Performs `req` on the calling coroutine's executor. Errors: an invalid URL
    /// (`errc::invalid_argument`), resolve/connect/TLS/IO failures, `timed_out`.
    /// Any HTTP status is a successful result.
    boost::asio::awaitable<boost::system::result<response>> fetch(request req);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace ogp::http
