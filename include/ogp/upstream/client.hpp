#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ogp/upstream/tls.hpp"
#include "ogp/upstream/url.hpp"
#include "ogp/util/asio.hpp"

namespace ogp::upstream {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

/// The host a pool connects to and the prefix of every request target: a parsed URL (scheme,
/// host, port) and its path without trailing slashes. The query and fragment of a base URL are
/// not used.
struct target_url : url
{
    target_url() = default;
    /// Implicit: a pool is made from what parse_url returned.
    target_url(url u);  // NOLINT(google-explicit-constructor)

    std::string base_path;  ///< without trailing slash; may be empty
};

/// Name lookup of a pool: DNS by default; tests replace it (a lookup that never answers).
using resolve_fn = net::awaitable<std::pair<error_code, std::vector<net::ip::tcp::endpoint>>> (*)(
    std::string host, std::string port);

/// Deadlines and pool sizing for one upstream host.
struct pool_options
{
    /// Resolve, TCP connect and TLS handshake together.
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds first_byte_timeout{120000};
    std::chrono::milliseconds idle_timeout{60000};  ///< between body bytes
    std::chrono::milliseconds idle_expiry{30000};   ///< pooled connection max idle time
    std::size_t max_idle = 64;                      ///< idle connections kept
    /// How long a DNS answer for the host is reused by new connections (a failed connect
    /// forgets it at once). OCI endpoints sit behind stable names; every stream opens a
    /// connection, and a lookup per stream would cost a DNS round trip each.
    std::chrono::milliseconds dns_ttl{30000};
    resolve_fn resolve = nullptr;  ///< nullptr: the system resolver
};

class connection;

/// A bounded pool of keep-alive connections to one host. Connections are handed to one
/// exchange at a time; idle ones expire before the server would close them, and a connection
/// that ended in error or with unread bytes is never returned. Thread-safe.
class pool : public std::enable_shared_from_this<pool>
{
public:
    pool(std::shared_ptr<ssl::context> tls, target_url target, pool_options options);
    ~pool();

    const target_url& target() const { return target_; }
    const pool_options& options() const { return options_; }

    /// Number of TLS handshakes (or plain connects) performed so far.
    std::uint64_t handshakes() const { return handshakes_.load(); }
    /// How many of those resumed a stored TLS session (abbreviated handshake).
    std::uint64_t resumptions() const { return resumptions_.load(); }
    /// Number of idle pooled connections.
    std::size_t idle_count() const;
    /// Connections of this pool that exist now: connecting, in use or idle.
    std::uint64_t open_count() const { return live_->load(std::memory_order_relaxed); }
    /// Opens one spare connection on `ex`'s io_context in the background when none of that
    /// io_context is idle and none is being opened, so the next request that needs a new connection
    /// finds one ready: every stream needs one, because OCI never ends a streamed body and its
    /// connection cannot be reused. The spare waits in the idle list like any pooled connection
    /// (expiry, liveness probe, stale retry).
    void prewarm(const net::any_io_executor& ex);
    /// Spare connections opened by prewarm() so far.
    std::uint64_t prewarmed() const { return prewarmed_.load(); }
    /// Drops every idle connection and the stored TLS session.
    void clear();

    // Used by exchange.
    /// An idle connection, preferably one whose socket lives on `ex`'s io_context (no thread
    /// hop per operation); nullptr when none is usable.
    std::shared_ptr<connection> take_idle(const net::any_io_executor& ex);
    void put_idle(std::shared_ptr<connection> c);
    /// A new, unconnected connection for connect().
    std::shared_ptr<connection> make_connection(const net::any_io_executor& ex);
    /// Connects `c`: resolve, TCP, then TLS, as one phase bounded by connect_timeout (failing
    /// with beast::error::timeout); closing `c` meanwhile aborts it at once (a pending DNS
    /// lookup included). The pool must be owned by a shared_ptr.
    net::awaitable<error_code> connect(std::shared_ptr<connection> c);

private:
    std::vector<net::ip::tcp::endpoint> cached_endpoints() const;
    void cache_endpoints(const std::vector<net::ip::tcp::endpoint>& endpoints);
    void forget_endpoints();
    static net::awaitable<void> open_spare(std::shared_ptr<pool> self);
    // The steps of connect(); they may outlive it (a lookup that does not answer), so they
    // share the pool and the connection.
    static net::awaitable<error_code> open(std::shared_ptr<pool> self,
                                           std::shared_ptr<connection> c);

