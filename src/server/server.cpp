#include "ogp/server/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <ctime>

#include "ogp/util/log.hpp"

namespace ogp::server {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);
constexpr std::size_t read_chunk = 16 * 1024;
// A body on a route that takes none (probes, /v1/models) is read and dropped up to this size so
// that the connection stays usable; a larger one is refused before any of it is read.
constexpr std::size_t max_discard_bytes = 64 * 1024;
// Memory reserved up front for a body: beyond it the buffer grows with the bytes that arrive,
// so a declared length that never comes costs nothing.
constexpr std::size_t max_body_reserve = 256 * 1024;
// Keep-alive idle deadline for a connection that goes idle while at least 3/4 of
// `limits.max_connections` are open.
constexpr std::chrono::milliseconds pressure_idle{5000};
// `/readyz` repeats an unchanged reason in the log at most this often.
constexpr std::chrono::seconds readiness_log_interval{60};

// RFC 9110 IMF-fixdate for the `Date` header.
std::string http_date()
{
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

bool safe_header_value(std::string_view v)
{
    return std::none_of(v.begin(), v.end(),
                        [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

std::string_view reason_for(unsigned status)
{
    return http::obsolete_reason(static_cast<http::status>(status));
}

}  // namespace

/// One client connection's I/O objects, shared with the watchdog timer and the drain registry.
/// Everything in it is touched only on the connection's strand.
struct connection
{
    explicit connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

    tcp::socket socket;
    net::steady_timer timer;
    std::uint64_t generation = 0;  // invalidates stale watchdog completions
    bool timed_out = false;
    bool idle = false;             // waiting for a request, nothing of it received yet
    bool closed = false;           // the session has finished with the socket
    bool forced = false;           // close_all(): a pending operation's end means a disconnect
    bool cut = false;              // cut_streams(): the handler must end its stream now
    std::function<void()> on_cut;  // set while a handler streams: stops its upstream reads
    beast::flat_buffer buffer;     // read-ahead: may hold the start of a pipelined request

    // Read by the accept loop (any thread) to pick a connection to close under pressure.
    std::atomic<std::int64_t> idle_since{0};  // steady-clock ticks when it went idle; 0 = busy
    std::atomic<bool> authenticated{false};   // passed client authentication at least once
    std::atomic<bool> evicting{false};        // chosen to make room: close at the next chance

    void set_idle(bool v)
    {
        if (v != idle) {
            idle = v;
            idle_since.store(v ? std::max<std::int64_t>(
                                     1, std::chrono::steady_clock::now().time_since_epoch().count())
                               : 0);
        }
    }

    // Arms a total deadline for the following operations: when it passes, pending I/O is
    // cancelled (the socket stays open so that a 408 can still be written).
    static void arm(const std::shared_ptr<connection>& c, std::chrono::milliseconds d)
    {
        c->timed_out = false;
        auto gen = ++c->generation;
        c->timer.expires_after(d);
        c->timer.async_wait([c, gen](error_code ec) {
            if (!ec && gen == c->generation && !c->closed) {
                c->timed_out = true;
                error_code ignored;
                c->socket.cancel(ignored);
            }
        });
    }

    void disarm()
    {
        ++generation;
        timer.cancel();
    }

    void close()
    {
        if (closed) {
            return;
        }
        closed = true;
        ++generation;
        timer.cancel();
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }
};

struct server::shared_state : std::enable_shared_from_this<server::shared_state>
{
    shared_state(std::vector<net::io_context*> io, const config& c)
        : contexts(std::move(io)),
          cfg(c),
          acceptor(net::make_strand(*contexts.front())),
          auth(c.clients.api_keys, c.clients.allow_anonymous)
    {
        limits.max_header_bytes = c.limits.max_header_bytes;
        limits.max_header_count = c.limits.max_header_count;
        limits.max_uri_bytes = c.limits.max_uri_bytes;
        limits.max_body_bytes = c.limits.max_body_bytes;
    }

    std::vector<net::io_context*> contexts;  ///< connections go round-robin over these
    std::size_t next_context = 0;            ///< used by the accept loop only
    const config& cfg;
    tcp::acceptor acceptor;
    guard_limits limits;
    client_authenticator auth;
    std::map<route, handler> handlers;
    readiness_probe readiness;
    std::atomic<bool> draining{false};
    std::atomic<std::size_t> active{0};
    std::atomic<std::uint64_t> accepted{0};

    // Repeated warnings: one line a second at most, with a count.
    log_throttle refused_log;
    log_throttle evicted_log;
    log_throttle accept_error_log;

    // What `/readyz` last logged, so that probes do not repeat it.
    std::mutex readiness_mutex;
    std::string readiness_logged;  // empty: ready (or nothing logged yet)
    std::chrono::steady_clock::time_point readiness_logged_at;

    // Registry of open connections, for drain, forced close and eviction.
    std::mutex mutex;
    std::map<std::uint64_t, std::weak_ptr<connection>> connections;
    std::uint64_t next_id = 0;

    std::uint64_t add(const std::shared_ptr<connection>& c)
    {
        std::lock_guard lock(mutex);
        connections.emplace(++next_id, c);
        return next_id;
    }

    void remove(std::uint64_t id)
    {
        std::lock_guard lock(mutex);
        connections.erase(id);
    }

    // Under the connection cap: closes the connection that has waited longest for a request,
    // preferring ones that never authenticated, to make room for a new one. False when every
    // open connection is busy. The chosen one closes on its own strand (or after its exchange,
    // if a request arrived meanwhile).
    bool evict_idlest()
    {
        std::shared_ptr<connection> victim;
        std::int64_t victim_since = 0;
        bool victim_auth = false;
        {
            std::lock_guard lock(mutex);
            for (auto& [id, weak] : connections) {
                auto c = weak.lock();
                if (!c || c->evicting.load()) {
                    continue;
                }
                const auto since = c->idle_since.load();
                if (since == 0) {
                    continue;
                }
                const bool auth = c->authenticated.load();
                if (!victim || (victim_auth && !auth) ||
                    (victim_auth == auth && since < victim_since)) {
                    victim = std::move(c);
                    victim_since = since;
                    victim_auth = auth;
                }
            }
            if (!victim) {
                return false;
            }
            victim->evicting = true;
        }
        net::post(victim->socket.get_executor(), [victim] {
            if (victim->idle && !victim->closed) {
                error_code ignored;
                victim->socket.cancel(ignored);
            }
        });
        return true;
    }

    // Runs `fn` on each open connection's strand.
    template <class Fn>
    void for_each_connection(Fn fn)
    {
        std::lock_guard lock(mutex);
        for (auto& [id, weak] : connections) {
            if (auto c = weak.lock()) {
                net::post(c->socket.get_executor(), [c, fn] { fn(*c); });
            }
        }
    }
};

namespace {

using state_ptr = std::shared_ptr<server::shared_state>;
using conn_ptr = std::shared_ptr<connection>;

// One access-log line per exchange; `extra` is appended verbatim (` stream=true`, ...).
void log_access(const state_ptr& st, std::string_view method, std::string_view path,
                unsigned status, std::size_t bytes, std::chrono::steady_clock::time_point started,
                std::string_view request_id, std::string_view remote, std::string_view extra)
{
    if (!st->cfg.log.access_log) {
        return;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    spdlog::info(
        "access method={} path={} status={} bytes={} duration_ms={:.3f} request_id={} "
        "remote={}{}",
        method.empty() ? "-" : method, path.empty() ? "-" : path, status, bytes, us / 1000.0,
        request_id, remote, extra);
}

// Writes one response; returns false when the write failed or stalled.
net::awaitable<bool> write_response(const state_ptr& st, const conn_ptr& c, const http_request& req,
                                    http_response& res, bool keep_alive, bool head_only,
                                    std::size_t& bytes_out)
{
    http::response<http::string_body> msg{static_cast<http::status>(res.status), 11};
    msg.set(http::field::date, http_date());
    msg.set(http::field::content_type, res.content_type);
    msg.set("x-request-id", req.request_id);
    for (const auto& [k, v] : res.headers) {
        // Values copied from elsewhere must not inject header lines.
        if (safe_header_value(k) && safe_header_value(v)) {
            msg.set(k, v);
        }
    }
    if (res.status == 405 && msg.find(http::field::allow) == msg.end()) {
        msg.set(http::field::allow, "GET, HEAD, POST");
    }
    msg.keep_alive(keep_alive);
    bytes_out = res.body.size();
    msg.content_length(res.body.size());
    if (!head_only) {
        msg.body() = std::move(res.body);
    }
    // The write is bounded by the write-stall deadline.
    connection::arm(c, st->cfg.timeouts.write_stall);
    http::serializer<false, http::string_body> sr{msg};
    auto [ec, n] = co_await http::async_write(c->socket, sr, use_nothrow);
    c->disarm();
    co_return !ec;
}

// Answers a refused request once, then the caller closes the connection.
net::awaitable<void> reply_and_close(const state_ptr& st, const conn_ptr& c, unsigned status,
                                     const std::string& reason, const std::string& request_id,
                                     const std::string& remote, std::string_view method,
                                     std::string_view path,
                                     std::chrono::steady_clock::time_point started)
{
    // The type follows the status (openai/error.hpp), as for every other error.
    api_error e = make_error(status, reason);
    e.code = std::string(reason_for(status));
    std::replace(e.code.begin(), e.code.end(), ' ', '_');
    std::transform(e.code.begin(), e.code.end(), e.code.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    http_request req;
    req.request_id = request_id;
    http_response res = error_response(e);
    std::size_t bytes = 0;
    co_await write_response(st, c, req, res, false, method == "HEAD", bytes);
    log_access(st, method, path, status, bytes, started, request_id, remote,
               " reason=\"" + reason + "\"");
}

// Reads the request body (Content-Length or chunked) into `out`, or drops it when `discard`
// (then at most max_discard_bytes are accepted); nullopt on success, else the status to answer
// (0 = close silently).
net::awaitable<std::optional<guard_reject>> read_body(const state_ptr& st, const conn_ptr& c,
                                                      beast::flat_buffer& buf,
                                                      const request_head& head, std::string& out,
                                                      bool discard)
{
    connection::arm(c, st->cfg.timeouts.request_body);
    if (!head.chunked) {
        // Content-Length: take what is buffered, then read the rest.
        auto need = static_cast<std::size_t>(head.content_length);
        std::size_t got = 0;
        if (!discard) {
            out.reserve(std::min(need, max_body_reserve));
        }
        while (got < need) {
            if (buf.size() == 0) {
                auto [ec, n] =
                    co_await c->socket.async_read_some(buf.prepare(read_chunk), use_nothrow);
                if (ec) {
                    c->disarm();
                    co_return c->timed_out ? guard_reject{408, "request body timed out"}
                                           : guard_reject{0, "client closed during body"};
                }
                buf.commit(n);
            }
            auto take = std::min(buf.size(), need - got);
            if (!discard) {
                out.append(static_cast<const char*>(buf.data().data()), take);
            }
            got += take;
            buf.consume(take);
        }
        c->disarm();
        co_return std::nullopt;
    }
    chunked_decoder dec(discard ? std::min(max_discard_bytes, st->limits.max_body_bytes)
                                : st->limits.max_body_bytes);
    for (;;) {
        if (buf.size() > 0) {
            std::string_view in(static_cast<const char*>(buf.data().data()), buf.size());
            auto r = dec.feed(in, out);
            if (discard) {
                out.clear();
            }
            if (auto* bad = std::get_if<guard_reject>(&r)) {
                c->disarm();
                co_return *bad;
            }
            buf.consume(std::get<std::size_t>(r));
            if (dec.done()) {
                c->disarm();
                co_return std::nullopt;
            }
        }
        auto [ec, n] = co_await c->socket.async_read_some(buf.prepare(read_chunk), use_nothrow);
        if (ec) {
            c->disarm();
            co_return c->timed_out ? guard_reject{408, "request body timed out"}
                                   : guard_reject{0, "client closed during body"};
        }
        buf.commit(n);
    }
}

// Watches the client socket while a handler runs: bytes that arrive are kept for the next
// request; EOF or a reset means the client is gone.
struct client_monitor
{
    explicit client_monitor(const net::any_io_executor& ex) : done_timer(ex), wake(ex)
    {
        done_timer.expires_at(std::chrono::steady_clock::time_point::max());
        wake.expires_at(std::chrono::steady_clock::time_point::max());
    }
    net::steady_timer done_timer;  // cancelled when the monitor ends (an event)
    net::steady_timer wake;        // cancelled to stop a monitor that paused reading
    std::function<void()> on_gone;
    bool stop = false;
    bool done = false;
    bool gone = false;
};

net::awaitable<void> monitor_client(conn_ptr c, std::shared_ptr<client_monitor> m,
                                    std::size_t max_ahead)
{
    while (!m->stop) {
        // Enough read-ahead: stop reading (and watching) until the handler ends.
        if (c->buffer.size() >= max_ahead) {
            co_await m->wake.async_wait(use_nothrow);
            break;
        }
        auto [ec, n] =
            co_await c->socket.async_read_some(c->buffer.prepare(read_chunk), use_nothrow);
        if (!ec) {
            c->buffer.commit(n);
            continue;
        }
        if (!m->stop && (ec != net::error::operation_aborted || c->forced)) {
            m->gone = true;
            if (m->on_gone) {
                m->on_gone();
            }
        }
        break;
    }
    m->done = true;
    m->done_timer.cancel();
}

// The response_sink of one exchange: chunked streaming with write-stall deadlines.
class session_sink final : public response_sink
{
public:
    session_sink(state_ptr st, conn_ptr c, std::shared_ptr<client_monitor> m,
                 const http_request& req, bool keep_alive)
        : st_(std::move(st)), c_(std::move(c)), m_(std::move(m)), req_(req), keep_alive_(keep_alive)
    {
    }

    net::awaitable<bool> begin_stream(
        unsigned status, std::string content_type,
        std::vector<std::pair<std::string, std::string>> headers) override
    {
        streaming_ = true;
        status_ = status;
        // At the drain deadline the server cuts the stream: stopping the upstream exchange
        // (the handler's disconnect hook) lets the handler end it properly, with an error.
        c_->on_cut = [m = m_] {
            if (m->on_gone) {
                m->on_gone();
            }
        };
        std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                           std::string(reason_for(status)) + "\r\nDate: " + http_date() +
                           "\r\nContent-Type: " + content_type + "\r\nTransfer-Encoding: chunked" +
                           "\r\nx-request-id: " + req_.request_id + "\r\n";
        for (const auto& [k, v] : headers) {
            if (safe_header_value(k) && safe_header_value(v) && !k.empty()) {
                head += k + ": " + v + "\r\n";
            }
        }
        head += keep_alive_ ? "\r\n" : "Connection: close\r\n\r\n";
        co_return co_await send(net::buffer(head));
    }

    net::awaitable<bool> write(std::string_view data) override
    {
        if (data.empty()) {
            co_return ok_;
        }
        char size_line[24];
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
        std::array<net::const_buffer, 3> bufs{net::buffer(size_line, static_cast<std::size_t>(len)),
                                              net::buffer(data.data(), data.size()),
                                              net::buffer("\r\n", 2)};
        bytes_ += data.size();
        co_return co_await send(bufs);
    }

    net::awaitable<bool> end_stream() override
    {
        if (ended_) {
            co_return ok_;
        }
        ended_ = true;
        co_return co_await send(net::buffer("0\r\n\r\n", 5));
    }

    bool streaming() const override { return streaming_; }
    bool client_gone() const override { return m_->gone || !ok_; }
    bool cut() const override { return c_->cut; }
    void on_disconnect(std::function<void()> fn) override { m_->on_gone = std::move(fn); }

    bool ended() const { return ended_; }
    bool ok() const { return ok_; }
    unsigned status() const { return status_; }
    std::size_t bytes() const { return bytes_; }

private:
    template <class Buffers>
    net::awaitable<bool> send(const Buffers& b)
    {
        if (!ok_ || m_->gone) {
            ok_ = false;
            co_return false;
        }
        connection::arm(c_, st_->cfg.timeouts.write_stall);
        auto [ec, n] = co_await net::async_write(c_->socket, b, use_nothrow);
        c_->disarm();
        if (ec) {
            ok_ = false;
            // A stalled or failed write ends the exchange: tell the handler like a disconnect.
            if (!m_->gone) {
                m_->gone = true;
                if (m_->on_gone) {
                    m_->on_gone();
                }
            }
        }
        co_return ok_;
    }

    state_ptr st_;
    conn_ptr c_;
    std::shared_ptr<client_monitor> m_;
    const http_request& req_;
    bool keep_alive_;
    bool streaming_ = false;
    bool ended_ = false;
    bool ok_ = true;
    unsigned status_ = 0;
    std::size_t bytes_ = 0;
};

std::string remote_of(const tcp::socket& s)
{
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) {
        return "-";
    }
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// Logs why `/readyz` fails (the probe is unauthenticated, so clients are told only "not
// ready"): a new reason at once, an unchanged one once a minute, and the return to ready.
void log_readiness(const state_ptr& st, const std::optional<std::string>& reason)
{
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(st->readiness_mutex);
    if (!reason) {
        if (!st->readiness_logged.empty()) {
            st->readiness_logged.clear();
            spdlog::info("ready");
        }
        return;
    }
    const std::string text = reason->empty() ? "no reason given" : *reason;
    if (text == st->readiness_logged && now - st->readiness_logged_at < readiness_log_interval) {
        return;
    }
    st->readiness_logged = text;
    st->readiness_logged_at = now;
    spdlog::warn("not ready: {}", text);
}

net::awaitable<http_response> dispatch(state_ptr st, http_request& req, response_sink& sink)
{
    switch (req.target) {
        case route::healthz:
            co_return http_response{200, "application/json", {}, R"({"status":"ok"})"};
        case route::readyz: {
            std::optional<std::string> reason;
            if (st->draining) {
                reason = "shutting down";
            } else if (st->readiness) {
                reason = st->readiness();
            }
            log_readiness(st, reason);
            if (reason) {
                // The reason (URLs, error texts) is for the log only.
                http_response r =
                    error_response(service_unavailable("not ready", "5", "not_ready"));
                co_return r;
            }
            co_return http_response{200, "application/json", {}, R"({"status":"ready"})"};
        }
        default:
            break;
    }
    auto it = st->handlers.find(req.target);
    if (it == st->handlers.end() || !it->second) {
        co_return error_response(not_implemented("this endpoint is not implemented"));
    }
    co_return co_await it->second(req, sink);
}

// " (N more since the last line)" for a throttled warning that dropped N lines.
std::string dropped_note(std::uint64_t n)
{
    return n == 0 ? std::string() : " (" + std::to_string(n) + " more since the last line)";
}

// One client connection: read head -> guard -> route/auth -> body -> handler -> respond,
// repeated for keep-alive and pipelined requests. Every request that gets past the head
// leaves exactly one access-log line.
net::awaitable<void> run_session(state_ptr st, tcp::socket socket)
{
    auto c = std::make_shared<connection>(std::move(socket));
    auto id = st->add(c);
    const std::string remote = remote_of(c->socket);
    const auto& t = st->cfg.timeouts;
    const std::size_t max_connections = st->cfg.limits.max_connections;
    beast::flat_buffer& buf = c->buffer;

    for (std::size_t served = 0;; ++served) {
        // Empty lines between requests are ignored (RFC 9112 §2.2): they do not start a request.
        while (buf.size() >= 2 && static_cast<const char*>(buf.data().data())[0] == '\r' &&
               static_cast<const char*>(buf.data().data())[1] == '\n') {
            buf.consume(2);
        }
        // Between requests: wait for the first byte under the keep-alive idle timeout.
        if (served > 0 && buf.size() == 0) {
            if (st->draining || c->evicting) {
                break;
            }
            // Near the connection cap idle connections give their slot back sooner.
            auto idle_for = t.keepalive_idle;
            if (st->active.load() * 4 >= max_connections * 3) {
                idle_for = std::min<std::chrono::milliseconds>(idle_for, pressure_idle);
            }
            c->set_idle(true);
            connection::arm(c, idle_for);
            auto [ec, n] = co_await c->socket.async_read_some(buf.prepare(read_chunk), use_nothrow);
            c->disarm();
            c->set_idle(false);
            if (ec) {
                break;
            }
            buf.commit(n);
        }

        // Head: one total deadline, however slowly the bytes trickle in.
        const auto started = std::chrono::steady_clock::now();
        connection::arm(c, t.request_header);
        head_scan scan;
        bool failed = false;
        for (;;) {
            scan =
                scan_head(std::string_view(static_cast<const char*>(buf.data().data()), buf.size()),
                          st->limits);
            if (scan.reject || scan.head_size > 0) {
                break;
            }
            // Nothing received yet: the connection is idle, and a drain or eviction may close it.
            c->set_idle(buf.size() == 0);
            if (c->idle && (st->draining || c->evicting)) {
                failed = true;
                break;
            }
            auto [ec, n] = co_await c->socket.async_read_some(buf.prepare(read_chunk), use_nothrow);
            c->set_idle(false);
            if (ec) {
                failed = true;
                // A partial head at the deadline gets a 408; silence just closes.
                if (c->timed_out && buf.size() > 0) {
                    c->disarm();
                    co_await reply_and_close(st, c, 408, "request header timed out",
                                             new_request_id(), remote, {}, {}, started);
                }
                break;
            }
            buf.commit(n);
        }
        c->disarm();
        if (failed) {
            break;
        }
        if (scan.reject) {
            co_await reply_and_close(st, c, scan.reject->status, scan.reject->reason,
                                     new_request_id(), remote, {}, {}, started);
            break;
        }
        std::string_view raw(static_cast<const char*>(buf.data().data()) + scan.skipped,
                             scan.head_size - scan.skipped);
        auto parsed = parse_head(raw, st->limits);
        buf.consume(scan.head_size);
        if (auto* bad = std::get_if<guard_reject>(&parsed)) {
            co_await reply_and_close(st, c, bad->status, bad->reason, new_request_id(), remote, {},
                                     {}, started);
            break;
        }

        http_request req;
        req.head = std::move(std::get<request_head>(parsed));
        req.remote = remote;
        auto rid = req.head.find("x-request-id");
        req.request_id = rid && valid_request_id(*rid) ? std::string(*rid) : new_request_id();
        const std::string path(req.head.path());
        const bool head_only = req.head.method == "HEAD";

        // Route and authenticate on the head alone: nothing is read for a refused request.
        auto match = match_route(req.head.method, path);
        req.target = match.target;
        // Only the POST routes take a body; the others never buffer one.
        const bool takes_body =
            match.target == route::chat_completions || match.target == route::embeddings;
        std::optional<http_response> early;
        if (match.target == route::not_found) {
            early =
                error_response(not_found("Unknown request URL: " + req.head.method + " " + path +
                                         ". Supported: POST /v1/chat/completions, POST "
                                         "/v1/embeddings, GET /v1/models."));
        } else if (match.target == route::method_not_allowed) {
            early = error_response(method_not_allowed("Method " + req.head.method +
                                                      " is not allowed for " + path + "."));
            early->headers.emplace_back("Allow", std::string(match.allow));
        } else if (match.requires_client_auth) {
            if (auto denied = st->auth.check(req.head.find("authorization"))) {
                early = error_response(*denied);
                early->headers.emplace_back("WWW-Authenticate", "Bearer");
            } else {
                c->authenticated = true;
            }
        }

        bool keep_alive = req.head.keep_alive && !st->draining && !c->evicting &&
                          served + 1 < st->cfg.limits.max_requests_per_connection;
        http_response res;
        if (early) {
            // The body was not read: the connection cannot be reused.
            if (req.head.has_body()) {
                keep_alive = false;
            }
            res = std::move(*early);
        } else {
            bool read_it = req.head.has_body();
            if (read_it && !takes_body) {
                // A body nobody needs: refused unread when large, else dropped as it arrives.
                if (!req.head.chunked && req.head.content_length > max_discard_bytes) {
                    co_await reply_and_close(st, c, 413, "this route takes no request body",
                                             req.request_id, remote, req.head.method, path,
                                             started);
                    break;
                }
                // Not solicited with a 100 either: answer, then close instead of reading it.
                if (req.head.expect_continue && buf.size() == 0) {
                    read_it = false;
                    keep_alive = false;
                }
            }
            // Body: `Expect: 100-continue` is answered only now that the head passed.
            if (read_it) {
                if (req.head.expect_continue && buf.size() == 0) {
                    static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
                    connection::arm(c, t.write_stall);
                    auto [ec, n] =
                        co_await net::async_write(c->socket, net::buffer(cont), use_nothrow);
                    c->disarm();
                    if (ec) {
                        log_access(st, req.head.method, path, 499, 0, started, req.request_id,
                                   remote, " client_gone=true");
                        break;
                    }
                }
                auto body_err = co_await read_body(st, c, buf, req.head, req.body, !takes_body);
                if (body_err) {
                    if (body_err->status == 413 && !takes_body) {
                        body_err->reason = "this route takes no request body";
                    }
                    if (body_err->status != 0) {
                        co_await reply_and_close(st, c, body_err->status, body_err->reason,
                                                 req.request_id, remote, req.head.method, path,
                                                 started);
                    } else {
                        log_access(st, req.head.method, path, 499, 0, started, req.request_id,
                                   remote, " client_gone=true");
                    }
                    break;
                }
            }
            // Run the handler while watching the client for a disconnect.
            auto m = std::make_shared<client_monitor>(c->socket.get_executor());
            session_sink sink(st, c, m, req, keep_alive);
            const bool watch = match.requires_client_auth;
            if (watch) {
                net::co_spawn(c->socket.get_executor(),
                              monitor_client(c, m, st->limits.max_header_bytes), net::detached);
            }
            res = co_await dispatch(st, req, sink);
            c->on_cut = nullptr;
            if (watch) {
                m->stop = true;
                m->on_gone = nullptr;
                if (!m->done) {
                    error_code ignored;
                    c->socket.cancel(ignored);
                    m->wake.cancel();
                    co_await m->done_timer.async_wait(use_nothrow);
                }
            }
            if (sink.streaming()) {
                // The handler streamed its answer: log it, and reuse the connection only if
                // the stream ended cleanly.
                if (sink.ok() && !sink.ended()) {
                    co_await sink.end_stream();
                }
                log_access(st, req.head.method, path, sink.status(), sink.bytes(), started,
                           req.request_id, remote,
                           sink.client_gone() ? " stream=true client_gone=true" : " stream=true");
                if (!sink.ok() || sink.client_gone() || !keep_alive || st->draining) {
                    break;
                }
                continue;
            }
            if (m->gone) {
                // Nobody to answer; 499 as nginx logs it.
                log_access(st, req.head.method, path, 499, 0, started, req.request_id, remote,
                           " client_gone=true");
                break;
            }
            keep_alive = keep_alive && !st->draining && !c->evicting;
        }

        std::size_t bytes = 0;
        bool ok = co_await write_response(st, c, req, res, keep_alive, head_only, bytes);
        log_access(st, req.head.method, path, res.status, bytes, started, req.request_id, remote,
                   ok ? "" : " client_gone=true");
        if (!ok || !keep_alive) {
            break;
        }
    }
    c->close();
    st->remove(id);
    --st->active;
}

// Accepts connections until the acceptor is closed; backs off on errors such as EMFILE.
net::awaitable<void> accept_loop(state_ptr st)
{
    for (;;) {
        // The next io thread's context: the session and its upstream exchange live there.
        auto& home = *st->contexts[st->next_context++ % st->contexts.size()];
        auto [ec, socket] = co_await st->acceptor.async_accept(net::make_strand(home), use_nothrow);
        if (ec) {
            if (ec == net::error::operation_aborted || !st->acceptor.is_open()) {
                co_return;
            }
            if (auto dropped = st->accept_error_log.admit()) {
                spdlog::warn("accept failed: {}; retrying in 100 ms{}", ec.message(),
                             dropped_note(*dropped));
            }
            net::steady_timer pause(st->acceptor.get_executor());
            pause.expires_after(std::chrono::milliseconds(100));
            co_await pause.async_wait(use_nothrow);
            continue;
        }
        // At the connection cap: make room by closing the connection idle the longest, so that
        // idle keep-alive connections cannot lock new clients out; refuse only when every
        // connection is busy.
        if (st->active.load() >= st->cfg.limits.max_connections) {
            if (st->evict_idlest()) {
                if (auto dropped = st->evicted_log.admit()) {
                    spdlog::warn(
                        "connection limit reached: closing the longest-idle connection for a new "
                        "one, {} open (limits.max_connections){}",
                        st->active.load(), dropped_note(*dropped));
                }
            } else {
                error_code ignored;
                socket.close(ignored);
                if (auto dropped = st->refused_log.admit()) {
                    spdlog::warn(
                        "connection refused: {} connections open, none idle "
                        "(limits.max_connections){}",
                        st->active.load(), dropped_note(*dropped));
                }
                continue;
            }
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        ++st->active;
        ++st->accepted;
        auto ex = socket.get_executor();
        net::co_spawn(ex, run_session(st, std::move(socket)), net::detached);
    }
}

}  // namespace

server::server(net::io_context& ioc, const config& cfg)
    : server(std::vector<net::io_context*>{&ioc}, cfg)
{
}

server::server(std::vector<net::io_context*> contexts, const config& cfg)
    : state_(std::make_shared<shared_state>(std::move(contexts), cfg))
{
}

server::~server() = default;

void server::set_handler(route r, handler h)
{
    state_->handlers[r] = std::move(h);
}

void server::set_readiness(readiness_probe p)
{
    state_->readiness = std::move(p);
}

void server::listen()
{
    auto addr = net::ip::make_address(state_->cfg.listen_host);
    tcp::endpoint ep(addr, state_->cfg.listen_port);
    auto& a = state_->acceptor;
    a.open(ep.protocol());
    a.set_option(net::socket_base::reuse_address(true));
    a.bind(ep);
    a.listen(net::socket_base::max_listen_connections);
}

net::ip::tcp::endpoint server::local_endpoint() const
{
    return state_->acceptor.local_endpoint();
}

void server::start()
{
    net::co_spawn(state_->acceptor.get_executor(), accept_loop(state_), net::detached);
}

void server::drain()
{
    if (state_->draining.exchange(true)) {
        return;
    }
    // Stop accepting: new connects are refused by the kernel once the socket is closed.
    auto st = state_;
    net::post(st->acceptor.get_executor(), [st] {
        error_code ignored;
        st->acceptor.close(ignored);
    });
    // Idle keep-alive connections close now; busy ones finish their exchange first.
    st->for_each_connection([](connection& c) {
        if (c.idle) {
            error_code ignored;
            c.socket.cancel(ignored);
        }
    });
}

void server::cut_streams()
{
    state_->for_each_connection([](connection& c) {
        if (c.on_cut && !c.cut) {
            c.cut = true;
            c.on_cut();
        }
    });
}

void server::close_all()
{
    state_->for_each_connection([](connection& c) {
        error_code ignored;
        c.forced = true;
        c.socket.cancel(ignored);
        c.socket.shutdown(tcp::socket::shutdown_both, ignored);
    });
}

std::size_t server::active_connections() const
{
    return state_->active.load();
}

std::uint64_t server::accepted_connections() const
{
    return state_->accepted.load();
}

bool server::draining() const
{
    return state_->draining.load();
}

}  // namespace ogp::server
