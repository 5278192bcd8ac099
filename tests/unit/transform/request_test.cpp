#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "ogp/transform/chat_request.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::fixture_dir;
using ogp_test::read_file;

namespace {

rapidjson::Document parsed_body(const chat_plan& p)
{
    rapidjson::Document d;
    d.Parse(p.body.data(), p.body.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

chat_plan plan_ok(const std::string& body, const ogp::config& cfg = ogp_test::test_config())
{
    auto r = plan_chat(body, cfg);
    if (!r) {
        FAIL("unexpected error: " << r.error().body());
    }
    return r.value();
}

const char* basic =
    R"({"model":"meta.llama-3.3-70b-instruct","messages":[{"role":"user","content":"Hi"}]})";

}  // namespace

TEST_CASE("request golden fixtures translate OpenAI bodies to OCI ChatDetails",
          "[transform][request]")
{
    ogp_test::for_each_fixture("requests", ".openai.json", 15,
                               [](const auto& dir, const auto& name) {
                                   chat_plan p = plan_ok(read_file(dir / (name + ".openai.json")));
                                   ogp_test::check_golden_json(p.body, dir / (name + ".oci.json"));
                               });
}

TEST_CASE("request error fixtures give a 400 naming the parameter and the code",
          "[transform][request]")
{
    ogp_test::for_each_fixture("errors", ".openai.json", 25, [](const auto& dir, const auto& name) {
        auto r = plan_chat(read_file(dir / (name + ".openai.json")), ogp_test::test_config());
        REQUIRE_FALSE(r.ok());
        rapidjson::Document exp;
        std::string e = read_file(dir / (name + ".error.json"));
        exp.Parse(e.data(), e.size());
        REQUIRE(exp.IsObject());
        // Every fixture names status, param and code (null when the error has none).
        REQUIRE(exp.HasMember("status"));
        REQUIRE(exp.HasMember("param"));
        REQUIRE(exp.HasMember("code"));
        REQUIRE((exp["code"].IsString() || exp["code"].IsNull()));
        CHECK(r.error().status == exp["status"].GetUint());
        CHECK(r.error().param == std::string(exp["param"].GetString()));
        CHECK(r.error().code == (exp["code"].IsNull() ? std::string() : exp["code"].GetString()));
        CHECK(to_string(r.error().type()) == "invalid_request_error");
        CHECK_FALSE(r.error().message.empty());
    });
}

TEST_CASE("nesting beyond the cap is a 400, never a crash", "[transform][request]")
{
    auto cfg = ogp_test::test_config();
    SECTION("100000 nested arrays")
    {
        std::string deep(100000, '[');
        auto r = plan_chat(deep, cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
    }
    SECTION("nesting inside a valid request, and the cap is configurable")
    {
        std::string inner;
        for (int i = 0; i < 70; ++i)
            inner += "{\"a\":";
        inner += "1";
        for (int i = 0; i < 70; ++i)
            inner += "}";
        std::string body =
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],"metadata":)" + inner +
            "}";
        CHECK_FALSE(plan_chat(body, cfg).ok());
        cfg.limits.max_json_depth = 100;
        CHECK(plan_chat(body, cfg).ok());
    }
    SECTION("brackets inside strings do not count")
    {
        std::string body = R"({"model":"llama","messages":[{"role":"user","content":")" +
                           std::string(500, '[') + R"("}]})";
        CHECK(plan_chat(body, cfg).ok());
    }
}

