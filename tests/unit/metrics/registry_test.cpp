// Unit tests of the registry: exact concurrent counts, the per-thread cache, the cardinality
// cap, label value bounds and escaping, histogram buckets, registration checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../support/exposition.hpp"
#include "ogp/metrics/registry.hpp"

using namespace ogp::metrics;

namespace {

std::string scrape(const registry& reg, exposition fmt = exposition::text_0_0_4)
{
    std::string out;
    text_writer w(out, fmt);
    reg.write(w);
    w.finish();
    return out;
}

ogp::test::expo_result parse_ok(const std::string& text,
                                ogp::test::expo_format fmt = ogp::test::expo_format::text_0_0_4)
{
    auto r = ogp::test::parse_exposition(text, fmt);
    INFO(text);
    INFO(r.describe());
    REQUIRE(r.ok());
    return r;
}

}  // namespace

TEST_CASE("counters and histograms updated from several threads sum exactly", "[registry]")
{
    registry reg;
    auto& c = reg.add_counter("hits_total", "Hits.", {"key"});
    auto& h = reg.add_histogram("sizes", "Sizes.", {"key"}, {1, 10, 100});
    constexpr int threads = 4;
    constexpr int per_thread = 50000;
    const char* keys[] = {"a", "b", "c", "d", "e"};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const auto* k = keys[(i + t) % 5];
                c.with({k}).inc();
                h.with({k}).observe(static_cast<double>(i % 200));
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    std::uint64_t total = 0;
    std::uint64_t observed = 0;
    double sum = 0;
    for (const auto* k : keys) {
        total += c.with({k}).value();
        observed += h.with({k}).count();
        sum += h.with({k}).sum();
    }
    CHECK(total == std::uint64_t{threads} * per_thread);
    CHECK(observed == std::uint64_t{threads} * per_thread);
    // 0..199 repeated: integers, so the double sum is exact.
    CHECK(sum == double(threads) * (per_thread / 200) * (199 * 200 / 2));
    CHECK(c.size() == 5);
    const auto r = parse_ok(scrape(reg));
    CHECK(ogp::test::sum(r.families, "hits_total") == threads * per_thread);
    CHECK(ogp::test::sum(r.families, "sizes_count") == threads * per_thread);
}

TEST_CASE("a label set resolves to one stable series from every thread", "[registry]")
{
    registry reg;
    auto& g = reg.add_gauge("temp", "Temperature.", {"room", "floor"});
    auto* first = &g.with({"kitchen", "1"});
    CHECK(&g.with({"kitchen", "1"}) == first);  // the per-thread cache
    gauge* other_thread = nullptr;
    std::thread([&] { other_thread = &g.with({"kitchen", "1"}); }).join();
    CHECK(other_thread == first);  // the creation map
    // Values are compared whole: a shifted boundary is another label set.
    CHECK(&g.with({"kitchen1", ""}) != first);
    CHECK(&g.with({"kitche", "n1"}) != first);
    // Many more sets (the cache grows and rehashes) keep the first one stable.
    for (int i = 0; i < 3000; ++i) {
        g.with({"room" + std::to_string(i), "2"}).set(i);
    }
    CHECK(&g.with({"kitchen", "1"}) == first);
    CHECK(g.size() == 3003);
    CHECK(g.with({"room2999", "2"}).value() == 2999);
    g.with({"kitchen", "1"}).set(-2.5);
    g.with({"kitchen", "1"}).add(1);
    CHECK(first->value() == -1.5);
}

TEST_CASE("a new registry at a reused address does not see stale cache entries", "[registry]")
{
    // The per-thread cache is keyed by a family id that is never reused, not by address.
    for (int round = 0; round < 5; ++round) {
        auto reg = std::make_unique<registry>();
        auto& c = reg->add_counter("x_total", "X.", {"k"});
        CHECK(c.with({"same"}).value() == 0);
        c.with({"same"}).inc(7);
        CHECK(c.with({"same"}).value() == 7);
    }
}

TEST_CASE("label sets beyond the cap share one overflow series", "[registry]")
{
    registry reg;
    auto& c = reg.add_counter("req_total", "Requests.", {"model", "client"}, 3);
    c.with({"m1", "c1"}).inc();
    c.with({"m2", "c1"}).inc();
    c.with({"m3", "c1"}).inc();
    CHECK(c.overflowed() == 0);
    auto& o1 = c.with({"m4", "c1"});
    auto& o2 = c.with({"m5", "c2"});
    CHECK(&o1 == &o2);
    o1.inc(2);
    o2.inc(3);
    CHECK(c.overflowed() == 2);
    // Known sets still have their own series; a repeated overflowing set is not recounted by
    // this thread (its cache answers).
    CHECK(c.with({"m2", "c1"}).value() == 1);
    c.with({"m4", "c1"}).inc();
    CHECK(c.overflowed() == 2);
    CHECK(c.size() == 4);
    const auto r = parse_ok(scrape(reg));
    CHECK(ogp::test::value(r.families, "req_total",
                           {{"model", "overflow"}, {"client", "overflow"}}) == 6);
    CHECK(ogp::test::find(r.families, "req_total").size() == 4);
    // Another thread finds the overflowing set through the map (counted once more).
    std::thread([&] { c.with({"m9", "c9"}).inc(); }).join();
    CHECK(c.overflowed() == 3);
    CHECK(c.size() == 4);
}

