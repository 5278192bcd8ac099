// credential_cache::renew_after_rejection(): after a 401 the caller gets credentials newer than
// the refused ones, or an error; never the refused snapshot again (issue 11).

#include "ogp/auth/credential_cache.hpp"
#include "unit/auth/test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

using namespace ogp::auth;
using namespace ogp::auth::test;
using namespace std::chrono_literals;

namespace {

// Hands out v1, v2, ... (a fresh snapshot per fetch, one hour valid) after `delay`; fails while
// `fail` is set.
class counting_provider final : public credential_provider
{
public:
    explicit counting_provider(std::chrono::milliseconds delay = 0ms) : delay_(delay) {}
    std::string_view name() const override { return "counting"; }
    net::awaitable<result<snapshot_ptr>> fetch() override
    {
        int n = ++calls;
        if (delay_ > 0ms) {
            net::steady_timer t(co_await net::this_coro::executor, delay_);
            co_await t.async_wait(net::as_tuple(net::use_awaitable));
        }
        if (fail) {
            co_return error{errc::network, "source down"};
        }
        co_return credential_snapshot::create(
            {.key_id = "v" + std::to_string(n),
             .key = shared_test_key(),
             .expiry = std::chrono::system_clock::now() + std::chrono::hours(1)});
    }
    std::atomic<int> calls{0};
    std::atomic<bool> fail{false};

private:
    std::chrono::milliseconds delay_;
};

// Runs one awaitable returning result<snapshot_ptr> to completion.
result<snapshot_ptr> run(net::io_context& ioc, net::awaitable<result<snapshot_ptr>> a,
                         std::chrono::milliseconds limit = 5s)
{
    std::optional<result<snapshot_ptr>> out;
    net::co_spawn(ioc, std::move(a), [&out](std::exception_ptr, result<snapshot_ptr> r) {
        out.emplace(std::move(r));
    });
    REQUIRE(run_until(
        ioc, [&] { return out.has_value(); }, limit));
    return std::move(*out);
}

cache_options test_options()
{
    cache_options o;
    o.proactive = false;
    o.backoff_initial = 50ms;
    o.min_interval = 10ms;
    return o;  // force_refresh_min_age stays 10 s: v1 is "young" in every test below
}

}  // namespace

TEST_CASE("credential cache: a 401 on v1 gets v2, never v1 (young snapshot)", "[auth][cache][401]")
{
    net::io_context ioc;
    auto provider = std::make_unique<counting_provider>();
    auto* p = provider.get();
    credential_cache cache(ioc.get_executor(), std::move(provider), test_options());
    cache.start();
    auto v1 = run(ioc, cache.get());
    REQUIRE(v1);
    REQUIRE((*v1)->key_id() == "v1");

    // OCI refused v1 at once (it is far younger than force_refresh_min_age).
    auto v2 = run(ioc, cache.renew_after_rejection(*v1, 2s));
    REQUIRE(v2);
    CHECK((*v2)->key_id() == "v2");
    CHECK(*v2 != *v1);
    CHECK(p->calls == 2);
    cache.stop();
}

TEST_CASE("credential cache: callers refused with the same snapshot share one renewal",
          "[auth][cache][401]")
{
    net::io_context ioc;
    auto provider = std::make_unique<counting_provider>(100ms);
    auto* p = provider.get();
    credential_cache cache(ioc.get_executor(), std::move(provider), test_options());
    cache.start();
    auto v1 = run(ioc, cache.get());
    REQUIRE(v1);

    std::vector<std::optional<result<snapshot_ptr>>> outs(5);
    for (auto& o : outs) {
        net::co_spawn(
            ioc, cache.renew_after_rejection(*v1, 2s),
            [&o](std::exception_ptr, result<snapshot_ptr> r) { o.emplace(std::move(r)); });
    }
    REQUIRE(run_until(
        ioc,
        [&] {
            return std::all_of(outs.begin(), outs.end(), [](auto& o) { return o.has_value(); });
        },
        3s));
    for (auto& o : outs) {
        REQUIRE(*o);
        CHECK((**o)->key_id() == "v2");
    }
    CHECK(p->calls == 2);

    // A late caller still holding v1 gets v2 without another renewal.
    auto late = run(ioc, cache.renew_after_rejection(*v1, 2s));
    REQUIRE(late);
    CHECK((*late)->key_id() == "v2");
    CHECK(p->calls == 2);
    cache.stop();
}

TEST_CASE("credential cache: a failed or throttled renewal after a 401 is an error, not v1",
          "[auth][cache][401]")
{
    net::io_context ioc;
    auto provider = std::make_unique<counting_provider>();
    auto* p = provider.get();
    auto opts = test_options();
    opts.max_forced_renewals = 2;
    credential_cache cache(ioc.get_executor(), std::move(provider), opts);
    cache.start();
    auto v1 = run(ioc, cache.get());
    REQUIRE(v1);

    SECTION("the renewal fails")
    {
        p->fail = true;
        auto r = run(ioc, cache.renew_after_rejection(*v1, 2s));
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("source down") != std::string::npos);
        CHECK(p->calls == 2);
        // The old snapshot stays in use for ordinary requests.
        CHECK(cache.current() == *v1);
    }
    SECTION("the source keeps answering slower than the bound")
    {
        credential_cache slow(ioc.get_executor(), std::make_unique<counting_provider>(1s),
                              test_options());
        slow.start();
        auto s1 = run(ioc, slow.get());
        REQUIRE(s1);
        auto t0 = std::chrono::steady_clock::now();
        auto r = run(ioc, slow.renew_after_rejection(*s1, 200ms));
        CHECK_FALSE(r);
        CHECK(std::chrono::steady_clock::now() - t0 < 900ms);
        slow.stop();
    }
    SECTION("OCI keeps refusing: renewals stop at max_forced_renewals per window")
    {
        auto v2 = run(ioc, cache.renew_after_rejection(*v1, 2s));
        REQUIRE(v2);
        auto v3 = run(ioc, cache.renew_after_rejection(*v2, 2s));
        REQUIRE(v3);
        CHECK((*v3)->key_id() == "v3");
        auto r = run(ioc, cache.renew_after_rejection(*v3, 2s));
        REQUIRE_FALSE(r);
        CHECK(p->calls == 3);
        CHECK(cache.current() == *v3);
    }
    cache.stop();
}

TEST_CASE("credential cache: renew_after_rejection on a stopped cache fails fast",
          "[auth][cache][401]")
{
    net::io_context ioc;
    credential_cache cache(ioc.get_executor(), std::make_unique<counting_provider>(),
                           test_options());
    cache.start();
    auto v1 = run(ioc, cache.get());
    REQUIRE(v1);
    cache.stop();
    auto r = run(ioc, cache.renew_after_rejection(*v1, 2s));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::stopped);
}
