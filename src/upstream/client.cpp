#include "ogp/upstream/client.hpp"

#include "ogp/upstream/deadline.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>

namespace ogp::upstream {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Streamed bodies arrive in small events: a small piece keeps an idle stream's memory low.
constexpr std::size_t stream_piece = 4 * 1024;
constexpr std::size_t whole_piece = 16 * 1024;
constexpr std::uint32_t max_response_head = 64 * 1024;
constexpr int max_interim_heads = 8;  // 1xx heads skipped before the final one

}  // namespace

target_url::target_url(url u) : url(std::move(u)), base_path(path)
{
    while (!base_path.empty() && base_path.back() == '/') {
        base_path.pop_back();
    }
}

/// One upstream connection: TLS (or plain) stream, read buffer and the parser of the response
/// being read. Owned by one exchange at a time, or idle in the pool.
class connection : public std::enable_shared_from_this<connection>
{
public:
    connection(const net::any_io_executor& ex, net::execution_context* home,
               std::shared_ptr<ssl::context> ctx, std::shared_ptr<session_cache> sessions, bool tls,
               std::shared_ptr<std::atomic<std::uint64_t>> live)
        : ctx_(std::move(ctx)),
          sessions_(std::move(sessions)),
          live_(std::move(live)),
          stream(ex, *ctx_),
          home(home),
          tls(tls)
    {
        sessions_->attach(stream.native_handle());
        live_->fetch_add(1, std::memory_order_relaxed);
    }
    ~connection() { live_->fetch_sub(1, std::memory_order_relaxed); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    std::shared_ptr<ssl::context> ctx_;
    std::shared_ptr<session_cache> sessions_;           // outlives the SSL object that points at it
    std::shared_ptr<std::atomic<std::uint64_t>> live_;  // the pool's count (may outlive it)
    ssl::stream<tcp::socket> stream;
    net::execution_context* home;  ///< the io_context its socket is registered with
    bool tls;
    beast::flat_buffer buffer;
    std::optional<http::response_parser<http::buffer_body>> parser;
    std::chrono::steady_clock::time_point last_used = std::chrono::steady_clock::now();
    std::size_t requests = 0;
    bool pooled = false;  ///< has waited in the idle list (the server may have closed it)
    bool broken = false;
    /// The pending connect's switch: close() must also end a DNS lookup, which has no socket.
    std::optional<timed_phase> connecting;

    tcp::socket& socket() { return stream.next_layer(); }

    void close()
    {
        broken = true;
        if (connecting) {
            connecting->abort();
        }
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

    // Non-blocking liveness probe of an idle connection: EOF, or unexpected bytes after a
    // response, mean the server closed it or broke protocol, so it must not be reused. A spare
    // that never carried a request may hold post-handshake TLS records (TLS 1.3 session
    // tickets), which its first read will consume; a close hidden behind them is caught by the
    // stale retry.
    bool looks_alive()
    {
        if (!socket().is_open() || buffer.size() != 0) {
            return false;
        }
        char byte = 0;
        auto n = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) {
            return tls && requests == 0;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
};

namespace {

// A deadline for the operations of one coroutine step: when it passes, the connection's
// socket is cancelled and the pending operation fails. Runs on the coroutine's executor.
class watchdog
{
public:
    watchdog(const net::any_io_executor& ex, const std::shared_ptr<connection>& c,
             std::chrono::milliseconds d)
        : state_(std::make_shared<state>(ex))
    {
        state_->timer.expires_after(d);
        std::weak_ptr<connection> weak = c;
        state_->timer.async_wait([s = state_, weak](error_code ec) {
            if (ec) {
                return;
            }
            s->fired = true;
            if (auto conn = weak.lock()) {
                error_code ignored;
                conn->socket().cancel(ignored);
            }
        });
    }
    ~watchdog() { state_->timer.cancel(); }
    watchdog(const watchdog&) = delete;
    watchdog& operator=(const watchdog&) = delete;

    bool fired() const { return state_->fired; }

private:
    struct state
    {
        explicit state(const net::any_io_executor& ex) : timer(ex) {}
        net::steady_timer timer;
        bool fired = false;
    };
    std::shared_ptr<state> state_;
};

// A timed-out operation reports beast::error::timeout, whatever the cancelled op said.
error_code timed(const watchdog& w, error_code ec)
{
    return ec && w.fired() ? error_code(beast::error::timeout) : ec;
}

}  // namespace

pool::pool(std::shared_ptr<ssl::context> tls, target_url target, pool_options options)
    : tls_(std::move(tls)),
      sessions_(std::make_shared<session_cache>()),
      target_(std::move(target)),
      options_(options)
{
    // An IP literal is its own answer, for good.
    error_code ec;
    auto addr = net::ip::make_address(target_.host, ec);
    if (!ec && target_.is_ip_literal()) {
        literal_ = true;
        endpoints_ = {tcp::endpoint(addr, target_.port)};
        endpoints_until_ = std::chrono::steady_clock::time_point::max();
    }
}

pool::~pool() = default;

std::size_t pool::idle_count() const
{
    std::lock_guard lock(mutex_);
    return idle_.size();
}

void pool::clear()
{
    std::vector<std::shared_ptr<connection>> drop;
    {
        std::lock_guard lock(mutex_);
        drop.swap(idle_);
    }
    sessions_->clear();
}

namespace {

// The io_context (execution context) an executor runs on: a connection's "home".
net::execution_context* home_of(const net::any_io_executor& ex)
{
    return &net::query(ex, net::execution::context);
}

}  // namespace

std::shared_ptr<connection> pool::take_idle(const net::any_io_executor& ex)
{
    const auto now = std::chrono::steady_clock::now();
    net::execution_context* home = home_of(ex);
    std::shared_ptr<connection> foreign;
    {
        std::lock_guard lock(mutex_);
        // Most recently used first, on the caller's io thread first; expired or dead ones are
        // dropped on the way.
        for (std::size_t i = idle_.size(); i-- > 0;) {
            auto& c = idle_[i];
            const bool same = c->home == home;
            if (!same && foreign) {
                continue;  // already have a fallback; look only for one of ours
            }
            if (now - c->last_used >= options_.idle_expiry || !c->looks_alive()) {
                idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
                continue;
            }
            if (same) {
                auto out = std::move(c);
                idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
                return out;
            }
            foreign = c;
        }
        if (!foreign) {
            return nullptr;
        }
        std::erase(idle_, foreign);
    }
    // Another io thread's connection works, at the price of a thread hop per operation: use it
    // now, and have one of our own ready next time.
    prewarm(ex);
    return foreign;
}

void pool::put_idle(std::shared_ptr<connection> c)
{
    c->last_used = std::chrono::steady_clock::now();
    c->parser.reset();
    c->pooled = true;
    std::lock_guard lock(mutex_);
    if (idle_.size() >= options_.max_idle) {
        idle_.erase(idle_.begin());  // the oldest goes
    }
    idle_.push_back(std::move(c));
}

std::vector<tcp::endpoint> pool::cached_endpoints() const
{
    std::lock_guard lock(mutex_);
    if (std::chrono::steady_clock::now() >= endpoints_until_) {
        return {};
    }
    return endpoints_;
}

void pool::cache_endpoints(const std::vector<tcp::endpoint>& endpoints)
{
    std::lock_guard lock(mutex_);
    endpoints_ = endpoints;
    endpoints_until_ = std::chrono::steady_clock::now() + options_.dns_ttl;
}

void pool::forget_endpoints()
{
    std::lock_guard lock(mutex_);
    if (!literal_) {
        endpoints_.clear();
        endpoints_until_ = {};
    }
}

void pool::prewarm(const net::any_io_executor& ex)
{
    net::execution_context* home = home_of(ex);
    {
        std::lock_guard lock(mutex_);
        const bool have = std::any_of(idle_.begin(), idle_.end(),
                                      [home](const auto& c) { return c->home == home; });
        if (have || std::find(prewarming_.begin(), prewarming_.end(), home) != prewarming_.end()) {
            return;
        }
        prewarming_.push_back(home);
    }
    net::co_spawn(ex, open_spare(shared_from_this()), net::detached);
}

net::awaitable<void> pool::open_spare(std::shared_ptr<pool> self)
{
    auto ex = co_await net::this_coro::executor;
    auto c = self->make_connection(ex);
    auto ec = co_await self->connect(c);
    if (ec) {
        spdlog::debug("upstream: spare connection to {} failed: {}", self->target_.authority(),
                      ec.message());
        c->close();
    } else {
        ++self->prewarmed_;
        self->put_idle(c);
    }
    std::lock_guard lock(self->mutex_);
    std::erase(self->prewarming_, c->home);
}

std::shared_ptr<connection> pool::make_connection(const net::any_io_executor& ex)
{
    return std::make_shared<connection>(ex, home_of(ex), tls_, sessions_, target_.tls, live_);
}

net::awaitable<error_code> pool::connect(std::shared_ptr<connection> c)
{
    // One phase, one deadline: a DNS lookup that stalls counts against connect_timeout like a
    // slow handshake, and closing `c` (client gone) ends the wait whatever step is pending.
    timed_phase phase;
    c->connecting = phase;
    if (c->broken) {
        phase.abort();
    }
    auto ec = co_await phase.run(open(shared_from_this(), c),
                                 std::chrono::steady_clock::now() + options_.connect_timeout);
    c->connecting.reset();
    if (ec) {
        c->close();  // steps left behind (timeout, abort) stop at their next socket operation
    }
    co_return ec;
}

net::awaitable<error_code> pool::open(std::shared_ptr<pool> self, std::shared_ptr<connection> c)
{
    const target_url& target = self->target_;
    // Resolve (an IP literal or a cached answer needs no lookup), then connect.
    std::vector<tcp::endpoint> endpoints = self->cached_endpoints();
    if (endpoints.empty()) {
        error_code rec;
        if (self->options_.resolve != nullptr) {
            std::tie(rec, endpoints) =
                co_await self->options_.resolve(target.host, target.port_string());
        } else {
            auto ex = co_await net::this_coro::executor;
            tcp::resolver resolver(ex);
            auto [ec, results] =
                co_await resolver.async_resolve(target.host, target.port_string(), use_nothrow);
            rec = ec;
            for (const auto& r : results) {
                endpoints.push_back(r.endpoint());
            }
        }
        if (rec) {
            co_return rec;
        }
        if (endpoints.empty()) {
            co_return error_code(net::error::host_not_found);
        }
        self->cache_endpoints(endpoints);
    }
    // Each address in turn; a closed connection (timeout, abort) is never reopened.
    error_code cec = net::error::host_not_found;
    for (const auto& ep : endpoints) {
        if (c->broken) {
            co_return error_code(net::error::operation_aborted);
        }
        error_code ignored;
        c->socket().close(ignored);
        std::tie(cec) = co_await c->socket().async_connect(ep, use_nothrow);
        if (!cec) {
            break;
        }
    }
    if (cec) {
        self->forget_endpoints();  // the next attempt asks DNS again
        co_return cec;
    }
    error_code ignored;
    c->socket().set_option(tcp::no_delay(true), ignored);

    // TLS: SNI and the certificate's name or IP checked against the host.
    if (target.tls) {
        if (auto ec = prepare_client_tls(c->stream.native_handle(), target.host)) {
            co_return ec;
        }
        // Offer the last session of this host: an abbreviated handshake, no chain to verify.
        self->sessions_->offer(c->stream.native_handle());
        auto [hec] = co_await c->stream.async_handshake(ssl::stream_base::client, use_nothrow);
        if (hec) {
            co_return hec;
        }
        if (SSL_session_reused(c->stream.native_handle()) == 1) {
            ++self->resumptions_;
        }
    }
    ++self->handshakes_;
    co_return error_code{};
}

exchange::exchange(std::shared_ptr<pool> p) : pool_(std::move(p)) {}

exchange::~exchange()
{
    if (conn_) {
        conn_->close();
    }
}

namespace {

template <class Stream>
net::awaitable<error_code> write_request(Stream& s, std::string_view wire)
{
    auto [ec, n] = co_await net::async_write(s, net::buffer(wire.data(), wire.size()), use_nothrow);
    co_return ec;
}

bool has_line_break(std::string_view v)
{
    return v.find_first_of("\r\n") != std::string_view::npos;
}

// The request in one buffer, so it leaves in as few TLS records and segments as its size
// allows (a TLS stream writes one buffer of a sequence per record). Framing headers are ours:
// Content-Length from the body (the signed value is computed the same way), never
// Transfer-Encoding or Connection from the caller. Empty when a header would break the framing.
std::string serialize_request(std::string_view method, std::string_view target,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view body, const std::string& authority,
                              const file_body* file)
{
    std::string wire;
    wire.reserve(512 + body.size());
    if (has_line_break(method) || has_line_break(target)) {
        return {};
    }
    wire.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool host = false;
    for (const auto& [k, v] : headers) {
        if (k.empty() || has_line_break(k) || has_line_break(v) ||
            k.find(':') != std::string::npos) {
            return {};
        }
        if (beast::iequals(k, "content-length") || beast::iequals(k, "transfer-encoding") ||
            beast::iequals(k, "connection")) {
            continue;
        }
        host = host || beast::iequals(k, "host");
        wire.append(k).append(": ").append(v).append("\r\n");
    }
    if (!host) {
        wire.append("Host: ").append(authority).append("\r\n");
    }
    if (file != nullptr) {
        // The body follows from the file.
        wire.append("Content-Length: ").append(std::to_string(file->size)).append("\r\n\r\n");
        return wire;
    }
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        wire.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    wire.append("\r\n").append(body);
    return wire;
}

template <class Stream>
net::awaitable<error_code> read_head(Stream& s, connection& c)
{
    auto [ec, n] = co_await http::async_read_header(s, c.buffer, *c.parser, use_nothrow);
    co_return ec;
}

template <class Stream>
net::awaitable<std::pair<error_code, std::size_t>> read_body_some(Stream& s, connection& c,
                                                                  char* data, std::size_t size)
{
    auto& body = c.parser->get().body();
    body.data = data;
    body.size = size;
    auto [ec, n] = co_await http::async_read_some(s, c.buffer, *c.parser, use_nothrow);
    std::size_t got = size - body.size;
    if (ec == http::error::need_buffer) {
        ec = {};
    }
    co_return std::pair{ec, got};
}

// Errors that mean "the peer closed or reset the connection".
bool is_closed_error(const error_code& ec)
{
    return ec == net::error::eof || ec == net::error::connection_reset ||
           ec == net::error::broken_pipe || ec == ssl::error::stream_truncated ||
           ec == http::error::end_of_stream || ec == net::error::connection_aborted;
}

}  // namespace

net::awaitable<error_code> exchange::attempt(
    std::shared_ptr<connection> c, std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
    const file_body* file, bool& stale)
{
    auto ex = co_await net::this_coro::executor;
    stale = false;
    // Build the request: our headers only, never anything copied from the client.
    const std::string wire =
        serialize_request(method, target, headers, body, pool_->target().authority(), file);
    if (wire.empty()) {
        phase_ = failure_phase::write;
        co_return error_code(net::error::invalid_argument);
    }

    c->parser.emplace();
    c->parser->header_limit(max_response_head);
    c->parser->body_limit(boost::none);
    ++c->requests;
    const bool reused = c->pooled;  // an idle one may have been closed by the server meanwhile

    // A file body: head and pieces, each write under the idle timeout (an upload of any size
    // proceeds while the connection takes bytes).
    if (file != nullptr) {
        phase_ = failure_phase::write;
        error_code ec;
        {
            watchdog guard(ex, c, pool_->options().idle_timeout);
            if (c->tls) {
                ec = co_await write_request(c->stream, wire);
            } else {
                ec = co_await write_request(c->socket(), wire);
            }
            if (ec) {
                stale = reused && !guard.fired();
                co_return timed(guard, ec);
            }
        }
        ec = co_await send_file(c, *file, reused, stale);
        if (ec) {
            co_return ec;
        }
    }
    // Write, then wait for the head under the first-byte deadline.
    {
        watchdog guard(ex, c, pool_->options().first_byte_timeout);
        phase_ = failure_phase::write;
        // Plain if/else, never `cond ? co_await a : co_await b`: GCC 12 evaluates both arms.
        error_code ec;
        if (file != nullptr) {
            // Sent above.
        } else if (c->tls) {
            ec = co_await write_request(c->stream, wire);
        } else {
            ec = co_await write_request(c->socket(), wire);
        }
        if (ec) {
            stale = reused && !guard.fired();
            co_return timed(guard, ec);
        }
        phase_ = failure_phase::first_byte;
        // Interim 1xx heads (100 Continue, 103 Early Hints) precede the final one: skip a few.
        for (int interim = 0;; ++interim) {
            if (c->tls) {
                ec = co_await read_head(c->stream, *c);
            } else {
                ec = co_await read_head(c->socket(), *c);
            }
            if (ec) {
                // A reused connection closed before any response byte: the request was not
                // seen.
                stale = reused && !guard.fired() && interim == 0 && is_closed_error(ec) &&
                        c->parser->got_some() == false;
                co_return timed(guard, ec);
            }
            const unsigned code = c->parser->get().result_int();
            if (code >= 200) {
                break;
            }
            // 101 answers an upgrade we never asked for; endless 1xx would hold the exchange.
            if (code == 101 || interim >= max_interim_heads) {
                co_return error_code(http::error::bad_status);
            }
            c->parser.emplace();
            c->parser->header_limit(max_response_head);
            c->parser->body_limit(boost::none);
        }
    }
    phase_ = failure_phase::none;
    co_return error_code{};
}

net::awaitable<error_code> exchange::send_file(std::shared_ptr<connection> c, const file_body& file,
                                               bool reused, bool& stale)
{
    auto ex = co_await net::this_coro::executor;
    // One piece in memory, reused for every read.
    std::string piece(static_cast<std::size_t>(std::min<std::uint64_t>(file_body_piece, file.size)),
                      '\0');
    std::uint64_t offset = 0;
    while (offset < file.size) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), file.size - offset));
        const auto n = ::pread(file.fd, piece.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            // Never a short body under a longer Content-Length.
            co_return error_code(n < 0 ? errno : EIO, boost::system::system_category());
        }
        watchdog guard(ex, c, pool_->options().idle_timeout);
        const std::string_view data(piece.data(), static_cast<std::size_t>(n));
        error_code ec;
        if (c->tls) {
            ec = co_await write_request(c->stream, data);
        } else {
            ec = co_await write_request(c->socket(), data);
        }
        if (ec) {
            // A pooled connection the server closed fails here: the retry starts at offset 0.
            stale = reused && !guard.fired();
            co_return timed(guard, ec);
        }
        offset += static_cast<std::uint64_t>(n);
        ++file_pieces_;
    }
    co_return error_code{};
}

