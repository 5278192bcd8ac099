#pragma once
// The per-key traffic policy front: admission against a store (Redis or memory), the fall back
// to memory when a shared store fails (or refusal when configured closed), the 429 answers and
// the x-ratelimit-* headers OpenAI clients read.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ogp/limits/store.hpp"
#include "ogp/openai/error.hpp"

namespace ogp::limits {

/// Case-sensitive glob match: `*` matches any run (also empty), `?` one byte, everything else
/// itself. Iterative, O(|pattern| * |text|) worst case, no recursion. Pure.
bool glob_match(std::string_view pattern, std::string_view text);

/// True when `patterns` is empty or one of them glob-matches `model`.
bool model_allowed(const std::vector<std::string>& patterns, std::string_view model);

/// The `x-ratelimit-reset-*` spelling OpenAI uses: `6m0s`, `1s`, `120ms`, `1h2m3s` (whole
/// milliseconds under a second, else seconds rounded up).
std::string reset_text(std::chrono::milliseconds d);

/// Options of a limiter.
struct limiter_options
{
    /// A shared store that fails: admit with the in-process buckets (true) or refuse 503.
    bool fail_open = true;
    std::chrono::milliseconds lease_ttl{std::chrono::minutes(11)};
};

/// Counters of a limiter (for the metrics).
struct limiter_stats
{
    std::uint64_t store_errors = 0;     ///< shared-store admissions that got no answer
    std::uint64_t store_fallbacks = 0;  ///< of those, admitted with the in-process buckets
    std::uint64_t store_refusals = 0;   ///< of those, refused (fail closed)
};

/// Admits requests of named keys against their limits. Holds the in-process store always and
/// optionally a shared one (`limits.store`). Shared by the configuration generations (so that a
/// reload keeps every key's buckets); limits are passed per call. Thread-safe; never throws on
/// the data path.
class limiter : public std::enable_shared_from_this<limiter>
{
public:
    /// `shared`: null for in-process only. Must be owned by a std::shared_ptr (make_shared):
    /// leases keep their limiter alive.
    limiter(std::unique_ptr<store> shared, limiter_options o, clock_fn now = {});
    ~limiter();

    /// An admitted request's hold on its key's slots. Move-only. When destroyed (or on
    /// release()), frees the slots and charges the tokens added, on the store that admitted
    /// it. Empty (admits nothing, releases nothing) when default-constructed.
    class lease
    {
    public:
        lease() = default;
        lease(lease&&) noexcept;
        lease& operator=(lease&&) noexcept;
        ~lease();
        /// Tokens the request used (OCI's usage: prompt + completion), charged at release.
        void add_tokens(std::uint64_t n) { tokens_ += n; }
        void release();
        explicit operator bool() const { return owner_ != nullptr; }

    private:
        friend class limiter;
        std::shared_ptr<limiter> owner_;
        store* where_ = nullptr;
        key_limits limits_;
        std::string id_;
        bool stream_ = false;
        std::uint64_t tokens_ = 0;
    };

    /// The outcome of admit().
    struct admission
    {
        /// Refused: 429 `rate_limit_exceeded` (type `requests` or `tokens`; with retry_after in
        /// whole seconds, rounded up) or 503 when the shared store failed closed.
        std::optional<api_error> refused;
        verdict what = verdict::admitted;
        lease hold;
        /// `x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests` (when rpm
        /// is set) and `-limit-tokens`, `-remaining-tokens`, `-reset-tokens` (when tpm is
        /// set): on refusals and on admitted answers alike.
        std::vector<std::pair<std::string, std::string>> headers;
    };

    /// Admits one request of the key with limits `l` (`l.any()`; a key without limits needs
    /// no admission). `stream`: the request asked for a stream.
    net::awaitable<admission> admit(const key_limits& l, bool stream);

    limiter_stats stats() const;
    /// At shutdown (no io thread running, the io_context alive): closes and drops the shared
    /// store (its strand and sockets belong to the io_context); afterwards admissions use the
    /// in-process store and leases of the shared store release nothing.
    void shutdown();
    /// The shared store's description, or "memory".
    std::string describe() const;

private:
    void warn_store_failure();

    std::unique_ptr<store> shared_;
    std::unique_ptr<store> memory_;
    limiter_options o_;
    std::atomic<std::uint64_t> store_errors_{0};
    std::atomic<std::uint64_t> store_fallbacks_{0};
    std::atomic<std::uint64_t> store_refusals_{0};
    std::atomic<std::uint64_t> next_lease_{0};
    std::atomic<bool> shut_{false};  ///< shutdown() dropped the shared store
    std::string lease_prefix_;       ///< random per process: lease ids differ across replicas
    clock_fn now_;
    std::atomic<std::int64_t> last_warn_ms_{0};  ///< rate-limits the store failure warning
    std::atomic<bool> warned_{false};
};

}  // namespace ogp::limits
