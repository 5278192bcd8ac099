// The listener (accept loop, connection cap, eviction), the session loop and the request
// steps that need no I/O of their own beyond the head: idle wait, head, route and auth.
// Body, response writing, streaming and the client monitor are in session_io.cpp.

#include "ogp/server/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "session.hpp"

namespace ogp::server {

namespace {

// Keep-alive idle deadline for a connection that goes idle while at least 3/4 of
// `limits.max_connections` are open.
constexpr std::chrono::milliseconds pressure_idle{5000};
// `/readyz` repeats an unchanged reason in the log at most this often.
constexpr std::chrono::seconds readiness_log_interval{60};

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

}  // namespace

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

namespace {

// " (N more since the last line)" for a throttled warning that dropped N lines.
std::string dropped_note(std::uint64_t n)
{
    return n == 0 ? std::string() : " (" + std::to_string(n) + " more since the last line)";
}

}  // namespace

server::shared_state::shared_state(std::vector<net::io_context*> io, const config& c)
    : contexts(std::move(io)),
      cfg(c),
      acceptor(net::make_strand(*contexts.front())),
      auth(c.clients.api_keys, c.clients.allow_anonymous)
{
    limits.max_header_bytes = c.limits.max_header_bytes;
    limits.max_header_count = c.limits.max_header_count;
    limits.max_uri_bytes = c.limits.max_uri_bytes;
    // The head guard admits what an upload may declare; routes that hold their body in memory
    // refuse more than limits.max_body_bytes in route().
    limits.max_body_bytes = std::max(c.limits.max_body_bytes, c.limits.max_upload_bytes);
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
}

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
    auto idle_for = st_->cfg.timeouts.keepalive_idle;
    if (st_->active.load() * 4 >= st_->cfg.limits.max_connections * 3) {
        idle_for = std::min<std::chrono::milliseconds>(idle_for, pressure_idle);
    }
    c_->set_idle(true);
    connection::arm(c_, idle_for);
    auto [ec, n] = co_await c_->socket.async_read_some(buf.prepare(read_chunk), use_nothrow);
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
    connection::arm(c_, st_->cfg.timeouts.request_header);
    head_scan scan;
    for (;;) {
        scan = scan_head(c_->buffered(), st_->limits);
        if (scan.reject || scan.head_size > 0) {
            break;
        }
        // Nothing received yet: the connection is idle, and a drain or eviction may close it.
        c_->set_idle(buf.size() == 0);
        if (c_->idle && (st_->draining || c_->evicting)) {
            c_->disarm();
            co_return false;
        }
        auto [ec, n] = co_await c_->socket.async_read_some(buf.prepare(read_chunk), use_nothrow);
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
    auto parsed =
        parse_head(c_->buffered().substr(scan.skipped, scan.head_size - scan.skipped), st_->limits);
    buf.consume(scan.head_size);
    if (auto* bad = std::get_if<guard_reject>(&parsed)) {
        x.req.request_id = new_request_id();
        co_await reply_and_close(x, bad->status, bad->reason);
        co_return false;
    }
    ++served_;
    auto& req = x.req;
    req.head = std::move(std::get<request_head>(parsed));
    req.remote = remote_;
    auto rid = req.head.find("x-request-id");
    req.request_id = rid && valid_request_id(*rid) ? std::string(*rid) : new_request_id();
    x.path = req.head.path();
    x.head_only = req.head.method == "HEAD";
    co_return true;
}

void session::route(exchange& x)
{
    auto& req = x.req;
    x.match = match_route(req.head.method, x.path);
    req.target = x.match.target;
    // Only the POST routes take a body (the router says which); the others never buffer one.
    x.takes_body = x.match.takes_body;
    x.keep_alive = req.head.keep_alive && !st_->draining && !c_->evicting &&
                   served_ < st_->cfg.limits.max_requests_per_connection;
    x.answered = true;
    const auto& limits = st_->cfg.limits;
    if (!x.match.spools_body && !req.head.chunked &&
        req.head.content_length > limits.max_body_bytes) {
        // As the head guard would have refused it, before routing (only uploads go further).
        api_error e = make_error(413, "request body exceeds the limit of " +
                                          std::to_string(limits.max_body_bytes) + " bytes");
        e.code = "payload_too_large";
        x.res = error_response(e);
    } else if (x.match.target == route::not_found) {
        x.res = error_response(not_found("Unknown request URL: " + req.head.method + " " +
                                         std::string(x.path) +
                                         ". Supported: POST /v1/chat/completions, POST "
                                         "/v1/responses, POST /v1/embeddings, GET /v1/models, "
                                         "and with oci.project_id /v1/responses/{id}, "
                                         "/v1/conversations, /v1/files, /v1/vector_stores."));
    } else if (x.match.target == route::method_not_allowed) {
        x.res = error_response(method_not_allowed(
            "Method " + req.head.method + " is not allowed for " + std::string(x.path) + "."));
        x.res.headers.emplace_back("Allow", std::string(x.match.allow));
    } else if (auto denied = x.match.requires_client_auth
                                 ? st_->auth.check(req.head.find("authorization"))
                                 : std::nullopt) {
        x.res = error_response(*denied);
        x.res.headers.emplace_back("WWW-Authenticate", "Bearer");
    } else {
        x.answered = false;
        if (x.match.requires_client_auth) {
            c_->authenticated = true;
        }
    }
    // A refused request's body was not read: the connection cannot be reused.
    if (x.answered && req.head.has_body()) {
        x.keep_alive = false;
    }
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
        start_session(st, std::move(socket));
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