net::awaitable<error_code> exchange::start(
    std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body)
{
    co_return co_await begin(method, target, headers, body, nullptr);
}

net::awaitable<error_code> exchange::start_file(
    std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, const file_body& body)
{
    if (body.fd < 0) {
        co_return error_code(net::error::invalid_argument);
    }
    co_return co_await begin(method, target, headers, {}, &body);
}

net::awaitable<error_code> exchange::begin(
    std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
    const file_body* file)
{
    // A pooled connection first; a fresh one if none or if the pooled one proves stale.
    for (int round = 0; round < 2; ++round) {
        auto ex = co_await net::this_coro::executor;
        std::shared_ptr<connection> c = round == 0 ? pool_->take_idle(ex) : nullptr;
        if (!c) {
            // Held in conn_ while connecting, so abort() can cut the attempt short.
            phase_ = failure_phase::connect;
            c = pool_->make_connection(ex);
            conn_ = c;
            auto ec = co_await pool_->connect(c);
            if (ec) {
                conn_.reset();
                c->close();
                co_return ec;
            }
        }
        conn_ = c;
        bool stale = false;
        file_pieces_ = 0;
        auto ec = co_await attempt(c, method, target, headers, body, file, stale);
        if (!ec) {
            // Keep the head: status and headers stay readable after finish().
            const auto& h = c->parser->get();
            status_ = h.result_int();
            head_.clear();
            for (const auto& f : h) {
                head_.emplace_back(std::string(f.name_string()), std::string(f.value()));
            }
            // The announced body size (0: none or chunked), to size the reads.
            body_expected_ = 0;
            body_read_ = 0;
            const auto cl = h[http::field::content_length];
            std::from_chars(cl.data(), cl.data() + cl.size(), body_expected_);
            co_return ec;
        }
        conn_->close();
        conn_.reset();
        if (!stale || round == 1) {
            co_return ec;
        }
        retried_ = true;
        spdlog::debug("upstream: pooled connection to {} was stale ({}); retrying on a new one",
                      pool_->target().authority(), ec.message());
    }
    co_return error_code(net::error::not_connected);
}

