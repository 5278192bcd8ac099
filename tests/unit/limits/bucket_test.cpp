// token_bucket: exact integer refill with an injected time, burst, debt and the waits that
// feed Retry-After and x-ratelimit-reset-*.
#include <catch2/catch.hpp>

#include <chrono>

#include "ogp/limits/bucket.hpp"

using ogp::limits::token_bucket;
using std::chrono::milliseconds;

namespace {
const token_bucket::time_point t0{std::chrono::hours(1)};
}

TEST_CASE("a bucket starts full and allows a burst of its capacity", "[limits][bucket]")
{
    token_bucket b(5, t0);
    CHECK(b.available(t0) == 5);
    for (int i = 0; i < 5; ++i) {
        REQUIRE(b.take(1, t0));
    }
    CHECK_FALSE(b.take(1, t0));
    CHECK(b.available(t0) == 0);
}

TEST_CASE("rpm 60 refills exactly one token per second", "[limits][bucket]")
{
    token_bucket b(60, t0);
    REQUIRE(b.take(60, t0));
    CHECK_FALSE(b.take(1, t0 + milliseconds(500)));
    CHECK_FALSE(b.take(1, t0 + milliseconds(999)));
    CHECK(b.until(1, t0 + milliseconds(999)) == milliseconds(1));
    CHECK(b.take(1, t0 + milliseconds(1000)));
    CHECK_FALSE(b.take(1, t0 + milliseconds(1000)));
    CHECK(b.until(1, t0 + milliseconds(1000)) == milliseconds(1000));
    CHECK(b.available(t0 + milliseconds(3500)) == 2);
    CHECK(b.until_full(t0 + milliseconds(3500)) == milliseconds(57500));
}

TEST_CASE("refill never exceeds the capacity and no partial millisecond is lost",
          "[limits][bucket]")
{
    token_bucket b(60, t0);
    REQUIRE(b.take(1, t0));
    CHECK(b.available(t0 + std::chrono::hours(5)) == 60);
    CHECK(b.until_full(t0 + std::chrono::hours(5)) == milliseconds(0));
    // Sub-millisecond steps add up.
    token_bucket c(60, t0);
    REQUIRE(c.take(60, t0));
    auto t = t0;
    for (int i = 0; i < 4000; ++i) {
        t += std::chrono::microseconds(250);
        (void)c.available(t);
    }
    CHECK(c.available(t) == 1);
}

TEST_CASE("a charged bucket goes into debt and refuses until above zero", "[limits][bucket]")
{
    token_bucket b(600, t0);  // 10 tokens per second
    b.charge(650, t0);
    CHECK(b.available(t0) == -50);
    CHECK_FALSE(b.positive(t0));
    // 50 tokens of debt at 10/s: 5 s to zero, then 1/60000 of a token more (< 1 ms).
    CHECK(b.until_positive(t0) == milliseconds(5001));
    CHECK_FALSE(b.positive(t0 + milliseconds(5000)));
    CHECK(b.positive(t0 + milliseconds(5001)));
    CHECK(b.until_full(t0 + milliseconds(5001)) == milliseconds(59999));
}

TEST_CASE("a rate change keeps the level clamped to the new capacity", "[limits][bucket]")
{
    token_bucket b(100, t0);
    REQUIRE(b.take(10, t0));
    b.set_rate(20, t0);
    CHECK(b.available(t0) == 20);
    b.set_rate(1000, t0);
    CHECK(b.available(t0) == 20);
    CHECK(b.per_minute() == 1000);
}

TEST_CASE("huge charges and times do not overflow", "[limits][bucket]")
{
    token_bucket b(token_bucket::max_tokens * 10, t0);
    CHECK(b.per_minute() == token_bucket::max_tokens);
    b.charge(~0ULL, t0);
    b.charge(~0ULL, t0);
    CHECK(b.available(t0) < 0);
    CHECK(b.available(t0 + std::chrono::hours(24 * 365 * 100)) ==
          static_cast<std::int64_t>(token_bucket::max_tokens));
    token_bucket z(0, t0);
    CHECK_FALSE(z.take(1, t0));
    CHECK(z.until(1, t0) > std::chrono::hours(1));
}
