// The Redis limits store against a real redis-server on a loopback port: two store instances
// stand for two replicas of the daemon sharing one Redis. Every wait is bounded (run_for).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ogp/limits/redis_store.hpp"
#include "support/net.hpp"
#include "support/redis.hpp"

namespace net = boost::asio;
using namespace ogp::limits;
using namespace std::chrono_literals;
using ogp::test::redis_server;

namespace {

using result = std::optional<std::optional<admit_answer>>;  // outer: the admission finished

net::awaitable<void> run_admit(store* s, key_limits l, std::string lease, bool stream,
                               std::chrono::milliseconds ttl, result* out)
{
    admit_request r;
    r.limits = &l;
    r.stream = stream;
    r.lease_id = lease;
    r.lease_ttl = ttl;
    *out = co_await s->admit(r);
}

// One admission, run to completion on `ioc` (bounded: a hang fails the test).
std::optional<admit_answer> admit(net::io_context& ioc, store& s, const key_limits& l,
                                  const std::string& lease, bool stream = false,
                                  std::chrono::milliseconds ttl = 11min)
{
    result out;
    net::co_spawn(ioc, run_admit(&s, l, lease, stream, ttl, &out), net::detached);
    ioc.restart();
    ioc.run_for(10s);
    REQUIRE(out.has_value());
    return *out;
}

// Lets background releases finish (bounded).
void settle(net::io_context& ioc)
{
    ioc.restart();
    ioc.run_for(10s);
}

redis_options options_for(const redis_server& r)
{
    redis_options o;
    o.host = "127.0.0.1";
    o.port = r.port();
    o.timeout = 2s;
    return o;
}

key_limits limits(std::string name)
{
    key_limits l;
    l.name = std::move(name);
    return l;
}

std::int64_t integer_reply(const std::string& raw)
{
    REQUIRE(raw.size() > 3);
    REQUIRE(raw[0] == ':');
    return std::stoll(raw.substr(1));
}

}  // namespace

TEST_CASE("redis store shares one rpm bucket between two replicas", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto a = make_redis_store(ioc.get_executor(), options_for(server));
    auto b = make_redis_store(ioc.get_executor(), options_for(server));
    CHECK(a->describe() == "redis://127.0.0.1:" + std::to_string(server.port()) + "/0");

    auto l = limits("team-a");
    l.rpm = 5;
    for (int i = 0; i < 5; ++i) {
        auto& s = i % 2 == 0 ? *a : *b;
        auto got = admit(ioc, s, l, "lease-" + std::to_string(i));
        INFO("admission " << i);
        REQUIRE(got.has_value());
        CHECK(got->what == verdict::admitted);
        CHECK(got->requests_remaining == 4 - i);
        CHECK(got->requests_reset > 0ms);
        CHECK(got->requests_reset <= 60s);
    }
    auto refused = admit(ioc, *b, l, "lease-5");
    REQUIRE(refused.has_value());
    CHECK(refused->what == verdict::over_requests);
    CHECK(refused->requests_remaining == 0);
    // One request refills every 12 s.
    CHECK(refused->retry_after > 10s);
    CHECK(refused->retry_after <= 12s);

    // Nothing lives forever: the bucket expires 2 minutes after its last use.
    const auto ttl = integer_reply(server.command({"PTTL", "ogp:{team-a}:rpm"}));
    CHECK(ttl > 0);
    CHECK(ttl <= 120000);
    const auto slots_ttl = integer_reply(server.command({"PTTL", "ogp:{team-a}:slots"}));
    CHECK(slots_ttl > 0);
    CHECK(slots_ttl <= 11 * 60 * 1000);
}

TEST_CASE("redis store slots are shared and freed by release", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto a = make_redis_store(ioc.get_executor(), options_for(server));
    auto b = make_redis_store(ioc.get_executor(), options_for(server));

    auto l = limits("slots");
    l.max_concurrent = 2;
    REQUIRE(admit(ioc, *a, l, "a1")->what == verdict::admitted);
    REQUIRE(admit(ioc, *b, l, "b1")->what == verdict::admitted);
    auto full = admit(ioc, *a, l, "a2");
    REQUIRE(full.has_value());
    CHECK(full->what == verdict::over_concurrency);
    CHECK(full->retry_after == 1000ms);

    a->release(l, "a1", false, 0);
    settle(ioc);
    CHECK(admit(ioc, *b, l, "b2")->what == verdict::admitted);
    CHECK(admit(ioc, *a, l, "a3")->what == verdict::over_concurrency);

    // Streams count apart, against max_streams.
    auto s = limits("streams");
    s.max_streams = 1;
    REQUIRE(admit(ioc, *a, s, "s1", true)->what == verdict::admitted);
    CHECK(admit(ioc, *b, s, "s2", true)->what == verdict::over_streams);
    CHECK(admit(ioc, *b, s, "n1", false)->what == verdict::admitted);
    b->release(s, "s1", true, 0);
    settle(ioc);
    CHECK(admit(ioc, *b, s, "s3", true)->what == verdict::admitted);
}

