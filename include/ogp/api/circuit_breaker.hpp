#pragma once
// Circuit breaking per upstream host (circuit_breaker.*): a pure state machine with an
// injected clock, and a registry of breakers shared by the configuration generations.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "ogp/api/resilience.hpp"  // steady_clock_fn
#include "ogp/config/config.hpp"   // circuit_breaker_config

namespace ogp::api {

/// A breaker's state (metrics gauge values 0, 1, 2).
enum class circuit_state { closed = 0, half_open = 1, open = 2 };

/// Returns "closed", "half_open" or "open".
std::string_view to_string(circuit_state s);

/// One upstream host's circuit as service::circuits() reports it.
struct circuit_status
{
    std::string upstream;  ///< the region id (or the endpoint's host when no region applies)
    std::string host;      ///< `host:port` of the endpoint
    circuit_state state = circuit_state::closed;
    std::chrono::milliseconds retry_in{0};  ///< open: until the next probe may go
    std::uint64_t opened = 0;               ///< times it opened so far
};

/// How an exchange with a host went, for its breaker: success (a 2xx or a 4xx other than
/// 429: the host answers), failure (a connect, TLS or timeout failure, a 500/502/503/504
/// head) or neutral (429: OCI is alive but throttling; a client that left before the head).
enum class circuit_outcome { success, failure, neutral };

/// The outcome of an answer head with `status` (see circuit_outcome).
circuit_outcome outcome_of_status(unsigned status);

/// One host's breaker: a pure state machine, no clock, no lock (circuit_breakers has both).
/// The thresholds come with each call, so a reload's new `circuit_breaker.*` applies at once.
/// - closed: every request may go; `failures` consecutive failures open it (a success resets
///   the count, a neutral outcome leaves it);
/// - open: nothing goes until `cooldown` has passed since it opened, then it is half_open;
/// - half_open: exactly one request (the probe) may go at a time; the probe's success closes
///   it, its failure opens it again (a new cooldown), a neutral probe (429) frees the probe
///   slot and leaves it half_open (the next request probes). A probe unreported for a whole
///   `cooldown` (its request vanished) no longer blocks the next probe.
///   Outcomes of requests let through before it opened (not probes) do not change an open or
///   half_open circuit: only the probe decides.
/// - `failures` 0: disabled (everything goes; the state reads closed).
class circuit_breaker
{
public:
    using time_point = std::chrono::steady_clock::time_point;

    /// What allow() granted.
    enum class permit {
        refused,  ///< open (or half_open with its probe out): skip this host
        granted,  ///< closed: an ordinary request
        probe,    ///< half_open: this request is the probe; report its outcome with probe=true
    };

    permit allow(time_point now, const circuit_breaker_config& c);
    /// Whether allow() would grant anything now (no state change).
    bool would_allow(time_point now, const circuit_breaker_config& c) const;
    /// Reports the outcome of a request allow() let through (`probe`: it was granted as one).
    void record(time_point now, circuit_outcome o, bool probe, const circuit_breaker_config& c);
    void on_success(bool probe = false);
    void on_failure(time_point now, bool probe, const circuit_breaker_config& c);
    void on_neutral(bool probe);

    /// The state at `now` (an open circuit whose cooldown has passed reads half_open).
    circuit_state state(time_point now, const circuit_breaker_config& c) const;
    /// Open: the time until a probe may go; otherwise 0.
    std::chrono::milliseconds retry_in(time_point now, const circuit_breaker_config& c) const;
    /// Times it opened so far (a probe's failure counts again).
    std::uint64_t opened() const { return opened_; }
    /// Consecutive failures counted while closed.
    unsigned failures() const { return failures_; }

private:
    void trip(time_point now);

    circuit_state state_ = circuit_state::closed;
    unsigned failures_ = 0;
    time_point opened_at_{};
    bool probe_out_ = false;
    time_point probe_at_{};
    std::uint64_t opened_ = 0;
};

/// The breakers of the upstream hosts, keyed by endpoint authority (`host:port`), shared by the
/// services of successive configuration generations (held by upstream_pools). Keys come from
/// configuration only (region endpoints, the default endpoint); at most `max_hosts` are kept,
/// a host beyond that has no breaker (always allowed). Thread-safe (one mutex; each call is a
/// few comparisons).
class circuit_breakers
{
public:
    explicit circuit_breakers(steady_clock_fn now = {}, std::size_t max_hosts = 256);

    circuit_breaker::permit allow(std::string_view host, const circuit_breaker_config& c);
    bool would_allow(std::string_view host, const circuit_breaker_config& c) const;
    void record(std::string_view host, circuit_outcome o, circuit_breaker::permit how,
                const circuit_breaker_config& c);
    /// The host's state, retry_in and opened count (upstream left empty; a host never seen
    /// reads closed).
    circuit_status status(std::string_view host, const circuit_breaker_config& c) const;
    std::chrono::steady_clock::time_point now() const { return now_(); }
    std::size_t size() const;

private:
    steady_clock_fn now_;
    std::size_t max_hosts_;
    /// Breakers made so far: while 0 (no host ever failed) the hot path takes no lock.
    std::atomic<std::size_t> made_{0};
    mutable std::mutex mutex_;
    std::map<std::string, circuit_breaker, std::less<>> hosts_;
};

}  // namespace ogp::api
