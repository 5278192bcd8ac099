// Small HTTP(S) client for IMDS and federation calls: the upstream URL parser, TLS setup and
// deadline, one request per connection.

#include "ogp/upstream/http_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <stdexcept>

#include "ogp/upstream/deadline.hpp"
#include "ogp/upstream/tls.hpp"
#include "ogp/util/asio.hpp"

namespace ogp::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

// One call's connection and answer. Shared by fetch() and its steps, which may outlive fetch()
// when the deadline passes first (a DNS lookup that does not answer).
struct call
{
    call(const net::any_io_executor& ex, std::shared_ptr<ssl::context> ctx)
        : tls(std::move(ctx)), stream(ex, *tls)
    {
    }

    std::shared_ptr<ssl::context> tls;  // outlives the stream that uses it
    ssl::stream<tcp::socket> stream;
    bool closed = false;
    std::optional<small_response> answer;

    tcp::socket& socket() { return stream.next_layer(); }

    void close()
    {
        closed = true;
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }
};

// Sends `req` and reads the response on a connected stream (plain or TLS).
template <class Stream>
net::awaitable<error_code> exchange_on(Stream& stream, const url& target, const small_request& req,
                                       std::size_t body_limit, std::optional<small_response>& out)
{
    // Request head: method, target, Host, our headers, body framing.
    bhttp::request<bhttp::string_body> msg;
    msg.method_string(req.method);
    msg.target(target.target());
    msg.version(11);
    msg.set(bhttp::field::host, target.authority());
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
    small_response r;
    r.status = parser.get().result_int();
    r.body = std::move(parser.get().body());
    r.content_type = std::string(parser.get()[bhttp::field::content_type]);
    out = std::move(r);
    co_return error_code{};
}

// The steps of one fetch: resolve, connect, TLS, exchange. Stops at the first step after the
// call was closed (deadline passed).
net::awaitable<error_code> run_call(std::shared_ptr<call> c, url target, small_request req,
                                    std::size_t body_limit)
{
    auto ex = co_await net::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(target.host, target.port_string(), use_nothrow);
    if (rec) {
        co_return rec;
    }
    error_code cec = net::error::host_not_found;
    for (const auto& entry : endpoints) {
        if (c->closed) {
            co_return error_code(net::error::operation_aborted);
        }
        error_code ignored;
        c->socket().close(ignored);
        std::tie(cec) = co_await c->socket().async_connect(entry.endpoint(), use_nothrow);
        if (!cec) {
            break;
        }
    }
    if (cec) {
        co_return cec;
    }
    error_code ec;
    if (!target.tls) {
        ec = co_await exchange_on(c->socket(), target, req, body_limit, c->answer);
    } else {
        if (auto pec = prepare_client_tls(c->stream.native_handle(), target.host)) {
            co_return pec;
        }
        auto [hec] = co_await c->stream.async_handshake(ssl::stream_base::client, use_nothrow);
        if (hec) {
            co_return hec;
        }
        ec = co_await exchange_on(c->stream, target, req, body_limit, c->answer);
    }
    // No close_notify wait: the exchange is complete (Connection: close).
    c->close();
    co_return ec;
}

}  // namespace

struct small_client::impl
{
    small_client_options options;
    std::shared_ptr<ssl::context> tls;
};

small_client::small_client(small_client_options options) : impl_(std::make_unique<impl>())
{
    impl_->options = std::move(options);
    error_code ec;
    impl_->tls = make_client_tls_context(impl_->options.ca_file, ec);
    if (ec) {
        throw std::runtime_error("cannot load CA file " + impl_->options.ca_file + ": " +
                                 ec.message());
    }
}

small_client::~small_client() = default;

net::awaitable<boost::system::result<small_response>> small_client::fetch(small_request req)
{
    auto target = parse_url(req.url);
    if (!target) {
        co_return error_code(make_error_code(boost::system::errc::invalid_argument));
    }
    auto ex = co_await net::this_coro::executor;
    auto c = std::make_shared<call>(ex, impl_->tls);
    // One deadline for the whole exchange, DNS lookup included.
    timed_phase phase;
    auto ec = co_await phase.run(run_call(c, *target, std::move(req), impl_->options.body_limit),
                                 std::chrono::steady_clock::now() + impl_->options.timeout);
    if (ec) {
        c->close();  // steps left behind stop at their next socket operation
        co_return ec;
    }
    co_return std::move(*c->answer);
}

}  // namespace ogp::upstream
