// locate_model's `stream` flag (issue 16: max_streams admission reads it without a second
// parse of the body).

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "ogp/transform/passthrough.hpp"

using ogp::transform::locate_model;

namespace {

bool stream_of(std::string_view body)
{
    auto r = locate_model(body);
    REQUIRE(r.ok());
    return r.value().stream;
}

}  // namespace

TEST_CASE("stream flag: the top-level literal true is a stream", "[transform][stream_flag]")
{
    CHECK(stream_of(R"({"model":"m","stream":true})"));
    CHECK(stream_of(R"({"stream" :  true ,"model":"m"})"));
    CHECK(stream_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":true})"));
}

TEST_CASE("stream flag: anything else is not a stream", "[transform][stream_flag]")
{
    CHECK_FALSE(stream_of(R"({"model":"m"})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":false})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":"true"})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":1})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":null})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":[true]})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":{"stream":true}})"));
    // Nested members named stream do not count.
    CHECK_FALSE(stream_of(R"({"model":"m","x":{"stream":true},"y":[{"stream":true}]})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream_options":true})"));
}

TEST_CASE("stream flag: a repeated member counts as its last value", "[transform][stream_flag]")
{
    CHECK(stream_of(R"({"model":"m","stream":false,"stream":true})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":true,"stream":false})"));
    CHECK_FALSE(stream_of(R"({"model":"m","stream":true,"stream":null})"));
}

TEST_CASE("stream flag: the model is still located exactly", "[transform][stream_flag]")
{
    std::string body = R"({"stream":true,"model":"gpt-4o"})";
    auto r = locate_model(body);
    REQUIRE(r.ok());
    CHECK(r.value().value == "gpt-4o");
    CHECK(body.substr(r.value().begin, r.value().end - r.value().begin) == "\"gpt-4o\"");
    // A stream flag does not rescue a body without a model.
    CHECK_FALSE(locate_model(R"({"stream":true})").ok());
}
