// Small HTTP(S) client for IMDS and federation calls (Beast; the only Beast TU of ogp_auth).

#include "ogp/upstream/http_client.hpp"

#include <openssl/x509v3.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <stdexcept>

namespace ogp::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

// True when `host` is an IPv4 or IPv6 literal.
bool is_ip_literal(const std::string& host)
{
    error_code ec;
    net::ip::make_address(host, ec);
    return !ec;
}

// Sends `req` and reads the response on an connected stream (plain or TLS).
template <class Stream>
net::awaitable<boost::system::result<response>> exchange(Stream& stream, const url_parts& url,
                                                         const request& req, std::size_t body_limit)
{
    // Request head: method, target, Host, our headers, body framing.
    bhttp::request<bhttp::string_body> msg;
    msg.method_string(req.method);
    msg.target(url.target);
    msg.version(11);
    msg.set(bhttp::field::host, url.authority);
    msg.set(bhttp::field::user_agent, "oci-genai-proxy");
    msg.set(bhttp::field::connection, "close");
    for (auto& [name, value] : req.headers) {
        // Refuse values that would split the header block.
        if (value.find_first_of("\r\n") != std::string::npos ||
            name.find_first_of("\r\n:") != std::string::npos) {
            co_return error_code(make_error_code(boost::system::errc::invalid_argument));
        }
        msg.set(name, value);
    }
    msg.body() = req.body;
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
        msg.prepare_payload();
    }
    auto [wec, wn] = co_await bhttp::async_write(stream, msg, use_nothrow);
    if (wec) {
        co_return wec;
    }
    // Response, with a capped body.
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit);
    auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
    if (rec) {
        co_return rec;
    }
    response out;
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
    out.content_type = std::string(parser.get()[bhttp::field::content_type]);
    co_return out;
}

}  // namespace

std::optional<url_parts> parse_url(std::string_view url)
{
    url_parts out;
    // Scheme.
    if (url.starts_with("https://")) {
        out.tls = true;
        url.remove_prefix(8);
    } else if (url.starts_with("http://")) {
        url.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    // Authority up to the first '/', '?' or '#'.
    auto end = url.find_first_of("/?#");
    std::string_view authority = url.substr(0, end);
    std::string_view rest = end == std::string_view::npos ? std::string_view{} : url.substr(end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
        return std::nullopt;
    }
    out.authority = std::string(authority);
    // Host and port; IPv6 literals in brackets.
    std::string_view port;
    if (authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return std::nullopt;
            }
            port = after.substr(1);
        }
    } else {
        auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
        }
    }
    if (out.host.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
    // Target: path and query, fragment dropped.
    rest = rest.substr(0, rest.find('#'));
    out.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
    return out;
}

struct small_client::impl
{
    client_options options;
    ssl::context tls{ssl::context::tls_client};
};

small_client::small_client(client_options options) : impl_(std::make_unique<impl>())
{
    impl_->options = std::move(options);
    // Verify peers against the system store plus the configured CA file; TLS 1.2 or later.
    impl_->tls.set_default_verify_paths();
    if (!impl_->options.ca_file.empty()) {
        error_code ec;
        impl_->tls.load_verify_file(impl_->options.ca_file, ec);
        if (ec) {
            throw std::runtime_error("cannot load CA file " + impl_->options.ca_file + ": " +
                                     ec.message());
        }
    }
    impl_->tls.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(impl_->tls.native_handle(), TLS1_2_VERSION);
}

small_client::~small_client() = default;

net::awaitable<boost::system::result<response>> small_client::fetch(request req)
{
    using namespace net::experimental::awaitable_operators;
    auto url = parse_url(req.url);
    if (!url) {
        co_return error_code(make_error_code(boost::system::errc::invalid_argument));
    }
    auto ex = co_await net::this_coro::executor;
    auto deadline = std::chrono::steady_clock::now() + impl_->options.timeout;

    // Resolve, bounded by the deadline.
    tcp::resolver resolver(ex);
    net::steady_timer timer(ex, deadline);
    auto resolved = co_await (resolver.async_resolve(url->host, url->port, use_nothrow) ||
                              timer.async_wait(use_nothrow));
    if (resolved.index() == 1) {
        co_return error_code(net::error::timed_out);
    }
    auto [rec, endpoints] = std::get<0>(std::move(resolved));
    if (rec) {
        co_return rec;
    }

    // Connect; every later operation shares the same absolute deadline.
    beast::tcp_stream tcp_stream(ex);
    tcp_stream.expires_at(deadline);
    auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, use_nothrow);
    if (cec) {
        co_return cec;
    }
    if (!url->tls) {
        auto r = co_await exchange(tcp_stream, *url, req, impl_->options.body_limit);
        error_code ignored;
        tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return r;
    }

    // TLS: SNI for names, and the certificate must match the name or IP literal.
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), impl_->tls);
    SSL* ssl_handle = stream.native_handle();
    if (is_ip_literal(url->host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url->host.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl_handle, url->host.c_str());
        SSL_set1_host(ssl_handle, url->host.c_str());
    }
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_nothrow);
    if (hec) {
        co_return hec;
    }
    auto r = co_await exchange(stream, *url, req, impl_->options.body_limit);
    // No close_notify wait: the exchange is complete (Connection: close).
    error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return r;
}

}  // namespace ogp::http
