// The pooled async Redis client (RESP2 over Asio TCP); the parser is in resp_parser.cpp.
#include "resp.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cerrno>
#include <utility>

#include "ogp/util/asio.hpp"

namespace ogp::limits::resp {

namespace beast = boost::beast;
using boost::system::error_code;
using tcp = net::ip::tcp;

// ---- client -------------------------------------------------------------------------------

struct client::connection
{
    explicit connection(const net::strand<net::any_io_executor>& ex) : stream(ex) {}

    // Non-blocking: an idle connection that has EOF or stray bytes waiting is not reused.
    bool looks_alive()
    {
        auto& s = stream.socket();
        if (!s.is_open()) {
            return false;
        }
        char byte = 0;
        const auto n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }

    void close()
    {
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
    }

    beast::tcp_stream stream;
    std::array<char, 4096> buffer{};
    std::uint64_t replies = 0;  ///< complete round trips so far
};

struct client::waiter
{
    explicit waiter(const net::strand<net::any_io_executor>& ex) : timer(ex) {}
    net::steady_timer timer;
    std::unique_ptr<connection> conn;  ///< handed over by give_back()
    bool may_open = false;             ///< a connection closed: room for a new one
};

namespace {

// One command and its reply on `c`. `nothing_read` tells a closed connection (no reply byte)
// from a broken reply.
net::awaitable<std::optional<value>> round_trip(client::connection& c, std::string_view command,
                                                const parser_limits& limits, error_code& failure,
                                                bool& nothing_read)
{
    nothing_read = true;
    auto [wec, written] = co_await net::async_write(
        c.stream, net::buffer(command.data(), command.size()), use_nothrow);
    (void)written;
    if (wec) {
        failure = wec;
        co_return std::nullopt;
    }
    parser p(limits);
    for (;;) {
        auto [rec, n] = co_await c.stream.async_read_some(net::buffer(c.buffer), use_nothrow);
        if (rec) {
            failure = rec;
            co_return std::nullopt;
        }
        nothing_read = false;
        std::size_t used = 0;
        const auto st = p.feed(std::string_view(c.buffer.data(), n), used);
        if (st == parser::status::error) {
            spdlog::debug("redis: malformed reply: {}", p.reason());
            failure = net::error::invalid_argument;
            co_return std::nullopt;
        }
        if (st == parser::status::done) {
            if (used != n) {  // we never pipeline: bytes after the reply break the protocol
                spdlog::debug("redis: bytes after a reply");
                failure = net::error::invalid_argument;
                co_return std::nullopt;
            }
            ++c.replies;
            co_return std::move(p.result());
        }
    }
}

bool is_ok(const std::optional<value>& v)
{
    return v && v->type == kind::simple && v->text == "OK";
}

// Host resolution bounded by the deadline: the lookup (a blocking getaddrinfo on Asio's
// resolver thread) cannot be cancelled, so it runs detached and we stop waiting for it.
struct resolve_state
{
    explicit resolve_state(const net::strand<net::any_io_executor>& ex) : timer(ex) {}
    net::steady_timer timer;
    bool done = false;
    error_code ec;
    std::vector<tcp::endpoint> endpoints;
};

net::awaitable<void> resolve_into(std::shared_ptr<resolve_state> st, std::string host,
                                  std::string port)
{
    tcp::resolver resolver(co_await net::this_coro::executor);
    auto [ec, results] = co_await resolver.async_resolve(host, port, use_nothrow);
    st->ec = ec;
    for (const auto& r : results) {
        if (st->endpoints.size() < 16) {
            st->endpoints.push_back(r.endpoint());
        }
    }
    st->done = true;
    st->timer.cancel();
}

}  // namespace

client::client(net::any_io_executor ex, client_options o)
    : strand_(net::make_strand(std::move(ex))), o_(std::move(o))
{
    error_code ec;
    const auto address = net::ip::make_address(o_.host, ec);
    if (!ec) {
        literal_ = true;
        endpoints_.emplace_back(address, o_.port);
    }
}

client::~client() = default;

void client::close_idle()
{
    open_ -= std::min(open_, idle_.size());
    idle_.clear();
}

net::awaitable<bool> client::open(connection& c, time_point deadline)
{
    if (endpoints_.empty()) {
        auto st = std::make_shared<resolve_state>(strand_);
        st->timer.expires_at(deadline);
        net::co_spawn(strand_, resolve_into(st, o_.host, std::to_string(o_.port)), net::detached);
        if (!st->done) {
            auto [ignored] = co_await st->timer.async_wait(use_nothrow);
            (void)ignored;
        }
        if (!st->done || st->ec || st->endpoints.empty()) {
            spdlog::debug("redis: cannot resolve {}: {}", o_.host,
                          st->done ? st->ec.message() : std::string("timed out"));
            co_return false;
        }
        endpoints_ = std::move(st->endpoints);
    }
    c.stream.expires_at(deadline);
    auto [ec, ep] = co_await c.stream.async_connect(endpoints_, use_nothrow);
    (void)ep;
    if (ec) {
        spdlog::debug("redis: cannot connect to {}:{}: {}", o_.host, o_.port, ec.message());
        if (!literal_) {
            endpoints_.clear();  // a name: ask DNS again next time
        }
        co_return false;
    }
    error_code ignored;
    c.stream.socket().set_option(tcp::no_delay(true), ignored);

    error_code failure;
    bool nothing_read = true;
    if (!o_.password.empty()) {
        std::string cmd;
        const std::array<std::string_view, 2> args{"AUTH", o_.password};
        encode_command(cmd, args);
        auto reply = co_await round_trip(c, cmd, o_.limits, failure, nothing_read);
        if (!is_ok(reply)) {
            // The reply names no secret (WRONGPASS ...); the password is never logged.
            spdlog::debug("redis: AUTH refused");
            co_return false;
        }
    }
    if (o_.db != 0) {
        std::string cmd;
        const std::string db = std::to_string(o_.db);
        const std::array<std::string_view, 2> args{"SELECT", db};
        encode_command(cmd, args);
        auto reply = co_await round_trip(c, cmd, o_.limits, failure, nothing_read);
        if (!is_ok(reply)) {
            spdlog::debug("redis: SELECT {} refused", o_.db);
            co_return false;
        }
    }
    c.replies = 0;
    co_return true;
}

net::awaitable<client::session> client::acquire(time_point deadline)
{
    auto self = shared_from_this();
    for (;;) {
        while (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            if (c->looks_alive()) {
                co_return session(self, std::move(c), deadline);
            }
            c->close();
            --open_;
        }
        if (open_ < std::max<std::size_t>(o_.max_connections, 1)) {
            ++open_;
            auto c = std::make_unique<connection>(strand_);
            const bool ok = co_await open(*c, deadline);
            if (ok) {
                co_return session(self, std::move(c), deadline);
            }
            discard(std::move(c));
            co_return session();
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            co_return session();
        }
        // Every connection is busy: wait for one (or for room) until the deadline.
        auto w = std::make_shared<waiter>(strand_);
        w->timer.expires_at(deadline);
        waiters_.push_back(w);
        auto [ignored] = co_await w->timer.async_wait(use_nothrow);
        (void)ignored;
        std::erase(waiters_, w);
        if (w->conn) {
            co_return session(self, std::move(w->conn), deadline);
        }
        if (!w->may_open) {
            co_return session();  // timed out
        }
    }
}

void client::give_back(std::unique_ptr<connection> c)
{
    c->stream.expires_never();
    if (!waiters_.empty()) {
        auto w = std::move(waiters_.front());
        waiters_.pop_front();
        w->conn = std::move(c);
        w->timer.cancel();
        return;
    }
    idle_.push_back(std::move(c));
}

void client::discard(std::unique_ptr<connection> c)
{
    c->close();
    c.reset();
    --open_;
    if (!waiters_.empty()) {
        auto w = std::move(waiters_.front());
        waiters_.pop_front();
        w->may_open = true;
        w->timer.cancel();
    }
}

client::session::session(std::shared_ptr<client> owner, std::unique_ptr<connection> c,
                         time_point deadline)
    : owner_(std::move(owner)), conn_(std::move(c)), deadline_(deadline)
{
}

client::session::session(session&& other) noexcept
    : owner_(std::move(other.owner_)), conn_(std::move(other.conn_)), deadline_(other.deadline_)
{
}

client::session::~session()
{
    if (conn_ && owner_) {
        owner_->give_back(std::move(conn_));
    }
}

net::awaitable<std::optional<value>> client::session::call(std::string_view command)
{
    if (!conn_) {
        co_return std::nullopt;
    }
    conn_->stream.expires_at(deadline_);
    const bool reused = conn_->replies > 0;
    error_code failure;
    bool nothing_read = true;
    auto reply = co_await round_trip(*conn_, command, owner_->o_.limits, failure, nothing_read);
    if (!reply && reused && nothing_read &&
        (failure == net::error::eof || failure == net::error::connection_reset ||
         failure == net::error::broken_pipe)) {
        // A pooled connection the server closed meanwhile: once more on a new one.
        conn_->close();
        conn_ = std::make_unique<connection>(owner_->strand_);
        const bool ok = co_await owner_->open(*conn_, deadline_);
        if (ok) {
            reply = co_await round_trip(*conn_, command, owner_->o_.limits, failure, nothing_read);
        }
    }
    if (!reply) {
        if (failure == beast::error::timeout) {
            spdlog::debug("redis: no reply in time");
        } else if (failure) {
            spdlog::debug("redis: request failed: {}", failure.message());
        }
        owner_->discard(std::move(conn_));
    }
    co_return reply;
}

}  // namespace ogp::limits::resp
