#pragma once
// The shared store of limits.store: Redis (RESP2) over the daemon's own Asio event loop.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "ogp/limits/store.hpp"

namespace ogp::limits {

/// Where and how to reach Redis (from limits.store*).
struct redis_options
{
    std::string host;  ///< IP literal or name
    std::uint16_t port = 6379;
    unsigned db = 0;
    std::string password;  ///< empty: no AUTH; a secret, never logged
    /// One round trip, connect (and AUTH/SELECT) included.
    std::chrono::milliseconds timeout{250};
    std::size_t max_connections = 8;          ///< pooled connections
    std::size_t max_pending_releases = 4096;  ///< background releases in flight; beyond: dropped
};

/// A store whose buckets and slots live in Redis, updated by one Lua script per admission
/// (EVALSHA, loaded on first use and again after NOSCRIPT) so that every replica sees the same
/// figures; time comes from Redis (TIME) so replicas' clocks do not matter. Runs on `ex`'s
/// io_context; every failure (connect, timeout, error reply) is an empty answer, never an
/// exception.
std::unique_ptr<store> make_redis_store(net::any_io_executor ex, redis_options o);

}  // namespace ogp::limits