unsigned exchange::status() const
{
    return status_;
}

std::string exchange::header(std::string_view name) const
{
    for (const auto& [k, v] : head_) {
        if (beast::iequals(k, name)) {
            return v;
        }
    }
    return {};
}

bool exchange::complete() const
{
    return conn_ && conn_->parser && conn_->parser->is_done();
}

net::awaitable<error_code> exchange::read_some(std::string& out,
                                               std::optional<std::chrono::milliseconds> timeout)
{
    if (!conn_ || !conn_->parser) {
        co_return error_code(net::error::not_connected);
    }
    if (conn_->parser->is_done()) {
        co_return error_code{};
    }
    co_return co_await read_piece(out, stream_piece, timeout);
}

net::awaitable<error_code> exchange::read_piece(std::string& out, std::size_t piece,
                                                std::optional<std::chrono::milliseconds> timeout)
{
    auto ex = co_await net::this_coro::executor;
    auto c = conn_;
    watchdog guard(ex, c, timeout.value_or(pool_->options().idle_timeout));
    phase_ = failure_phase::body;
    // Read until at least one body byte or the end of the message, straight into `out`.
    for (;;) {
        // No bigger than what a Content-Length says is left (a small answer, a small buffer).
        std::size_t want = piece;
        if (body_expected_ > body_read_) {
            want = static_cast<std::size_t>(
                std::min<std::uint64_t>(want, body_expected_ - body_read_));
        }
        const std::size_t old = out.size();
        out.resize(old + want);
        std::pair<error_code, std::size_t> got;
        if (c->tls) {
            got = co_await read_body_some(c->stream, *c, out.data() + old, want);
        } else {
            got = co_await read_body_some(c->socket(), *c, out.data() + old, want);
        }
        auto [ec, n] = got;
        out.resize(old + n);
        body_read_ += n;
        if (ec) {
            co_return timed(guard, ec);
        }
        if (n > 0 || c->parser->is_done()) {
            phase_ = failure_phase::none;
            co_return error_code{};
        }
    }
}

