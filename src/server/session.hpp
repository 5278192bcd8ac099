#pragma once

// The server's private pieces, shared by server.cpp (listener, session loop, routing) and
// session_io.cpp (body reader, the response-head writer, the streaming sink, the client
// monitor). Not installed: nothing outside src/server sees it.

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ogp/server/server.hpp"
#include "ogp/util/asio.hpp"
#include "ogp/util/log.hpp"

namespace ogp::server {

namespace beast = boost::beast;
using tcp = net::ip::tcp;
using boost::system::error_code;

inline constexpr std::size_t read_chunk = 16 * 1024;
// A body on a route that takes none (probes, /v1/models) is read and dropped up to this size so
// that the connection stays usable; a larger one is refused before any of it is read.
inline constexpr std::size_t max_discard_bytes = 64 * 1024;
// Memory reserved up front for a body: beyond it the buffer grows with the bytes that arrive,
// so a declared length that never comes costs nothing.
inline constexpr std::size_t max_body_reserve = 256 * 1024;
// Over TLS, writes up to this size are copied into one buffer first (see connection::write).
inline constexpr std::size_t tls_coalesce_max = 16 * 1024;

class spool_file;

/// One client connection's I/O objects, shared with the watchdog timer and the drain registry.
/// Everything in it is touched only on the connection's strand, except the atomics.
struct connection
{
    explicit connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

    using tls_stream = net::ssl::stream<tcp::socket&>;

    tcp::socket socket;
    net::steady_timer timer;
    // HTTPS: the TLS stream over `socket` and the context it was made from (taken at accept:
    // a certificate reload does not touch open connections). Null on a plain connection.
    // Cancelling `socket` cancels the stream's pending operations too.
    std::shared_ptr<net::ssl::context> tls_context;
    std::unique_ptr<tls_stream> tls;
    std::string tls_out;           // small writes coalesced into one TLS record
    std::uint64_t generation = 0;  // invalidates stale watchdog completions
    bool timed_out = false;
    bool idle = false;             // waiting for a request, nothing of it received yet
    bool closed = false;           // the session has finished with the socket
    bool forced = false;           // close_all(): a pending operation's end means a disconnect
    bool cut = false;              // cut_streams(): the handler must end its stream now
    std::function<void()> on_cut;  // set while a handler streams: stops its upstream reads
    beast::flat_buffer buffer;     // read-ahead: may hold the start of a pipelined request
    std::string head_out;          // response head, reused so that a response allocates nothing

    // Read by the accept loop (any thread) to pick a connection to close under pressure.
    std::atomic<std::int64_t> idle_since{0};  // steady-clock ticks when it went idle; 0 = busy
    std::atomic<bool> authenticated{false};   // passed client authentication at least once
    std::atomic<bool> evicting{false};        // chosen to make room: close at the next chance

    std::string_view buffered() const
    {
        return {static_cast<const char*>(buffer.data().data()), buffer.size()};
    }

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

    // Every read and write of the session goes through these two, over TLS or plain TCP.
    net::awaitable<std::tuple<error_code, std::size_t>> read_some(net::mutable_buffer b)
    {
        if (tls) {
            co_return co_await tls->async_read_some(b, use_nothrow);
        }
        co_return co_await socket.async_read_some(b, use_nothrow);
    }

