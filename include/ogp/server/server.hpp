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
#include "ogp/server/request_guard.hpp"
#include "ogp/server/router.hpp"

namespace ogp::server {

namespace net = boost::asio;

/// A complete, guarded request as a handler sees it (body fully read).
struct http_request
{
    request_head head;
    std::string body;
    std::string request_id;  ///< adopted `x-request-id` or a generated one
    std::string remote;      ///< peer address, for logs
    route target = route::not_found;
};

/// A complete response. `content_length` and framing headers are added by the server;
/// handlers set status, body and any extra headers (validated: no CR/LF in values).
struct http_response
{
    unsigned status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// Builds the OpenAI error response for `e` (adds `Retry-After` when set).
http_response error_response(const api_error& e);

/// The connection as a handler sees it while it runs: a way to stream the response instead of
/// returning it, and to learn that the client went away. The server keeps a read pending on
/// the client socket during the handler, so a disconnect is noticed at once (generation costs
/// money). Used only on the connection's strand, only during the handler call.
class response_sink
{
public:
    virtual ~response_sink() = default;

    /// Sends the status line and headers of a chunked response (e.g. `text/event-stream`).
    /// Returns false when the client is gone or the write stalled.
    virtual net::awaitable<bool> begin_stream(
        unsigned status, std::string content_type,
        std::vector<std::pair<std::string, std::string>> headers) = 0;
    /// Writes one chunk and waits until it is written (backpressure), bounded by
    /// `timeouts.write_stall`. Returns false when the client is gone or stalled.
    virtual net::awaitable<bool> write(std::string_view data) = 0;
    /// Ends the chunked response. Returns false when the client is gone.
    virtual net::awaitable<bool> end_stream() = 0;
    /// True once begin_stream() was called: the handler's returned response is ignored.
    virtual bool streaming() const = 0;
    /// True once the client closed or reset its connection.
    virtual bool client_gone() const = 0;
    /// True once the server cut a stream at the drain deadline (the disconnect hook ran to stop
    /// the upstream side): the handler should end its stream now, with an error event.
    virtual bool cut() const { return false; }
    /// Registers `fn` to run (on the connection's strand) when the client disconnects while
    /// the handler runs; replaces an earlier one. Pass an empty function to unregister.
    virtual void on_disconnect(std::function<void()> fn) = 0;
};

/// Handler for one route. Runs on the connection's strand; must not throw. Either returns the
/// response, or streams it through the sink (then the returned value is ignored).
using handler = std::function<net::awaitable<http_response>(http_request&, response_sink&)>;

/// Readiness probe: nullopt when ready, else the reason. `/readyz` answers only "not ready"
/// (503) and logs the reason at warn (a changed one at once, an unchanged one once a minute).
using readiness_probe = std::function<std::optional<std::string>()>;

/// The downstream HTTP/1.1 server: accept loop with a connection cap (at the cap the connection
/// idle the longest is closed for the new one, unauthenticated ones first) and EMFILE back-off, one
/// coroutine per connection on its own strand, the request guard, total header/body deadlines,
/// keep-alive idle timeout, pipelining, client authentication, routing and access logs.
/// Construct, add handlers, listen(), start(); then drain() or close_all() from any thread.
/// Connections are spread round-robin over the given io_contexts (one per io thread, so that
/// a session and its upstream exchange stay on one thread); the listener runs on the first.
/// The io_contexts must outlive the server.
class server
{
public:
    server(net::io_context& ioc, const config& cfg);
    server(std::vector<net::io_context*> contexts, const config& cfg);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Registers the handler for an API route (chat, embeddings, models). Before start().
    void set_handler(route r, handler h);
    /// Replaces the readiness probe (default: ready). Before start().
    void set_readiness(readiness_probe p);

    /// Binds and listens on the configured address. Throws std::system_error on failure
    /// (start-up only).
    void listen();
    /// The bound address (port 0 resolved).
    net::ip::tcp::endpoint local_endpoint() const;
    /// Starts accepting. Non-blocking.
    void start();

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
