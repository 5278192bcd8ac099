// limiter over the memory store with an injected clock: 429s and their wording, Retry-After,
// the x-ratelimit-* headers, slots freed by leases, fail open / fail closed with a shared
// store that does not answer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ogp/limits/limiter.hpp"
#include "support/log_capture.hpp"

namespace net = boost::asio;
using ogp::limits::key_limits;
using ogp::limits::limiter;
using ogp::limits::verdict;
using std::chrono::milliseconds;

namespace {

struct test_clock
{
    std::chrono::steady_clock::time_point t{std::chrono::hours(1)};
    ogp::limits::clock_fn fn()
    {
        return [this] { return t; };
    }
};

// Runs one admission to completion (the stores here never suspend for long).
limiter::admission admit(limiter& l, const key_limits& k, bool stream = false)
{
    net::io_context ioc;
    std::optional<limiter::admission> out;
    net::co_spawn(ioc, l.admit(k, stream), [&](std::exception_ptr e, limiter::admission a) {
        REQUIRE_FALSE(e);
        out.emplace(std::move(a));
    });
    ioc.run_for(std::chrono::seconds(10));
    REQUIRE(out);
    return std::move(*out);
}

std::string header(const limiter::admission& a, std::string_view name)
{
    for (const auto& [k, v] : a.headers) {
        if (k == name) {
            return v;
        }
    }
    return "<absent>";
}

key_limits limits_of(std::string name)
{
    key_limits k;
    k.name = std::move(name);
    return k;
}

// A shared store that never answers (Redis down) and counts what reaches it.
struct dead_store final : ogp::limits::store
{
    int* releases;
    explicit dead_store(int* r) : releases(r) {}
    net::awaitable<std::optional<ogp::limits::admit_answer>> admit(
        const ogp::limits::admit_request&) override
    {
        co_return std::nullopt;
    }
    void release(const key_limits&, std::string_view, bool, std::uint64_t) override { ++*releases; }
    std::string describe() const override { return "redis://store.test:6379/0"; }
};

// A shared store that admits everything and records the released lease ids.
struct open_store final : ogp::limits::store
{
    std::vector<std::string>* ids;
    explicit open_store(std::vector<std::string>* i) : ids(i) {}
    net::awaitable<std::optional<ogp::limits::admit_answer>> admit(
        const ogp::limits::admit_request& r) override
    {
        ids->emplace_back("admit:" + std::string(r.lease_id));
        co_return ogp::limits::admit_answer{};
    }
    void release(const key_limits&, std::string_view id, bool, std::uint64_t) override
    {
        ids->emplace_back("release:" + std::string(id));
    }
    std::string describe() const override { return "fake"; }
    void shutdown() override { ids->emplace_back("shutdown"); }
    ~open_store() override { ids->emplace_back("destroyed"); }
};

}  // namespace

TEST_CASE("rpm refuses the request over the burst with a 429 and exact headers",
          "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("team-a");
    k.rpm = 2;
    auto a1 = admit(*l, k);
    REQUIRE_FALSE(a1.refused);
    CHECK(a1.hold);
    CHECK(header(a1, "x-ratelimit-limit-requests") == "2");
    CHECK(header(a1, "x-ratelimit-remaining-requests") == "1");
    CHECK(header(a1, "x-ratelimit-reset-requests") == "30s");
    CHECK(header(a1, "x-ratelimit-limit-tokens") == "<absent>");
    auto a2 = admit(*l, k);
    REQUIRE_FALSE(a2.refused);
    CHECK(header(a2, "x-ratelimit-remaining-requests") == "0");
    CHECK(header(a2, "x-ratelimit-reset-requests") == "1m0s");
    clk.t += milliseconds(100);
    auto a3 = admit(*l, k);
    REQUIRE(a3.refused);
    CHECK_FALSE(a3.hold);
    CHECK(a3.what == verdict::over_requests);
    CHECK(a3.refused->status == 429);
    CHECK(a3.refused->code == "rate_limit_exceeded");
    // OpenAI's own rate limits name the limit in `type`.
    CHECK(a3.refused->body().find(R"("type":"requests")") != std::string::npos);
    CHECK(a3.refused->retry_after == "30");  // 29.9 s rounded up
    CHECK(a3.refused->message ==
          "Rate limit reached for key 'team-a' on requests per minute (rpm): limit 2. Please try "
          "again in 30s.");
    CHECK(header(a3, "x-ratelimit-remaining-requests") == "0");
    CHECK(header(a3, "x-ratelimit-reset-requests") == "1m0s");  // 59.9 s rounded up
    clk.t += milliseconds(29900);
    auto a4 = admit(*l, k);
    CHECK_FALSE(a4.refused);
}

