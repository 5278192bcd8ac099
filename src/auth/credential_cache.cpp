#include "ogp/auth/credential_cache.hpp"
#include "ogp/util/asio.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cmath>
#include <mutex>
#include <random>
#include <vector>

namespace ogp::auth {
namespace {

using steady = std::chrono::steady_clock;
using sys = std::chrono::system_clock;
using ogp::use_nothrow;
using std::chrono::milliseconds;

// Uniform factor in [0.5, 1.5) for backoff jitter.
double jitter()
{
    thread_local std::mt19937 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.5, 1.5)(rng);
}

// Seconds with one decimal, for logs.
double secs(steady::duration d)
{
    return std::chrono::duration<double>(d).count();
}

}  // namespace

struct credential_cache::state : std::enable_shared_from_this<credential_cache::state>
{
    state(net::any_io_executor e, std::unique_ptr<credential_provider> p, cache_options o)
        : ex(std::move(e)), provider(std::move(p)), opt(o)
    {
    }

    // A get() caller waiting for a renewal: a thread-safe one-slot channel it receives from, so
    // a wake-up sent before the caller starts waiting is never lost.
    using wake_channel = net::experimental::concurrent_channel<void(boost::system::error_code)>;
    struct waiter
    {
        std::shared_ptr<wake_channel> channel;
    };

    // Removes a caller's waiter when the caller's coroutine ends, however it ends.
    struct waiter_guard
    {
        state* st;
        wake_channel* ch;
        ~waiter_guard()
        {
            std::lock_guard lock(st->mu);
            std::erase_if(st->waiters, [&](const waiter& w) { return w.channel.get() == ch; });
        }
    };

    // Waits for the wake-up on `ch` or for `timeout`, whichever comes first.
    static net::awaitable<void> wait_woken(wake_channel& ch, milliseconds timeout)
    {
        using namespace net::experimental::awaitable_operators;
        net::steady_timer timer(co_await net::this_coro::executor, timeout);
        co_await (ch.async_receive(use_nothrow) || timer.async_wait(use_nothrow));
    }

    // No I/O object lives here: the state may outlive the io_context (timers and channels
    // belong to coroutine frames, which the io_context destroys with itself).
    net::any_io_executor ex;
    std::unique_ptr<credential_provider> provider;
    cache_options opt;

    mutable std::mutex mu;              // guards everything below
    wake_channel* loop_wake = nullptr;  // the running loop's wake-up channel (its frame owns it)
    snapshot_ptr snap;
    std::optional<std::string> last_error;
    std::string region;
    bool started = false;
    bool stopped = false;
    bool in_flight = false;
    bool renew_requested = false;
    std::uint64_t attempts = 0;
    std::uint64_t generation = 0;            // completed renewals
    std::uint64_t installs = 0;              // successful renewals (a snapshot newer than the last)
    std::uint64_t failed_total = 0;          // failed renewals since start (metrics)
    std::vector<steady::time_point> forced;  // starts of renewals after a 401 (throttle)
    unsigned failures = 0;                   // consecutive
    steady::time_point last_failure{};
    steady::time_point last_success{};
    steady::time_point next_attempt = steady::time_point::max();
    std::vector<waiter> waiters;

    // True when `s` may be handed out at `now`: before expiry minus a margin.
    bool usable(const snapshot_ptr& s, sys::time_point now) const
    {
        if (!s) {
            return false;
        }
        if (s->expiry() == sys::time_point::max()) {
            return true;
        }
        auto lifetime = s->expiry() - s->issued();
        auto margin = std::min<sys::duration>(opt.expiry_margin, lifetime / 10);
        return now + margin < s->expiry();
    }

    // Wakes the loop; called with `mu` held. The channel is thread-safe and buffers one
    // wake-up, so a poke sent while the loop is busy is seen when it next sleeps.
    void poke_locked()
    {
        if (loop_wake != nullptr) {
            loop_wake->try_send(boost::system::error_code{});
        }
    }

    // Releases every waiter; called with `mu` held.
    void notify_waiters_locked()
    {
        for (auto& w : waiters) {
            w.channel->try_send(boost::system::error_code{});
        }
        waiters.clear();
    }