TEST_CASE("redis store charges tokens at release and refuses while the bucket is empty", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto a = make_redis_store(ioc.get_executor(), options_for(server));
    auto b = make_redis_store(ioc.get_executor(), options_for(server));

    auto l = limits("tokens");
    l.tpm = 1000;
    auto first = admit(ioc, *a, l, "t1");
    REQUIRE(first.has_value());
    CHECK(first->what == verdict::admitted);
    CHECK(first->tokens_remaining == 1000);
    CHECK(first->tokens_reset == 0ms);

    a->release(l, "t1", false, 1500);  // 500 tokens of debt
    settle(ioc);
    auto refused = admit(ioc, *b, l, "t2");
    REQUIRE(refused.has_value());
    CHECK(refused->what == verdict::over_tokens);
    CHECK(refused->tokens_remaining == 0);
    // 500 tokens at 1000 per minute: 30 s until the level is above zero.
    CHECK(refused->retry_after > 28s);
    CHECK(refused->retry_after <= 30001ms);
    CHECK(refused->tokens_reset > 88s);
    CHECK(refused->tokens_reset <= 90s);
    // The debt outlives the idle time: the key lives until the bucket is full again + 2 min.
    CHECK(integer_reply(server.command({"PTTL", "ogp:{tokens}:tpm"})) > 120000);
}

TEST_CASE("redis store loads its script again after SCRIPT FLUSH", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto s = make_redis_store(ioc.get_executor(), options_for(server));
    auto l = limits("flush");
    l.rpm = 100;
    REQUIRE(admit(ioc, *s, l, "f1").has_value());
    REQUIRE(admit(ioc, *s, l, "f2").has_value());
    CHECK(server.command({"SCRIPT", "FLUSH"}) == "+OK\r\n");
    auto again = admit(ioc, *s, l, "f3");
    REQUIRE(again.has_value());
    CHECK(again->what == verdict::admitted);
    CHECK(again->requests_remaining == 97);
    // EVALSHA every time; it failed (NOSCRIPT) on the first use and after the flush, and
    // EVAL ran then only.
    const auto stats = server.command({"INFO", "commandstats"});
    CHECK(stats.find("cmdstat_eval:calls=2,") != std::string::npos);
    CHECK(stats.find("cmdstat_evalsha:calls=3,") != std::string::npos);
    CHECK(stats.find("failed_calls=2\r\n") != std::string::npos);
}

TEST_CASE("redis store authenticates with its password", "[redis]")
{
    redis_server server("s3cret-pass");
    net::io_context ioc;
    auto l = limits("auth");
    l.rpm = 10;

    auto o = options_for(server);
    o.password = "s3cret-pass";
    auto good = make_redis_store(ioc.get_executor(), o);
    CHECK(good->describe().find("s3cret") == std::string::npos);
    auto ok = admit(ioc, *good, l, "g1");
    REQUIRE(ok.has_value());
    CHECK(ok->what == verdict::admitted);

    o.password = "wrong";
    auto wrong = make_redis_store(ioc.get_executor(), o);
    CHECK_FALSE(admit(ioc, *wrong, l, "w1").has_value());

    auto none = make_redis_store(ioc.get_executor(), options_for(server));
    CHECK_FALSE(admit(ioc, *none, l, "n1").has_value());
}

TEST_CASE("redis store selects its database", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto o = options_for(server);
    o.db = 3;
    auto s = make_redis_store(ioc.get_executor(), o);
    CHECK(s->describe() == "redis://127.0.0.1:" + std::to_string(server.port()) + "/3");
    auto l = limits("db");
    l.rpm = 10;
    REQUIRE(admit(ioc, *s, l, "d1")->what == verdict::admitted);
    CHECK(server.command({"EXISTS", "ogp:{db}:rpm"}, 3) == ":1\r\n");
    CHECK(server.command({"EXISTS", "ogp:{db}:rpm"}, 0) == ":0\r\n");
}

