// Unit tests of the strict exposition parser of the tests (tests/support/exposition.hpp): it
// must accept valid text and reject every kind of broken text the e2e tests rely on it to catch.
#include <catch2/catch.hpp>

#include <string>

#include "../../support/exposition.hpp"

using ogp::test::expo_format;
using ogp::test::parse_exposition;

namespace {

const std::string valid_text =
    "# HELP http_requests_total Requests by route\\\\code, with a\\nnewline.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{route=\"chat\",code=\"200\"} 3\n"
    "http_requests_total{route=\"a\\\"b\\\\c\\nd\",code=\"500\"} 1 1700000000000\n"
    "# A plain comment is fine in the text format.\n"
    "\n"
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_bucket{op=\"chat\",le=\"0.1\"} 1\n"
    "lat_seconds_bucket{op=\"chat\",le=\"1\"} 2\n"
    "lat_seconds_bucket{op=\"chat\",le=\"+Inf\"} 3\n"
    "lat_seconds_sum{op=\"chat\"} 7.25\n"
    "lat_seconds_count{op=\"chat\"} 3\n"
    "lat_seconds_bucket{op=\"embed\",le=\"0.1\"} 0\n"
    "lat_seconds_bucket{op=\"embed\",le=\"1\"} 0\n"
    "lat_seconds_bucket{op=\"embed\",le=\"+Inf\"} 0\n"
    "lat_seconds_sum{op=\"embed\"} 0\n"
    "lat_seconds_count{op=\"embed\"} 0\n"
    "# TYPE temp gauge\n"
    "temp -1.5e-3\n"
    "untyped_thing{x=\"\u00e9\"} NaN\n"
    "other +Inf\n"
    "neg -Inf\n";

/// The error of parsing `text` (empty when it parsed).
std::string error_of(const std::string& text, expo_format fmt = expo_format::text_0_0_4)
{
    return parse_exposition(text, fmt).describe();
}

}  // namespace

TEST_CASE("parser accepts valid text and returns families and samples", "[exposition]")
{
    const auto r = parse_exposition(valid_text);
    INFO(r.describe());
    REQUIRE(r.ok());
    REQUIRE(r.families.size() == 6);
    const auto* req = ogp::test::family(r.families, "http_requests_total");
    REQUIRE(req);
    CHECK(req->type == "counter");
    REQUIRE(req->help);
    CHECK(*req->help == "Requests by route\\code, with a\nnewline.");
    CHECK(ogp::test::value(r.families, "http_requests_total", {{"code", "200"}}) == 3);
    CHECK(ogp::test::value(r.families, "http_requests_total", {{"route", "a\"b\\c\nd"}}) == 1);
    CHECK(ogp::test::sum(r.families, "http_requests_total") == 4);
    CHECK_FALSE(ogp::test::value(r.families, "http_requests_total"));  // two match
    CHECK(ogp::test::value(r.families, "lat_seconds_count", {{"op", "chat"}}) == 3);
    CHECK(ogp::test::value(r.families, "lat_seconds_bucket", {{"op", "chat"}, {"le", "1"}}) == 2);
    CHECK(ogp::test::value(r.families, "temp") == Approx(-0.0015));
    CHECK(ogp::test::find(r.families, "untyped_thing").size() == 1);
    CHECK(ogp::test::value(r.families, "other") == HUGE_VAL);
    // An empty value in the subset matches an absent label (Prometheus semantics).
    CHECK(ogp::test::value(r.families, "temp", {{"missing", ""}}));
}

TEST_CASE("parser rejects broken text with the line number", "[exposition]")
{
    struct bad_case
    {
        const char* text;
        std::size_t line;
        const char* what;
    };
    const bad_case cases[] = {
        {"a 1", 1, "missing trailing newline"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} "
         "2\nh_sum 1\nh_count 2\n",
         3, "not cumulative"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", 2, "no +Inf"},
        {"# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} "
         "1\nh_sum 1\nh_count 1\n",
         3, "not sorted"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", 4,
         "differs from the +Inf"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\n", 2, "_count missing"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", 2, "_sum missing"},
        {"# TYPE h histogram\nh_bucket 2\n", 2, "without le"},
        {"# TYPE h histogram\nh 2\n", 2, "does not fit"},
        {"a{x=\"1\"} 1\na{x=\"1\"} 2\n", 2, "duplicate series"},
        {"a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n", 2, "duplicate series"},
        {"a{x=\"\\t\"} 1\n", 1, "bad escape"},
        {"a{x=\"abc} 1\n", 1, "unterminated"},
        {"a{x=\"\xff\"} 1\n", 1, "not UTF-8"},
        {"a 1\n# TYPE a counter\n", 2, "after its samples"},
        {"# TYPE a counter\n# TYPE a counter\na 1\n", 2, "second TYPE"},
        {"# HELP a x\n# HELP a y\na 1\n", 2, "second HELP"},
        {"# TYPE a gauge\na{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n", 4, "not contiguous"},
        {"# TYPE a counter\na -1\n", 2, "negative"},
        {"# TYPE a foo\n", 1, "unknown type"},
        {"1a 1\n", 1, "invalid metric name"},
        {"a{1x=\"1\"} 1\n", 1, "invalid label name"},
        {"a{__x=\"1\"} 1\n", 1, "reserved"},
        {"a{x=\"1\",x=\"2\"} 1\n", 1, "duplicate label"},
        {"a 1.2.3\n", 1, "invalid value"},
        {"a 0x10\n", 1, "invalid value"},
        {"a inf\n", 1, "invalid value"},
        {"a 1 2 3\n", 1, "expected value"},
        {"a 1 12.5\n", 1, "invalid timestamp"},
        {"a 1 \n", 1, "trailing blank"},
        {"a{x=\"1\"}1\n", 1, "blank before the value"},
        {"a 1\r\n", 1, "carriage return"},
        {"# HELP a bad \\t escape\n", 1, "bad escape"},
        {"#TYPE a counter\na 1\n", 1, ""},  // a comment: valid
    };
    for (const auto& c : cases) {
        const auto r = parse_exposition(c.text);
        INFO(c.text);
        INFO(r.describe());
        if (std::string(c.what).empty()) {
            CHECK(r.ok());
            continue;
        }
        CHECK_FALSE(r.ok());
        CHECK(r.error_line == c.line);
        CHECK(r.error.find(c.what) != std::string::npos);
    }
}

TEST_CASE("parser checks OpenMetrics framing", "[exposition]")
{
    const std::string om =
        "# HELP reqs Requests.\n"
        "# TYPE reqs counter\n"
        "reqs_total{code=\"200\"} 2\n"
        "# TYPE build info\n"
        "build_info{version=\"1\"} 1\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"1.0\"} 1\n"
        "h_bucket{le=\"+Inf\"} 1\n"
        "h_sum 0.5\n"
        "h_count 1\n"
        "# EOF\n";
    const auto r = parse_exposition(om, expo_format::openmetrics_1_0_0);
    INFO(r.describe());
    REQUIRE(r.ok());
    CHECK(ogp::test::value(r.families, "reqs_total", {{"code", "200"}}) == 2);
    CHECK(ogp::test::family(r.families, "reqs")->type == "counter");
    CHECK(error_of(om.substr(0, om.size() - 6), expo_format::openmetrics_1_0_0)
              .find("missing # EOF") != std::string::npos);
    CHECK(error_of(om + "a 1\n", expo_format::openmetrics_1_0_0).find("after # EOF") !=
          std::string::npos);
    CHECK(
        error_of("# TYPE reqs_total counter\nreqs_total 1\n# EOF\n", expo_format::openmetrics_1_0_0)
            .find("ends in _total") != std::string::npos);
    CHECK(error_of("# TYPE reqs counter\nreqs 1\n# EOF\n", expo_format::openmetrics_1_0_0)
              .find("does not fit") != std::string::npos);
    CHECK(error_of("# TYPE a gauge\na 1\n\n# EOF\n", expo_format::openmetrics_1_0_0)
              .find("empty line") != std::string::npos);
    // Text-format parsing of OpenMetrics fails (the EOF line aside, names do not fit).
    CHECK_FALSE(parse_exposition(om).ok());
}