net::awaitable<error_code> exchange::read_all(std::string& out, std::size_t max_bytes,
                                              std::chrono::steady_clock::time_point deadline)
{
    if (!conn_ || !conn_->parser) {
        co_return error_code(net::error::not_connected);
    }
    while (!complete()) {
        // Each piece within the idle timeout and what is left of the total deadline.
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left <= std::chrono::milliseconds(0)) {
            phase_ = failure_phase::body;
            abort();
            co_return error_code(beast::error::timeout);
        }
        auto ec =
            co_await read_piece(out, whole_piece, std::min(left, pool_->options().idle_timeout));
        if (ec) {
            co_return ec;
        }
        if (out.size() > max_bytes) {
            co_return error_code(http::error::body_limit);
        }
    }
    co_return error_code{};
}

void exchange::finish()
{
    if (!conn_) {
        return;
    }
    auto c = std::move(conn_);
    conn_.reset();
    // Only a cleanly finished exchange on a kept-alive connection goes back.
    if (!c->broken && c->parser && c->parser->is_done() && c->parser->keep_alive() &&
        c->buffer.size() == 0) {
        pool_->put_idle(std::move(c));
    } else {
        c->close();
    }
}

void exchange::keep_spare_ready(const net::any_io_executor& ex)
{
    pool_->prewarm(ex);
    // A borrowed connection that will not come back: give its io thread a replacement
    // (clients that open a connection per stream land on the io threads in turn).
    if (conn_ && conn_->home != home_of(ex)) {
        pool_->prewarm(conn_->stream.get_executor());
    }
}

void exchange::abort()
{
    if (conn_) {
        conn_->close();
    }
}

}  // namespace ogp::upstream
