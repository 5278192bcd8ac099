// The listener (accept loop, connection cap, eviction), the session loop and the request
// steps that need no I/O of their own beyond the head: idle wait, head, route and auth.
// Body, response writing, streaming and the client monitor are in session_io.cpp.

#include "ogp/server/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ogp/server/tls.hpp"
#include "session.hpp"

namespace ogp::server {

namespace {

// Keep-alive idle deadline for a connection that goes idle while at least 3/4 of
// `limits.max_connections` are open.
constexpr std::chrono::milliseconds pressure_idle{5000};
std::string remote_of(const tcp::socket& s)
{
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) {
        return "-";
    }
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

namespace {

// " (N more since the last line)" for a throttled warning that dropped N lines.
std::string dropped_note(std::uint64_t n)
{
    return n == 0 ? std::string() : " (" + std::to_string(n) + " more since the last line)";
}

}  // namespace

server_settings::server_settings(std::shared_ptr<const config> c)
    : cfg(std::move(c)), auth(client_authenticator::from_config(cfg->clients))
{
    limits.max_header_bytes = cfg->limits.max_header_bytes;
    limits.max_header_count = cfg->limits.max_header_count;
    limits.max_uri_bytes = cfg->limits.max_uri_bytes;
    // The head guard admits what an upload may declare; routes that hold their body in memory
    // refuse more than limits.max_body_bytes in route().
    limits.max_body_bytes = std::max(cfg->limits.max_body_bytes, cfg->limits.max_upload_bytes);
}

server::shared_state::shared_state(std::vector<net::io_context*> io,
                                   std::shared_ptr<const config> c, listener_kind k)
    : contexts(std::move(io)),
      kind(k),
      startup(c),
      acceptor(net::make_strand(*contexts.front())),
      settings_(std::make_shared<const server_settings>(std::move(c)))
{
}

std::uint64_t server::shared_state::add(const conn_ptr& c)
{
    std::lock_guard lock(mutex);
    connections.emplace(++next_id, c);
    return next_id;
}

void server::shared_state::remove(std::uint64_t id)
{
    std::lock_guard lock(mutex);
    connections.erase(id);
}

// The chosen connection closes on its own strand (or after its exchange, if a request arrived
// meanwhile).
bool server::shared_state::evict_idlest()
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

// ---------------------------------------------------------------------------------------------
// The session loop

namespace {

// One client connection: wait -> head -> route/auth -> body -> handler -> respond, repeated for
// keep-alive and pipelined requests. Every request that gets past the head leaves exactly one
// access-log line.
net::awaitable<void> run_session(state_ptr st, tcp::socket socket)
{
    session s(std::move(st), std::move(socket));
    // HTTPS: nothing is read before the handshake, which has the header deadline.
    if (!co_await s.handshake()) {
        s.close();
        co_return;
    }
    for (;;) {
        // Between requests: skip empty lines, then wait for the next request under the
        // keep-alive idle deadline (shorter near the connection cap); drain and eviction end it.
        if (!co_await s.await_request()) {
            break;
        }
        exchange x;
        // Read the head under one total deadline, however slowly it trickles in, and guard it.
        if (!co_await s.read_head(x)) {
            break;
        }
        // Route and authenticate on the head alone: nothing is read for a refused request.
        s.route(x);
        // Read the body, after `100 Continue` when asked; a route that takes none drops it.
        if (!co_await s.read_body(x)) {
            break;
        }
        // Run the handler while the monitor watches the client for a disconnect.
        if (!co_await s.handle(x)) {
            break;
        }
        // Write the buffered response (a streamed one is written already) and log it.
        if (!co_await s.respond(x)) {
            break;
        }
    }
    s.close();
}

}  // namespace

session::session(state_ptr st, tcp::socket socket)
    : st_(std::move(st)), c_(std::make_shared<connection>(std::move(socket)))
{
    id_ = st_->add(c_);
    remote_ = remote_of(c_->socket);
    // The context current at accept stays with the connection to its end.
    if (auto ctx = st_->current_tls()) {
        c_->tls_context = std::move(ctx);
        c_->tls = std::make_unique<connection::tls_stream>(c_->socket, *c_->tls_context);
    }
}

net::awaitable<bool> session::handshake()
{
    if (!c_->tls) {
        co_return true;
    }
    // Waiting for a client's handshake is like waiting for its first request: the connection
    // counts as idle, so that under the connection cap, or at a drain, it is closed first.
    c_->set_idle(true);
    connection::arm(c_, st_->settings()->cfg->timeouts.request_header);
    auto [ec] = co_await c_->tls->async_handshake(net::ssl::stream_base::server, use_nothrow);
    c_->disarm();
    c_->set_idle(false);
    if (!ec) {
        ++st_->tls_handshakes;
        co_return true;
    }
    // Plaintext HTTP on this port, an unknown or missing client certificate under mutual
    // TLS, no common protocol version, cipher or ALPN, a timeout, a reset: the client's
    // problem, not the server's. Closed without a TLS shutdown (see session::close()).
    if (!c_->evicting && !st_->draining) {
        ++st_->tls_handshake_failures;
    }
    spdlog::debug("tls handshake failed: {} remote={}",
                  c_->timed_out ? std::string("timed out") : ec.message(), remote_);
    co_return false;
}

// A TLS connection closes without a close_notify exchange: the session has written all it
// will, HTTP/1.1 framing tells the client where each response ends, and waiting for the
// client's close_notify would hold the connection for a peer that may never send it; a bounded
// close beats a polite one.
void session::close()
{
    c_->close();
    st_->remove(id_);
    --st_->active;
}

net::awaitable<bool> session::await_request()
{
    auto& buf = c_->buffer;
    // Empty lines between requests are ignored (RFC 9112 §2.2): they do not start a request.
    while (c_->buffered().starts_with("\r\n")) {
        buf.consume(2);
    }
    if (served_ == 0 || buf.size() > 0) {
        co_return true;
    }
    if (st_->draining || c_->evicting) {
        co_return false;
    }
    // Near the connection cap idle connections give their slot back sooner.
    const auto set = st_->settings();
    auto idle_for = set->cfg->timeouts.keepalive_idle;
    if (st_->active.load() * 4 >= st_->startup->limits.max_connections * 3) {
        idle_for = std::min<std::chrono::milliseconds>(idle_for, pressure_idle);
    }
    c_->set_idle(true);
    connection::arm(c_, idle_for);
    auto [ec, n] = co_await c_->read_some(buf.prepare(read_chunk));
    c_->disarm();
    c_->set_idle(false);
    if (ec) {
        co_return false;
    }
    buf.commit(n);
    co_return true;
}

net::awaitable<bool> session::read_head(exchange& x)
{
    auto& buf = c_->buffer;
    x.started = std::chrono::steady_clock::now();
    // The request runs with the configuration current at its first byte, to its end.
    x.settings = st_->settings();
    x.req.started = x.started;
    x.req.remote = remote_;
    connection::arm(c_, x.settings->cfg->timeouts.request_header);
    head_scan scan;
    for (;;) {
        scan = scan_head(c_->buffered(), x.settings->limits);
        if (scan.reject || scan.head_size > 0) {
            break;
        }
        // Nothing received yet: the connection is idle, and a drain or eviction may close it.
        c_->set_idle(buf.size() == 0);
        if (c_->idle && (st_->draining || c_->evicting)) {
            c_->disarm();
            co_return false;
        }
        auto [ec, n] = co_await c_->read_some(buf.prepare(read_chunk));
        c_->set_idle(false);
        if (ec) {
            // A partial head at the deadline gets a 408; silence just closes.
            const bool answer = c_->timed_out && buf.size() > 0;
            c_->disarm();
            if (answer) {
                x.req.request_id = new_request_id();
                co_await reply_and_close(x, 408, "request header timed out");
            }
            co_return false;
        }
        buf.commit(n);
    }
    c_->disarm();
    if (scan.reject) {
        x.req.request_id = new_request_id();
        co_await reply_and_close(x, scan.reject->status, scan.reject->reason);
        co_return false;
    }
    auto parsed = parse_head(c_->buffered().substr(scan.skipped, scan.head_size - scan.skipped),
                             x.settings->limits);
    buf.consume(scan.head_size);
    if (auto* bad = std::get_if<guard_reject>(&parsed)) {
        x.req.request_id = new_request_id();
        co_await reply_and_close(x, bad->status, bad->reason);
        co_return false;
    }
    ++served_;
    auto& req = x.req;
    req.head = std::move(std::get<request_head>(parsed));
    auto rid = req.head.find("x-request-id");
    req.request_id = rid && valid_request_id(*rid) ? std::string(*rid) : new_request_id();
    x.path = req.head.path();
    x.head_only = req.head.method == "HEAD";
    co_return true;
}

// ---------------------------------------------------------------------------------------------
// The listener

void start_session(const state_ptr& st, tcp::socket socket)
{
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    ++st->active;
    ++st->accepted;
    auto ex = socket.get_executor();
    net::co_spawn(ex, run_session(st, std::move(socket)), net::detached);
}

namespace {

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
        if (st->active.load() >= st->startup->limits.max_connections) {
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
                ++st->refused;
                if (auto dropped = st->refused_log.admit()) {
                    spdlog::warn(
                        "connection refused: {} connections open, none idle "
                        "(limits.max_connections){}",
                        st->active.load(), dropped_note(*dropped));
                }
                continue;
            }
        }
        start_session(st, std::move(socket));
    }
}

}  // namespace

