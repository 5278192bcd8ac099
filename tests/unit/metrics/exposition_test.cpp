// Unit tests of the exposition writer: negotiation, content types, numbers, both formats'
// framing checked by the strict parser.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "../../support/exposition.hpp"
#include "ogp/metrics/registry.hpp"

using namespace ogp::metrics;

TEST_CASE("negotiate picks OpenMetrics only when asked for it", "[exposition]")
{
    CHECK(negotiate("") == exposition::text_0_0_4);
    CHECK(negotiate("*/*") == exposition::text_0_0_4);
    CHECK(negotiate("text/plain") == exposition::text_0_0_4);
    CHECK(negotiate("text/plain;version=0.0.4") == exposition::text_0_0_4);
    CHECK(negotiate("application/json") == exposition::text_0_0_4);
    CHECK(negotiate("application/openmetrics-text") == exposition::openmetrics_1_0_0);
    CHECK(negotiate("APPLICATION/OpenMetrics-Text; version=1.0.0") ==
          exposition::openmetrics_1_0_0);
    CHECK(negotiate("application/openmetrics-text; version=\"1.0.0\"; charset=utf-8") ==
          exposition::openmetrics_1_0_0);
    // Prometheus 2.x's scrape Accept header.
    CHECK(negotiate("application/openmetrics-text;version=1.0.0,application/"
                    "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/"
                    "*;q=0.1") == exposition::openmetrics_1_0_0);
    // Only the 0.0.1 draft, refused, or preferred less than text.
    CHECK(negotiate("application/openmetrics-text;version=0.0.1") == exposition::text_0_0_4);
    CHECK(negotiate("application/openmetrics-text;q=0") == exposition::text_0_0_4);
    CHECK(negotiate("application/openmetrics-text;q=0.3, text/plain") == exposition::text_0_0_4);
    CHECK(negotiate("text/plain;q=0.2, application/openmetrics-text;q=0.9") ==
          exposition::openmetrics_1_0_0);
    // Malformed input never throws and falls back to text.
    CHECK(negotiate("application/openmetrics-text;q=abc") == exposition::text_0_0_4);
    CHECK(negotiate(",,;;==\x01;q=;version") == exposition::text_0_0_4);
    CHECK(negotiate(std::string(10000, ',')) == exposition::text_0_0_4);
}

TEST_CASE("content types name the format and charset", "[exposition]")
{
    CHECK(content_type(exposition::text_0_0_4) == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(content_type(exposition::openmetrics_1_0_0) ==
          "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST_CASE("numbers are written so that they parse back exactly", "[exposition]")
{
    const auto fmt = [](double v) {
        std::string s;
        append_double(s, v);
        return s;
    };
    CHECK(fmt(0) == "0");
    CHECK(fmt(1) == "1");
    CHECK(fmt(0.1) == "0.1");
    CHECK(fmt(0.00025) == "0.00025");
    CHECK(fmt(67108864) == "67108864");
    CHECK(fmt(-2.5) == "-2.5");
    CHECK(fmt(HUGE_VAL) == "+Inf");
    CHECK(fmt(-HUGE_VAL) == "-Inf");
    CHECK(fmt(std::nan("")) == "NaN");
    for (const double v : {1.0 / 3, 1e-300, 1.7976931348623157e308, 1764530000.123456,
                           std::numeric_limits<double>::denorm_min()}) {
        const auto s = fmt(v);
        CHECK(std::strtod(s.c_str(), nullptr) == v);
    }
}

TEST_CASE("a registry scrape is valid text 0.0.4 and valid OpenMetrics", "[exposition]")
{
    registry reg;
    auto& c = reg.add_counter("jobs_total", "Jobs done, \"quoted\" and back\\slashed.", {"kind"});
    auto& g = reg.add_gauge("queue_depth", "Queue depth.", {});
    auto& i = reg.add_gauge("thing_info", "Build of a thing.", {"version"});
    auto& h = reg.add_histogram("wait_seconds", "Wait.", {"kind"}, {0.5, 1});
    c.with({"a"}).inc(3);
    c.with({"b\"x"}).inc();
    g.with({}).set(-4);
    i.with({"1.2.3"}).set(1);
    h.with({"a"}).observe(0.7);

    std::string text;
    text_writer tw(text, exposition::text_0_0_4);
    reg.write(tw);
    tw.finish();
    CHECK(text.find("# HELP jobs_total Jobs done, \"quoted\" and back\\\\slashed.\n"
                    "# TYPE jobs_total counter\njobs_total{kind=\"a\"} 3\n") != std::string::npos);
    CHECK(text.find("# TYPE thing_info gauge\nthing_info{version=\"1.2.3\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("# EOF") == std::string::npos);
    const auto r = ogp::test::parse_exposition(text);
    INFO(text);
    INFO(r.describe());
    REQUIRE(r.ok());
    CHECK(ogp::test::value(r.families, "jobs_total", {{"kind", "b\"x"}}) == 1);
    CHECK(ogp::test::value(r.families, "queue_depth") == -4);
    CHECK(ogp::test::value(r.families, "wait_seconds_bucket", {{"le", "1"}}) == 1);

    std::string om;
    text_writer ow(om, exposition::openmetrics_1_0_0);
    reg.write(ow);
    ow.finish();
    CHECK(om.find("# HELP jobs Jobs done, \\\"quoted\\\" and back\\\\slashed.\n"
                  "# TYPE jobs counter\njobs_total{kind=\"a\"} 3\n") != std::string::npos);
    CHECK(om.find("# TYPE thing info\nthing_info{version=\"1.2.3\"} 1\n") != std::string::npos);
    CHECK(om.size() > 6);
    CHECK(om.substr(om.size() - 6) == "# EOF\n");
    const auto ro = ogp::test::parse_exposition(om, ogp::test::expo_format::openmetrics_1_0_0);
    INFO(om);
    INFO(ro.describe());
    REQUIRE(ro.ok());
    REQUIRE(ogp::test::family(ro.families, "jobs"));
    REQUIRE(ogp::test::family(ro.families, "thing"));
    CHECK(ogp::test::family(ro.families, "jobs")->type == "counter");
    CHECK(ogp::test::family(ro.families, "thing")->type == "info");
    CHECK(ogp::test::value(ro.families, "wait_seconds_count") == 1);
}
