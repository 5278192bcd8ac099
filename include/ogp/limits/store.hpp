#pragma once
// Where per-key rate-limit buckets and concurrency counters live: in this process, or in Redis
// shared by every replica. The limiter (limiter.hpp) talks to a store through this interface.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ogp::limits {

namespace net = boost::asio;

/// The time source of the in-process buckets (steady clock in production; tests inject one).
using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

/// The limits of one named client key (clients.keys[]). 0 means unlimited. Plain value type.
struct key_limits
{
    std::string name;  ///< the key's name: the bucket's identity (validated: [A-Za-z0-9._-])
    std::uint64_t rpm = 0;
    std::uint64_t tpm = 0;
    std::uint64_t max_concurrent = 0;
    std::uint64_t max_streams = 0;

    bool any() const { return rpm != 0 || tpm != 0 || max_concurrent != 0 || max_streams != 0; }
};

/// Why an admission was refused (or not).
enum class verdict {
    admitted,
    over_requests,     ///< rpm bucket empty
    over_tokens,       ///< tpm bucket at or below zero (already over)
    over_concurrency,  ///< max_concurrent requests in flight
    over_streams,      ///< max_streams streams in flight
};

/// A store's answer to one admission. The bucket figures are after this admission and are
/// meaningful only for limits that are set (they feed the x-ratelimit-* headers).
struct admit_answer
{
    verdict what = verdict::admitted;
    std::int64_t requests_remaining = 0;          ///< whole requests left in the rpm bucket
    std::chrono::milliseconds requests_reset{0};  ///< until the rpm bucket is full again
    std::int64_t tokens_remaining = 0;            ///< tokens left in the tpm bucket (>= 0)
    std::chrono::milliseconds tokens_reset{0};    ///< until the tpm bucket is full again
    /// Refused: how long until the refusing limit would admit (>= 1 ms; concurrency: a short
    /// fixed hint).
    std::chrono::milliseconds retry_after{0};
};

/// One admission asked of a store.
struct admit_request
{
    const key_limits* limits = nullptr;  ///< non-null, limits->any()
    bool stream = false;                 ///< counts against max_streams too
    /// Unique per admission (for a shared store: the concurrency slot's identity, so that a
    /// replica that dies leaks nothing beyond lease_ttl).
    std::string_view lease_id;
    /// A slot not released within this time frees itself (longer than any request can take).
    std::chrono::milliseconds lease_ttl{std::chrono::minutes(11)};
};

/// Token buckets (continuous refill: rpm/60 s per request, tpm/60 s per token; capacity = the
/// per-minute figure, so a full minute's burst is allowed) and concurrency slots per key name.
/// Every method is safe to call from any thread; implementations bound their memory (one entry
/// per configured key name) and never throw.
class store
{
public:
    virtual ~store() = default;
    /// Atomically: refuse if a concurrency/stream slot is full or the tpm bucket is at or
    /// below zero or the rpm bucket has less than one request; else take one request from the
    /// rpm bucket and a slot (when limited). nullopt: the store could not answer (unreachable,
    /// timed out, malformed reply): the caller decides (fail open or closed).
    virtual net::awaitable<std::optional<admit_answer>> admit(const admit_request& r) = 0;
    /// Ends an admitted lease: frees its slots and charges `tokens` to the tpm bucket (which
    /// may go below zero: the next admission is refused until it refills). Returns at once; a
    /// shared store sends it in the background (bounded; a lost release expires with the
    /// lease).
    virtual void release(const key_limits& l, std::string_view lease_id, bool stream,
                         std::uint64_t tokens) = 0;
    /// Short description for logs: "memory" or "redis://host:port/db" (never the password).
    virtual std::string describe() const = 0;
    /// At shutdown, once no io thread runs and while the io_context still exists: closes the
    /// store's idle connections (sockets must not outlive their io_context's reactor).
    virtual void shutdown() {}
};

/// The in-process store (a mutex-guarded map by key name; state survives reloads as long as
/// the store object does).
std::unique_ptr<store> make_memory_store(clock_fn now = {});

}  // namespace ogp::limits
