// glob_match / model_allowed (the clients.keys model allow-list) and reset_text.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "ogp/limits/limiter.hpp"

using ogp::limits::glob_match;
using ogp::limits::model_allowed;
using ogp::limits::reset_text;
using std::chrono::milliseconds;

TEST_CASE("glob star matches any run including the empty one", "[limits][glob]")
{
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*", "anything at all"));
    CHECK(glob_match("gpt-*", "gpt-"));
    CHECK(glob_match("gpt-*", "gpt-4o"));
    CHECK_FALSE(glob_match("gpt-*", "gpt"));
    CHECK(glob_match("*-mini", "gpt-4o-mini"));
    CHECK_FALSE(glob_match("*-mini", "gpt-4o-mini-x"));
    CHECK(glob_match("**", "x"));
}

TEST_CASE("glob question mark matches exactly one byte", "[limits][glob]")
{
    CHECK(glob_match("gpt-?", "gpt-4"));
    CHECK_FALSE(glob_match("gpt-?", "gpt-"));
    CHECK_FALSE(glob_match("gpt-?", "gpt-4o"));
    CHECK(glob_match("???", "abc"));
    CHECK_FALSE(glob_match("?", ""));
}

TEST_CASE("glob with several stars backtracks correctly", "[limits][glob]")
{
    CHECK(glob_match("a*b*c", "abc"));
    CHECK(glob_match("a*b*c", "axxbyyc"));
    CHECK(glob_match("a*b*c", "abbbcbc"));
    CHECK_FALSE(glob_match("a*b*c", "acb"));
    CHECK_FALSE(glob_match("a*b*c", "abcx"));
    CHECK(glob_match("meta.*.llama*", "meta.x.llama-3"));
}

TEST_CASE("glob is case sensitive and literal otherwise", "[limits][glob]")
{
    CHECK_FALSE(glob_match("GPT-4o", "gpt-4o"));
    CHECK(glob_match("cohere.command-r-plus", "cohere.command-r-plus"));
    CHECK_FALSE(glob_match("cohere.command-r", "cohere.command-r-plus"));
    CHECK_FALSE(glob_match("[a]", "a"));
    CHECK(glob_match("[a]", "[a]"));
}

TEST_CASE("an empty pattern matches only the empty text", "[limits][glob]")
{
    CHECK(glob_match("", ""));
    CHECK_FALSE(glob_match("", "a"));
    CHECK_FALSE(glob_match("a", ""));
}

TEST_CASE("a pathological pattern against a long text finishes", "[limits][glob]")
{
    // Exponential for a naive recursive matcher; bounded here (the test's time bound is ctest's).
    const std::string text(20000, 'a');
    CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", text));
    CHECK(glob_match("*a*a*a*a*a*a*a*a*", text));
    CHECK(glob_match("*a*a*a*a*b", text + "b"));
}

TEST_CASE("model_allowed with an empty list allows every model", "[limits][glob]")
{
    CHECK(model_allowed({}, "anything"));
    const std::vector<std::string> p{"gpt-4o", "cohere.*"};
    CHECK(model_allowed(p, "gpt-4o"));
    CHECK(model_allowed(p, "cohere.command-r"));
    CHECK_FALSE(model_allowed(p, "gpt-4o-mini"));
    CHECK_FALSE(model_allowed(p, ""));
}

TEST_CASE("reset_text spells durations like OpenAI", "[limits][glob]")
{
    CHECK(reset_text(milliseconds(0)) == "0ms");
    CHECK(reset_text(milliseconds(-5)) == "0ms");
    CHECK(reset_text(milliseconds(120)) == "120ms");
    CHECK(reset_text(milliseconds(999)) == "999ms");
    CHECK(reset_text(milliseconds(1000)) == "1s");
    CHECK(reset_text(milliseconds(1001)) == "2s");
    CHECK(reset_text(milliseconds(12000)) == "12s");
    CHECK(reset_text(milliseconds(60000)) == "1m0s");
    CHECK(reset_text(milliseconds(360000)) == "6m0s");
    CHECK(reset_text(milliseconds(3723000)) == "1h2m3s");
    CHECK(reset_text(milliseconds(3600000)) == "1h0m0s");
}
