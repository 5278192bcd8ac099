// model_catalog: paging through every page of OCI's model list within bounds, the ten-minute
// cache, the negative cache after a failure and the last good list (issue 11).

#include "ogp/api/model_catalog.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "unit/api/fake_clock.hpp"

using namespace ogp::api;
using ogp_test::fake_clock;
using namespace std::chrono_literals;
namespace net = boost::asio;

namespace {

// OCI's list: `pages` pages of `per_page` ids, page tokens "p<n>"; or down.
struct fake_oci
{
    int pages = 1;
    int per_page = 3;
    std::string prefix = "m";
    bool down = false;
    bool client_gone = false;
    int bad_token_at = -1;  // this page's next token would break the URL
    bool repeat = false;
    int calls = 0;
    std::vector<std::string> tokens;  // the tokens asked for

    net::awaitable<model_page> fetch(std::string token)
    {
        ++calls;
        tokens.push_back(token);
        model_page p;
        if (down) {
            p.status = model_page::outcome::failed;
            co_return p;
        }
        if (client_gone) {
            p.status = model_page::outcome::aborted;
            co_return p;
        }
        int n = token.empty() ? 0 : std::stoi(token.substr(1));
        for (int i = 0; i < per_page; ++i) {
            // `repeat`: every page also lists the first page's first model again.
            p.models.push_back({.id = prefix + std::to_string(n) + "-" + std::to_string(i)});
        }
        if (repeat && n > 0) {
            p.models.push_back({.id = prefix + "0-0"});
        }
        if (n + 1 < pages) {
            p.next_page = "p" + std::to_string(n + 1);
        }
        if (n == bad_token_at) {
            p.next_page = "p2&compartmentId=x";
        }
        co_return p;
    }
};

std::vector<std::string> discover(model_catalog& c, fake_oci& oci)
{
    net::io_context ioc;
    std::optional<std::vector<std::string>> out;
    // The callback only forwards (a capturing lambda must not itself be a coroutine).
    fetch_model_page fetch = [&oci](std::string token) { return oci.fetch(std::move(token)); };
    net::co_spawn(ioc, c.get(std::move(fetch)), [&out](std::exception_ptr, model_list models) {
        REQUIRE(models != nullptr);
        out.emplace();
        for (const auto& m : *models) {
            out->push_back(m.id);
        }
    });
    ioc.run();
    REQUIRE(out.has_value());
    return std::move(*out);
}

}  // namespace

TEST_CASE("model_catalog: every page is collected (more than ten)", "[api][models]")
{
    fake_clock clock;
    model_catalog c({}, clock.fn());
    fake_oci oci{.pages = 12, .per_page = 500};
    auto ids = discover(c, oci);
    CHECK(ids.size() == 6000);
    CHECK(oci.calls == 12);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 6000);
    CHECK(ids.back() == "m11-499");
    CHECK(oci.tokens.front().empty());
    CHECK(oci.tokens.back() == "p11");
    CHECK(c.pages_fetched() == 12);
}

TEST_CASE("model_catalog: paging stops at the bounds and serves what it gathered", "[api][models]")
{
    fake_clock clock;
    SECTION("100 pages")
    {
        model_catalog c({}, clock.fn());
        fake_oci oci{.pages = 150, .per_page = 1};
        auto ids = discover(c, oci);
        CHECK(oci.calls == 100);
        CHECK(ids.size() == 100);
        // That list is cached like a complete one.
        CHECK(discover(c, oci).size() == 100);
        CHECK(oci.calls == 100);
    }
    SECTION("10,000 models")
    {
        model_catalog c({}, clock.fn());
        fake_oci oci{.pages = 30, .per_page = 1000};
        auto ids = discover(c, oci);
        CHECK(oci.calls == 10);
        CHECK(ids.size() == 10000);
    }
    SECTION("an unusable page token ends the list")
    {
        model_catalog c({}, clock.fn());
        fake_oci oci{.pages = 5, .bad_token_at = 1};
        auto ids = discover(c, oci);
        CHECK(oci.calls == 2);
        CHECK(ids.size() == 6);
    }
}

TEST_CASE("model_catalog: a good list is served for ten minutes", "[api][models]")
{
    fake_clock clock;
    model_catalog c({}, clock.fn());
    fake_oci oci;
    CHECK(discover(c, oci).size() == 3);
    clock.t += 9min;
    CHECK(discover(c, oci).size() == 3);
    CHECK(oci.calls == 1);
    clock.t += 61s;
    oci.per_page = 4;
    CHECK(discover(c, oci).size() == 4);
    CHECK(oci.calls == 2);
}

TEST_CASE("model_catalog: a failure is remembered for 30 s (no discovery per call)",
          "[api][models]")
{
    fake_clock clock;
    model_catalog c({}, clock.fn());
    fake_oci oci{.down = true};
    CHECK(discover(c, oci).empty());
    CHECK(oci.calls == 1);
    for (int i = 0; i < 5; ++i) {
        clock.t += 5s;
        CHECK(discover(c, oci).empty());
    }
    CHECK(oci.calls == 1);
    clock.t += 6s;  // 31 s after the failure
    CHECK(discover(c, oci).empty());
    CHECK(oci.calls == 2);
    // OCI is back, but the new failure is only 1 s old.
    oci.down = false;
    clock.t += 1s;
    CHECK(discover(c, oci).empty());
    CHECK(oci.calls == 2);
    clock.t += 30s;
    CHECK(discover(c, oci).size() == 3);
    CHECK(oci.calls == 3);
}

TEST_CASE("model_catalog: a failed refresh serves the last good list", "[api][models]")
{
    fake_clock clock;
    model_catalog c({}, clock.fn());
    fake_oci oci{.pages = 2};
    REQUIRE(discover(c, oci).size() == 6);
    clock.t += 11min;
    oci.down = true;
    CHECK(discover(c, oci).size() == 6);  // the refresh failed: last good list
    CHECK(oci.calls == 3);
    clock.t += 10s;
    CHECK(discover(c, oci).size() == 6);  // within the failure window: no new attempt
    CHECK(oci.calls == 3);
    // A failure half-way through the pages does not replace the list with a partial one.
    clock.t += 30s;
    oci.down = false;
    oci.pages = 3;
    oci.prefix = "n";
    CHECK(discover(c, oci).size() == 9);
    CHECK(oci.calls == 6);
}

TEST_CASE("model_catalog: a client that went away leaves the cache as it was", "[api][models]")
{
    fake_clock clock;
    model_catalog c({}, clock.fn());
    fake_oci oci{.client_gone = true};
    CHECK(discover(c, oci).empty());
    oci.client_gone = false;
    CHECK(discover(c, oci).size() == 3);  // no negative cache: discovered at once
    CHECK(oci.calls == 2);
}

TEST_CASE("model_catalog: an OCID listed on two pages is kept once", "[api][models]")
{
    fake_clock clock;
    model_catalog c({}, clock.fn());
    fake_oci oci{.pages = 3, .repeat = true};
    auto ids = discover(c, oci);
    CHECK(ids.size() == 9);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 9);
}
