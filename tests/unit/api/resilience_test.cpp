// resilience: the in-flight cap and the retry rules (401 once, 429/503 within the budget and
// the Retry-After bound, never after bytes went out), on a fake clock (issue 11).

#include "ogp/api/resilience.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include "unit/api/fake_clock.hpp"

using namespace ogp::api;
using ogp_test::fake_clock;
using namespace std::chrono_literals;
using action = resilience::action;

namespace {

resilience_options options(std::size_t max_inflight = 64)
{
    resilience_options o;
    o.max_inflight = max_inflight;
    return o;
}

// Makes `attempts` attempts, each kept in `held` (so nothing is released before the count);
// returns how many `granted` says were let through.
template <class Held, class Attempt, class Granted>
int count_granted(int attempts, std::vector<Held>& held, Attempt attempt, Granted granted)
{
    int n = 0;
    for (int i = 0; i < attempts; ++i) {
        held.push_back(attempt());
        n += granted(held.back()) ? 1 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("resilience: parse_retry_after takes delta-seconds only", "[api][resilience]")
{
    CHECK(parse_retry_after("0") == 0s);
    CHECK(parse_retry_after("3") == 3s);
    CHECK(parse_retry_after("120") == 120s);
    CHECK(parse_retry_after("") == std::nullopt);
    CHECK(parse_retry_after("-1") == std::nullopt);
    CHECK(parse_retry_after("1.5") == std::nullopt);
    CHECK(parse_retry_after(" 1") == std::nullopt);
    CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == std::nullopt);
}

TEST_CASE("resilience: the in-flight cap refuses beyond max_inflight, slots come back",
          "[api][resilience][inflight]")
{
    fake_clock clock;
    resilience r(options(2), clock.fn());
    auto a = r.acquire();
    auto b = r.acquire();
    CHECK(a);
    CHECK(b);
    CHECK(r.in_flight() == 2);
    auto c = r.acquire();
    CHECK_FALSE(c);
    CHECK(r.in_flight() == 2);  // a refusal takes nothing
    CHECK(r.options().overload_retry_after == "1");

    // A moved slot is still one slot; released once.
    auto moved = std::move(a);
    CHECK(r.in_flight() == 2);
    moved.release();
    moved.release();
    CHECK(r.in_flight() == 1);
    {
        auto d = r.acquire();
        CHECK(d);
        CHECK_FALSE(r.acquire());
    }
    CHECK(r.in_flight() == 1);
    b = resilience::token{};
    CHECK(r.in_flight() == 0);

    // Many at once: exactly max_inflight granted.
    resilience big(options(10), clock.fn());
    std::vector<resilience::token> held;
    CHECK(count_granted(
              25, held, [&] { return big.acquire(); },
              [](const resilience::token& t) { return static_cast<bool>(t); }) == 10);
    held.clear();
    CHECK(big.in_flight() == 0);
}

TEST_CASE("resilience: a 401 renews the credentials and retries once", "[api][resilience][401]")
{
    fake_clock clock;
    resilience r(options(), clock.fn());
    auto a = r.begin(600s);
    auto d = r.on_status(a, 401, "");
    CHECK(d.what == action::renew_credentials);
    CHECK(d.delay == 0ms);
    CHECK(r.retries() == 1);
    // The renewed credentials are refused too: that answer goes to the client.
    CHECK(r.on_status(a, 401, "").what == action::answer);
    CHECK(r.retries() == 1);
    // Another exchange has its own retry.
    auto b = r.begin(600s);
    CHECK(r.on_status(b, 401, "").what == action::renew_credentials);
}

TEST_CASE("resilience: 429/503 retry within max_retries, honouring Retry-After up to the bound",
          "[api][resilience][retry]")
{
    fake_clock clock;
    resilience r(options(), clock.fn());
    for (unsigned status : {429u, 503u}) {
        INFO(status);
        auto a = r.begin(600s);
        auto d1 = r.on_status(a, status, "2");
        CHECK(d1.what == action::wait_and_retry);
        CHECK(d1.delay == 2s);
        CHECK(r.retrying() == 1);  // the ticket counts while the caller sleeps
        d1.ticket.release();
        CHECK(r.retrying() == 0);
        // No Retry-After (or an unusable one): one second.
        auto d2 = r.on_status(a, status, "soon");
        CHECK(d2.what == action::wait_and_retry);
        CHECK(d2.delay == 1s);
        // Budget of two retries spent.
        CHECK(r.on_status(a, status, "").what == action::answer);
    }
    CHECK(r.retries() == 4);

    // Longer than max_retry_after (5 s): the client gets the 429 and its Retry-After.
    auto a = r.begin(600s);
    CHECK(r.on_status(a, 429, "6").what == action::answer);
    CHECK(r.on_status(a, 429, "5").what == action::wait_and_retry);
    CHECK(r.on_status(a, 503, "0").delay == 0s);

    // Other statuses are answers.
    for (unsigned status : {200u, 400u, 404u, 500u, 502u, 504u}) {
        auto b = r.begin(600s);
        CHECK(r.on_status(b, status, "1").what == action::answer);
    }
}

TEST_CASE("resilience: a retry must end before the exchange's deadline (injected clock)",
          "[api][resilience][retry]")
{
    fake_clock clock;
    resilience r(options(), clock.fn());
    auto a = r.begin(10s);
    clock.t += 7s;
    CHECK(r.on_status(a, 503, "2").what == action::wait_and_retry);
    clock.t += 2s;  // 1 s left: a 1 s wait would end exactly at the deadline
    CHECK(r.on_status(a, 503, "1").what == action::answer);
    CHECK(r.retries() == 1);
}

TEST_CASE("resilience: the retry budget caps concurrent retry sleeps and grows with load",
          "[api][resilience][budget]")
{
    fake_clock clock;
    resilience r(options(), clock.fn());
    std::vector<resilience::decision> sleeping;
    for (int i = 0; i < 3; ++i) {
        auto a = r.begin(600s);
        sleeping.push_back(r.on_status(a, 429, "1"));
        CHECK(sleeping.back().what == action::wait_and_retry);
    }
    // Low load: three at once, the fourth answers the 429.
    auto a = r.begin(600s);
    CHECK(r.on_status(a, 429, "1").what == action::answer);
    CHECK(a.retries == 0);
    CHECK(r.retrying() == 3);
    // One wakes up: room again.
    sleeping.front().ticket.release();
    CHECK(r.on_status(a, 429, "1").what == action::wait_and_retry);

    // Under load (25 in flight) the budget is a fifth of it.
    resilience loaded(options(), clock.fn());
    std::vector<resilience::token> slots;
    for (int i = 0; i < 25; ++i) {
        slots.push_back(loaded.acquire());
    }
    std::vector<resilience::decision> held;
    auto retry_503 = [&] {
        auto b = loaded.begin(600s);
        return loaded.on_status(b, 503, "1");
    };
    auto waits = [](const resilience::decision& d) { return d.what == action::wait_and_retry; };
    CHECK(count_granted(10, held, retry_503, waits) == 5);
    held.clear();
    CHECK(loaded.retrying() == 0);
}

TEST_CASE("resilience: never retry once bytes went to the client", "[api][resilience]")
{
    fake_clock clock;
    resilience r(options(), clock.fn());
    auto a = r.begin(600s);
    CHECK(r.on_status(a, 401, "", true).what == action::answer);
    CHECK(r.on_status(a, 429, "1", true).what == action::answer);
    CHECK(r.on_status(a, 503, "1", true).what == action::answer);
    CHECK(r.retries() == 0);
    CHECK(r.retrying() == 0);
}
