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
    /// Serves an already connected socket as if accepted (no connection cap), e.g. one end of
    /// an in-process socket pair in tests. Its executor must be a strand (or a single-threaded
    /// io_context). Non-blocking.
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