server::server(net::io_context& ioc, const config& cfg)
    : server(std::vector<net::io_context*>{&ioc}, cfg)
{
}

server::server(std::vector<net::io_context*> contexts, const config& cfg)
    : server(std::move(contexts), std::make_shared<const config>(cfg))
{
}

server::server(std::vector<net::io_context*> contexts, std::shared_ptr<const config> cfg,
               listener_kind kind)
    : state_(std::make_shared<shared_state>(std::move(contexts), std::move(cfg), kind))
{
}

void server::reconfigure(std::shared_ptr<const config> cfg)
{
    state_->replace_settings(std::make_shared<const server_settings>(std::move(cfg)));
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

void server::set_readiness_detail(std::function<std::string()> fn)
{
    state_->readiness_detail = std::move(fn);
}

void server::listen()
{
    const auto& c = *state_->startup;
    const bool metrics = state_->kind == listener_kind::metrics;
    auto addr = net::ip::make_address(metrics ? c.metrics.listen_host : c.listen_host);
    tcp::endpoint ep(addr, metrics ? c.metrics.listen_port : c.listen_port);
    auto& a = state_->acceptor;
    a.open(ep.protocol());
    a.set_option(net::socket_base::reuse_address(true));
    a.bind(ep);
    a.listen(net::socket_base::max_listen_connections);
    // HTTPS when `tls.*` is set (both listeners); a file that cannot be loaded stops start-up.
    if (c.tls.enabled()) {
        auto ctx = make_tls_context(c.tls);
        std::lock_guard lock(state_->tls_mutex);
        state_->tls_context = std::move(ctx);
    }
}

void server::reload_tls()
{
    auto& st = *state_;
    const auto set = st.settings();
    const auto& tls = set->cfg->tls;
    if (!st.current_tls()) {
        // The listener speaks plain HTTP: switching it to HTTPS needs a restart.
        if (tls.enabled()) {
            spdlog::warn(
                "tls.cert_file: set by the reload, but the {} listener started without "
                "TLS: it needs a restart to serve HTTPS",
                st.kind == listener_kind::metrics ? "metrics" : "main");
        }
        return;
    }
    if (!tls.enabled()) {
        spdlog::warn(
            "tls.cert_file: removed by the reload, but the {} listener keeps serving "
            "HTTPS with the previous certificate until a restart",
            st.kind == listener_kind::metrics ? "metrics" : "main");
        return;
    }
    // Built first: on a bad file this throws and the running context stays.
    auto ctx = make_tls_context(tls);
    {
        std::lock_guard lock(st.tls_mutex);
        st.tls_context = std::move(ctx);
    }
    spdlog::info("tls: {} listener reloaded its certificate from {}",
                 st.kind == listener_kind::metrics ? "metrics" : "main", tls.cert_file);
}

net::ip::tcp::endpoint server::local_endpoint() const
{
    return state_->acceptor.local_endpoint();
}

void server::serve(net::ip::tcp::socket socket)
{
    start_session(state_, std::move(socket));
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
