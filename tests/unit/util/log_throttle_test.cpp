// Unit tests for the rate limit of repeated warnings (log_throttle).
#include <catch2/catch.hpp>

#include <chrono>

#include "ogp/util/log.hpp"

using namespace std::chrono_literals;

TEST_CASE("log_throttle lets one line a second through and counts the rest", "[log]")
{
    ogp::log_throttle t(1s);
    const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
    auto first = t.admit(t0);
    REQUIRE(first);
    CHECK(*first == 0);
    // A flood within the second: all held back.
    for (int i = 1; i <= 1000; ++i) {
        CHECK_FALSE(t.admit(t0 + std::chrono::microseconds(i * 900)));
    }
    CHECK_FALSE(t.admit(t0 + 999ms));
    // The next line after the second reports what was held back, then the count restarts.
    auto second = t.admit(t0 + 1s);
    REQUIRE(second);
    CHECK(*second == 1001);
    CHECK_FALSE(t.admit(t0 + 1500ms));
    auto third = t.admit(t0 + 5s);
    REQUIRE(third);
    CHECK(*third == 1);
    auto fourth = t.admit(t0 + 7s);
    REQUIRE(fourth);
    CHECK(*fourth == 0);
}