TEST_CASE("model resolution: aliases, serving mode, format and validation", "[transform][request]")
{
    auto cfg = ogp_test::test_config();
    SECTION("unknown names are OCI model ids on demand")
    {
        auto p = plan_ok(basic);
        auto d = parsed_body(p);
        CHECK(std::string(d["servingMode"]["servingType"].GetString()) == "ON_DEMAND");
        CHECK(std::string(d["servingMode"]["modelId"].GetString()) ==
              "meta.llama-3.3-70b-instruct");
        CHECK(std::string(d["compartmentId"].GetString()) == "ocid1.compartment.oc1..test");
        CHECK(p.client_model == "meta.llama-3.3-70b-instruct");
        CHECK(p.path == "/20231130/actions/chat");
    }
    SECTION("dedicated endpoint alias with its own compartment")
    {
        auto r = resolve_model("my-endpoint", cfg);
        REQUIRE(r.ok());
        CHECK(r.value().dedicated);
        CHECK(r.value().compartment_id == "ocid1.compartment.oc1..other");
        auto p = plan_ok(R"({"model":"my-endpoint","messages":[{"role":"user","content":"x"}]})");
        auto d = parsed_body(p);
        CHECK(std::string(d["servingMode"]["servingType"].GetString()) == "DEDICATED");
        CHECK(d["servingMode"].HasMember("endpointId"));
        CHECK(p.client_model == "my-endpoint");
    }
    SECTION("format detection and override")
    {
        CHECK(detect_format("cohere.command-r-08-2024") == ogp::api_format::cohere);
        CHECK(detect_format("cohere.command-a-vision-07-2025") == ogp::api_format::coherev2);
        CHECK(detect_format("meta.llama-3.3-70b-instruct") == ogp::api_format::generic);
        CHECK(detect_format("google.gemini-2.5-pro") == ogp::api_format::generic);
        auto r = resolve_model("command-v2", cfg);
        REQUIRE(r.ok());
        CHECK(r.value().format == ogp::api_format::coherev2);
    }
    SECTION("max token key per model")
    {
        CHECK(uses_max_completion_tokens("openai.gpt-5"));
        CHECK(uses_max_completion_tokens("openai.o1"));
        CHECK_FALSE(uses_max_completion_tokens("openai.gpt-oss-120b"));
        CHECK_FALSE(uses_max_completion_tokens("meta.llama-3.3-70b-instruct"));
    }
    SECTION("control characters and empty names are rejected")
    {
        auto r = plan_chat(
            "{\"model\":\"bad\\r\\nX-Injected: "
            "1\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
            cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 400);
        CHECK(r.error().param == "model");
        CHECK_FALSE(resolve_model("", cfg).ok());
        CHECK_FALSE(resolve_model(std::string(300, 'a'), cfg).ok());
    }
    SECTION("a misconfigured alias is a server error, not the client's")
    {
        cfg.models.push_back({"broken", "id\nwith-newline", std::nullopt, "", ""});
        auto r = resolve_model("broken", cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 500);
    }
    SECTION("no compartment configured")
    {
        cfg.oci.compartment_id.clear();
        auto r = plan_chat(basic, cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 500);
    }
}

TEST_CASE("defaults apply only where the request is silent", "[transform][request]")
{
    auto cfg = ogp_test::test_config();
    cfg.defaults.max_tokens = 777;
    cfg.defaults.temperature = 0.7;
    cfg.defaults.top_p = 0.5;
    cfg.defaults.frequency_penalty = 0.25;
    cfg.defaults.presence_penalty = -0.5;
    cfg.defaults.top_k = 40;
    SECTION("silent request gets every default, and a max token count")
    {
        auto d = parsed_body(plan_ok(basic, cfg));
        const auto& cr = d["chatRequest"];
        CHECK(cr["maxTokens"].GetInt() == 777);
        CHECK(cr["temperature"].GetDouble() == 0.7);
        CHECK(cr["topP"].GetDouble() == 0.5);
        CHECK(cr["frequencyPenalty"].GetDouble() == 0.25);
        CHECK(cr["presencePenalty"].GetDouble() == -0.5);
        CHECK(cr["topK"].GetInt() == 40);
    }
    SECTION("request values win, including 0")
    {
        auto d = parsed_body(plan_ok(
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":0,"frequency_penalty":0,"presence_penalty":0,"top_k":0,"max_tokens":1})",
            cfg));
        const auto& cr = d["chatRequest"];
        CHECK(cr["maxTokens"].GetInt() == 1);
        CHECK(cr["temperature"].GetDouble() == 0.0);
        CHECK(cr["topP"].GetDouble() == 0.0);
        CHECK(cr["frequencyPenalty"].GetDouble() == 0.0);
        CHECK(cr["presencePenalty"].GetDouble() == 0.0);
        CHECK(cr["topK"].GetInt() == 0);
    }
    SECTION("max_completion_tokens wins over max_tokens")
    {
        auto d = parsed_body(plan_ok(
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],"max_tokens":5,"max_completion_tokens":9})",
            cfg));
        CHECK(d["chatRequest"]["maxTokens"].GetInt() == 9);
    }
    SECTION("openai reasoning models get maxCompletionTokens and no sampling defaults")
    {
        auto d = parsed_body(
            plan_ok(R"({"model":"openai.gpt-5","messages":[{"role":"user","content":"x"}]})", cfg));
        const auto& cr = d["chatRequest"];
        CHECK(cr["maxCompletionTokens"].GetInt() == 777);
        CHECK_FALSE(cr.HasMember("maxTokens"));
        CHECK_FALSE(cr.HasMember("temperature"));
        CHECK_FALSE(cr.HasMember("topP"));
    }
}

