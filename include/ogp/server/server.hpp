#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ogp/config/config.hpp"
#include "ogp/server/client_auth.hpp"
#include "ogp/server/handler.hpp"
#include "ogp/server/request_guard.hpp"
#include "ogp/server/router.hpp"

namespace ogp::server {

namespace net = boost::asio;

/// Which listener a server instance is: the main API listener (`listen`, HTTPS with `tls.*`), or
/// the separate metrics listener (`metrics.listen`: only `/metrics`, `/healthz`, `/readyz`).
enum class listener_kind { main, metrics };

/// One finished exchange as the observer sees it (views valid only during the call).
struct exchange_summary
{
    route target = route::not_found;
    std::string_view method;
    unsigned status = 0;
    std::size_t bytes = 0;
    std::chrono::steady_clock::duration duration{};
    bool stream = false;
    bool metrics_listener = false;
    /// A fixed token when the server refused the request itself (`header_too_large`,
    /// `too_many_headers`, `uri_too_long`, `body_too_large`, `bad_request`, `header_timeout`,
    /// `body_timeout`, `unauthorized`, `not_found`, `method_not_allowed`, `client_closed`);
    /// empty when a handler answered.
    std::string_view reject_reason;
    const exchange_record* record = nullptr;
};

/// Called once per logged exchange on the connection's thread; must be cheap and not throw.
using exchange_observer = std::function<void(const exchange_summary&)>;

/// The server's own figures, for the metrics (read with relaxed atomics at scrape time).
struct server_stats
{
    std::uint64_t connections_open = 0;
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_refused = 0;  ///< at the connection cap, none idle
    std::uint64_t requests_in_flight = 0;
    std::uint64_t streams_in_flight = 0;
    std::uint64_t tls_handshakes = 0;
    std::uint64_t tls_handshake_failures = 0;
};

/// The downstream HTTP/1.1 server (HTTPS with `tls.*`: handshake under the header deadline,
/// then the same guard, limits and deadlines): accept loop with a connection cap (at the cap the
/// connection idle the longest is closed for the new one, unauthenticated ones first) and EMFILE
/// back-off, one coroutine per connection on its own strand, the request guard, total header/body
/// deadlines, keep-alive idle timeout, pipelining, client authentication, routing and access logs.
/// Construct, add handlers, listen(), start(); then drain() or close_all() from any thread.
/// Connections are spread round-robin over the given io_contexts (one per io thread, so that
/// a session and its upstream exchange stay on one thread); the listener runs on the first.
/// The io_contexts must outlive the server.
class server
{
public:
    server(net::io_context& ioc, const config& cfg);
    server(std::vector<net::io_context*> contexts, const config& cfg);
    /// `cfg` is shared with the server's settings; reconfigure() replaces it.
    server(std::vector<net::io_context*> contexts, std::shared_ptr<const config> cfg,
           listener_kind kind = listener_kind::main);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Registers the handler for an API route (chat, embeddings, models). Before start().
    void set_handler(route r, handler h);
    /// Replaces the readiness probe (default: ready). Before start().
    void set_readiness(readiness_probe p);
    /// Detail for a ready `/readyz`: `fn` returns a JSON array (e.g. the upstream circuits),
    /// and the 200 body becomes `{"status":"ready","upstreams":<array>}`; an empty text, or
    /// one that is not an array (`[` ... `]`), leaves `{"status":"ready"}`. Called on every
    /// ready probe, on the connection's thread: must be cheap, thread-safe and not throw. A
    /// not-ready answer never shows it. Before start().
    void set_readiness_detail(std::function<std::string()> fn);

    /// Called for each logged exchange (metrics). Before start().
    void set_observer(exchange_observer o);

    /// Requests that start from now on use `cfg` (client keys, limits, timeouts, access log,
    /// metrics.*); in-flight ones finish with the configuration they started with. The listen
    /// address, the thread count and the connection cap keep their start-up values.
    /// Thread-safe.
    void reconfigure(std::shared_ptr<const config> cfg);
    /// Rebuilds the TLS context from the current configuration's `tls.*` files (certificate
    /// renewals): new connections use it, open ones keep theirs. Throws std::runtime_error
    /// naming the key and file when a file cannot be loaded; the old context then stays.
    /// Turning TLS on or off needs a restart: when the listener started without TLS, or the
    /// current configuration has none, it only logs that and changes nothing. Thread-safe.
    void reload_tls();
    /// The server's counters.
    server_stats stats() const;

    /// Binds and listens on the configured address, with TLS when `tls.*` is set (both
    /// listener kinds; see make_tls_context in ogp/server/tls.hpp). Throws std::system_error
    /// when it cannot listen, std::runtime_error naming the key and file when a TLS file
    /// cannot be loaded (start-up only).
    void listen();
    /// The bound address (port 0 resolved).
    net::ip::tcp::endpoint local_endpoint() const;
    /// Starts accepting. Non-blocking.
    void start();
    /// Serves an already connected socket as if accepted (no connection cap; over TLS when
    /// listen() set up TLS), e.g. one end of an in-process socket pair in tests. Its executor must
    /// be a strand (or a single-threaded io_context). Non-blocking.
    void serve(net::ip::tcp::socket socket);

    /// Graceful stop: closes the listener, closes idle keep-alive connections, and makes
    /// in-flight exchanges end with `Connection: close`. Thread-safe, idempotent.
    void drain();
    /// At the drain deadline, before close_all(): asks every handler still streaming to end
    /// its stream now (see response_sink::cut()), so clients get an error event and the
    /// terminating chunk rather than a bare EOF. Thread-safe, non-blocking.
    void cut_streams();
    /// Forcibly closes every connection (drain timeout). Thread-safe.
    void close_all();
    /// Number of open client connections.
    std::size_t active_connections() const;
    /// Connections accepted since start (refused ones excluded).
    std::uint64_t accepted_connections() const;
    /// True once drain() was called.
    bool draining() const;

    struct shared_state;

private:
    std::shared_ptr<shared_state> state_;
};

}  // namespace ogp::server