TEST_CASE("rpm 60 admits again after exactly one second", "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("k");
    k.rpm = 60;
    for (int i = 0; i < 60; ++i) {
        REQUIRE_FALSE(admit(*l, k).refused);
    }
    auto r = admit(*l, k);
    REQUIRE(r.refused);
    CHECK(r.refused->retry_after == "1");
    clk.t += milliseconds(500);
    CHECK(admit(*l, k).refused);
    clk.t += milliseconds(500);
    auto ok = admit(*l, k);
    CHECK_FALSE(ok.refused);
    CHECK(header(ok, "x-ratelimit-reset-requests") == "1m0s");
    clk.t += milliseconds(880);
    auto again = admit(*l, k);
    REQUIRE(again.refused);
    CHECK(header(again, "x-ratelimit-reset-requests") == "1m0s");
    CHECK(again.refused->retry_after == "1");  // 120 ms rounded up to a whole second
}

TEST_CASE("tpm charged at release refuses until the debt is refilled", "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("team-t");
    k.tpm = 600;  // 10 tokens per second
    {
        auto a = admit(*l, k);
        REQUIRE_FALSE(a.refused);
        CHECK(header(a, "x-ratelimit-limit-tokens") == "600");
        CHECK(header(a, "x-ratelimit-remaining-tokens") == "600");
        CHECK(header(a, "x-ratelimit-reset-tokens") == "0ms");
        CHECK(header(a, "x-ratelimit-limit-requests") == "<absent>");
        a.hold.add_tokens(400);
        a.hold.add_tokens(250);
    }  // released: 650 charged, 50 in debt
    auto r = admit(*l, k);
    REQUIRE(r.refused);
    CHECK(r.what == verdict::over_tokens);
    CHECK(r.refused->status == 429);
    CHECK(r.refused->retry_after == "6");  // 5.001 s rounded up
    CHECK(r.refused->body().find(R"("type":"tokens")") != std::string::npos);
    CHECK(r.refused->message ==
          "Rate limit reached for key 'team-t' on tokens per minute (tpm): limit 600. Please try "
          "again in 6s.");
    CHECK(header(r, "x-ratelimit-remaining-tokens") == "0");
    CHECK(header(r, "x-ratelimit-reset-tokens") == "1m5s");
    clk.t += milliseconds(5000);
    CHECK(admit(*l, k).refused);
    clk.t += milliseconds(1);
    auto ok = admit(*l, k);
    CHECK_FALSE(ok.refused);
}

TEST_CASE("concurrency slots are freed by lease destruction release and move", "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("team-a");
    k.max_concurrent = 2;
    auto a = admit(*l, k);
    auto b = admit(*l, k);
    REQUIRE_FALSE(a.refused);
    REQUIRE_FALSE(b.refused);
    auto c = admit(*l, k);
    REQUIRE(c.refused);
    CHECK(c.what == verdict::over_concurrency);
    CHECK(c.refused->message == "Too many concurrent requests for key 'team-a': limit 2.");
    CHECK(c.refused->retry_after == "1");
    CHECK(c.headers.empty());

    // Moving a lease does not free its slot; releasing twice frees it once.
    limiter::lease moved = std::move(a.hold);
    CHECK_FALSE(a.hold);
    CHECK(moved);
    CHECK(admit(*l, k).refused);
    moved.release();
    moved.release();
    CHECK_FALSE(moved);
    {
        auto d = admit(*l, k);
        REQUIRE_FALSE(d.refused);
        CHECK(admit(*l, k).refused);
    }  // d destroyed: slot back
    auto e = admit(*l, k);
    REQUIRE_FALSE(e.refused);
    // Move-assigning over a live lease releases the overwritten one.
    e.hold = std::move(b.hold);
    auto f = admit(*l, k);
    CHECK_FALSE(f.refused);
}

