#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace ogp::api {

/// The time source of the api policies (steady clock in production; tests inject a fake one).
using steady_clock_fn = std::function<std::chrono::steady_clock::time_point()>;

/// Limits of resilience. The defaults are the proxy's rules; tests shrink them.
struct resilience_options
{
    /// Concurrent upstream exchanges (limits.max_inflight_upstream); no queue beyond it.
    std::size_t max_inflight = 64;
    /// The Retry-After (seconds) of the 503 that refuses a request when the cap is full.
    std::string_view overload_retry_after = "1";
    /// 429/503 retries per exchange.
    int max_retries = 2;
    /// The wait when a 429/503 carries no usable Retry-After.
    std::chrono::seconds default_retry_after{1};
    /// A longer Retry-After is passed on to the client rather than waited out here.
    std::chrono::seconds max_retry_after{5};
    /// Requests sleeping before a retry at once: max(retry_budget_min, in-flight / divisor),
    /// so an OCI-wide throttle does not turn into a retry storm.
    std::size_t retry_budget_min = 3;
    std::size_t retry_budget_divisor = 5;
    /// After a 401: how long a request waits for renewed credentials before answering.
    std::chrono::milliseconds credential_wait{std::chrono::seconds(5)};
};

/// `Retry-After` in delta-seconds form; nullopt when empty or not a plain number.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view v);

/// The retry and admission policy of upstream exchanges, without I/O: the caller asks "may I
/// start" (acquire()) and, for each answer head, "may I retry, after how long" (on_status()),
/// and does the sleeping, re-signing and sending itself. Rules:
/// - in-flight cap: at most max_inflight exchanges hold a slot; beyond, refuse (503 +
///   Retry-After overload_retry_after);
/// - 401: renew the credentials and retry once per exchange;
/// - 429/503: retry at most max_retries times, waiting Retry-After (default_retry_after when
///   absent) if it is at most max_retry_after, the retry budget has room and the wait ends
///   before the exchange's deadline;
/// - never retry once bytes of the answer went to the client.
/// Thread-safe (atomics); an attempt belongs to one exchange. Slots and tickets must not
/// outlive the resilience object.
class resilience
{
public:
    explicit resilience(resilience_options o, steady_clock_fn now = {});
    resilience(const resilience&) = delete;
    resilience& operator=(const resilience&) = delete;

    /// A counted share of a resilience counter, released on destruction; empty when refused.
    class token
    {
    public:
        token() = default;
        token(token&& o) noexcept;
        token& operator=(token&& o) noexcept;
        ~token();
        explicit operator bool() const { return n_ != nullptr; }
        /// Gives the share back early (idempotent).
        void release();

    private:
        friend class resilience;
        explicit token(std::atomic<std::size_t>& n) : n_(&n) {}
        std::atomic<std::size_t>* n_ = nullptr;
    };

    /// An in-flight slot, or an empty token when max_inflight are taken (answer 503 with
    /// Retry-After options().overload_retry_after).
    token acquire();

    /// The retry state of one exchange (with its retries).
    struct attempt
    {
        std::chrono::steady_clock::time_point deadline;
        bool refreshed = false;
        int retries = 0;
    };
    /// Starts an exchange whose retries must end within `total` from now.
    attempt begin(std::chrono::steady_clock::duration total) const;

    /// What to do with an answer head.
    enum class action {
        answer,             ///< hand this answer to the caller
        renew_credentials,  ///< 401: obtain newer credentials, then retry (at once)
        wait_and_retry,     ///< 429/503: sleep `delay` (holding `ticket`), then retry
    };
    struct decision
    {
        action what = action::answer;
        std::chrono::milliseconds delay{0};
        /// Held during the sleep: counts against the retry budget until released.
        token ticket;
    };
    /// Decides on `status` (with its `Retry-After` header) for `a`, updating `a`.
    /// `bytes_sent`: part of this answer already reached the client (then never retry).
    decision on_status(attempt& a, unsigned status, std::string_view retry_after,
                       bool bytes_sent = false);

    std::size_t in_flight() const { return inflight_.load(); }
    std::size_t retrying() const { return retrying_.load(); }
    /// Retries granted so far (401 and 429/503).
    std::uint64_t retries() const { return retries_.load(); }
    const resilience_options& options() const { return o_; }

private:
    resilience_options o_;
    steady_clock_fn now_;
    std::atomic<std::size_t> inflight_{0};
    std::atomic<std::size_t> retrying_{0};
    std::atomic<std::uint64_t> retries_{0};
};

}  // namespace ogp::api