    // When the next proactive renewal is due after a success at `now`.
    steady::time_point plan_after_success(const credential_snapshot& s) const
    {
        auto now_sys = sys::now();
        auto now = steady::now();
        std::optional<sys::duration> delay;
        if (opt.proactive && s.expiry() != sys::time_point::max()) {
            // Earlier of exp - margin and half the lifetime, but not before a quarter of the
            // lifetime (tokens shorter than the margin would otherwise renew in a loop).
            auto lifetime = s.expiry() - s.issued();
            auto by_margin = s.expiry() - opt.refresh_margin;
            auto by_half = s.issued() + lifetime / 2;
            auto at = std::max(std::min(by_margin, by_half), s.issued() + lifetime / 4);
            delay = at - now_sys;
        }
        if (auto recheck = provider->recheck_interval()) {
            delay = delay ? std::min<sys::duration>(*delay, *recheck) : sys::duration(*recheck);
        }
        if (!delay) {
            return steady::time_point::max();
        }
        return now + std::max<steady::duration>(
                         std::chrono::duration_cast<steady::duration>(*delay), opt.min_interval);
    }

    // Records the outcome of one renewal and wakes the waiters.
    void complete(result<snapshot_ptr> r)
    {
        std::lock_guard lock(mu);
        in_flight = false;
        ++generation;
        if (r) {
            // Success: swap the snapshot (key and token together), plan the next renewal.
            bool changed = !snap || snap->key_id() != (*r)->key_id();
            failures = 0;
            last_success = steady::now();
            last_error.reset();
            snap = *r;
            ++installs;
            if (!snap->region().empty()) {
                region = snap->region();
            }
            next_attempt = plan_after_success(*snap);
            auto level = changed ? spdlog::level::info : spdlog::level::debug;
            std::string until = snap->expiry() == sys::time_point::max()
                                    ? std::string("no expiry")
                                    : "valid until " + format_http_date(snap->expiry());
            if (next_attempt == steady::time_point::max()) {
                spdlog::log(level, "auth: {} credentials loaded ({})", provider->name(), until);
            } else {
                spdlog::log(level, "auth: {} credentials loaded ({}); next renewal in {:.1f}s",
                            provider->name(), until, secs(next_attempt - steady::now()));
            }
        } else {
            // Failure: keep the last good snapshot, back off with jitter.
            ++failures;
            ++failed_total;
            last_failure = steady::now();
            last_error = r.error().message;
            double base = static_cast<double>(opt.backoff_initial.count()) *
                          std::pow(2.0, std::min(failures - 1, 20u));
            auto delay = milliseconds(static_cast<long long>(
                std::min(base, static_cast<double>(opt.backoff_max.count())) * jitter()));
            next_attempt = steady::now() + std::max<milliseconds>(delay, opt.min_interval);
            bool have_good = usable(snap, sys::now());
            spdlog::warn(
                "auth: {} credential renewal failed (attempt {}): {}; retrying in {:.1f}s{}",
                provider->name(), failures, r.error().message, secs(next_attempt - steady::now()),
                have_good ? "; the current credentials stay in use until " +
                                format_http_date(snap->expiry())
                          : std::string("; no valid credentials"));
        }
        notify_waiters_locked();
    }

    // The background loop: sleeps until the next planned (or requested) renewal, then renews.
    // Takes the state by value (shared ownership), never by reference (GCC 12 coroutine rules).
    static net::awaitable<void> refresh_loop(std::shared_ptr<state> s)
    {
        // The loop's I/O objects live in this frame; the guard unregisters the channel
        // (also when the io_context destroys the frame without resuming it).
        auto ex = co_await net::this_coro::executor;
        wake_channel wake(ex, 1);
        net::steady_timer timer(ex);
        struct unregister
        {
            state* st;
            ~unregister()
            {
                std::lock_guard lock(st->mu);
                st->loop_wake = nullptr;
            }
        };
        {
            std::lock_guard lock(s->mu);
            s->loop_wake = &wake;
        }
        unregister guard{s.get()};

        for (;;) {
            steady::time_point wake_at;
            {
                std::lock_guard lock(s->mu);
                if (s->stopped) {
                    break;
                }
                if (s->renew_requested || steady::now() >= s->next_attempt) {
                    s->renew_requested = false;
                    s->in_flight = true;
                    ++s->attempts;
                    wake_at = steady::time_point::min();
                } else {
                    wake_at = s->next_attempt;
                }
            }
            if (wake_at != steady::time_point::min()) {
                // Sleep until due or poked.
                using namespace net::experimental::awaitable_operators;
                timer.expires_at(wake_at);
                co_await (wake.async_receive(use_nothrow) || timer.async_wait(use_nothrow));
                continue;
            }
            // One renewal at a time: only this loop calls the provider.
            auto r = co_await s->provider->fetch();
            s->complete(std::move(r));
        }
        std::lock_guard lock(s->mu);
        s->notify_waiters_locked();
    }
};