TEST_CASE("stream slots count only streams", "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("s");
    k.max_streams = 1;
    auto s1 = admit(*l, k, true);
    REQUIRE_FALSE(s1.refused);
    auto s2 = admit(*l, k, true);
    REQUIRE(s2.refused);
    CHECK(s2.what == verdict::over_streams);
    CHECK(s2.refused->message == "Too many concurrent streams for key 's': limit 1.");
    auto plain = admit(*l, k, false);
    CHECK_FALSE(plain.refused);
    s1.hold.release();
    CHECK_FALSE(admit(*l, k, true).refused);
}

TEST_CASE("refusal order is concurrency then streams then tokens then requests",
          "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("o");
    k.rpm = 1;
    k.tpm = 10;
    k.max_concurrent = 1;
    k.max_streams = 1;
    auto first = admit(*l, k, true);
    REQUIRE_FALSE(first.refused);
    first.hold.add_tokens(100);
    auto c = admit(*l, k, true);
    CHECK(c.what == verdict::over_concurrency);
    CHECK(c.refused->retry_after == "1");
    first.hold.release();
    // rpm empty and tpm in debt: tokens is reported (a request token would not help).
    auto t = admit(*l, k, true);
    CHECK(t.what == verdict::over_tokens);
    CHECK(header(t, "x-ratelimit-remaining-requests") == "0");
    CHECK(header(t, "x-ratelimit-remaining-tokens") == "0");
}

TEST_CASE("two keys have independent buckets", "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto a = limits_of("a");
    a.rpm = 1;
    auto b = limits_of("b");
    b.rpm = 1;
    CHECK_FALSE(admit(*l, a).refused);
    CHECK(admit(*l, a).refused);
    CHECK_FALSE(admit(*l, b).refused);
    CHECK(admit(*l, b).refused);
}

