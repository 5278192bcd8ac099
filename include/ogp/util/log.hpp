#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ogp {

/// Installs the process-wide spdlog logger: stderr, `text` or `json` lines (UTC timestamps),
/// at `level` (spdlog's names: trace ... off). Call once at start-up, before any thread starts.
void setup_logging(std::string_view level, bool json);

/// Rate limit for a warning that can repeat without bound (refused connections, failed
/// accepts): at most one line per `interval`; the lines held back are counted and reported
/// with the next one that passes. Thread-safe.
class log_throttle
{
public:
    explicit log_throttle(std::chrono::steady_clock::duration interval = std::chrono::seconds(1))
        : interval_(interval)
    {
    }

    /// nullopt: drop this line. Otherwise log it, with the number of lines dropped since the
    /// previous one that passed.
    std::optional<std::uint64_t> admit(
        std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

private:
    std::mutex mutex_;
    std::chrono::steady_clock::duration interval_;
    std::optional<std::chrono::steady_clock::time_point> last_;
    std::uint64_t dropped_ = 0;
};

/// 64 random bits for identifiers (request and completion ids): unique, not secret. A
/// per-thread xoshiro256** generator seeded from the OpenSSL CSPRNG, so the hot path does not
/// take the DRBG's lock for every id.
std::uint64_t random_u64();

/// A fresh request id: 32 lowercase hex characters from random_u64().
std::string new_request_id();

/// True when a client-supplied `x-request-id` is safe to adopt and echo: 1..128 characters of
/// `[A-Za-z0-9._:-]`. Anything else is replaced by a generated id.
bool valid_request_id(std::string_view id);

}  // namespace ogp
