// timed_phase: one deadline and one abort switch over steps that may ignore cancellation.

#include "ogp/upstream/deadline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <optional>

#include "ogp/util/asio.hpp"

using namespace std::chrono_literals;
namespace net = boost::asio;
using boost::system::error_code;
using ogp::upstream::timed_phase;
using steady = std::chrono::steady_clock;

namespace {

struct probe
{
    bool started = false;
    bool finished = false;
};

// A step that does not honour cancellation and takes `d` (a getaddrinfo stuck on a dead DNS
// server: nothing but its own end completes it).
net::awaitable<error_code> stuck_step(std::shared_ptr<probe> p, steady::duration d, error_code r)
{
    p->started = true;
    auto ex = co_await net::this_coro::executor;
    net::steady_timer t(ex, d);
    // The wait is never cancelled by anyone: steps run detached.
    co_await t.async_wait(ogp::use_nothrow);
    p->finished = true;
    co_return r;
}

net::awaitable<void> run_into(timed_phase phase, net::awaitable<error_code> steps,
                              steady::time_point deadline,
                              std::shared_ptr<std::optional<error_code>> out)
{
    auto ec = co_await phase.run(std::move(steps), deadline);
    out->emplace(ec);
}

// Spawns `phase` over `steps` with `deadline` on `ioc`; the outcome lands in the result.
std::shared_ptr<std::optional<error_code>> start_phase(net::io_context& ioc, timed_phase phase,
                                                       net::awaitable<error_code> steps,
                                                       steady::time_point deadline)
{
    auto out = std::make_shared<std::optional<error_code>>();
    net::co_spawn(ioc, run_into(phase, std::move(steps), deadline, out), net::detached);
    return out;
}

// Runs `ioc` until `out` is set (bounded), and returns the elapsed time.
steady::duration wait_for(net::io_context& ioc,
                          const std::shared_ptr<std::optional<error_code>>& out,
                          steady::duration limit = 10s)
{
    const auto start = steady::now();
    while (!out->has_value() && steady::now() - start < limit) {
        ioc.restart();
        ioc.run_for(5ms);
    }
    REQUIRE(out->has_value());
    return steady::now() - start;
}

}  // namespace

TEST_CASE("timed_phase ends at the deadline although the step never answers",
          "[upstream][deadline]")
{
    net::io_context ioc;
    auto p = std::make_shared<probe>();
    timed_phase phase;
    auto out = start_phase(ioc, phase, stuck_step(p, 1h, {}), steady::now() + 200ms);
    auto took = wait_for(ioc, out);
    CHECK(**out == boost::beast::error::timeout);
    CHECK(p->started);
    CHECK_FALSE(p->finished);
    CHECK(took >= 190ms);
    CHECK(took < 2s);
}

TEST_CASE("timed_phase ends at once on abort", "[upstream][deadline]")
{
    net::io_context ioc;
    auto p = std::make_shared<probe>();
    timed_phase phase;
    auto out = start_phase(ioc, phase, stuck_step(p, 1h, {}), steady::now() + 1h);
    // The abort comes from elsewhere on the same executor (a client disconnect).
    net::steady_timer later(ioc, 100ms);
    later.async_wait([phase](error_code) mutable { phase.abort(); });
    auto took = wait_for(ioc, out);
    CHECK(**out == net::error::operation_aborted);
    CHECK(phase.aborted());
    CHECK_FALSE(p->finished);
    CHECK(took < 2s);

    // Aborted for good: a later run does not even start its steps.
    auto p2 = std::make_shared<probe>();
    auto out2 = start_phase(ioc, phase, stuck_step(p2, 1ms, {}), steady::now() + 1h);
    wait_for(ioc, out2);
    CHECK(**out2 == net::error::operation_aborted);
    ioc.restart();
    ioc.run_for(20ms);
    CHECK_FALSE(p2->started);
}

TEST_CASE("timed_phase returns the steps' own result when they finish first",
          "[upstream][deadline]")
{
    net::io_context ioc;
    SECTION("success")
    {
        auto p = std::make_shared<probe>();
        auto out = start_phase(ioc, timed_phase{}, stuck_step(p, 20ms, {}), steady::now() + 5s);
        auto took = wait_for(ioc, out);
        CHECK_FALSE(**out);
        CHECK(p->finished);
        CHECK(took < 2s);
    }
    SECTION("their error")
    {
        auto p = std::make_shared<probe>();
        auto out =
            start_phase(ioc, timed_phase{}, stuck_step(p, 0ms, net::error::connection_refused),
                        steady::now() + 5s);
        wait_for(ioc, out);
        CHECK(**out == net::error::connection_refused);
    }
    SECTION("a deadline already past")
    {
        auto p = std::make_shared<probe>();
        auto out = start_phase(ioc, timed_phase{}, stuck_step(p, 1h, {}), steady::now() - 1s);
        wait_for(ioc, out);
        CHECK(**out == boost::beast::error::timeout);
    }
}
