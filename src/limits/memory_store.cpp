// The in-process limits store: one entry per configured key name, guarded by a mutex (an
// admission is a few integer operations, so contention is not worth a finer lock).
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "ogp/limits/bucket.hpp"
#include "ogp/limits/store.hpp"

namespace ogp::limits {

namespace {

constexpr std::chrono::milliseconds slot_retry_hint{1000};

// One key's state. Slots are counted whether or not a limit is set, so that a reload that sets
// max_concurrent sees the requests already in flight.
struct key_state
{
    token_bucket requests;
    token_bucket tokens;
    std::uint64_t concurrent = 0;
    std::uint64_t streams = 0;
};

class memory_store final : public store
{
public:
    explicit memory_store(clock_fn now) : now_(std::move(now))
    {
        if (!now_) {
            now_ = [] { return std::chrono::steady_clock::now(); };
        }
    }

    net::awaitable<std::optional<admit_answer>> admit(const admit_request& r) override
    {
        co_return admit_now(r);
    }

    void release(const key_limits& l, std::string_view, bool stream, std::uint64_t tokens) override
    {
        const auto now = now_();
        const std::lock_guard lock(mu_);
        auto it = keys_.find(l.name);
        if (it == keys_.end()) {
            return;
        }
        key_state& k = it->second;
        if (k.concurrent > 0) {
            --k.concurrent;
        }
        if (stream && k.streams > 0) {
            --k.streams;
        }
        if (l.tpm != 0 && tokens != 0) {
            adapt(k.tokens, l.tpm, now);
            k.tokens.charge(tokens, now);
        }
    }

    std::string describe() const override { return "memory"; }

private:
    // A bucket whose limit changed (reload) keeps its level, clamped; a new limit starts full.
    static void adapt(token_bucket& b, std::uint64_t per_minute, token_bucket::time_point now)
    {
        if (b.per_minute() == per_minute) {
            return;
        }
        if (b.per_minute() == 0) {
            b = token_bucket(per_minute, now);
        } else {
            b.set_rate(per_minute, now);
        }
    }

    std::optional<admit_answer> admit_now(const admit_request& r)
    {
        if (r.limits == nullptr) {
            return std::nullopt;
        }
        const key_limits& l = *r.limits;
        const auto now = now_();
        const std::lock_guard lock(mu_);
        key_state& k = keys_[l.name];  // names come from the configuration only: bounded
        adapt(k.requests, l.rpm, now);
        adapt(k.tokens, l.tpm, now);

        admit_answer a;
        const auto fill = [&] {
            if (l.rpm != 0) {
                a.requests_remaining = k.requests.available(now);
                a.requests_reset = k.requests.until_full(now);
            }
            if (l.tpm != 0) {
                const auto t = k.tokens.available(now);
                a.tokens_remaining = t < 0 ? 0 : t;
                a.tokens_reset = k.tokens.until_full(now);
            }
        };
        // Refusal order: slots first (they free soonest), then the buckets.
        if (l.max_concurrent != 0 && k.concurrent >= l.max_concurrent) {
            a.what = verdict::over_concurrency;
            a.retry_after = slot_retry_hint;
        } else if (r.stream && l.max_streams != 0 && k.streams >= l.max_streams) {
            a.what = verdict::over_streams;
            a.retry_after = slot_retry_hint;
        } else if (l.tpm != 0 && !k.tokens.positive(now)) {
            a.what = verdict::over_tokens;
            a.retry_after = std::max(k.tokens.until_positive(now), std::chrono::milliseconds(1));
        } else if (l.rpm != 0 && !k.requests.take(1, now)) {
            a.what = verdict::over_requests;
            a.retry_after = std::max(k.requests.until(1, now), std::chrono::milliseconds(1));
        } else {
            ++k.concurrent;
            if (r.stream) {
                ++k.streams;
            }
        }
        fill();
        return a;
    }

    clock_fn now_;
    mutable std::mutex mu_;
    std::map<std::string, key_state, std::less<>> keys_;
};

}  // namespace

std::unique_ptr<store> make_memory_store(clock_fn now)
{
    return std::make_unique<memory_store>(std::move(now));
}

}  // namespace ogp::limits
