// circuit_breaker: the per-host state machine (closed -> open after N consecutive failures,
// half_open after the cooldown with one probe at a time, probe success closes, probe failure
// re-opens, 429 neutral) and the registry shared by generations, on a fake clock (issue 16).

#include "ogp/api/circuit_breaker.hpp"

#include <catch2/catch.hpp>

#include <chrono>

#include "unit/api/fake_clock.hpp"

using namespace ogp::api;
using ogp_test::fake_clock;
using namespace std::chrono_literals;
using permit = circuit_breaker::permit;

namespace {

ogp::circuit_breaker_config thresholds(unsigned failures = 3,
                                       std::chrono::milliseconds cooldown = 10s)
{
    ogp::circuit_breaker_config c;
    c.failures = failures;
    c.cooldown = cooldown;
    return c;
}

}  // namespace

TEST_CASE("circuit_breaker opens after the configured consecutive failures", "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    const auto c = thresholds(3);
    for (int i = 0; i < 2; ++i) {
        REQUIRE(b.allow(clock.t, c) == permit::granted);
        b.on_failure(clock.t, false, c);
        CHECK(b.state(clock.t, c) == circuit_state::closed);
    }
    REQUIRE(b.allow(clock.t, c) == permit::granted);
    b.on_failure(clock.t, false, c);
    CHECK(b.state(clock.t, c) == circuit_state::open);
    CHECK(b.opened() == 1);
    CHECK(b.allow(clock.t, c) == permit::refused);
    CHECK_FALSE(b.would_allow(clock.t, c));
    CHECK(b.retry_in(clock.t, c) == 10s);
    clock.t += 4s;
    CHECK(b.allow(clock.t, c) == permit::refused);
    CHECK(b.retry_in(clock.t, c) == 6s);
}

TEST_CASE("circuit_breaker counts only consecutive failures: a success resets them", "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    const auto c = thresholds(3);
    b.on_failure(clock.t, false, c);
    b.on_failure(clock.t, false, c);
    b.on_success();
    CHECK(b.failures() == 0);
    b.on_failure(clock.t, false, c);
    b.on_failure(clock.t, false, c);
    CHECK(b.state(clock.t, c) == circuit_state::closed);
    // 429 neither trips nor resets.
    b.on_neutral(false);
    CHECK(b.failures() == 2);
    b.on_failure(clock.t, false, c);
    CHECK(b.state(clock.t, c) == circuit_state::open);
}

TEST_CASE("circuit_breaker admits exactly one probe after the cooldown and closes on its success",
          "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    const auto c = thresholds(1, 10s);
    b.on_failure(clock.t, false, c);
    REQUIRE(b.state(clock.t, c) == circuit_state::open);
    clock.t += 10s;
    CHECK(b.state(clock.t, c) == circuit_state::half_open);
    CHECK(b.retry_in(clock.t, c) == 0ms);
    CHECK(b.would_allow(clock.t, c));
    REQUIRE(b.allow(clock.t, c) == permit::probe);
    // The probe is out: everybody else skips the host.
    CHECK(b.allow(clock.t, c) == permit::refused);
    CHECK(b.allow(clock.t + 1s, c) == permit::refused);
    CHECK_FALSE(b.would_allow(clock.t, c));
    // A request let through before it opened does not decide.
    b.on_success(false);
    CHECK(b.state(clock.t, c) == circuit_state::half_open);
    b.on_success(true);
    CHECK(b.state(clock.t, c) == circuit_state::closed);
    CHECK(b.allow(clock.t, c) == permit::granted);
    CHECK(b.allow(clock.t, c) == permit::granted);
    CHECK(b.opened() == 1);
}

TEST_CASE("circuit_breaker re-opens with a new cooldown when the probe fails", "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    const auto c = thresholds(2, 10s);
    b.on_failure(clock.t, false, c);
    b.on_failure(clock.t, false, c);
    clock.t += 15s;
    REQUIRE(b.allow(clock.t, c) == permit::probe);
    clock.t += 1s;
    b.on_failure(clock.t, true, c);
    CHECK(b.state(clock.t, c) == circuit_state::open);
    CHECK(b.opened() == 2);
    CHECK(b.retry_in(clock.t, c) == 10s);
    clock.t += 9s;
    CHECK(b.allow(clock.t, c) == permit::refused);
    clock.t += 1s;
    CHECK(b.allow(clock.t, c) == permit::probe);
}

TEST_CASE("circuit_breaker frees the probe slot on a neutral 429 probe", "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    const auto c = thresholds(1, 5s);
    b.on_failure(clock.t, false, c);
    clock.t += 5s;
    REQUIRE(b.allow(clock.t, c) == permit::probe);
    b.on_neutral(true);
    CHECK(b.state(clock.t, c) == circuit_state::half_open);
    // The next request is the new probe, and only it.
    CHECK(b.allow(clock.t, c) == permit::probe);
    CHECK(b.allow(clock.t, c) == permit::refused);
}

