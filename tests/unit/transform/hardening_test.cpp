// Issue 10: inputs a hostile client or upstream sends to the pure transform stage. Each case
// crashed, exhausted memory or was accepted before its fix.

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "ogp/transform/chat_request.hpp"
#include "ogp/transform/embeddings.hpp"
#include "ogp/transform/stream_transcoder.hpp"
#include "ogp/util/json.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;

namespace {

std::string nested_array(std::size_t depth)
{
    return std::string(depth, '[') + std::string(depth, ']');
}

// A COHERE-format conversation whose assistant tool call carries `arguments` (raw JSON text
// to be placed inside a JSON string, already escaped).
std::string cohere_with_arguments(const std::string& escaped_arguments)
{
    return R"({"model":"cohere.command-r-08-2024","messages":[)"
           R"({"role":"user","content":"hi"},)"
           R"({"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function",)"
           R"("function":{"name":"f","arguments":")" +
           escaped_arguments +
           R"("}}]},)"
           R"({"role":"tool","tool_call_id":"c1","content":"ok"}]})";
}

// A tool whose parameter schema fans out `fan` ways through `$defs` for `levels` levels.
std::string fan_out_schema_request(int fan, int levels, const std::string& model)
{
    std::string defs;
    for (int l = 0; l < levels; ++l) {
        std::string props;
        for (int f = 0; f < fan; ++f) {
            props += (f ? "," : "") + std::string("\"p") + std::to_string(f) + "\":" +
                     (l + 1 < levels ? R"({"$ref":"#/$defs/d)" + std::to_string(l + 1) + "\"}"
                                     : R"({"type":"string"})");
        }
        defs += (l ? "," : "") + std::string("\"d") + std::to_string(l) +
                R"(":{"type":"object","properties":{)" + props + "}}";
    }
    return R"({"model":")" + model +
           R"(","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function",)"
           R"("function":{"name":"f","parameters":{"$defs":{)" +
           defs + R"(},"$ref":"#/$defs/d0"}}}]})";
}

chat_plan stream_plan(const std::string& model)
{
    auto r = plan_chat(
        R"({"model":")" + model + R"(","messages":[{"role":"user","content":"x"}],"stream":true})",
        ogp_test::test_config());
    REQUIRE(r.ok());
    return r.value();
}

// What a fresh transcoder for `model`'s stream wrote for `events`, and whether it failed.
struct fed
{
    std::string out;
    bool failed = false;
};

fed fed_stream(const std::string& model, const std::string& events)
{
    auto plan = stream_plan(model);
    stream_transcoder tc(plan, "chatcmpl-x", 1);
    fed f;
    tc.feed(events, f.out);
    f.failed = tc.failed();
    return f;
}

}  // namespace

