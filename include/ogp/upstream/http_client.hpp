#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ogp/upstream/url.hpp"

namespace ogp::upstream {

/// One request of a small_client: method, absolute URL, extra headers (Host, Content-Length and
/// Connection are set by the client), body.
struct small_request
{
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// A complete response (status and body; the body is capped by small_client_options).
struct small_response
{
    unsigned status = 0;
    std::string body;
    std::string content_type;
};

/// Settings of a small_client.
struct small_client_options
{
    std::string ca_file;  ///< extra PEM trust anchors, added to the system store
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};  ///< whole exchange
    std::size_t body_limit = 1024 * 1024;
};

/// A minimal HTTP/1.1 client for control-plane calls of the credential providers (IMDS,
/// federation): one request per connection, the upstream URL rules (parse_url) and TLS setup
/// (make_client_tls_context, prepare_client_tls: system store + `ca_file`, SNI, host name/IP
/// checks), and one deadline on the whole exchange, DNS lookup included. Thread-safe: fetch()
/// may run concurrently. Not for the data path (no pooling).
class small_client
{
public:
    /// Builds the TLS context. Throws std::runtime_error when `ca_file` cannot be loaded
    /// (start-up only).
    explicit small_client(small_client_options options);
    ~small_client();
    small_client(const small_client&) = delete;
    small_client& operator=(const small_client&) = delete;

    /// Performs `req` on the calling coroutine's executor. Errors: an invalid URL
    /// (`errc::invalid_argument`), resolve/connect/TLS/IO failures, beast::error::timeout.
    /// Any HTTP status is a successful result.
    boost::asio::awaitable<boost::system::result<small_response>> fetch(small_request req);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace ogp::upstream
