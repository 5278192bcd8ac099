#include "ogp/api/resilience.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

namespace ogp::api {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view v)
{
    unsigned n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
        return std::nullopt;
    }
    return std::chrono::seconds(n);
}

resilience::token::token(token&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}

resilience::token& resilience::token::operator=(token&& o) noexcept
{
    if (this != &o) {
        release();
        n_ = std::exchange(o.n_, nullptr);
    }
    return *this;
}

resilience::token::~token()
{
    release();
}

void resilience::token::release()
{
    if (n_ != nullptr) {
        --*n_;
        n_ = nullptr;
    }
}

resilience::resilience(resilience_options o, steady_clock_fn now)
    : o_(o),
      now_(now ? std::move(now) : steady_clock_fn([] { return std::chrono::steady_clock::now(); }))
{
}

resilience::token resilience::acquire()
{
    // A fixed cap, no queue: a request beyond it is refused at once.
    if (inflight_.fetch_add(1) >= o_.max_inflight) {
        --inflight_;
        return {};
    }
    return token(inflight_);
}

resilience::attempt resilience::begin(std::chrono::steady_clock::duration total) const
{
    return attempt{now_() + total};
}

resilience::decision resilience::on_status(attempt& a, unsigned status,
                                           std::string_view retry_after, bool bytes_sent)
{
    decision d;
    // Once the client has bytes of this answer, a retry would splice two answers.
    if (bytes_sent) {
        return d;
    }
    // 401: the token may have been revoked or rotated; newer credentials get one more try.
    if (status == 401 && !a.refreshed) {
        a.refreshed = true;
        ++retries_;
        d.what = action::renew_credentials;
        return d;
    }
    if ((status != 429 && status != 503) || a.retries >= o_.max_retries) {
        return d;
    }
    auto after = parse_retry_after(retry_after).value_or(o_.default_retry_after);
    if (after > o_.max_retry_after || now_() + after >= a.deadline) {
        return d;  // the client decides whether to wait that long
    }
    // The budget grows with the load, so a burst of throttled requests does not all sleep here.
    std::size_t budget = std::max(
        o_.retry_budget_min, inflight_.load() / std::max<std::size_t>(1, o_.retry_budget_divisor));
    if (retrying_.fetch_add(1) >= budget) {
        --retrying_;
        return d;
    }
    ++a.retries;
    ++retries_;
    d.what = action::wait_and_retry;
    d.delay = after;
    d.ticket = token(retrying_);
    return d;
}

}  // namespace ogp::api