credential_cache::credential_cache(net::any_io_executor ex,
                                   std::unique_ptr<credential_provider> provider,
                                   cache_options options)
    : s_(std::make_shared<state>(std::move(ex), std::move(provider), options))
{
}

credential_cache::~credential_cache()
{
    stop();
}

void credential_cache::start()
{
    {
        std::lock_guard lock(s_->mu);
        if (s_->started || s_->stopped) {
            return;
        }
        s_->started = true;
        s_->next_attempt = steady::now();
    }
    net::co_spawn(s_->ex, state::refresh_loop(s_), net::detached);
}

void credential_cache::stop()
{
    std::lock_guard lock(s_->mu);
    if (s_->stopped) {
        return;
    }
    s_->stopped = true;
    s_->notify_waiters_locked();
    if (s_->started) {
        s_->poke_locked();
    }
}

snapshot_ptr credential_cache::current() const
{
    std::lock_guard lock(s_->mu);
    return s_->usable(s_->snap, sys::now()) ? s_->snap : nullptr;
}

net::awaitable<result<snapshot_ptr>> credential_cache::get()
{
    // Own the state for the whole wait: the cache object may go away meanwhile.
    std::shared_ptr<state> s = s_;
    auto ex = co_await net::this_coro::executor;
    auto channel = std::make_shared<state::wake_channel>(ex, 1);
    std::uint64_t gen = 0;
    {
        std::lock_guard lock(s->mu);
        if (s->stopped) {
            co_return error{errc::stopped, "credentials: the credential cache is stopped"};
        }
        if (s->usable(s->snap, sys::now())) {
            co_return s->snap;
        }
        if (!s->started) {
            co_return error{errc::not_ready, "credentials: the credential cache was not started"};
        }
        // Just failed: answer with that failure instead of hammering the source.
        if (!s->in_flight && s->failures > 0 &&
            steady::now() - s->last_failure < s->opt.backoff_initial) {
            co_return error{errc::not_ready,
                            std::string(s->provider->name()) + ": " + *s->last_error};
        }
        // Join the in-flight renewal, or ask the loop for one (single flight).
        if (!s->in_flight) {
            s->renew_requested = true;
            s->poke_locked();
        }
        s->waiters.push_back({channel});
        gen = s->generation;
    }
    // Unregister on every exit, including destruction of this frame by the io_context.
    state::waiter_guard guard{s.get(), channel.get()};
    co_await state::wait_woken(*channel, s->opt.get_timeout);

    std::lock_guard lock(s->mu);
    if (s->usable(s->snap, sys::now())) {
        co_return s->snap;
    }
    if (s->stopped) {
        co_return error{errc::stopped, "credentials: the credential cache is stopped"};
    }
    if (s->generation == gen) {
        co_return error{errc::not_ready,
                        std::string(s->provider->name()) + ": timed out waiting for credentials"};
    }
    co_return error{errc::not_ready, std::string(s->provider->name()) + ": " +
                                         s->last_error.value_or("no credentials")};
}

