// The typed chat request on its own: what parse_chat_request keeps, normalises and refuses
// before any writer runs.

#include <catch2/catch.hpp>

#include "ogp/transform/chat_request_types.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;

namespace {

chat_request parse_ok(const std::string& body)
{
    auto r = parse_chat_request(body, ogp_test::test_config());
    if (!r) {
        FAIL("unexpected error: " << r.error().body());
    }
    return std::move(r.value());
}

}  // namespace

TEST_CASE("typed chat request: messages, parts and tool calls", "[transform][chat_parse]")
{
    auto req = parse_ok(R"({"model":"llama","messages":[
        {"role":"developer","content":"Be brief."},
        {"role":"user","name":"ann","content":[{"type":"text","text":"What is this?"},
            {"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]},
        {"role":"assistant","content":null,"tool_calls":[
            {"id":"c1","type":"function","function":{"name":"look","arguments":{"a":1}}}]},
        {"role":"tool","tool_call_id":"c1","content":"a cat"}]})");
    REQUIRE(req.messages.size() == 4);
    CHECK(req.model_name == "llama");
    CHECK(req.model.oci_id == "meta.llama-3.3-70b-instruct");
    CHECK(req.messages[0].role == chat_role::developer);
    CHECK(req.messages[0].content.type == chat_content::kind::text);
    CHECK(req.messages[0].content.text == "Be brief.");
    const auto& user = req.messages[1];
    CHECK(user.name == "ann");
    REQUIRE(user.content.parts.size() == 2);
    CHECK(user.content.parts[0].type == chat_part::kind::text);
    CHECK(user.content.parts[1].type == chat_part::kind::image_url);
    CHECK(user.content.parts[1].url == "https://x/y.png");
    CHECK(user.content.parts[1].detail == "low");
    const auto& asst = req.messages[2];
    CHECK(asst.content.empty());
    REQUIRE(asst.tool_calls.size() == 1);
    CHECK(asst.tool_calls[0].id == "c1");
    CHECK(asst.tool_calls[0].name == "look");
    CHECK(asst.tool_calls[0].arguments == R"({"a":1})");  // an object is serialised
    CHECK(req.messages[3].role == chat_role::tool);
    CHECK(req.messages[3].tool_call_id == "c1");
}

TEST_CASE("typed chat request: parameters as sent, defaults left to the writers",
          "[transform][chat_parse]")
{
    auto req = parse_ok(R"({"model":"llama","messages":[{"role":"user","content":"Hi"}],
        "stream":true,"stream_options":{"include_usage":true},"n":2,"max_completion_tokens":50,
        "max_tokens":9,"top_p":0.5,"stop":["a","b"],"logprobs":true,"top_logprobs":3,
        "reasoning_effort":"disable","verbosity":"low","service_tier":"priority",
        "tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,
        "response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,
            "schema":{"type":"object"}}}})");
    CHECK(req.stream);
    CHECK(req.include_usage);
    CHECK(req.n == 2);
    CHECK(req.max_tokens == 50);  // max_completion_tokens wins
    CHECK_FALSE(req.temperature.has_value());
    CHECK(req.top_p == 0.5);
    CHECK(req.stop == std::vector<std::string_view>{"a", "b"});
    CHECK(req.logprobs);
    CHECK(req.top_logprobs == 3);
    CHECK(req.reasoning_effort == "NONE");
    CHECK(req.verbosity == "LOW");
    CHECK(req.service_tier == "PRIORITY");
    REQUIRE(req.tool_choice);
    CHECK(req.tool_choice->type == chat_tool_choice::kind::function);
    CHECK(req.tool_choice->function_name == "f");
    CHECK(req.parallel_tool_calls == false);
    REQUIRE(req.response_format);
    CHECK(req.response_format->type == chat_response_format::kind::json_schema);
    CHECK(req.response_format->name == "r");
    CHECK(req.response_format->strict == true);
    CHECK(req.response_format->cleaned.IsObject());
}

TEST_CASE("typed chat request: views survive moving the request", "[transform][chat_parse]")
{
    auto r = parse_chat_request(
        R"({"model":"llama","messages":[{"role":"user","content":"a text longer than a short string"}]})",
        ogp_test::test_config());
    REQUIRE(r.ok());
    chat_request moved = std::move(r.value());
    chat_request again = std::move(moved);
    CHECK(again.messages[0].content.text == "a text longer than a short string");
    CHECK(again.model_name == "llama");
}