TEST_CASE("COHERE tool-call arguments are parsed with the request's nesting cap",
          "[transform][hardening]")
{
    auto cfg = ogp_test::test_config();
    SECTION("130,000 levels inside the arguments string: a 400, not a stack overflow")
    {
        auto r = plan_chat(cohere_with_arguments(nested_array(130000)), cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
    }
    SECTION("an object within the cap is passed on as parameters")
    {
        auto r = plan_chat(cohere_with_arguments(R"({\"a\":{\"b\":[1,2,{\"c\":null}]}})"), cfg);
        REQUIRE(r.ok());
        rapidjson::Document d;
        d.Parse(r.value().body.c_str());
        REQUIRE(d.IsObject());
        const auto& call = d["chatRequest"]["toolResults"][0]["call"];
        CHECK(call["parameters"]["a"]["b"][2].HasMember("c"));
    }
    SECTION("the cap is the configured one")
    {
        std::string deep = "{\\\"a\\\":" + std::string(70, '[') + std::string(70, ']') + "}";
        CHECK_FALSE(plan_chat(cohere_with_arguments(deep), cfg).ok());
        cfg.limits.max_json_depth = 100;
        CHECK(plan_chat(cohere_with_arguments(deep), cfg).ok());
    }
}

TEST_CASE("streamed OCI events are parsed with the upstream nesting cap", "[transform][hardening]")
{
    const std::string cohere = "cohere.command-r-08-2024";
    SECTION("300,000 levels in an event: an error frame, not a stack overflow")
    {
        auto s = fed_stream("llama",
                            "data: {\"index\":0,\"message\":{\"role\":\"ASSISTANT\",\"content\":" +
                                nested_array(300000) + "}}\n\n");
        CHECK(s.failed);
        CHECK(s.out.find("\"error\"") != std::string::npos);
    }
    SECTION("300,000 levels of non-string tool arguments: an error frame (to_json recursed)")
    {
        auto generic = fed_stream(
            "llama",
            R"(data: {"index":0,"message":{"role":"ASSISTANT","toolCalls":[{"id":"t1","type":"FUNCTION","name":"f","arguments":)" +
                nested_array(300000) + "}]}}\n\n");
        CHECK(generic.failed);
        auto coh = fed_stream(
            cohere,
            R"(data: {"apiFormat":"COHERE","text":"","toolCalls":[{"name":"f","parameters":)" +
                nested_array(300000) + "}]}\n\n");
        CHECK(coh.failed);
    }
    SECTION("non-string tool arguments within the cap are serialised (GENERIC and COHERE)")
    {
        auto generic = fed_stream(
            "llama",
            R"(data: {"index":0,"message":{"role":"ASSISTANT","toolCalls":[{"id":"t1","type":"FUNCTION","name":"f","arguments":{"a":[[[1]]]}}]}})"
            "\n\n");
        CHECK_FALSE(generic.failed);
        CHECK(generic.out.find(R"(\"a\":[[[1]]])") != std::string::npos);
        auto coh = fed_stream(
            cohere,
            std::string(
                R"(data: {"apiFormat":"COHERE","text":"","toolCalls":[{"name":"f","parameters":)") +
                nested_array(200) + "}]}\n\n");
        CHECK_FALSE(coh.failed);
        CHECK(coh.out.find(std::string(200, '[')) != std::string::npos);
    }
}

TEST_CASE("schema $ref expansion is bounded in size", "[transform][hardening]")
{
    auto cfg = ogp_test::test_config();
    SECTION("fan-out 4 at 16 levels: a 400 (it was a failed allocation)")
    {
        auto r = plan_chat(fan_out_schema_request(4, 16, "llama"), cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
        CHECK(r.error().param == "tools[0].function.parameters");
    }
    SECTION("fan-out 3 at 13 levels: a 400 (it grew to 566 MB)")
    {
        CHECK_FALSE(plan_chat(fan_out_schema_request(3, 13, "llama"), cfg).ok());
    }
    SECTION("small fan-out expands normally, and the budget is configurable")
    {
        auto r = plan_chat(fan_out_schema_request(2, 6, "llama"), cfg);
        REQUIRE(r.ok());
        CHECK(r.value().body.find("$ref") == std::string::npos);
        cfg.limits.max_schema_nodes = 50;
        CHECK_FALSE(plan_chat(fan_out_schema_request(2, 6, "llama"), cfg).ok());
    }
}

TEST_CASE("per-field request limits", "[transform][hardening]")
{
    auto cfg = ogp_test::test_config();
    auto with_messages = [](std::size_t n) {
        std::string msgs;
        for (std::size_t i = 0; i < n; ++i) {
            msgs += (i ? "," : "") + std::string(R"({"role":"user","content":"x"})");
        }
        return R"({"model":"llama","messages":[)" + msgs + "]}";
    };
    auto with_tools = [](std::size_t n) {
        std::string tools;
        for (std::size_t i = 0; i < n; ++i) {
            tools += (i ? "," : "") + std::string(R"({"type":"function","function":{"name":"f)") +
                     std::to_string(i) + "\"}}";
        }
        return R"({"model":"llama","messages":[{"role":"user","content":"x"}],"tools":[)" + tools +
               "]}";
    };
    SECTION("messages")
    {
        cfg.limits.max_messages = 10;
        CHECK(plan_chat(with_messages(10), cfg).ok());
        auto r = plan_chat(with_messages(11), cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
        CHECK(r.error().param == "messages");
    }
    SECTION("tools: 128 by default, as OpenAI")
    {
        CHECK(plan_chat(with_tools(128), cfg).ok());
        auto r = plan_chat(with_tools(129), cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().param == "tools");
    }
}

TEST_CASE("COHERE parameter definitions: required looked up per property", "[transform][hardening]")
{
    // 30,000 properties, every other one required: linear now (it scanned `required` once per
    // property); isRequired must still be exact.
    auto cfg = ogp_test::test_config();
    std::string props;
    std::string required;
    for (int i = 0; i < 30000; ++i) {
        props += (i ? "," : "") + std::string("\"p") + std::to_string(i) + R"(":{"type":"string"})";
        if (i % 2 == 0) {
            required += (i ? "," : "") + std::string("\"p") + std::to_string(i) + "\"";
        }
    }
    std::string body =
        R"({"model":"cohere.command-r-08-2024","messages":[{"role":"user","content":"x"}],)"
        R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object",)"
        R"("properties":{)" +
        props + R"(},"required":[)" + required + "]}}}]}";
    auto r = plan_chat(body, cfg);
    REQUIRE(r.ok());
    rapidjson::Document d;
    d.Parse(r.value().body.c_str());
    const auto& defs = d["chatRequest"]["tools"][0]["parameterDefinitions"];
    CHECK(defs["p0"]["isRequired"].GetBool());
    CHECK_FALSE(defs["p1"]["isRequired"].GetBool());
    CHECK(defs["p29998"]["isRequired"].GetBool());
    CHECK_FALSE(defs["p29999"]["isRequired"].GetBool());
}

TEST_CASE("lone UTF-16 surrogate escapes are refused at parse time", "[transform][hardening]")
{
    auto cfg = ogp_test::test_config();
    auto body = [](const std::string& content) {
        return R"({"model":"llama","messages":[{"role":"user","content":")" + content + "\"}]}";
    };
    SECTION("a lone low surrogate is a 400 (it went upstream as invalid UTF-8)")
    {
        auto r = plan_chat(body("a\\udc00b"), cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
        CHECK(r.error().code == "invalid_json");
        CHECK_FALSE(plan_chat(body("\\ud83d\\ud83d\\udc00\\udc00"), cfg).ok());
        CHECK_FALSE(plan_chat(body("\\ud83d"), cfg).ok());
    }
    SECTION("pairs, and escaped backslashes before `udc00`, are fine")
    {
        CHECK(plan_chat(body("\\ud83d\\ude00"), cfg).ok());
        CHECK(plan_chat(body("\\\\udc00"), cfg).ok());
    }
    SECTION("the scanner itself")
    {
        using ogp::json::scan_text;
        using ogp::json::text_issue;
        CHECK(scan_text(R"(["\udfff"])", 8) == text_issue::lone_surrogate);
        CHECK(scan_text(R"(["\uDBFF\uDFFF"])", 8) == text_issue::none);
        CHECK(scan_text(std::string("[\"a\0\"]", 6), 8) == text_issue::nul_byte);
        CHECK(scan_text(nested_array(9), 8) == text_issue::too_deep);
        CHECK(scan_text(nested_array(8), 8) == text_issue::none);
    }
}

TEST_CASE("bounded serializer writes deep values without recursion", "[transform][hardening]")
{
    rapidjson::Document d;
    std::string text = nested_array(5000);
    REQUIRE(ogp::json::parse_bounded(text, 6000, d));
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    REQUIRE(ogp::json::write_value(w, d));
    CHECK(std::string(sb.GetString(), sb.GetSize()) == text);
    rapidjson::Document mixed;
    std::string m = R"({"a":[1,-2,3.5,true,false,null,"s",{"b":{}},[]],"c":18446744073709551615})";
    REQUIRE(ogp::json::parse_bounded(m, 8, mixed));
    rapidjson::StringBuffer sb2;
    rapidjson::Writer<rapidjson::StringBuffer> w2(sb2);
    REQUIRE(ogp::json::write_value(w2, mixed));
    CHECK(std::string(sb2.GetString(), sb2.GetSize()) == m);
}

TEST_CASE("embeddings: inputs capped per request, batches merged as they arrive",
          "[transform][hardening]")
{
    auto cfg = ogp_test::test_config();
    auto body = [](std::size_t n) {
        std::string in;
        for (std::size_t i = 0; i < n; ++i) {
            in += (i ? "," : "") + std::string("\"t\"");
        }
        return R"({"model":"embed","input":[)" + in + "]}";
    };
    SECTION("2,048 by default, as OpenAI; beyond is a 400 before any batch is planned")
    {
        auto ok = plan_embeddings(body(2048), cfg);
        REQUIRE(ok.ok());
        CHECK(ok.value().bodies.size() == 22);
        auto r = plan_embeddings(body(2049), cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
        CHECK(r.error().param == "input");
        cfg.limits.max_embedding_inputs = 5;
        CHECK_FALSE(plan_embeddings(body(6), cfg).ok());
    }
    SECTION("the merger checks each batch and the count")
    {
        auto plan = plan_embeddings(body(100), cfg);
        REQUIRE(plan.ok());
        auto batch = [](std::size_t n) {
            std::string e;
            for (std::size_t i = 0; i < n; ++i) {
                e += (i ? "," : "") + std::string("[0.5,1]");
            }
            return R"({"embeddings":[)" + e + R"(],"inputTextTokenCounts":[1]})";
        };
        embeddings_merger m(plan.value());
        CHECK_FALSE(m.add(batch(96)).has_value());
        CHECK(m.add(batch(3)).has_value());  // the second batch holds 4
        embeddings_merger m2(plan.value());
        CHECK_FALSE(m2.add(batch(96)).has_value());
        CHECK_FALSE(m2.finish().ok());  // one batch missing
        embeddings_merger m3(plan.value());
        REQUIRE_FALSE(m3.add(batch(96)).has_value());
        REQUIRE_FALSE(m3.add(batch(4)).has_value());
        auto out = m3.finish();
        REQUIRE(out.ok());
        rapidjson::Document d;
        d.Parse(out.value().c_str());
        CHECK(d["data"].Size() == 100);
        CHECK(d["data"][99]["index"].GetInt() == 99);
        CHECK(d["usage"]["prompt_tokens"].GetInt() == 2);
    }
}

TEST_CASE("numbers beyond a double's range are refused at parse time", "[transform][hardening]")
{
    // RapidJSON 1.1 turned them into inf, which its writer refuses: invalid JSON went out.
    auto cfg = ogp_test::test_config();
    SECTION("in a request: 400 naming the fault")
    {
        auto r = plan_chat(
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],"tools":[{"type":)"
            R"("function","function":{"name":"f","parameters":{"type":"object","properties":)"
            R"({"a":{"type":"number","maximum":5550e305}}}}}]})",
            cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
        CHECK(r.error().message.find("range") != std::string::npos);
        CHECK(plan_chat(R"({"model":"llama","messages":[{"role":"user","content":"x"}],)"
                        R"("temperature":-1e999})",
                        cfg)
                  .error()
                  .status == 400);
    }
    SECTION("large but finite numbers and underflow are fine")
    {
        CHECK(plan_chat(R"({"model":"llama","messages":[{"role":"user","content":"x"}],)"
                        R"("metadata":{"a":1.7e308,"b":1e-400}})",
                        cfg)
                  .ok());
    }
    SECTION("from OCI: an embeddings answer and a stream event are malformed, not invalid JSON")
    {
        auto plan = plan_embeddings(R"({"model":"embed","input":"t"})", cfg);
        REQUIRE(plan.ok());
        embeddings_merger m(plan.value());
        auto bad = m.add(R"({"embeddings":[[0.5,1e999]]})");
        REQUIRE(bad.has_value());
        CHECK(bad->status == 502);
        CHECK(
            fed_stream(
                "llama",
                R"(data: {"index":0,"message":{"role":"ASSISTANT","toolCalls":[{"id":"t1","type":"FUNCTION","name":"f","arguments":{"a":2e308}}]}})"
                "\n\n")
                .failed);
    }
    SECTION("the scanner reports it, the writer never emits inf")
    {
        rapidjson::Document d;
        ogp::json::text_issue issue{};
        CHECK_FALSE(ogp::json::parse_bounded(std::string_view("[5550e305]"), 8, d, &issue));
        CHECK(issue == ogp::json::text_issue::number_out_of_range);
        rapidjson::Value v(std::numeric_limits<double>::infinity());
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        CHECK(ogp::json::write_value(w, v));
        CHECK(std::string(sb.GetString()) == "null");
    }
}

TEST_CASE("token counts from OCI are bounded before they are added up", "[transform][hardening]")
{
    // Sums of counts near INT64_MAX were signed overflow (UBSan); such counts are not counts.
    auto cfg = ogp_test::test_config();
    SECTION("a chat answer")
    {
        auto plan =
            plan_chat(R"({"model":"llama","messages":[{"role":"user","content":"x"}]})", cfg);
        REQUIRE(plan.ok());
        auto r = chat_response_to_openai(
            R"({"chatResponse":{"apiFormat":"GENERIC","choices":[{"index":0,"message":{"role":)"
            R"("ASSISTANT","content":[{"type":"TEXT","text":"x"}]},"finishReason":"stop"}],)"
            R"("usage":{"promptTokens":9223372036854775807,"completionTokens":1}}})",
            plan.value(), "chatcmpl-x", 1);
        REQUIRE(r.ok());
        rapidjson::Document d;
        d.Parse(r.value().c_str());
        CHECK(d["usage"]["prompt_tokens"].GetInt64() == 0);
        CHECK(d["usage"]["total_tokens"].GetInt64() == 1);
    }
    SECTION("embeddings batches")
    {
        auto plan = plan_embeddings(R"({"model":"embed","input":["a","b"]})", cfg);
        REQUIRE(plan.ok());
        embeddings_merger m(plan.value());
        REQUIRE_FALSE(
            m.add(R"({"embeddings":[[1],[2]],"inputTextTokenCounts":[9223372036854775807,1]})")
                .has_value());
        auto out = m.finish();
        REQUIRE(out.ok());
        CHECK(out.value().find("\"prompt_tokens\":1,") != std::string::npos);
    }
}