    template <class Buffers>
    net::awaitable<std::tuple<error_code, std::size_t>> write(Buffers b)
    {
        if (!tls) {
            co_return co_await net::async_write(socket, b, use_nothrow);
        }
        // The TLS stream writes one buffer (one record, one syscall) at a time: a head with its
        // body, or an SSE chunk's size line, data and CRLF, go as one record when small.
        const std::size_t size = net::buffer_size(b);
        if (size > tls_coalesce_max) {
            co_return co_await net::async_write(*tls, b, use_nothrow);
        }
        tls_out.resize(size);
        net::buffer_copy(net::buffer(tls_out), b);
        co_return co_await net::async_write(*tls, net::buffer(tls_out), use_nothrow);
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

using conn_ptr = std::shared_ptr<connection>;

/// What a request runs with: its configuration generation and what the server derives from it
/// (guard limits, the client authenticator). Immutable; replaced whole by reconfigure().
struct server_settings
{
    explicit server_settings(std::shared_ptr<const config> c);

    std::shared_ptr<const config> cfg;
    guard_limits limits;
    client_authenticator auth;
};

using settings_ptr = std::shared_ptr<const server_settings>;

struct server::shared_state : std::enable_shared_from_this<server::shared_state>
{
    shared_state(std::vector<net::io_context*> io, std::shared_ptr<const config> c,
                 listener_kind k);

    std::vector<net::io_context*> contexts;  ///< connections go round-robin over these
    std::size_t next_context = 0;            ///< used by the accept loop only
    const listener_kind kind;
    /// The start-up configuration: listen address and connection cap (never reconfigured).
    const std::shared_ptr<const config> startup;
    tcp::acceptor acceptor;
    std::map<route, handler> handlers;
    readiness_probe readiness;
    /// `/readyz` when ready: a JSON array for `"upstreams"` (empty: none). May be empty.
    std::function<std::string()> readiness_detail;
    std::atomic<bool> draining{false};

    /// The settings for a request starting now.
    settings_ptr settings() const
    {
        std::lock_guard lock(settings_mutex);
        return settings_;
    }
    void replace_settings(settings_ptr s)
    {
        std::lock_guard lock(settings_mutex);
        settings_ = std::move(s);
    }

    // observability (H-obs): the observer and the server's counters.
    exchange_observer observer;                        ///< set before start(); may be empty
    std::atomic<std::uint64_t> refused{0};             ///< connections refused at the cap
    std::atomic<std::uint64_t> requests_in_flight{0};  ///< in dispatch() (handlers and probes)
    std::atomic<std::uint64_t> streams_in_flight{0};   ///< begin_stream() until the handler ends
    // end observability

    std::atomic<std::size_t> active{0};
    std::atomic<std::uint64_t> accepted{0};

    // HTTPS (H-tls): the context new connections take at accept (null: plain HTTP), replaced
    // by reload_tls(); the handshake counters (read by stats()).
    std::shared_ptr<net::ssl::context> current_tls() const
    {
        std::lock_guard lock(tls_mutex);
        return tls_context;
    }
    mutable std::mutex tls_mutex;
    std::shared_ptr<net::ssl::context> tls_context;
    std::atomic<std::uint64_t> tls_handshakes{0};
    std::atomic<std::uint64_t> tls_handshake_failures{0};

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

    mutable std::mutex settings_mutex;
    settings_ptr settings_;

    std::uint64_t add(const conn_ptr& c);
    void remove(std::uint64_t id);
    // Under the connection cap: closes the connection that has waited longest for a request,
    // preferring ones that never authenticated. False when every open connection is busy.
    bool evict_idlest();

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

using state_ptr = std::shared_ptr<server::shared_state>;

/// One request and its answer, as the session steps pass it along.
struct exchange
{
    settings_ptr settings;  ///< the configuration this request runs with, from its start
    http_request req;
    std::string_view path;  ///< into req.head.target (handlers do not touch the head)
    std::chrono::steady_clock::time_point started;
    route_match match;
    bool head_only = false;   ///< HEAD: the body is counted but not sent
    bool keep_alive = false;  ///< the connection may serve another request after this one
    bool takes_body = false;  ///< the route reads a body (the POST API routes)
    bool answered = false;    ///< `res` is decided (an early refusal): no body, no handler
    bool streamed = false;    ///< the handler streamed its answer: already written and logged
    http_response res;
};

/// One client connection's request loop, in steps (see run_session in server.cpp). Each step
/// returns false when the connection must close (after answering, when it can).
class session
{
public:
    session(state_ptr st, tcp::socket socket);

    /// HTTPS: the TLS handshake under the header deadline (true at once on a plain
    /// connection). A failure is counted and logged at debug level; the connection closes.
    net::awaitable<bool> handshake();
    /// Skips empty lines between requests, then waits for the next request's first byte under
    /// the keep-alive idle deadline. False on a drain, an eviction, the deadline or EOF.
    net::awaitable<bool> await_request();
    /// Reads the head under one total deadline and guards it; a refused head is answered.
    net::awaitable<bool> read_head(exchange& x);
    /// Routes and authenticates on the head alone; a refusal becomes `x.res`.
    void route(exchange& x);
    /// Reads (or drops) the body, after `100 Continue` when asked; refuses an oversize one.
    net::awaitable<bool> read_body(exchange& x);
    /// Runs the handler with the client monitor (`handler || monitor`); ends and logs a stream.
    net::awaitable<bool> handle(exchange& x);
    /// Writes the buffered response (not for a streamed one) and logs the exchange.
    net::awaitable<bool> respond(exchange& x);
    /// Closes the socket and unregisters the connection.
    void close();

private:
    // Answers a refused request with its OpenAI error and `Connection: close`, and logs it.
    net::awaitable<void> reply_and_close(exchange& x, unsigned status, const std::string& reason);
    // Refuses an upload that cannot be spooled (over limits.max_upload_bytes, no spool file)
    // before any of its body is read or solicited; opens the spool file into `file`.
    net::awaitable<bool> open_spool(exchange& x, spool_file& file);
    // Reads the body of an upload into the spool file, `spool_piece` at a time, under the body
    // deadline re-armed after each piece; hands it to the handler as `x.req.spooled`.
    net::awaitable<bool> spool_body(exchange& x, spool_file& file);
    // Writes `x.res` (head from format_response_head); false when the write failed or stalled.
    net::awaitable<bool> write_response(exchange& x);

    state_ptr st_;
    conn_ptr c_;
    std::uint64_t id_;
    std::string remote_;
    std::size_t served_ = 0;  ///< requests started on this connection
};

/// Starts a session on an accepted socket (counted as active and accepted), over TLS when the
/// server has a TLS context (the current one).
void start_session(const state_ptr& st, tcp::socket socket);

/// The built-in routes (probes) and the registered handlers.
net::awaitable<http_response> dispatch(state_ptr st, http_request& req, response_sink& sink);

/// One access-log line per exchange (and the observer call); `extra` is appended verbatim
/// (` stream=true`, ...).
void log_access(const state_ptr& st, const exchange& x, unsigned status, std::size_t bytes,
                std::string_view extra);

/// Appends the request's answer_headers (http_request::answer_headers) to an answer's
/// `headers`, once: a name the answer already carries (any case) keeps the answer's value.
/// Validation happens where the head is written (format_response_head).
void add_answer_headers(std::vector<std::pair<std::string, std::string>>& headers,
                        const std::vector<std::pair<std::string, std::string>>& answer);

/// The one response-head writer, for buffered (`content_length` set) and streamed (chunked,
/// `content_length` empty) answers: status line, Date, Content-Type, x-request-id, the
/// handler's headers, framing, `Connection: close` unless kept alive. Handler headers with
/// CTL bytes in the value, a name that is not an RFC 9110 token, or a name the server
/// sets itself are dropped. Replaces `out`.
void format_response_head(std::string& out, unsigned status, std::string_view content_type,
                          std::string_view request_id,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::optional<std::size_t> content_length, bool keep_alive);

}  // namespace ogp::server