TEST_CASE("typed chat request: format-dependent checks happen in the parse",
          "[transform][chat_parse]")
{
    auto cfg = ogp_test::test_config();
    SECTION("COHERE refuses images before any writer runs")
    {
        auto r = parse_chat_request(
            R"({"model":"cohere.command-r-08-2024","messages":[{"role":"user","content":[
                {"type":"image_url","image_url":"https://x/y.png"}]}]})",
            cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().param == "messages[0].content[0].type");
        CHECK(r.error().code == "unsupported_parameter");
    }
    SECTION("COHERE arguments are parsed and tool results linked to their call")
    {
        auto r = parse_chat_request(
            R"({"model":"cohere.command-r-08-2024","messages":[{"role":"user","content":"w?"},
                {"role":"assistant","tool_calls":[{"id":"c1","type":"function",
                  "function":{"name":"wx","arguments":"{\"city\":\"Oslo\"}"}}]},
                {"role":"tool","tool_call_id":"c1","content":"sunny"}]})",
            cfg);
        REQUIRE(r.ok());
        const auto& req = r.value();
        const auto& call = req.messages[1].tool_calls[0];
        REQUIRE(call.parameters.IsObject());
        CHECK(call.parameters["city"] == "Oslo");
        CHECK(req.messages[2].answers == &call);
    }
    SECTION("COHERE arguments that are not an object are refused")
    {
        auto r = parse_chat_request(
            R"({"model":"cohere.command-r-08-2024","messages":[
                {"role":"assistant","tool_calls":[{"id":"c1","type":"function",
                  "function":{"name":"wx","arguments":"[1]"}}]},
                {"role":"user","content":"w?"}]})",
            cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().param == "messages[0].tool_calls[0].function.arguments");
    }
    SECTION("GENERIC needs tool results to answer the preceding assistant turn")
    {
        auto r = parse_chat_request(
            R"({"model":"llama","messages":[{"role":"tool","tool_call_id":"x","content":"1"}]})",
            cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().param == "messages[0].tool_call_id");
    }
    SECTION("tool schemas are cleaned in the parse ($ref inlined)")
    {
        auto r = parse_chat_request(
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function",
                "function":{"name":"f","parameters":{"type":"object","$defs":{"c":{"type":"string"}},
                "properties":{"city":{"$ref":"#/$defs/c"}}}}}]})",
            cfg);
        REQUIRE(r.ok());
        const auto& schema = r.value().tools[0].schema;
        REQUIRE(schema.IsObject());
        CHECK_FALSE(schema.HasMember("$defs"));
        CHECK(schema["properties"]["city"]["type"] == "string");
    }
    SECTION("COHERE with tool_choice none sends no tools, so their errors do not matter")
    {
        auto r = parse_chat_request(
            R"({"model":"cohere.command-r-08-2024","messages":[{"role":"user","content":"x"}],
                "tool_choice":"none","tools":[{"type":"function"}]})",
            cfg);
        REQUIRE(r.ok());
        CHECK(r.value().tools_suppressed());
        auto g = parse_chat_request(
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],
                "tool_choice":"none","tools":[{"type":"function"}]})",
            cfg);
        REQUIRE_FALSE(g.ok());
        CHECK(g.error().param == "tools[0].function");
    }
}

TEST_CASE("typed chat request: reasoning efforts newer than OCI's enum map to HIGH",
          "[transform][chat_parse]")
{
    // OpenAI added xhigh (and some clients send max); OCI's enum ends at HIGH (issue 13).
    for (std::string effort : {"xhigh", "max", "XHIGH", "high"}) {
        INFO(effort);
        auto r = parse_chat_request(
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],"reasoning_effort":")" +
                effort + "\"}",
            ogp_test::test_config());
        REQUIRE(r.ok());
        CHECK(r.value().reasoning_effort == "HIGH");
    }
    auto bad = parse_chat_request(
        R"({"model":"llama","messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme"})",
        ogp_test::test_config());
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().param == "reasoning_effort");
}

TEST_CASE("typed chat request: audio parts, the thinking extension, allowed tools",
          "[transform][chat_parse]")
{
    auto req = parse_ok(R"({"model":"command-v2","messages":[{"role":"user","content":"x"}],
        "thinking":{"type":"Enabled","budget_tokens":512},
        "tools":[{"type":"function","function":{"name":"a"}},
                 {"type":"function","function":{"name":"b"}},
                 {"type":"function","function":{"name":"c"}}],
        "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required",
            "tools":[{"type":"function","function":{"name":"c"}},
                     {"type":"function","function":{"name":"a"}},
                     {"type":"function","function":{"name":"a"}}]}}})");
    REQUIRE(req.thinking);
    CHECK(req.thinking->enabled);
    CHECK(req.thinking->budget_tokens == 512);
    REQUIRE(req.tool_choice);
    CHECK(req.tool_choice->type == chat_tool_choice::kind::required);
    CHECK(req.tool_choice->allowed_only);
    CHECK(req.tool_choice->allowed.size() == 3);  // as sent, duplicates and all
    REQUIRE(req.tools.size() == 3);
    CHECK(req.tools[0].allowed);
    CHECK_FALSE(req.tools[1].allowed);
    CHECK(req.tools[2].allowed);

    auto audio = parse_ok(R"({"model":"llama","messages":[{"role":"user","content":[
        {"type":"input_audio","input_audio":{"data":"SUQzBA==","format":"mp3"}}]}]})");
    const chat_part& p = audio.messages[0].content.parts.at(0);
    CHECK(p.type == chat_part::kind::audio);
    CHECK(p.data == "SUQzBA==");
    CHECK(p.media_type == "audio/mpeg");
    CHECK(p.url.empty());
}
