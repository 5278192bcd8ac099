// The limiter: asks the shared store (when configured) or the in-process one, falls back or
// refuses when the shared store fails, and turns the store's answer into OpenAI's 429 and the
// x-ratelimit-* headers.
#include "ogp/limits/limiter.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "ogp/util/log.hpp"

namespace ogp::limits {

namespace {

constexpr auto warn_interval = std::chrono::seconds(10);

std::string random_prefix()
{
    // Distinguishes the lease ids of replicas sharing one store; not a secret.
    const std::uint64_t v = random_u64();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::int64_t whole_seconds_up(std::chrono::milliseconds d)
{
    const auto s = (d.count() + 999) / 1000;
    return s < 1 ? 1 : s;
}

void add_headers(const key_limits& l, const admit_answer& a,
                 std::vector<std::pair<std::string, std::string>>& out)
{
    if (l.rpm != 0) {
        out.emplace_back("x-ratelimit-limit-requests", std::to_string(l.rpm));
        out.emplace_back("x-ratelimit-remaining-requests",
                         std::to_string(a.requests_remaining < 0 ? 0 : a.requests_remaining));
        out.emplace_back("x-ratelimit-reset-requests", reset_text(a.requests_reset));
    }
    if (l.tpm != 0) {
        out.emplace_back("x-ratelimit-limit-tokens", std::to_string(l.tpm));
        out.emplace_back("x-ratelimit-remaining-tokens",
                         std::to_string(a.tokens_remaining < 0 ? 0 : a.tokens_remaining));
        out.emplace_back("x-ratelimit-reset-tokens", reset_text(a.tokens_reset));
    }
}

api_error refusal(const key_limits& l, const admit_answer& a)
{
    const auto secs = whole_seconds_up(a.retry_after);
    const std::string again = " Please try again in " + std::to_string(secs) + "s.";
    std::string msg;
    switch (a.what) {
        case verdict::over_requests:
            msg = "Rate limit reached for key '" + l.name +
                  "' on requests per minute (rpm): limit " + std::to_string(l.rpm) + "." + again;
            break;
        case verdict::over_tokens:
            msg = "Rate limit reached for key '" + l.name + "' on tokens per minute (tpm): limit " +
                  std::to_string(l.tpm) + "." + again;
            break;
        case verdict::over_concurrency:
            msg = "Too many concurrent requests for key '" + l.name + "': limit " +
                  std::to_string(l.max_concurrent) + ".";
            break;
        case verdict::over_streams:
            msg = "Too many concurrent streams for key '" + l.name + "': limit " +
                  std::to_string(l.max_streams) + ".";
            break;
        case verdict::admitted:
            break;
    }
    api_error e = make_error(429, std::move(msg), error_codes::rate_limit_exceeded);
    // OpenAI's own limits name what ran out: `tokens` for a token limit, `requests` otherwise.
    e.type_name = a.what == verdict::over_tokens ? "tokens" : "requests";
    e.retry_after = std::to_string(secs);
    return e;
}

}  // namespace

limiter::limiter(std::unique_ptr<store> shared, limiter_options o, clock_fn now)
    : shared_(std::move(shared)),
      memory_(make_memory_store(now)),
      o_(o),
      lease_prefix_(random_prefix()),
      now_(now ? std::move(now) : clock_fn([] { return std::chrono::steady_clock::now(); }))
{
}

limiter::~limiter() = default;

void limiter::shutdown()
{
    // The store (its strand, its sockets) must not outlive the io_context, while the limiter may
    // (generations hold it): drop it now. Leases it admitted then release nothing.
    if (shared_) {
        shared_->shutdown();
        shut_ = true;
        shared_.reset();
    }
}

limiter::lease::lease(lease&& o) noexcept
    : owner_(std::move(o.owner_)),
      where_(o.where_),
      limits_(std::move(o.limits_)),
      id_(std::move(o.id_)),
      stream_(o.stream_),
      tokens_(o.tokens_)
{
    o.owner_.reset();
    o.where_ = nullptr;
    o.tokens_ = 0;
}

limiter::lease& limiter::lease::operator=(lease&& o) noexcept
{
    if (this != &o) {
        release();
        owner_ = std::move(o.owner_);
        where_ = o.where_;
        limits_ = std::move(o.limits_);
        id_ = std::move(o.id_);
        stream_ = o.stream_;
        tokens_ = o.tokens_;
        o.owner_.reset();
        o.where_ = nullptr;
        o.tokens_ = 0;
    }
    return *this;
}

limiter::lease::~lease()
{
    release();
}

void limiter::lease::release()
{
    if (!owner_) {
        return;
    }
    if (where_ != nullptr && (where_ == owner_->memory_.get() || !owner_->shut_)) {
        where_->release(limits_, id_, stream_, tokens_);
    }
    where_ = nullptr;
    tokens_ = 0;
    owner_.reset();  // last: the store lives as long as its limiter
}

net::awaitable<limiter::admission> limiter::admit(const key_limits& l, bool stream)
{
    admission out;
    admit_request r;
    r.limits = &l;
    r.stream = stream;
    std::string id = lease_prefix_ + "-" + std::to_string(next_lease_.fetch_add(1) + 1);
    r.lease_id = id;
    r.lease_ttl = o_.lease_ttl;

    store* where = memory_.get();
    std::optional<admit_answer> got;
    if (shared_) {
        got = co_await shared_->admit(r);
        if (got) {
            where = shared_.get();
        } else {
            store_errors_.fetch_add(1);
            warn_store_failure();
            if (!o_.fail_open) {
                store_refusals_.fetch_add(1);
                out.refused = service_unavailable("The rate limit store is unavailable.", "1",
                                                  "rate_limit_store_unavailable");
                co_return out;
            }
            store_fallbacks_.fetch_add(1);
        }
    }
    if (!got) {
        got = co_await memory_->admit(r);
    }
    if (!got) {  // the memory store always answers a valid request; defensive
        co_return out;
    }
    out.what = got->what;
    add_headers(l, *got, out.headers);
    if (got->what != verdict::admitted) {
        out.refused = refusal(l, *got);
        co_return out;
    }
    out.hold.owner_ = weak_from_this().lock();  // null only if not shared-owned
    out.hold.where_ = where;
    out.hold.limits_ = l;
    out.hold.id_ = std::move(id);
    out.hold.stream_ = stream;
    co_return out;
}

void limiter::warn_store_failure()
{
    // At most one line per interval: a dead store must not flood the log.
    const auto now = now_().time_since_epoch();
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
    auto last = last_warn_ms_.load();
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(warn_interval).count();
    if (warned_.load() && now_ms - last < gap) {
        return;
    }
    if (!last_warn_ms_.compare_exchange_strong(last, now_ms)) {
        return;  // another thread logs this one
    }
    warned_.store(true);
    spdlog::warn("limits: the rate limit store {} did not answer; {}", describe(),
                 o_.fail_open ? "admitting with the in-process limits"
                              : "refusing requests of limited keys (fail closed)");
}

limiter_stats limiter::stats() const
{
    limiter_stats s;
    s.store_errors = store_errors_.load();
    s.store_fallbacks = store_fallbacks_.load();
    s.store_refusals = store_refusals_.load();
    return s;
}

std::string limiter::describe() const
{
    return shared_ ? shared_->describe() : memory_->describe();
}

}  // namespace ogp::limits
