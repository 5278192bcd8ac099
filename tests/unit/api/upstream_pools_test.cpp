// upstream_pools: the registry the configuration generations share (reload keeps warm pools).

#include <boost/asio/ssl/context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>

#include "ogp/api/service.hpp"
#include "ogp/upstream/client.hpp"

using namespace std::chrono_literals;

TEST_CASE("upstream_pools: one pool per role and URL and deadlines", "[api][reload]")
{
    ogp::api::upstream_pools reg;
    auto tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    ogp::upstream::pool_options o;
    auto a = reg.get("inference", "https://127.0.0.1:9", tls, o);
    REQUIRE(a != nullptr);
    // The next generation with the same settings gets the same pool (warm connections).
    CHECK(reg.get("inference", "https://127.0.0.1:9", tls, o) == a);
    // Another role on the same URL keeps its own pool (its own figures).
    auto control = reg.get("control", "https://127.0.0.1:9", tls, o);
    CHECK(control != a);
    // A reload that changes an upstream deadline gets a pool that applies it.
    auto o2 = o;
    o2.first_byte_timeout = 7s;
    auto b = reg.get("inference", "https://127.0.0.1:9", tls, o2);
    REQUIRE(b != nullptr);
    CHECK(b != a);
    CHECK(b->options().first_byte_timeout == 7s);
    CHECK(a->options().first_byte_timeout == o.first_byte_timeout);
    CHECK(reg.size() == 3);
    // A URL that does not parse gives no pool.
    CHECK(reg.get("inference", "not a url", tls, o) == nullptr);
}