net::awaitable<result<snapshot_ptr>> credential_cache::renew_after_rejection(
    snapshot_ptr rejected, std::chrono::milliseconds timeout)
{
    // Own the state for the whole wait: the cache object may go away meanwhile.
    std::shared_ptr<state> s = s_;
    auto ex = co_await net::this_coro::executor;
    auto channel = std::make_shared<state::wake_channel>(ex, 1);
    std::uint64_t installs = 0;
    std::uint64_t gen = 0;
    {
        std::lock_guard lock(s->mu);
        if (s->stopped) {
            co_return error{errc::stopped, "credentials: the credential cache is stopped"};
        }
        // Someone already renewed since `rejected` was handed out.
        if (s->snap != rejected && s->usable(s->snap, sys::now())) {
            co_return s->snap;
        }
        if (!s->started) {
            co_return error{errc::not_ready, "credentials: the credential cache was not started"};
        }
        // A fixed key (GenAI API key): a renewal would hand back the refused credentials.
        if (s->provider->fixed() && s->snap) {
            co_return error{errc::not_ready,
                            std::string(s->provider->name()) +
                                ": OCI refused the credentials and there are no newer ones (the "
                                "key is fixed at start-up)"};
        }
        // A renewal in flight started after `rejected` was installed (renewals run one at a
        // time): join it. Otherwise start one, unless OCI keeps refusing fresh credentials.
        if (!s->in_flight && !s->renew_requested) {
            auto now = steady::now();
            std::erase_if(s->forced, [&](steady::time_point t) {
                return now - t >= s->opt.force_refresh_min_age;
            });
            if (s->forced.size() >= s->opt.max_forced_renewals) {
                co_return error{errc::not_ready,
                                std::string(s->provider->name()) + ": credentials were renewed " +
                                    std::to_string(s->forced.size()) +
                                    " times after a 401 within the last " +
                                    std::to_string(s->opt.force_refresh_min_age.count()) +
                                    " ms; not renewing again yet"};
            }
            s->forced.push_back(now);
            spdlog::info("auth: {} credentials refresh forced", s->provider->name());
            s->renew_requested = true;
            s->poke_locked();
        }
        s->waiters.push_back({channel});
        installs = s->installs;
        gen = s->generation;
    }
    // Unregister on every exit, including destruction of this frame by the io_context.
    state::waiter_guard guard{s.get(), channel.get()};
    // One renewal completes (or fails) and wakes every waiter; or the bound passes.
    co_await state::wait_woken(*channel, timeout);

    std::lock_guard lock(s->mu);
    if (s->stopped) {
        co_return error{errc::stopped, "credentials: the credential cache is stopped"};
    }
    if (s->installs != installs && s->snap != rejected && s->usable(s->snap, sys::now())) {
        co_return s->snap;
    }
    if (s->generation == gen) {
        co_return error{errc::not_ready, std::string(s->provider->name()) +
                                             ": timed out waiting for renewed credentials"};
    }
    co_return error{errc::not_ready, std::string(s->provider->name()) + ": " +
                                         s->last_error.value_or("renewal gave no new credentials")};
}

void credential_cache::force_refresh()
{
    std::lock_guard lock(s_->mu);
    if (!s_->started || s_->stopped || s_->in_flight || (s_->provider->fixed() && s_->snap)) {
        return;
    }
    // A snapshot obtained moments ago is not refreshed again.
    if (s_->snap && steady::now() - s_->last_success < s_->opt.force_refresh_min_age) {
        spdlog::debug("auth: force_refresh ignored: credentials renewed {:.1f}s ago",
                      secs(steady::now() - s_->last_success));
        return;
    }
    spdlog::info("auth: {} credentials refresh forced", s_->provider->name());
    s_->renew_requested = true;
    s_->poke_locked();
}

std::optional<std::string> credential_cache::status() const
{
    std::lock_guard lock(s_->mu);
    std::string name(s_->provider->name());
    if (s_->usable(s_->snap, sys::now())) {
        return std::nullopt;
    }
    if (s_->stopped) {
        return name + ": stopped";
    }
    if (!s_->started) {
        return name + ": credentials not loaded yet";
    }
    if (s_->last_error) {
        return name + ": " + *s_->last_error;
    }
    if (s_->snap) {
        return name + ": credentials expired; renewal in progress";
    }
    return name + ": waiting for the first credentials";
}

std::string credential_cache::region() const
{
    std::lock_guard lock(s_->mu);
    return s_->region;
}

std::optional<std::string> credential_cache::last_error() const
{
    std::lock_guard lock(s_->mu);
    return s_->last_error;
}

std::uint64_t credential_cache::renewals() const
{
    std::lock_guard lock(s_->mu);
    return s_->attempts;
}

std::uint64_t credential_cache::failed_renewals() const
{
    std::lock_guard lock(s_->mu);
    return s_->failed_total;
}

std::uint64_t credential_cache::succeeded_renewals() const
{
    std::lock_guard lock(s_->mu);
    return s_->installs;
}

std::string_view credential_cache::provider_name() const
{
    return s_->provider->name();
}

std::unique_ptr<credential_cache> make_credential_cache(const config& cfg, net::any_io_executor ex,
                                                        const env_lookup& env,
                                                        cache_options options)
{
    return std::make_unique<credential_cache>(std::move(ex), make_provider(cfg, env), options);
}

}  // namespace ogp::auth
