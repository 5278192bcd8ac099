// `oci.auth: genai_api_key`: bearer-only snapshots, the fixed-key provider and its behaviour in
// the credential cache (ready at once, no renewal loop, nothing newer after a 401), and that
// the key never reaches a log line or an error message.

#include "ogp/auth/credential_cache.hpp"
#include "support/log_capture.hpp"
#include "unit/auth/test_util.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <optional>
#include <string>

using namespace ogp::auth;
using namespace ogp::auth::test;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view secret = "gk-unit-secret-0123456789abcdef";

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

ogp::config genai_config(std::string region)
{
    ogp::config cfg;
    cfg.oci.auth = ogp::auth_mode::genai_api_key;
    cfg.oci.genai_api_key = std::string(secret);
    cfg.oci.region = std::move(region);
    return cfg;
}

}  // namespace

TEST_CASE("bearer snapshots need no key and refuse to sign", "[auth][genai_key]")
{
    auto s = credential_snapshot::create({.region = "us-chicago-1", .bearer = std::string(secret)});
    REQUIRE(s);
    CHECK((*s)->bearer() == secret);
    CHECK((*s)->key() == nullptr);
    CHECK((*s)->region() == "us-chicago-1");
    CHECK((*s)->expiry() == std::chrono::system_clock::time_point::max());
    CHECK((*s)->valid_at(std::chrono::system_clock::now() + std::chrono::hours(24 * 365)));
    CHECK((*s)->authorization_prefix(true).empty());

    // Signing is an error, never a crash, for every method shape.
    const std::string date = format_http_date(std::chrono::system_clock::now());
    for (std::string_view method : {"GET", "POST", "delete"}) {
        auto h = sign_request(**s, {.method = method,
                                    .host = "inference.example",
                                    .target = "/openai/v1/chat/completions",
                                    .body = "{}",
                                    .date = date});
        REQUIRE_FALSE(h);
        CHECK(h.error().code == errc::key);
        CHECK(h.error().message.find(secret) == std::string::npos);
    }
    auto raw = (*s)->sign_base64("data");
    REQUIRE_FALSE(raw);
    CHECK(raw.error().code == errc::key);

    // Without a bearer a key is still required; a bearer that could split a header is refused
    // without being echoed.
    auto none = credential_snapshot::create({});
    REQUIRE_FALSE(none);
    CHECK(none.error().message == "no private key");
    for (const std::string& bad : {std::string(secret) + "\r\nx-injected: 1",
                                   std::string(secret) + " two", std::string(5000, 'k')}) {
        auto b = credential_snapshot::create({.bearer = bad});
        REQUIRE_FALSE(b);
        CHECK(b.error().message.find(secret) == std::string::npos);
        CHECK(b.error().message.find("kkkk") == std::string::npos);
    }
    // With both, the key still signs (the bearer decides what is sent).
    auto both = credential_snapshot::create(
        {.key_id = "t/u/f", .key = shared_test_key(), .bearer = std::string(secret)});
    REQUIRE(both);
    CHECK(sign_request(**both, {.method = "GET", .host = "h", .target = "/", .date = date}));
}

TEST_CASE("genai_api_key provider: one fixed snapshot with the key and the region",
          "[auth][genai_key][factory]")
{
    auto p = make_provider(genai_config("ord"), map_env({}));
    CHECK(p->name() == "genai_api_key");
    CHECK(p->fixed());
    CHECK_FALSE(p->recheck_interval());
    auto a = run_fetch(*p);
    auto b = run_fetch(*p);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == *b);  // the same snapshot: nothing newer to renew to
    CHECK((*a)->bearer() == secret);
    CHECK((*a)->region() == "us-chicago-1");  // short code resolved
    CHECK((*a)->key() == nullptr);
    CHECK((*a)->expiry() == std::chrono::system_clock::time_point::max());

    // Only oci.endpoint set: no region.
    auto e = run_fetch(*make_provider(genai_config(""), map_env({})));
    REQUIRE(e);
    CHECK((*e)->region().empty());
    // No key (a config built without load_config): a clear error, not a crash.
    auto cfg = genai_config("us-ashburn-1");
    cfg.oci.genai_api_key.clear();
    auto n = run_fetch(*make_provider(cfg, map_env({})));
    REQUIRE_FALSE(n);
    CHECK(n.error().code == errc::config);
}

TEST_CASE("genai_api_key in the credential cache: ready at once, no renewals, nothing newer",
          "[auth][genai_key][cache]")
{
    net::io_context ioc;
    cache_options opts;
    opts.min_interval = 1ms;  // a renewal loop would show within the wait below
    opts.force_refresh_min_age = 1ms;
    auto cache =
        make_credential_cache(genai_config("us-chicago-1"), ioc.get_executor(), map_env({}), opts);
    CHECK(cache->provider_name() == "genai_api_key");
    cache->start();
    REQUIRE(run_until(
        ioc, [&] { return cache->current() != nullptr; }, 2s));
    CHECK(cache->status() == std::nullopt);
    CHECK(cache->region() == "us-chicago-1");
    auto snap = cache->current();
    CHECK(snap->bearer() == secret);
    auto got = run(ioc, cache->get());
    REQUIRE(got);
    CHECK(*got == snap);

    // An infinite expiry plans no renewal: the loop sleeps.
    const auto renewals = cache->renewals();
    CHECK(renewals == 1);
    ioc.restart();
    ioc.run_for(300ms);
    CHECK(cache->renewals() == renewals);
    // force_refresh() has nothing to fetch.
    cache->force_refresh();
    ioc.restart();
    ioc.run_for(100ms);
    CHECK(cache->renewals() == renewals);

    // After a 401 there is nothing newer: an error at once, every time, without a fetch.
    for (int i = 0; i < 5; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = run(ioc, cache->renew_after_rejection(snap, 10s));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::not_ready);
        CHECK_THAT(r.error().message, Catch::Contains("no newer"));
        CHECK(r.error().message.find(secret) == std::string::npos);
        CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    }
    CHECK(cache->renewals() == renewals);
    CHECK(cache->current() == snap);
    cache->stop();
    ioc.restart();
    ioc.run_for(50ms);
}

TEST_CASE("genai_api_key: debug logs and errors never contain the key", "[auth][genai_key][logs]")
{
    ogp::test::log_capture logs;
    {
        net::io_context ioc;
        auto cache = make_credential_cache(genai_config("ord"), ioc.get_executor(), map_env({}));
        cache->start();
        REQUIRE(run_until(
            ioc, [&] { return cache->current() != nullptr; }, 2s));
        auto snap = cache->current();
        cache->force_refresh();
        auto r = run(ioc, cache->renew_after_rejection(snap, 1s));
        REQUIRE_FALSE(r);
        auto h = sign_request(
            *snap, {.method = "POST", .host = "h", .target = "/", .body = "{}", .date = "d"});
        REQUIRE_FALSE(h);
        spdlog::debug("probe: {} / {}", r.error().message, h.error().message);
        cache->stop();
        ioc.restart();
        ioc.run_for(50ms);
    }
    const std::string text = logs.text();
    CHECK_THAT(text, Catch::Contains("genai_api_key credentials loaded"));  // logging happened
    CHECK_THAT(text, Catch::Contains("probe: "));
    CHECK(text.find(secret) == std::string::npos);
    CHECK(text.find(secret.substr(0, 12)) == std::string::npos);
    CHECK(text.find("Bearer " + std::string(secret.substr(0, 4))) == std::string::npos);
}