TEST_CASE("a reload that lowers a limit clamps the bucket", "[limits][limiter]")
{
    test_clock clk;
    auto l = std::make_shared<limiter>(nullptr, ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("r");
    k.rpm = 100;
    CHECK_FALSE(admit(*l, k).refused);
    k.rpm = 2;
    auto a = admit(*l, k);
    CHECK_FALSE(a.refused);
    CHECK(header(a, "x-ratelimit-remaining-requests") == "1");
    CHECK_FALSE(admit(*l, k).refused);
    CHECK(admit(*l, k).refused);
}

TEST_CASE("a failing shared store falls back to memory when open", "[limits][limiter]")
{
    test_clock clk;
    int releases = 0;
    auto l = std::make_shared<limiter>(std::make_unique<dead_store>(&releases),
                                       ogp::limits::limiter_options{}, clk.fn());
    CHECK(l->describe() == "redis://store.test:6379/0");
    auto k = limits_of("f");
    k.rpm = 1;
    auto a = admit(*l, k);
    REQUIRE_FALSE(a.refused);
    CHECK(a.hold);
    CHECK(header(a, "x-ratelimit-remaining-requests") == "0");
    auto b = admit(*l, k);  // the memory store's own bucket refuses
    CHECK(b.what == verdict::over_requests);
    a.hold.release();
    CHECK(releases == 0);  // released where it was admitted: memory
    const auto s = l->stats();
    CHECK(s.store_errors == 2);
    CHECK(s.store_fallbacks == 2);
    CHECK(s.store_refusals == 0);
}

TEST_CASE("a failing shared store refuses with 503 when closed", "[limits][limiter]")
{
    test_clock clk;
    int releases = 0;
    ogp::limits::limiter_options o;
    o.fail_open = false;
    auto l = std::make_shared<limiter>(std::make_unique<dead_store>(&releases), o, clk.fn());
    auto k = limits_of("f");
    k.rpm = 100;
    auto a = admit(*l, k);
    REQUIRE(a.refused);
    CHECK_FALSE(a.hold);
    CHECK(a.refused->status == 503);
    CHECK(a.refused->code == "rate_limit_store_unavailable");
    CHECK(a.refused->retry_after == "1");
    CHECK(a.headers.empty());
    const auto s = l->stats();
    CHECK(s.store_errors == 1);
    CHECK(s.store_fallbacks == 0);
    CHECK(s.store_refusals == 1);
}

TEST_CASE("leases carry unique ids and release on the store that admitted", "[limits][limiter]")
{
    std::vector<std::string> ids;
    auto l = std::make_shared<limiter>(std::make_unique<open_store>(&ids),
                                       ogp::limits::limiter_options{});
    auto k = limits_of("u");
    k.max_concurrent = 1;  // the fake admits anyway: the shared store decides
    {
        auto a = admit(*l, k);
        auto b = admit(*l, k);
        REQUIRE_FALSE(a.refused);
        REQUIRE_FALSE(b.refused);
    }
    REQUIRE(ids.size() == 4);
    CHECK(ids[0].rfind("admit:", 0) == 0);
    CHECK(ids[0] != ids[1]);
    CHECK(ids[0].size() > 20);
    // Both released with the ids they were admitted with.
    CHECK(std::count(ids.begin(), ids.end(), "release:" + ids[0].substr(6)) == 1);
    CHECK(std::count(ids.begin(), ids.end(), "release:" + ids[1].substr(6)) == 1);
}

TEST_CASE("a failing store is logged at most once per ten seconds", "[limits][limiter]")
{
    ogp::test::log_capture log(spdlog::level::warn);
    test_clock clk;
    int releases = 0;
    auto l = std::make_shared<limiter>(std::make_unique<dead_store>(&releases),
                                       ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("w");
    k.max_concurrent = 100;
    const auto lines = [&] {
        const std::string t = log.text();
        std::size_t n = 0;
        for (std::size_t p = 0; (p = t.find("did not answer", p)) != std::string::npos; ++p) {
            ++n;
        }
        return n;
    };
    CHECK_FALSE(admit(*l, k).refused);
    CHECK_FALSE(admit(*l, k).refused);
    clk.t += milliseconds(9999);
    CHECK_FALSE(admit(*l, k).refused);
    CHECK(lines() == 1);
    CHECK(log.text().find("redis://store.test:6379/0") != std::string::npos);
    clk.t += milliseconds(1);
    CHECK_FALSE(admit(*l, k).refused);
    CHECK(lines() == 2);
    CHECK(l->stats().store_errors == 4);
}

TEST_CASE("shutdown drops the shared store and its leases release nothing after",
          "[limits][limiter]")
{
    test_clock clk;
    std::vector<std::string> ids;
    auto l = std::make_shared<limiter>(std::make_unique<open_store>(&ids),
                                       ogp::limits::limiter_options{}, clk.fn());
    auto k = limits_of("s");
    k.max_concurrent = 1;
    auto a = admit(*l, k);
    REQUIRE_FALSE(a.refused);
    REQUIRE(ids.size() == 1);
    // The store (Redis: its strand and sockets) goes while the io_context still exists.
    l->shutdown();
    REQUIRE(ids.size() == 3);
    CHECK(ids[1] == "shutdown");
    CHECK(ids[2] == "destroyed");
    a.hold.release();  // must not touch the destroyed store
    CHECK(ids.size() == 3);
    // Admissions go on in-process.
    auto b = admit(*l, k);
    CHECK_FALSE(b.refused);
    CHECK(l->describe() == "memory");
}