TEST_CASE("streaming always asks OCI for usage; the client flag is kept apart",
          "[transform][request]")
{
    auto with = plan_ok(
        R"({"model":"llama","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}})");
    auto without =
        plan_ok(R"({"model":"llama","messages":[{"role":"user","content":"x"}],"stream":true})");
    auto non_stream = plan_ok(basic);
    CHECK(with.stream);
    CHECK(with.client_wants_usage);
    CHECK(without.stream);
    CHECK_FALSE(without.client_wants_usage);
    CHECK_FALSE(non_stream.stream);
    for (auto* p : {&with, &without}) {
        auto d = parsed_body(*p);
        CHECK(d["chatRequest"]["isStream"].GetBool());
        CHECK(d["chatRequest"]["streamOptions"]["isIncludeUsage"].GetBool());
    }
    CHECK_FALSE(parsed_body(non_stream)["chatRequest"].HasMember("isStream"));
}

TEST_CASE("GENERIC message and parameter mapping details", "[transform][request]")
{
    auto d = parsed_body(plan_ok(read_file(fixture_dir("requests") / "generic_full.openai.json")));
    const auto& cr = d["chatRequest"];
    const auto& msgs = cr["messages"];
    CHECK(std::string(cr["apiFormat"].GetString()) == "GENERIC");
    CHECK(std::string(msgs[0]["role"].GetString()) == "DEVELOPER");
    CHECK(std::string(msgs[1]["content"][1]["type"].GetString()) == "IMAGE");
    CHECK(std::string(msgs[1]["content"][1]["imageUrl"]["detail"].GetString()) == "AUTO");
    CHECK(std::string(msgs[1]["name"].GetString()) == "alice");
    CHECK(msgs[2]["content"].IsNull());
    CHECK(std::string(msgs[2]["toolCalls"][0]["type"].GetString()) == "FUNCTION");
    CHECK(std::string(msgs[2]["toolCalls"][0]["name"].GetString()) == "get_weather");
    CHECK(std::string(msgs[3]["toolCallId"].GetString()) == "call_1");
    // Only the function tool survives; its schema is cleaned ($ref inlined), unions kept.
    REQUIRE(cr["tools"].Size() == 1);
    const auto& params = cr["tools"][0]["parameters"];
    CHECK_FALSE(params.HasMember("$defs"));
    CHECK_FALSE(params.HasMember("$schema"));
    CHECK(std::string(params["title"].GetString()) == "Args");
    CHECK(std::string(params["properties"]["unit"]["type"].GetString()) == "string");
    CHECK(std::string(params["properties"]["unit"]["description"].GetString()) == "unit");
    CHECK(params["properties"]["days"]["anyOf"].Size() == 2);
    CHECK(params["properties"]["days"]["default"].IsNull());
    CHECK(params["properties"]["tags"].HasMember("items"));
    CHECK(std::string(cr["toolChoice"]["type"].GetString()) == "FUNCTION");
    CHECK(std::string(cr["toolChoice"]["name"].GetString()) == "get_weather");
    CHECK_FALSE(cr["isParallelToolCalls"].GetBool());
    CHECK(cr["stop"].Size() == 2);
    CHECK(cr["numGenerations"].GetInt() == 2);
    CHECK(cr["seed"].GetInt() == 42);
    CHECK(cr["logProbs"].GetInt() == 3);
    CHECK(cr["logitBias"]["1234"].GetInt() == -100);
    CHECK(std::string(cr["reasoningEffort"].GetString()) == "LOW");
    CHECK(std::string(cr["metadata"]["team"].GetString()) == "x");
    CHECK(std::string(cr["responseFormat"]["type"].GetString()) == "JSON_SCHEMA");
    CHECK(cr["responseFormat"]["jsonSchema"]["isStrict"].GetBool());
    CHECK_FALSE(cr["responseFormat"]["jsonSchema"].HasMember("strict"));
    CHECK(cr["maxTokens"].GetInt() == 300);
    CHECK(cr["topP"].GetDouble() == 0.9);
}

