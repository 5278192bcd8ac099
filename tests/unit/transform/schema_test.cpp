// JSON schemas in tools and response formats: kept as given (anyOf, oneOf, type lists,
// nullable) for every family but the ones documented to refuse a construct; Gemini gets the
// same rewrites in tools and in response_format; COHERE v1's flat parameters stay sane.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <string>

#include "ogp/transform/chat_request.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;

namespace {

// A Pydantic/Zod-style schema: a $ref with a sibling, Optional (anyOf with null), a type
// list, nullable, oneOf, const, exclusive bounds, a title and a null default.
const char* schema = R"({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Args",
  "type": "object",
  "$defs": {"Unit": {"type": "string", "enum": ["C", "F"]}},
  "properties": {
    "unit": {"$ref": "#/$defs/Unit", "description": "unit"},
    "days": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null},
    "note": {"type": ["string", "null"]},
    "tag": {"type": "string", "nullable": true},
    "pick": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "kind": {"const": "fixed"},
    "n": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10, "multipleOf": 2}
  },
  "required": ["unit", "days", "note"],
  "additionalProperties": false
})";

// A chat body for `model` carrying `schema` as a tool's parameters and, optionally, as the
// json_schema response format.
std::string body(const std::string& model, bool with_response_format)
{
    std::string b =
        R"({"model":")" + model +
        R"(","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":)" +
        schema + "}}]";
    if (with_response_format) {
        b += R"(,"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":)" +
             std::string(schema) + "}}";
    }
    return b + "}";
}

rapidjson::Document planned(const std::string& b)
{
    auto r = plan_chat(b, ogp_test::test_config());
    if (!r) {
        FAIL("unexpected error: " << r.error().body());
    }
    rapidjson::Document d;
    d.Parse(r.value().body.data(), r.value().body.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

std::string to_json(const rapidjson::Value& v)
{
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return sb.GetString();
}

std::string str(const rapidjson::Value& v)
{
    return v.IsString() ? v.GetString() : "";
}

}  // namespace

TEST_CASE(
    "schemas: a GENERIC model other than Gemini gets anyOf, oneOf, type lists and nullable "
    "as given, in tools and in response_format",
    "[transform][schema]")
{
    auto d = planned(body("meta.llama-3.3-70b-instruct", true));
    const auto& cr = d["chatRequest"];
    const auto& tool = cr["tools"][0]["parameters"];
    const auto& rf = cr["responseFormat"]["jsonSchema"]["schema"];
    // The same schema in both places.
    CHECK(to_json(tool) == to_json(rf));
    for (const auto* s : {&tool, &rf}) {
        const auto& p = (*s)["properties"];
        // $ref inlined (the only rewrite), with its sibling; the definitions gone.
        CHECK_FALSE(s->HasMember("$defs"));
        CHECK_FALSE(s->HasMember("$schema"));
        CHECK(str(p["unit"]["type"]) == "string");
        CHECK(str(p["unit"]["description"]) == "unit");
        CHECK_FALSE(p["unit"].HasMember("$ref"));
        // Everything else as given.
        CHECK(str((*s)["title"]) == "Args");
        REQUIRE(p["days"]["anyOf"].Size() == 2);
        CHECK(str(p["days"]["anyOf"][1]["type"]) == "null");
        CHECK(p["days"]["default"].IsNull());
        REQUIRE(p["note"]["type"].IsArray());
        CHECK(p["note"]["type"].Size() == 2);
        CHECK(p["tag"]["nullable"].GetBool());
        CHECK(p["pick"]["oneOf"].Size() == 2);
        CHECK(str(p["kind"]["const"]) == "fixed");
        CHECK(p["n"]["exclusiveMinimum"].GetInt() == 0);
        CHECK(p["n"]["exclusiveMaximum"].GetInt() == 10);
        CHECK(p["n"]["multipleOf"].GetInt() == 2);
        CHECK((*s)["required"].Size() == 3);
        CHECK_FALSE((*s)["additionalProperties"].GetBool());
    }
}

TEST_CASE(
    "schemas: Gemini gets Google's Schema subset, identically in tools and in "
    "response_format",
    "[transform][schema]")
{
    auto d = planned(body("google.gemini-2.5-flash", true));
    const auto& cr = d["chatRequest"];
    const auto& tool = cr["tools"][0]["parameters"];
    const auto& rf = cr["responseFormat"]["jsonSchema"]["schema"];
    CHECK(to_json(tool) == to_json(rf));
    for (const auto* s : {&tool, &rf}) {
        const auto& p = (*s)["properties"];
        CHECK_FALSE(s->HasMember("$defs"));
        CHECK_FALSE(s->HasMember("$schema"));
        CHECK(str(p["unit"]["type"]) == "string");
        // Optional[int]: the null branch becomes nullable, the one left is merged.
        CHECK_FALSE(p["days"].HasMember("anyOf"));
        CHECK(str(p["days"]["type"]) == "integer");
        CHECK(p["days"]["nullable"].GetBool());
        // A type list: one type plus nullable.
        CHECK(str(p["note"]["type"]) == "string");
        CHECK(p["note"]["nullable"].GetBool());
        CHECK(p["tag"]["nullable"].GetBool());
        // oneOf → anyOf.
        CHECK_FALSE(p["pick"].HasMember("oneOf"));
        REQUIRE(p["pick"]["anyOf"].Size() == 2);
        CHECK(str(p["pick"]["anyOf"][1]["type"]) == "integer");
        // const → a one-value enum.
        CHECK_FALSE(p["kind"].HasMember("const"));
        REQUIRE(p["kind"]["enum"].Size() == 1);
        CHECK(str(p["kind"]["enum"][0]) == "fixed");
        // Exclusive bounds → plain bounds; keys outside the subset dropped.
        CHECK_FALSE(p["n"].HasMember("exclusiveMinimum"));
        CHECK_FALSE(p["n"].HasMember("exclusiveMaximum"));
        CHECK(p["n"]["minimum"].GetInt() == 0);
        CHECK(p["n"]["maximum"].GetInt() == 10);
        CHECK_FALSE(p["n"].HasMember("multipleOf"));
        // In the subset: kept.
        CHECK(str((*s)["title"]) == "Args");
        CHECK((*s)["required"].Size() == 3);
        CHECK_FALSE((*s)["additionalProperties"].GetBool());
    }
}

TEST_CASE("schemas: Gemini's exclusive bounds keep the tighter of the two bounds",
          "[transform][schema]")
{
    auto d = planned(
        R"({"model":"google.gemini-2.5-pro","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"a":{"type":"number","minimum":5,"exclusiveMinimum":0,"maximum":3,"exclusiveMaximum":2},"b":{"type":"number","minimum":1,"exclusiveMinimum":true}}}}}})");
    const auto& p = d["chatRequest"]["responseFormat"]["jsonSchema"]["schema"]["properties"];
    CHECK(p["a"]["minimum"].GetInt() == 5);
    CHECK(p["a"]["maximum"].GetInt() == 2);
    // Draft 4's boolean form only qualified `minimum`.
    CHECK(p["b"]["minimum"].GetInt() == 1);
    CHECK_FALSE(p["b"].HasMember("exclusiveMinimum"));
}

