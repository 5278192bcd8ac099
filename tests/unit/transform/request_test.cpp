#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <optional>

#include "ogp/transform/chat_request.hpp"
#include "ogp/transform/responses.hpp"
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

TEST_CASE("streaming always asks OCI for usage - the client flag is kept apart",
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
    // The function tool's schema is cleaned ($ref inlined), unions kept.
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

namespace {

// The OCI body of a Responses request, which must plan.
rapidjson::Document responses_body(const std::string& body)
{
    auto r = plan_responses(body, ogp_test::test_config());
    if (!r) {
        FAIL("unexpected error: " << r.error().body());
    }
    return parsed_body(r.value().chat);
}

// A 400 naming `param` with `code`, for a chat (`responses` false) or Responses body.
void check_400(const std::string& body, const std::string& param, const std::string& code,
               bool responses = false)
{
    INFO("body: " << body);
    const auto cfg = ogp_test::test_config();
    std::optional<ogp::api_error> err;
    if (responses) {
        if (auto r = plan_responses(body, cfg); !r) {
            err = r.error();
        }
    } else if (auto r = plan_chat(body, cfg); !r) {
        err = r.error();
    }
    REQUIRE(err);
    CHECK(err->status == 400);
    CHECK(err->param == param);
    CHECK(err->code == code);
}

std::string s(const rapidjson::Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

}  // namespace

TEST_CASE("input_audio parts: GENERIC AUDIO data URLs - checked data - refused on Cohere",
          "[transform][request]")
{
    SECTION("wav and mp3 become data URLs of their media type")
    {
        auto d = parsed_body(
            plan_ok(read_file(fixture_dir("requests") / "generic_input_audio.openai.json")));
        const auto& parts = d["chatRequest"]["messages"][0]["content"];
        REQUIRE(parts.Size() == 3);
        CHECK(s(parts[1]["type"]) == "AUDIO");
        CHECK(s(parts[1]["audioUrl"]["url"]) == "data:audio/wav;base64,UklGRiQAAABXQVZF");
        CHECK(s(parts[2]["audioUrl"]["url"]) == "data:audio/mpeg;base64,SUQzBA==");
        CHECK_FALSE(parts[2]["audioUrl"].HasMember("detail"));
    }
    SECTION("the data must be whole base64")
    {
        const std::string pre =
            R"({"model":"llama","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"format":"wav","data":)";
        for (const char* bad : {R"("UklGR")", R"("Ukl GRg==")", R"("U===")", R"("Ukl=GRg=")"}) {
            check_400(pre + bad + "}}]}]}", "messages[0].content[0].input_audio.data",
                      "invalid_value");
        }
        check_400(pre + "5}}]}]}", "messages[0].content[0].input_audio.data", "invalid_type");
        plan_ok(pre + R"("UklGRg==")" + "}}]}]}");
        plan_ok(pre + R"("UklGRiQ=")" + "}}]}]}");
        check_400(
            R"({"model":"llama","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklGRg=="}}]}]})",
            "messages[0].content[0].input_audio.format", "missing_required_parameter");
    }
    SECTION("Responses input_audio: the same mapping, Responses paths in errors")
    {
        auto d = responses_body(
            R"({"model":"llama","max_output_tokens":9,"input":[{"role":"user","content":[{"type":"input_text","text":"t"},{"type":"input_audio","input_audio":{"data":"SUQzBA==","format":"mp3"}}]}]})");
        const auto& part = d["chatRequest"]["messages"][0]["content"][1];
        CHECK(s(part["type"]) == "AUDIO");
        CHECK(s(part["audioUrl"]["url"]) == "data:audio/mpeg;base64,SUQzBA==");
        check_400(
            R"({"model":"llama","input":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"SUQzBA==","format":"ogg"}}]}]})",
            "input[0].content[0].input_audio.format", "invalid_value", true);
        check_400(
            R"({"model":"command-v2","input":[{"role":"user","content":[{"type":"input_text","text":"t"},{"type":"input_audio","input_audio":{"data":"SUQzBA==","format":"mp3"}}]}]})",
            "input[0].content[1].type", "unsupported_parameter", true);
        check_400(
            R"({"model":"cohere.command-r-08-2024","input":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"SUQzBA==","format":"wav"}}]}]})",
            "input[0].content[0].type", "unsupported_parameter", true);
    }
    SECTION("the refusal names the part and the model")
    {
        auto r = plan_chat(
            R"({"model":"command-v2","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"SUQzBA==","format":"mp3"}}]}]})",
            ogp_test::test_config());
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().param == "messages[0].content[0].type");
        CHECK(r.error().message.find("COHEREV2") != std::string::npos);
        CHECK(r.error().message.find("'command-v2'") != std::string::npos);
    }
}

