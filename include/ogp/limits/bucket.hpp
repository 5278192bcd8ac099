#pragma once
// A token bucket in exact integer arithmetic: no floating point drift, so that tests with an
// injected clock see whole tokens refill at exact instants.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

namespace ogp::limits {

/// A continuously refilling token bucket: holds at most `capacity` tokens and gains
/// `per_minute` tokens per 60 s (capacity == per_minute for the rpm/tpm limits). The level is
/// kept in 1/60000 of a token, so one millisecond adds exactly `per_minute` units. The level
/// may go negative (charge(): a debt). Starts full. Plain value type; not thread-safe (the
/// store guards it). Times are whatever clock the caller uses; time never goes backwards
/// here (an earlier `now` refills nothing).
class token_bucket
{
public:
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::int64_t unit = 60000;  ///< level units per token
    /// Bound on one charge and on the capacity (in tokens): keeps every product in int64.
    static constexpr std::uint64_t max_tokens = 1'000'000'000'000ULL;

    token_bucket() = default;
    token_bucket(std::uint64_t per_minute, time_point now)
        : rate_(clamp_tokens(per_minute)), level_(rate_ * unit), last_(now)
    {
    }

    std::uint64_t per_minute() const { return static_cast<std::uint64_t>(rate_); }

    /// A new limit (configuration reload): the level is kept, clamped to the new capacity.
    void set_rate(std::uint64_t per_minute, time_point now)
    {
        refill(now);
        rate_ = clamp_tokens(per_minute);
        level_ = std::min(level_, rate_ * unit);
    }

    /// Takes `n` whole tokens if the bucket holds them; false (nothing taken) otherwise.
    bool take(std::uint64_t n, time_point now)
    {
        refill(now);
        const std::int64_t need = clamp_tokens(n) * unit;
        if (level_ < need) {
            return false;
        }
        level_ -= need;
        return true;
    }

    /// Removes `n` tokens unconditionally (the level may go below zero). The debt is bounded
    /// to one capacity's worth beyond max_tokens so that nothing overflows.
    void charge(std::uint64_t n, time_point now)
    {
        refill(now);
        const std::int64_t floor = -static_cast<std::int64_t>(max_tokens) * unit;
        const std::int64_t c = clamp_tokens(n) * unit;
        level_ = level_ - c < floor ? floor : level_ - c;
    }

    /// Whole tokens in the bucket (may be negative while in debt).
    std::int64_t available(time_point now)
    {
        refill(now);
        // Floor division (the level may be negative).
        return level_ >= 0 ? level_ / unit : -((-level_ + unit - 1) / unit);
    }

    /// True when the level is above zero (a tpm bucket admits then).
    bool positive(time_point now)
    {
        refill(now);
        return level_ > 0;
    }

    /// Time until the bucket holds `n` whole tokens (0 if it does now).
    std::chrono::milliseconds until(std::uint64_t n, time_point now)
    {
        refill(now);
        return wait_for(clamp_tokens(n) * unit, now);
    }
    /// Time until the level is above zero.
    std::chrono::milliseconds until_positive(time_point now)
    {
        refill(now);
        return wait_for(1, now);
    }
    /// Time until the bucket is full again.
    std::chrono::milliseconds until_full(time_point now)
    {
        refill(now);
        return wait_for(rate_ * unit, now);
    }

private:
    static std::int64_t clamp_tokens(std::uint64_t n)
    {
        return static_cast<std::int64_t>(std::min(n, max_tokens));
    }

    // Adds the whole milliseconds elapsed since last_ (the remainder is kept for later).
    void refill(time_point now)
    {
        const std::int64_t cap = rate_ * unit;
        if (now <= last_) {
            return;
        }
        if (rate_ == 0 || level_ >= cap) {
            last_ = now;
            return;
        }
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - last_).count();
        // Cap the elapsed time at what fills the bucket from its lowest level: no overflow.
        const std::int64_t to_full = (cap - level_ + rate_ - 1) / rate_;
        if (elapsed >= to_full) {
            level_ = cap;
            last_ = now;
            return;
        }
        level_ += elapsed * rate_;
        last_ += std::chrono::milliseconds(elapsed);
    }

    // From `now` (last_ may lag it by less than a millisecond), rounded up to whole ms.
    std::chrono::milliseconds wait_for(std::int64_t target, time_point now) const
    {
        if (level_ >= target) {
            return std::chrono::milliseconds(0);
        }
        if (rate_ == 0) {
            return std::chrono::milliseconds(std::numeric_limits<std::int32_t>::max());
        }
        const auto at = last_ + std::chrono::milliseconds((target - level_ + rate_ - 1) / rate_);
        if (at <= now) {
            return std::chrono::milliseconds(0);
        }
        const auto d = std::chrono::ceil<std::chrono::milliseconds>(at - now);
        return d;
    }

    std::int64_t rate_ = 0;   ///< tokens per minute == level units per millisecond
    std::int64_t level_ = 0;  ///< in 1/unit tokens
    time_point last_{};
};

}  // namespace ogp::limits