TEST_CASE("label values are cut at 128 bytes on a UTF-8 boundary and escaped", "[registry]")
{
    CHECK(truncate_utf8(std::string(200, 'a')).size() == 128);
    // A two-byte character at bytes 127-128: cut before it.
    const std::string straddle = std::string(127, 'a') + "\xC3\xA9" + "zz";
    CHECK(truncate_utf8(straddle) == std::string(127, 'a'));
    const std::string fits = std::string(126, 'a') + "\xC3\xA9" + "zz";
    CHECK(truncate_utf8(fits) == std::string(126, 'a') + "\xC3\xA9");
    CHECK(truncate_utf8("short") == "short");

    registry reg;
    auto& c = reg.add_counter("v_total", "Values.", {"v"});
    // Values equal in their first 128 bytes are one series.
    CHECK(&c.with({std::string(130, 'x') + "1"}) == &c.with({std::string(130, 'x') + "2"}));
    c.with({"back\\slash \"quoted\"\nnew line"}).inc();
    c.with({straddle}).inc();
    // Invalid UTF-8 is replaced; two raw values that render alike share a series.
    c.with({"bad\xff"}).inc();
    c.with({"bad\xfe"}).inc();
    c.with({""}).inc();  // empty: the label is left out (Prometheus: empty equals absent)
    // Control bytes without an escape (CR, NUL, tab, DEL) are replaced, never written raw.
    c.with({std::string("cr\rnul\0tab\tdel\x7f", 15)}).inc();
    const auto text = scrape(reg);
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(text.find("v_total{v=\"cr" + fffd + "nul" + fffd + "tab" + fffd + "del" + fffd +
                    "\"} 1") != std::string::npos);
    CHECK(text.find('\r') == std::string::npos);
    CHECK(text.find(R"(v_total{v="back\\slash \"quoted\"\nnew line"} 1)") != std::string::npos);
    CHECK(text.find("v_total{v=\"bad\xEF\xBF\xBD\"} 2") != std::string::npos);
    CHECK(text.find("v_total 1\n") != std::string::npos);
    const auto r = parse_ok(text);
    CHECK(ogp::test::value(r.families, "v_total", {{"v", "back\\slash \"quoted\"\nnew line"}}) ==
          1);
    CHECK(ogp::test::value(r.families, "v_total", {{"v", std::string(127, 'a')}}) == 1);
    CHECK(ogp::test::value(r.families, "v_total", {{"v", std::string(128, 'x')}}) == 0);
    CHECK(c.size() == 6);
}

TEST_CASE("histogram buckets are inclusive upper bounds and written cumulative", "[registry]")
{
    registry reg;
    auto& f = reg.add_histogram("lat_seconds", "Latency.", {"op"}, {0.1, 1, 10});
    auto& h = f.with({"chat"});
    h.observe(0.05);
    h.observe(0.1);  // exactly a bound: that bucket
    h.observe(0.5);
    h.observe(100);           // beyond the last bound: +Inf
    h.observe(std::nan(""));  // ignored
    CHECK(h.bucket(0) == 2);
    CHECK(h.bucket(1) == 1);
    CHECK(h.bucket(2) == 0);
    CHECK(h.bucket(3) == 1);
    CHECK(h.count() == 4);
    CHECK(h.sum() == Approx(100.65));
    f.with({"embeddings"});  // a series without observations is valid too
    const auto text = scrape(reg);
    CHECK(text.find("lat_seconds_bucket{op=\"chat\",le=\"0.1\"} 2\n"
                    "lat_seconds_bucket{op=\"chat\",le=\"1\"} 3\n"
                    "lat_seconds_bucket{op=\"chat\",le=\"10\"} 3\n"
                    "lat_seconds_bucket{op=\"chat\",le=\"+Inf\"} 4\n"
                    "lat_seconds_sum{op=\"chat\"} 100.65\n"
                    "lat_seconds_count{op=\"chat\"} 4\n") != std::string::npos);
    const auto r = parse_ok(text);
    CHECK(ogp::test::value(r.families, "lat_seconds_count", {{"op", "embeddings"}}) == 0);
}

TEST_CASE("registration rejects bad names labels and bounds", "[registry]")
{
    registry reg;
    CHECK_THROWS_AS(reg.add_counter("no_suffix", "x"), std::invalid_argument);
    CHECK_THROWS_AS(reg.add_gauge("1bad", "x"), std::invalid_argument);
    CHECK_THROWS_AS(reg.add_gauge("g", "x", {"__reserved"}), std::invalid_argument);
    CHECK_THROWS_AS(reg.add_gauge("g", "x", {"a", "a"}), std::invalid_argument);
    CHECK_THROWS_AS(reg.add_histogram("h", "x", {"le"}, {1}), std::invalid_argument);
    CHECK_THROWS_AS(reg.add_histogram("h", "x", {}, {2, 1}), std::invalid_argument);
    CHECK_THROWS_AS(reg.add_histogram("h", "x", {}, {1, HUGE_VAL}), std::invalid_argument);
    reg.add_gauge("g", "x");
    CHECK_THROWS_AS(reg.add_gauge("g", "y"), std::invalid_argument);
}