    std::shared_ptr<ssl::context> tls_;
    std::shared_ptr<session_cache> sessions_;
    target_url target_;
    pool_options options_;
    std::atomic<std::uint64_t> handshakes_{0};
    std::atomic<std::uint64_t> resumptions_{0};
    std::atomic<std::uint64_t> prewarmed_{0};
    /// Shared with the connections, which may outlive the pool (an exchange still running).
    std::shared_ptr<std::atomic<std::uint64_t>> live_ =
        std::make_shared<std::atomic<std::uint64_t>>(0);
    std::vector<net::execution_context*> prewarming_;  ///< homes with a spare being opened
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<connection>> idle_;
    bool literal_ = false;  ///< the host is an IP address: never resolved, no SNI
    std::vector<net::ip::tcp::endpoint> endpoints_;
    std::chrono::steady_clock::time_point endpoints_until_{};
};

/// A request body sent from a file instead of memory (a spooled upload): read with pread() at
/// offsets `file_body_piece` bytes at a time, so a retry starts again at offset 0 and no more
/// than one piece is ever in memory. The descriptor must stay open during start().
struct file_body
{
    int fd = -1;
    std::uint64_t size = 0;
};

/// Bytes of a file body read and written upstream at a time.
inline constexpr std::size_t file_body_piece = 64 * 1024;

/// Where an exchange failed, for mapping to a client status (connect/TLS → 502/504, ...).
enum class failure_phase { none, connect, write, first_byte, body };

/// One request/response on a pooled connection. Sends the request and reads the response head
/// (start), then the body in pieces (read_some) or whole (read_all). A reused connection that
/// fails before any response byte is retried once, transparently, on a fresh connection. Not
/// thread-safe: use from one coroutine. On destruction an unfinished exchange closes its
/// connection (never pooled).
class exchange
{
public:
    explicit exchange(std::shared_ptr<pool> p);
    ~exchange();
    exchange(const exchange&) = delete;
    exchange& operator=(const exchange&) = delete;

    /// Sends `method target` with `headers` and `body`; returns when the response head arrived.
    net::awaitable<error_code> start(
        std::string_view method, std::string_view target,
        const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body);

    /// As start() above, with the body sent from `body.fd` in pieces (Content-Length: body.size).
    /// The head goes first, then each piece under the pool's idle timeout, then the answer's
    /// head is awaited under the first-byte deadline. A file shorter than `size` fails the
    /// exchange (EIO), never sends a short body.
    net::awaitable<error_code> start_file(
        std::string_view method, std::string_view target,
        const std::vector<std::pair<std::string, std::string>>& headers, const file_body& body);
    /// Pieces of a file body written by the last start() (its last attempt).
    std::uint64_t file_pieces() const { return file_pieces_; }

    /// Response status (after a successful start(); still valid after finish()).
    unsigned status() const;
    /// A response header value, or empty.
    std::string header(std::string_view name) const;
    /// True once the whole response body was read.
    bool complete() const;

    /// Appends the next body bytes to `out`; at the end of the body returns success with
    /// nothing appended and complete() true. Bounded by `timeout` (default: the pool's idle
    /// timeout); a timeout fails with beast::error::timeout.
    net::awaitable<error_code> read_some(std::string& out,
                                         std::optional<std::chrono::milliseconds> timeout = {});
    /// Reads the rest of the body into `out`, failing past `max_bytes`, and with
    /// beast::error::timeout (the connection closed) when `deadline` passes first.
    net::awaitable<error_code> read_all(std::string& out, std::size_t max_bytes,
                                        std::chrono::steady_clock::time_point deadline =
                                            std::chrono::steady_clock::time_point::max());

    /// Returns the connection to the pool when the response was read completely and the server
    /// keeps it alive; closes it otherwise. Idempotent.
    void finish();
    /// For an exchange whose connection will not return to the pool (a stream): has a spare
    /// opened for the caller's io thread (`ex`), and for the connection's own thread when it
    /// was borrowed from another one.
    void keep_spare_ready(const net::any_io_executor& ex);
    /// Closes the connection at once (client gone, error, or an abandoned stream). Safe to call
    /// from the exchange's strand at any time; pending reads complete with an error.
    void abort();

    failure_phase phase() const { return phase_; }
    /// True when start() used a pooled connection and transparently retried on a fresh one.
    bool retried() const { return retried_; }

private:
    // Reads at least one body byte (or the end) into `out`, `piece` bytes at most per read.
    net::awaitable<error_code> read_piece(std::string& out, std::size_t piece,
                                          std::optional<std::chrono::milliseconds> timeout);
    net::awaitable<error_code> begin(
        std::string_view method, std::string_view target,
        const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
        const file_body* file);
    net::awaitable<error_code> attempt(
        std::shared_ptr<connection> c, std::string_view method, std::string_view target,
        const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
        const file_body* file, bool& stale);
    // Writes the file body in pieces after the head; each write under the idle timeout.
    net::awaitable<error_code> send_file(std::shared_ptr<connection> c, const file_body& file,
                                         bool reused, bool& stale);

    std::shared_ptr<pool> pool_;
    std::shared_ptr<connection> conn_;
    failure_phase phase_ = failure_phase::none;
    bool retried_ = false;
    unsigned status_ = 0;
    std::vector<std::pair<std::string, std::string>> head_;
    std::uint64_t body_expected_ = 0;  ///< Content-Length of the response, 0 when unknown
    std::uint64_t body_read_ = 0;
    std::uint64_t file_pieces_ = 0;
};

}  // namespace ogp::upstream