TEST_CASE("COHEREV2 thinking: the extension's budget becomes tokenBudget", "[transform][request]")
{
    SECTION("budget and effort agree")
    {
        auto d = parsed_body(
            plan_ok(read_file(fixture_dir("requests") / "coherev2_thinking_budget.openai.json")));
        const auto& th = d["chatRequest"]["thinking"];
        CHECK(s(th["type"]) == "ENABLED");
        CHECK(th["tokenBudget"].GetInt() == 2048);
    }
    SECTION("the extension alone, or disabled")
    {
        auto on = parsed_body(plan_ok(
            R"({"model":"command-v2","messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":64}})"));
        CHECK(s(on["chatRequest"]["thinking"]["type"]) == "ENABLED");
        CHECK(on["chatRequest"]["thinking"]["tokenBudget"].GetInt() == 64);
        auto off = parsed_body(plan_ok(
            R"({"model":"command-v2","messages":[{"role":"user","content":"x"}],"thinking":{"type":"disabled"},"reasoning_effort":"none"})"));
        CHECK(s(off["chatRequest"]["thinking"]["type"]) == "DISABLED");
        CHECK_FALSE(off["chatRequest"]["thinking"].HasMember("tokenBudget"));
        // reasoning_effort alone is on or off, without a budget, as before.
        auto effort = parsed_body(plan_ok(
            R"({"model":"command-v2","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"})"));
        CHECK(s(effort["chatRequest"]["thinking"]["type"]) == "ENABLED");
        CHECK_FALSE(effort["chatRequest"]["thinking"].HasMember("tokenBudget"));
    }
    SECTION("bounds")
    {
        const std::string pre =
            R"({"model":"command-v2","messages":[{"role":"user","content":"x"}],"thinking":)";
        check_400(pre + R"({"type":"enabled","budget_tokens":16777217}})", "thinking.budget_tokens",
                  "invalid_value");
        check_400(pre + R"({"type":"enabled","budget_tokens":1.5}})", "thinking.budget_tokens",
                  "invalid_type");
        check_400(pre + R"("enabled"})", "thinking", "invalid_type");
        check_400(pre + R"({"budget_tokens":5}})", "thinking.type", "missing_required_parameter");
        plan_ok(pre + R"({"type":"enabled","budget_tokens":16777216}})");
    }
}