TEST_CASE("schemas: COHERE v1 parameters take the non-null type - a nullable one is not required",
          "[transform][schema]")
{
    auto d = planned(body("cohere.command-r-plus-08-2024", false));
    const auto& defs = d["chatRequest"]["tools"][0]["parameterDefinitions"];
    CHECK(str(defs["unit"]["type"]) == "str");
    CHECK(defs["unit"]["isRequired"].GetBool());
    CHECK(str(defs["days"]["type"]) == "int");
    CHECK_FALSE(defs["days"]["isRequired"].GetBool());
    CHECK(str(defs["note"]["type"]) == "str");
    CHECK_FALSE(defs["note"]["isRequired"].GetBool());
    CHECK(str(defs["pick"]["type"]) == "str");
    CHECK(str(defs["n"]["type"]) == "float");
}

TEST_CASE("schemas: COHERE JSON_OBJECT and COHEREV2 tools and schemas keep unions as given",
          "[transform][schema]")
{
    SECTION("COHERE response_format schema")
    {
        std::string b =
            R"({"model":"cohere.command-r-plus-08-2024","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":)" +
            std::string(schema) + "}}}";
        auto d = planned(b);
        const auto& rf = d["chatRequest"]["responseFormat"];
        CHECK(str(rf["type"]) == "JSON_OBJECT");
        CHECK(rf["schema"]["properties"]["days"]["anyOf"].Size() == 2);
        CHECK(rf["schema"]["properties"]["note"]["type"].IsArray());
    }
    SECTION("COHEREV2 tools and response_format")
    {
        auto d = planned(body("cohere.command-a-vision-07-2025", true));
        const auto& cr = d["chatRequest"];
        const auto& tool = cr["tools"][0]["function"]["parameters"];
        CHECK(tool["properties"]["days"]["anyOf"].Size() == 2);
        CHECK(tool["properties"]["pick"]["oneOf"].Size() == 2);
        CHECK(cr["responseFormat"]["schema"]["properties"]["note"]["type"].IsArray());
    }
}

TEST_CASE("schemas: $ref inside a kept anyOf is inlined too (no dangling reference)",
          "[transform][schema]")
{
    auto d = planned(
        R"({"model":"meta.llama-3.3-70b-instruct","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","$defs":{"P":{"type":"object","properties":{"x":{"type":"string"}}}},"properties":{"p":{"anyOf":[{"$ref":"#/$defs/P"},{"type":"null"}]},"q":{"not":{"$ref":"#/$defs/P"}}}}}}]})");
    const auto& p = d["chatRequest"]["tools"][0]["parameters"]["properties"];
    CHECK(str(p["p"]["anyOf"][0]["type"]) == "object");
    CHECK_FALSE(p["p"]["anyOf"][0].HasMember("$ref"));
    CHECK(str(p["q"]["not"]["type"]) == "object");
}

TEST_CASE("schemas: the $ref recursion error and the expansion budget hold in every dialect",
          "[transform][schema]")
{
    for (const char* model :
         {"meta.llama-3.3-70b-instruct", "google.gemini-2.5-flash", "cohere.command-r-plus"}) {
        INFO(model);
        std::string b =
            std::string(R"({"model":")") + model +
            R"(","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","$defs":{"N":{"anyOf":[{"$ref":"#/$defs/N"},{"type":"null"}]}},"properties":{"n":{"$ref":"#/$defs/N"}}}}}]})";
        auto r = plan_chat(b, ogp_test::test_config());
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
        CHECK(r.error().body().find("tools[0].function.parameters") != std::string::npos);
        CHECK(r.error().body().find("recursive") != std::string::npos);
    }
}