TEST_CASE("circuit_breaker gives up a probe unreported for a whole cooldown", "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    const auto c = thresholds(1, 5s);
    b.on_failure(clock.t, false, c);
    clock.t += 5s;
    REQUIRE(b.allow(clock.t, c) == permit::probe);
    clock.t += 4s;
    CHECK(b.allow(clock.t, c) == permit::refused);
    clock.t += 1s;
    CHECK(b.allow(clock.t, c) == permit::probe);
}

TEST_CASE("circuit_breaker takes the thresholds of each call (a reload applies)", "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    b.on_failure(clock.t, false, thresholds(5));
    b.on_failure(clock.t, false, thresholds(5));
    CHECK(b.state(clock.t, thresholds(5)) == circuit_state::closed);
    // Lowered to 3: the third consecutive failure opens it.
    b.on_failure(clock.t, false, thresholds(3, 60s));
    CHECK(b.state(clock.t, thresholds(3, 60s)) == circuit_state::open);
    clock.t += 20s;
    CHECK(b.allow(clock.t, thresholds(3, 60s)) == permit::refused);
    // A shorter cooldown applies to the circuit already open.
    CHECK(b.allow(clock.t, thresholds(3, 20s)) == permit::probe);
}

TEST_CASE("circuit_breaker with failures 0 is disabled", "[circuit]")
{
    fake_clock clock;
    circuit_breaker b;
    const auto off = thresholds(0);
    for (int i = 0; i < 10; ++i) {
        CHECK(b.allow(clock.t, off) == permit::granted);
        b.on_failure(clock.t, false, off);
    }
    CHECK(b.state(clock.t, off) == circuit_state::closed);
    CHECK(b.opened() == 0);
    // Opened under another setting, then disabled by a reload: everything goes again.
    b.on_failure(clock.t, false, thresholds(1));
    CHECK(b.allow(clock.t, thresholds(1)) == permit::refused);
    CHECK(b.allow(clock.t, off) == permit::granted);
    CHECK(b.state(clock.t, off) == circuit_state::closed);
}

TEST_CASE("circuit_state names", "[circuit]")
{
    CHECK(to_string(circuit_state::closed) == "closed");
    CHECK(to_string(circuit_state::half_open) == "half_open");
    CHECK(to_string(circuit_state::open) == "open");
    CHECK(outcome_of_status(200) == circuit_outcome::success);
    CHECK(outcome_of_status(400) == circuit_outcome::success);
    CHECK(outcome_of_status(401) == circuit_outcome::success);
    CHECK(outcome_of_status(429) == circuit_outcome::neutral);
    for (unsigned s : {500u, 502u, 503u, 504u}) {
        CHECK(outcome_of_status(s) == circuit_outcome::failure);
    }
    CHECK(outcome_of_status(501) == circuit_outcome::success);
}

TEST_CASE("circuit_breakers keep a breaker per host and report their status", "[circuit]")
{
    fake_clock clock;
    circuit_breakers reg(clock.fn(), 2);
    const auto c = thresholds(2, 10s);
    // Successes of an unknown host make no entry.
    CHECK(reg.allow("a:443", c) == permit::granted);
    reg.record("a:443", circuit_outcome::success, permit::granted, c);
    CHECK(reg.size() == 0);
    reg.record("a:443", circuit_outcome::failure, permit::granted, c);
    reg.record("a:443", circuit_outcome::failure, permit::granted, c);
    CHECK(reg.allow("a:443", c) == permit::refused);
    CHECK_FALSE(reg.would_allow("a:443", c));
    CHECK(reg.allow("b:443", c) == permit::granted);
    auto s = reg.status("a:443", c);
    CHECK(s.host == "a:443");
    CHECK(s.state == circuit_state::open);
    CHECK(s.retry_in == 10s);
    CHECK(s.opened == 1);
    CHECK(reg.status("b:443", c).state == circuit_state::closed);
    clock.t += 10s;
    REQUIRE(reg.allow("a:443", c) == permit::probe);
    CHECK(reg.allow("a:443", c) == permit::refused);
    reg.record("a:443", circuit_outcome::success, permit::probe, c);
    CHECK(reg.allow("a:443", c) == permit::granted);
    // Bounded: a third host gets no breaker (always allowed).
    reg.record("b:443", circuit_outcome::failure, permit::granted, c);
    for (int i = 0; i < 3; ++i) {
        reg.record("c:443", circuit_outcome::failure, permit::granted, c);
    }
    CHECK(reg.size() == 2);
    CHECK(reg.allow("c:443", c) == permit::granted);
}