TEST_CASE("tool_choice allowed_tools: only the named tools are sent, the mode maps",
          "[transform][request]")
{
    SECTION("GENERIC: required")
    {
        auto d = parsed_body(
            plan_ok(read_file(fixture_dir("requests") / "generic_allowed_tools.openai.json")));
        const auto& cr = d["chatRequest"];
        REQUIRE(cr["tools"].Size() == 2);
        CHECK(s(cr["tools"][0]["name"]) == "get_weather");
        CHECK(s(cr["tools"][1]["name"]) == "get_time");
        CHECK(s(cr["toolChoice"]["type"]) == "REQUIRED");
    }
    SECTION("COHEREV2 and COHERE: auto")
    {
        auto v2 = parsed_body(
            plan_ok(read_file(fixture_dir("requests") / "coherev2_thinking_budget.openai.json")));
        REQUIRE(v2["chatRequest"]["tools"].Size() == 1);
        CHECK(s(v2["chatRequest"]["tools"][0]["function"]["name"]) == "book");
        CHECK_FALSE(v2["chatRequest"].HasMember("toolsChoice"));
        auto v1 = parsed_body(
            plan_ok(read_file(fixture_dir("requests") / "cohere_allowed_tools.openai.json")));
        REQUIRE(v1["chatRequest"]["tools"].Size() == 1);
        CHECK(s(v1["chatRequest"]["tools"][0]["name"]) == "book");
    }
    SECTION("Responses: function and custom names, the web_search tool only when listed")
    {
        auto d = responses_body(read_file(fixture_dir("responses/requests") /
                                          "generic_input_audio_allowed_tools.openai.json"));
        const auto& cr = d["chatRequest"];
        REQUIRE(cr["tools"].Size() == 2);
        CHECK(s(cr["tools"][0]["name"]) == "lookup");
        CHECK(s(cr["tools"][1]["name"]) == "apply_patch");
        CHECK(s(cr["toolChoice"]["type"]) == "REQUIRED");
        CHECK_FALSE(cr.HasMember("webSearchOptions"));
        const std::string base =
            R"({"model":"llama","input":"x","tools":[{"type":"function","name":"f"},{"type":"function","name":"g"},{"type":"web_search"}],"tool_choice":{"type":"allowed_tools","mode":"auto","tools":)";
        auto ws =
            responses_body(base + R"([{"type":"function","name":"g"},{"type":"web_search"}]}})");
        REQUIRE(ws["chatRequest"]["tools"].Size() == 1);
        CHECK(ws["chatRequest"].HasMember("webSearchOptions"));
        CHECK(s(ws["chatRequest"]["toolChoice"]["type"]) == "AUTO");
        // Only the web search allowed: no function at all.
        auto only_ws = responses_body(base + R"([{"type":"web_search"}]}})");
        CHECK_FALSE(only_ws["chatRequest"].HasMember("tools"));
        CHECK_FALSE(only_ws["chatRequest"].HasMember("toolChoice"));
        CHECK(only_ws["chatRequest"].HasMember("webSearchOptions"));
        check_400(base + R"([{"type":"function","name":"f"},{"type":"function","name":"h"}]}})",
                  "tool_choice.tools[1].name", "invalid_value", true);
        check_400(base + R"([{"type":"mcp","server_label":"x"}]}})", "tool_choice.tools[0].type",
                  "unsupported_parameter", true);
        check_400(base + R"([{"type":"function"}]}})", "tool_choice.tools[0].name",
                  "missing_required_parameter", true);
        check_400(
            R"({"model":"llama","input":"x","tools":[{"type":"web_search"}],"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"web_search"}]}})",
            "tool_choice.mode", "invalid_value", true);
        check_400(
            R"({"model":"llama","input":"x","tool_choice":{"type":"allowed_tools","mode":"any","tools":[]}})",
            "tool_choice.mode", "invalid_value", true);
    }
    SECTION("chat: shape errors name the entry")
    {
        const std::string pre =
            R"({"model":"llama","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"allowed_tools","allowed_tools":)";
        check_400(pre + R"({"mode":"auto","tools":[]}}})", "tool_choice.allowed_tools.tools",
                  "invalid_value");
        check_400(pre + R"({"mode":"auto","tools":[{"type":"function"}]}}})",
                  "tool_choice.allowed_tools.tools[0].function.name", "missing_required_parameter");
        check_400(pre + R"({"mode":"auto","tools":[7]}}})", "tool_choice.allowed_tools.tools[0]",
                  "invalid_type");
        check_400(pre + R"("auto"}})", "tool_choice.allowed_tools", "invalid_type");
    }
}

TEST_CASE("chat tools: a custom tool is refused by name, never dropped", "[transform][request]")
{
    auto r = plan_chat(
        R"({"model":"llama","messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"apply_patch"}}]})",
        ogp_test::test_config());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().param == "tools[0]");
    CHECK(r.error().message.find("'apply_patch'") != std::string::npos);
}

TEST_CASE("top_k: Cohere formats take 0 to 500, GENERIC -1 to 1000", "[transform][request]")
{
    for (const char* model : {"cohere.command-r-08-2024", "command-v2"}) {
        const std::string pre = std::string(R"({"model":")") + model +
                                R"(","messages":[{"role":"user","content":"x"}],"top_k":)";
        check_400(pre + "501}", "top_k", "invalid_value");
        check_400(pre + "-1}", "top_k", "invalid_value");
        CHECK(parsed_body(plan_ok(pre + "500}"))["chatRequest"]["topK"].GetInt() == 500);
        CHECK(parsed_body(plan_ok(pre + "0}"))["chatRequest"]["topK"].GetInt() == 0);
    }
    const std::string generic =
        R"({"model":"llama","messages":[{"role":"user","content":"x"}],"top_k":)";
    CHECK(parsed_body(plan_ok(generic + "-1}"))["chatRequest"]["topK"].GetInt() == -1);
    CHECK(parsed_body(plan_ok(generic + "1000}"))["chatRequest"]["topK"].GetInt() == 1000);
    check_400(generic + "1001}", "top_k", "invalid_value");
    check_400(generic + "-2}", "top_k", "invalid_value");
}
