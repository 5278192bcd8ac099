// locate_model / splice_model: the `openai` route's only edit of a client body (issue 14).

#include "ogp/transform/passthrough.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace ogp;
using namespace ogp::transform;

namespace {

std::string located(std::string_view body)
{
    auto r = locate_model(body);
    REQUIRE(r.ok());
    const auto& f = r.value();
    CHECK(body[f.begin] == '"');
    CHECK(body[f.end - 1] == '"');
    return f.value;
}

api_error failure(std::string_view body, std::size_t depth = 64)
{
    auto r = locate_model(body, depth);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == 400);
    CHECK(r.error().type() == error_type::invalid_request);
    return r.error();
}

}  // namespace

TEST_CASE("passthrough: locates the top-level model and its exact bytes",
          "[transform][passthrough]")
{
    std::string body = R"({"messages":[{"model":"inner"}],"model" :  "gpt-4o" , "x":{"model":1}})";
    auto r = locate_model(body);
    REQUIRE(r.ok());
    CHECK(r.value().value == "gpt-4o");
    CHECK(body.substr(r.value().begin, r.value().end - r.value().begin) == "\"gpt-4o\"");
    CHECK(located("{\n\t\"model\"\r\n:\n\"a\"}") == "a");
    CHECK(located(R"({"model":""})").empty());
}

TEST_CASE("passthrough: escapes in the value and the key are decoded", "[transform][passthrough]")
{
    CHECK(located(R"({"model":"a\/b\u0041\"q"})") == "a/bA\"q");
    CHECK(located(R"({"mod\u0065l":"m"})") == "m");
    CHECK(located(R"({"model":"caf\u00e9"})") == "caf\xc3\xa9");
}

TEST_CASE("passthrough: splice replaces only the model's bytes", "[transform][passthrough]")
{
    std::string body =
        R"({ "stream" : true,"model":  "gpt\u002d4o","n":1.50e+3,"z":[1,{"model":"k"}] })";
    auto r = locate_model(body);
    REQUIRE(r.ok());
    std::string out = splice_model(body, r.value(), "openai.gpt-oss-120b");
    CHECK(
        out ==
        R"({ "stream" : true,"model":  "openai.gpt-oss-120b","n":1.50e+3,"z":[1,{"model":"k"}] })");
    // Quotes and control bytes in the new id are escaped.
    std::string odd = splice_model(body, r.value(), "a\"b\n");
    auto again = locate_model(odd);
    REQUIRE(again.ok());
    CHECK(again.value().value == "a\"b\n");
    CHECK(odd.substr(0, r.value().begin) == body.substr(0, r.value().begin));
    CHECK(odd.substr(again.value().end) == body.substr(r.value().end));
}

TEST_CASE("passthrough: bodies that are not a JSON object are 400 invalid_json",
          "[transform][passthrough]")
{
    for (std::string_view b : {"", "[]", "\"model\"", "42", "{", R"({"model":"a"} x)",
                               R"({"model":"a",})", "{\"model\":\"\xff\"}", "null"}) {
        INFO(b);
        CHECK(failure(b).code == "invalid_json");
    }
    // A NUL byte inside the text.
    std::string nul = std::string("{\"model\":\"a\"") + '\0' + "}";
    CHECK(failure(nul).code == "invalid_json");
}

TEST_CASE("passthrough: model missing, not a string or given twice is a 400 on param model",
          "[transform][passthrough]")
{
    for (std::string_view b :
         {R"({})", R"({"x":{"model":"a"}})", R"({"model":1})", R"({"model":null})",
          R"({"model":{"id":"a"}})", R"({"model":["a"]})", R"({"model":"a","model":"b"})",
          R"({"model":"a","mod\u0065l":"b"})"}) {
        INFO(b);
        CHECK(failure(b).param == "model");
    }
}

TEST_CASE("passthrough: nesting is bounded", "[transform][passthrough]")
{
    std::string deep = R"({"model":"m","x":)" + std::string(100, '[') + std::string(100, ']') + "}";
    CHECK(failure(deep).code == "invalid_json");
    CHECK(failure(deep).message.find("deeper than 64") != std::string::npos);
    auto r = locate_model(deep, 200);
    CHECK(r.ok());
    // Far deeper than any stack could recurse: still a clean error.
    std::string very = "{\"a\":" + std::string(200000, '[');
    CHECK(failure(very).code == "invalid_json");
}

TEST_CASE("passthrough: numbers stay text (integers beyond 64 bits pass)",
          "[transform][passthrough]")
{
    std::string body = R"({"temperature":0.1000000000000000055511,"model":"m",)"
                       R"("seed":123456789012345678901234567890})";
    CHECK(located(body) == "m");
    // An exponent beyond double's range is still a parse error (RapidJSON checks it).
    CHECK(failure(R"({"t":1e999,"model":"m"})").code == "invalid_json");
}
