#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "ogp/transform/chat_response.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::fixture_dir;
using ogp_test::read_file;

namespace {

chat_plan plan_for(const std::string& request)
{
    auto r = plan_chat(request, ogp_test::test_config());
    REQUIRE(r.ok());
    return r.value();
}

rapidjson::Document to_openai(const std::string& fixture)
{
    auto dir = fixture_dir("responses");
    auto plan = plan_for(read_file(dir / (fixture + ".request.json")));
    auto r = chat_response_to_openai(read_file(dir / (fixture + ".oci.json")), plan,
                                     "chatcmpl-test", 1700000000);
    REQUIRE(r.ok());
    rapidjson::Document d;
    d.Parse(r.value().data(), r.value().size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

std::string s(const rapidjson::Value& v)
{
    return v.IsString() ? std::string(v.GetString()) : std::string("<not a string>");
}

}  // namespace

TEST_CASE("response golden fixtures", "[transform][response]")
{
    ogp_test::for_each_fixture("responses", ".oci.json", 10, [](const auto& dir, const auto& name) {
        auto plan = plan_for(read_file(dir / (name + ".request.json")));
        auto r = chat_response_to_openai(read_file(dir / (name + ".oci.json")), plan,
                                         "chatcmpl-test", 1700000000);
        REQUIRE(r.ok());
        ogp_test::check_golden_json(r.value(), dir / (name + ".openai.json"));
    });
}

TEST_CASE("chat.completion fields", "[transform][response]")
{
    SECTION("text joined, id, created from timeCreated, client model name, usage details")
    {
        auto d = to_openai("generic_text");
        CHECK(s(d["id"]) == "chatcmpl-test");
        CHECK(s(d["object"]) == "chat.completion");
        CHECK(d["created"].GetInt64() == 1795654800);  // 2026-11-26T01:00:00Z
        CHECK(s(d["model"]) == "meta.llama-3.3-70b-instruct");
        CHECK(s(d["choices"][0]["message"]["content"]) == "Hello, world");
        CHECK(s(d["choices"][0]["message"]["role"]) == "assistant");
        CHECK(s(d["choices"][0]["finish_reason"]) == "stop");
        CHECK(d["usage"]["prompt_tokens"].GetInt() == 10);
        CHECK(d["usage"]["completion_tokens"].GetInt() == 3);
        CHECK(d["usage"]["total_tokens"].GetInt() == 13);
        CHECK(d["usage"]["prompt_tokens_details"]["cached_tokens"].GetInt() == 4);
        CHECK(d["usage"]["completion_tokens_details"]["reasoning_tokens"].GetInt() == 0);
    }
    SECTION("tool calls without ids get stable distinct synthetic ids and finish tool_calls")
    {
        auto d = to_openai("generic_tool_calls_without_ids");
        const auto& calls = d["choices"][0]["message"]["tool_calls"];
        REQUIRE(calls.Size() == 2);
        CHECK(s(calls[0]["id"]) != s(calls[1]["id"]));
        CHECK(s(calls[0]["id"]) == synthetic_tool_call_id("chatcmpl-test", 0, 0));
        CHECK(s(calls[1]["function"]["arguments"]) == R"({"city":"Rome"})");
        CHECK(s(calls[0]["type"]) == "function");
        CHECK(s(d["choices"][0]["finish_reason"]) == "tool_calls");
        CHECK(d["choices"][0]["message"]["content"].IsNull());
        CHECK(d["created"].GetInt64() == 1795654800 - 3600);
        auto again = to_openai("generic_tool_calls_without_ids");
        CHECK(s(again["choices"][0]["message"]["tool_calls"][0]["id"]) == s(calls[0]["id"]));
    }
    SECTION("Cohere COMPLETE with tool calls becomes tool_calls")
    {
        auto d = to_openai("cohere_tool_calls_complete");
        CHECK(s(d["choices"][0]["finish_reason"]) == "tool_calls");
        const auto& calls = d["choices"][0]["message"]["tool_calls"];
        REQUIRE(calls.Size() == 2);
        CHECK(s(calls[0]["function"]["arguments"]) == R"({"city":"Paris"})");
        CHECK(s(d["choices"][0]["message"]["content"]) == "I will check the weather.");
    }
    SECTION("finish reasons")
    {
        CHECK(s(to_openai("cohere_toxic")["choices"][0]["finish_reason"]) == "content_filter");
        CHECK(s(to_openai("cohere_max_tokens")["choices"][0]["finish_reason"]) == "length");
        CHECK(s(to_openai("cohere_text")["choices"][0]["finish_reason"]) == "stop");
        CHECK(s(to_openai("generic_reasoning_content")["choices"][0]["finish_reason"]) == "length");
        CHECK(map_finish_reason("COMPLETE") == "stop");
        CHECK(map_finish_reason("MAX_TOKENS") == "length");
        CHECK(map_finish_reason("TOOL_CALL") == "tool_calls");
        CHECK(map_finish_reason("ERROR_TOXIC") == "content_filter");
        CHECK(map_finish_reason("ERROR") == "error");
        CHECK(map_finish_reason("USER_CANCEL") == "stop");
    }
    SECTION("reasoning content and reasoning models that exhausted the budget")
    {
        auto d = to_openai("generic_reasoning_content");
        CHECK(s(d["choices"][0]["message"]["reasoning_content"]) == "Think...");
        auto e = to_openai("generic_reasoning_exhausted");
        CHECK(e["choices"][0]["message"]["content"].IsNull());
        CHECK(e["usage"]["completion_tokens"].GetInt() == 0);
        CHECK(e["usage"]["completion_tokens_details"]["reasoning_tokens"].GetInt() == 500);
    }
    SECTION("COHEREV2 thinking and nested tool calls")
    {
        auto d = to_openai("coherev2_thinking_tools");
        CHECK(s(d["choices"][0]["message"]["reasoning_content"]) == "hmm");
        CHECK(s(d["choices"][0]["message"]["tool_calls"][0]["id"]) == "tc_1");
        CHECK(s(d["choices"][0]["finish_reason"]) == "tool_calls");
    }
    SECTION("n=2 and logprobs")
    {
        auto d = to_openai("generic_n2_logprobs");
        REQUIRE(d["choices"].Size() == 2);
        CHECK(d["choices"][1]["index"].GetInt() == 1);
        CHECK(s(d["choices"][1]["finish_reason"]) == "content_filter");
        CHECK(s(d["choices"][0]["logprobs"]["content"][0]["token"]) == "A");
        CHECK(d["choices"][0]["logprobs"]["content"][0]["logprob"].GetDouble() == -0.5);
        CHECK(d["choices"][0]["logprobs"]["content"][0]["top_logprobs"][0]["logprob"].GetDouble() ==
              -0.5);
    }
    SECTION("garbage and ERROR finishes are 502s")
    {
        auto plan = plan_for(R"({"model":"llama","messages":[{"role":"user","content":"x"}]})");
        CHECK(chat_response_to_openai("not json", plan, "chatcmpl-x", 1).error().status == 502);
        CHECK(chat_response_to_openai("{}", plan, "chatcmpl-x", 1).error().status == 502);
        auto r = chat_response_to_openai(
            R"({"chatResponse":{"apiFormat":"COHERE","text":"","finishReason":"ERROR","errorMessage":"boom"}})",
            plan, "chatcmpl-x", 1);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 502);
        CHECK(r.error().message.find("boom") == std::string::npos);
        CHECK(r.error().log_detail == "boom");
    }
    SECTION("created falls back to the injected clock")
    {
        auto plan = plan_for(R"({"model":"llama","messages":[{"role":"user","content":"x"}]})");
        auto r = chat_response_to_openai(
            R"({"chatResponse":{"apiFormat":"GENERIC","choices":[{"index":0,"message":{"role":"ASSISTANT","content":[{"type":"TEXT","text":"x"}]},"finishReason":"stop"}]}})",
            plan, "chatcmpl-x", 1234);
        REQUIRE(r.ok());
        rapidjson::Document d;
        d.Parse(r.value().c_str());
        CHECK(d["created"].GetInt64() == 1234);
        CHECK_FALSE(d.HasMember("usage"));
    }
}

TEST_CASE("ISO-8601 parsing", "[transform][response]")
{
    CHECK(parse_iso8601("1970-01-01T00:00:00Z") == 0);
    CHECK(parse_iso8601("2026-11-26T01:00:00.000Z") == 1795654800);
    CHECK(parse_iso8601("2026-11-26T02:00:00+01:00") == 1795654800);
    CHECK(parse_iso8601("2026-11-26T00:30:00-00:30") == 1795654800);
    CHECK(parse_iso8601("2000-02-29T12:00:00Z") == 951825600);
    CHECK(parse_iso8601("") == -1);
    CHECK(parse_iso8601("2026-13-01T00:00:00Z") == -1);
    CHECK(parse_iso8601("2026-11-26T01:00:00Zjunk") == -1);
}

TEST_CASE("ids", "[transform][response]")
{
    auto a = make_completion_id(0x0123456789abcdefull, 0xdeadbeef);
    CHECK(a == "chatcmpl-0123456789abcdefdeadbeef");
    CHECK(make_completion_id(1, 2) != make_completion_id(1, 3));
    CHECK(synthetic_tool_call_id(a, 0, 1) == synthetic_tool_call_id(a, 0, 1));
    CHECK(synthetic_tool_call_id(a, 0, 1) != synthetic_tool_call_id(a, 0, 2));
    CHECK(synthetic_tool_call_id(a, 0, 1) != synthetic_tool_call_id(a, 1, 1));
    CHECK(synthetic_tool_call_id(a, 0, 0).rfind("call_", 0) == 0);
    auto r1 = random_completion_id();
    auto r2 = random_completion_id();
    CHECK(r1 != r2);
    CHECK(r1.rfind("chatcmpl-", 0) == 0);
    CHECK(r1.size() == a.size());
}

TEST_CASE("OCI errors map to OpenAI errors", "[transform][errors]")
{
    SECTION("numeric code with JSON inside message is unwrapped")
    {
        auto e = map_oci_error(
            400,
            R"({"code":"400","message":"{\"id\":\"/48465B\",\"message\":\"invalid request: cannot specify message if the last entry in chat history contains tool results\"}"})",
            "", "req-1");
        CHECK(e.status == 400);
        CHECK(to_string(e.type()) == "invalid_request_error");
        CHECK(e.message.find("cannot specify message") == std::string::npos);
        CHECK(e.log_detail.find("cannot specify message") != std::string::npos);
        CHECK(e.message.find("{") == std::string::npos);
        CHECK(e.message.find("req-1") != std::string::npos);
        CHECK(e.code.empty());
    }
    SECTION("named OCI codes are kept on 4xx")
    {
        auto e =
            map_oci_error(400, R"({"code":"InvalidParameter","message":"bad maxTokens"})", "", "");
        CHECK(e.code == "InvalidParameter");
        CHECK(e.message.find("InvalidParameter") != std::string::npos);
        CHECK(e.message.find("bad maxTokens") == std::string::npos);
        CHECK(e.log_detail == "InvalidParameter: bad maxTokens");
    }
    SECTION("OpenAI-style error double-encoded inside message")
    {
        auto e = map_oci_error(
            400,
            R"({"code":"400","message":"{\"error\":{\"message\":\"Unsupported value: temperature\",\"param\":\"temperature\",\"code\":\"unsupported_value\"}}"})",
            "", "");
        CHECK(e.param == "temperature");
        CHECK(e.code == "unsupported_value");
        CHECK(e.message.find("'temperature'") != std::string::npos);
        CHECK(e.log_detail.find("Unsupported value") != std::string::npos);
    }
    SECTION("OCI's text never reaches the client: OCIDs, hosts and addresses stay in the log")
    {
        const char* leaky =
            R"({"code":"NotAuthorizedOrNotFound","message":"Authorization failed or requested )"
            R"(resource not found for compartment ocid1.compartment.oc1..aaaasecret in tenancy )"
            R"(ocid1.tenancy.oc1..bbbbsecret via genai-internal-7.svc.oraclecloud.internal )"
            R"x((10.1.2.3)"})x";
        for (unsigned status : {400u, 401u, 403u, 404u, 409u, 429u, 500u, 503u}) {
            auto e = map_oci_error(status, leaky, "", "opc-1");
            INFO(status);
            for (const char* secret : {"ocid1.", "internal", "10.1.2.3", "Authorization failed"}) {
                CHECK(e.body().find(secret) == std::string::npos);
            }
            CHECK(e.message.find("opc-1") != std::string::npos);
            CHECK(e.log_detail.find("ocid1.tenancy") != std::string::npos);
        }
        auto odd = map_oci_error(
            400, R"({"code":"400","message":"{\"error\":{\"param\":\"x ocid1.y\"}}"})", "", "");
        CHECK(odd.param.empty());
    }
    SECTION("404 is model_not_found")
    {
        auto e = map_oci_error(
            404, R"({"code":"NotAuthorizedOrNotFound","message":"Entity not found"})", "", "r");
        CHECK(e.status == 404);
        CHECK(e.code == "model_not_found");
    }
    SECTION("429 keeps Retry-After")
    {
        auto e = map_oci_error(429, R"({"code":"TooManyRequests","message":"slow down"})", "7", "");
        CHECK(e.status == 429);
        CHECK(to_string(e.type()) == "rate_limit_error");
        CHECK(e.retry_after == "7");
        CHECK(map_oci_error(429, "", "", "").retry_after == "1");
        CHECK(map_oci_error(429, "", "Wed, 21 Oct 2015 07:28:00 GMT\r\nX: y", "").retry_after ==
              "1");
    }
    SECTION("5xx become 502 or 503, auth failures are never blamed on the client")
    {
        CHECK(map_oci_error(500, R"({"code":"500","message":"Internal Server Error."})", "", "")
                  .status == 502);
        CHECK(map_oci_error(504, "", "", "").status == 502);
        auto u = map_oci_error(503, "<html>busy</html>", "", "");
        CHECK(u.status == 503);
        CHECK(u.retry_after == "1");
        CHECK(u.message.find("<html>") == std::string::npos);
        auto a = map_oci_error(401, R"({"code":"NotAuthenticated","message":"bad sig"})", "", "");
        CHECK(a.status == 502);
        CHECK(a.code != "invalid_api_key");
    }
    SECTION("request ids with control characters are not echoed")
    {
        auto e = map_oci_error(400, R"({"code":"X","message":"m"})", "", "abc\r\nInjected: 1");
        CHECK(e.message.find("Injected") == std::string::npos);
        auto m = map_oci_error(400, "{\"code\":\"X\",\"message\":\"line1\\nline2\"}", "", "");
        CHECK(m.message.find('\n') == std::string::npos);
    }
    SECTION("body() is a valid OpenAI error envelope")
    {
        auto e = map_oci_error(429, R"({"code":"TooManyRequests","message":"slow"})", "3", "rid");
        rapidjson::Document d;
        std::string b = e.body();
        d.Parse(b.c_str());
        REQUIRE(d.IsObject());
        CHECK(s(d["error"]["type"]) == "rate_limit_error");
    }
}