TEST_CASE("redis store resolves a host name", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto o = options_for(server);
    o.host = "localhost";
    auto s = make_redis_store(ioc.get_executor(), o);
    auto l = limits("named");
    l.rpm = 10;
    auto got = admit(ioc, *s, l, "h1");
    REQUIRE(got.has_value());
    CHECK(got->what == verdict::admitted);
}

TEST_CASE("redis store gives no answer when the server never replies", "[redis]")
{
    ogp::test::silent_listener silent;
    net::io_context ioc;
    redis_options o;
    o.host = "127.0.0.1";
    o.port = silent.port();
    o.timeout = 200ms;
    auto s = make_redis_store(ioc.get_executor(), o);
    auto l = limits("silent");
    l.rpm = 10;
    // admit() REQUIREs completion within its 10 s bound: the 200 ms timeout ended it.
    CHECK_FALSE(admit(ioc, *s, l, "x1").has_value());
    CHECK_FALSE(admit(ioc, *s, l, "x2").has_value());
}

TEST_CASE("redis store gives no answer without waiting when redis is down", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto o = options_for(server);
    o.timeout = 60s;  // longer than admit()'s bound: a failure must not wait for the timeout
    auto s = make_redis_store(ioc.get_executor(), o);
    auto l = limits("down");
    l.rpm = 10;
    REQUIRE(admit(ioc, *s, l, "u1").has_value());  // leaves a pooled connection
    server.stop();
    CHECK_FALSE(admit(ioc, *s, l, "u2").has_value());
    CHECK_FALSE(admit(ioc, *s, l, "u3").has_value());

    o.port = ogp::test::closed_port();
    auto refused = make_redis_store(ioc.get_executor(), o);
    CHECK_FALSE(admit(ioc, *refused, l, "u4").has_value());
}

TEST_CASE("redis store gives no answer on an error reply", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto s = make_redis_store(ioc.get_executor(), options_for(server));
    // A key of the wrong type: the script fails (WRONGTYPE).
    CHECK(server.command({"SET", "ogp:{typed}:rpm", "x"}) == "+OK\r\n");
    auto l = limits("typed");
    l.rpm = 10;
    CHECK_FALSE(admit(ioc, *s, l, "e1").has_value());
    // The store still works for other keys (an error reply leaves the connection usable).
    auto other = limits("other");
    other.rpm = 10;
    CHECK(admit(ioc, *s, other, "e2").has_value());
}

TEST_CASE("redis store shares max_connections connections among concurrent admissions", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto o = options_for(server);
    o.max_connections = 1;
    auto s = make_redis_store(ioc.get_executor(), o);
    auto l = limits("pool");
    l.rpm = 100;
    std::vector<result> out(8);
    for (std::size_t i = 0; i < out.size(); ++i) {
        net::co_spawn(ioc, run_admit(s.get(), l, "p" + std::to_string(i), false, 11min, &out[i]),
                      net::detached);
    }
    ioc.run_for(10s);
    for (const auto& r : out) {
        REQUIRE(r.has_value());
        REQUIRE(r->has_value());
        CHECK((*r)->what == verdict::admitted);
    }
    // One connection of the store, one of this INFO.
    CHECK(server.command({"INFO", "clients"}).find("connected_clients:2\r\n") != std::string::npos);
}

TEST_CASE("redis store drops releases beyond max_pending_releases and the lease expires", "[redis]")
{
    redis_server server;
    net::io_context ioc;
    auto o = options_for(server);
    o.max_pending_releases = 0;
    auto s = make_redis_store(ioc.get_executor(), o);
    auto l = limits("dropped");
    l.max_concurrent = 1;
    REQUIRE(admit(ioc, *s, l, "r1", false, 1500ms)->what == verdict::admitted);
    s->release(l, "r1", false, 0);  // dropped
    settle(ioc);
    CHECK(admit(ioc, *s, l, "r2", false, 1500ms)->what == verdict::over_concurrency);
    std::this_thread::sleep_for(1600ms);  // the lease expired
    CHECK(admit(ioc, *s, l, "r3", false, 1500ms)->what == verdict::admitted);
}