TEST_CASE("COHERE v1 mapping: preamble, history, message, tools, tool results",
          "[transform][request]")
{
    SECTION("plain conversation")
    {
        auto d =
            parsed_body(plan_ok(read_file(fixture_dir("requests") / "cohere_basic.openai.json")));
        const auto& cr = d["chatRequest"];
        CHECK(std::string(cr["apiFormat"].GetString()) == "COHERE");
        CHECK(std::string(cr["preambleOverride"].GetString()) ==
              "You are helpful.\nAnswer in French.");
        CHECK(std::string(cr["message"].GetString()) == "Weather in Paris?");
        REQUIRE(cr["chatHistory"].Size() == 2);
        CHECK(std::string(cr["chatHistory"][0]["role"].GetString()) == "USER");
        CHECK(std::string(cr["chatHistory"][1]["role"].GetString()) == "CHATBOT");
        CHECK(std::string(cr["stopSequences"][0].GetString()) == "END");
        CHECK_FALSE(cr.HasMember("stop"));
        const auto& defs = cr["tools"][0]["parameterDefinitions"];
        CHECK(std::string(defs["city"]["type"].GetString()) == "str");
        CHECK(defs["city"]["isRequired"].GetBool());
        CHECK(std::string(defs["days"]["type"].GetString()) == "int");
        CHECK(std::string(defs["flags"]["type"].GetString()) == "list");
        CHECK_FALSE(defs["unit"]["isRequired"].GetBool());
        CHECK(std::string(defs["unit"]["description"].GetString()).find("\"C\"") !=
              std::string::npos);
    }
    SECTION("trailing tool results go to toolResults with an empty message")
    {
        auto d = parsed_body(
            plan_ok(read_file(fixture_dir("requests") / "cohere_tool_results.openai.json")));
        const auto& cr = d["chatRequest"];
        CHECK(std::string(cr["message"].GetString()).empty());
        REQUIRE(cr["toolResults"].Size() == 2);
        CHECK(std::string(cr["toolResults"][1]["call"]["parameters"]["city"].GetString()) ==
              "Rome");
        CHECK(std::string(cr["toolResults"][1]["outputs"][0]["output"].GetString()) == "25C");
        const auto& last = cr["chatHistory"][cr["chatHistory"].Size() - 1];
        CHECK(std::string(last["role"].GetString()) == "CHATBOT");
        CHECK(last["toolCalls"].Size() == 2);
    }
    SECTION("tool results inside the history are one TOOL entry")
    {
        auto d = parsed_body(
            plan_ok(read_file(fixture_dir("requests") / "cohere_history_tools.openai.json")));
        const auto& h = d["chatRequest"]["chatHistory"];
        REQUIRE(h.Size() == 4);
        CHECK(std::string(h[2]["role"].GetString()) == "TOOL");
        CHECK(std::string(h[2]["toolResults"][0]["call"]["name"].GetString()) == "get_weather");
        CHECK(std::string(d["chatRequest"]["responseFormat"]["type"].GetString()) == "JSON_OBJECT");
    }
}

TEST_CASE("COHEREV2 mapping", "[transform][request]")
{
    auto d =
        parsed_body(plan_ok(read_file(fixture_dir("requests") / "coherev2_vision.openai.json")));
    const auto& cr = d["chatRequest"];
    CHECK(std::string(cr["apiFormat"].GetString()) == "COHEREV2");
    CHECK(std::string(cr["messages"][1]["content"][1]["type"].GetString()) == "IMAGE_URL");
    CHECK(std::string(cr["messages"][2]["toolCalls"][0]["function"]["name"].GetString()) ==
          "lookup");
    CHECK(std::string(cr["messages"][3]["toolCallId"].GetString()) == "t1");
    CHECK(std::string(cr["tools"][0]["function"]["name"].GetString()) == "lookup");
    CHECK(std::string(cr["toolsChoice"].GetString()) == "REQUIRED");
    CHECK(cr["isStrictToolsEnabled"].GetBool());
    CHECK(std::string(cr["thinking"]["type"].GetString()) == "DISABLED");
    CHECK(std::string(cr["responseFormat"]["type"].GetString()) == "JSON_OBJECT");
    CHECK(cr["responseFormat"].HasMember("schema"));
}
