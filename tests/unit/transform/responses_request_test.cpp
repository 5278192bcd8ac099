// plan_responses: the Responses request as the chat path's typed request, written by the chat
// writers (golden fixtures under responses/requests/), the echo, and every 400 with its
// Responses parameter path.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <string>

#include "ogp/transform/chat_request.hpp"
#include "ogp/transform/responses.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::read_file;

namespace {

responses_plan plan_ok(const std::string& body, const ogp::config& cfg = ogp_test::test_config())
{
    auto r = plan_responses(body, cfg);
    if (!r) {
        FAIL("unexpected error: " << r.error().body());
    }
    return r.value();
}

rapidjson::Document parsed(const std::string& json)
{
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

// The chatRequest object of the OCI body.
rapidjson::Document chat_request_of(const std::string& body)
{
    auto p = plan_ok(body);
    rapidjson::Document d = parsed(p.chat.body);
    REQUIRE(d.HasMember("chatRequest"));
    rapidjson::Document out;
    out.CopyFrom(d["chatRequest"], out.GetAllocator());
    return out;
}

// The echo as an object.
rapidjson::Document echo_of(const std::string& body,
                            const ogp::config& cfg = ogp_test::test_config())
{
    auto p = plan_ok(body, cfg);
    REQUIRE(p.echo.starts_with(","));
    return parsed("{\"x\":0" + p.echo + "}");
}

ogp::api_error error_of(const std::string& body)
{
    auto r = plan_responses(body, ogp_test::test_config());
    REQUIRE_FALSE(r.ok());
    return r.error();
}

// A 400 invalid_request_error naming `param` with `code`.
void check_400(const std::string& body, const std::string& param, const std::string& code)
{
    INFO("body: " << body);
    auto e = error_of(body);
    CHECK(e.status == 400);
    CHECK(to_string(e.type()) == "invalid_request_error");
    CHECK(e.param == param);
    CHECK(e.code == code);
    CHECK_FALSE(e.message.empty());
}

std::string to_json_text(const rapidjson::Value& v)
{
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return std::string(sb.GetString(), sb.GetSize());
}

const std::string llama = R"("model":"meta.llama-3.3-70b-instruct")";
const std::string cohere = R"("model":"cohere.command-r-08-2024")";
const std::string coherev2 = R"("model":"cohere.command-a-vision-07-2025")";
const std::string user_hi = R"("input":[{"role":"user","content":"Hi"}])";

std::string body(const std::string& model, const std::string& rest)
{
    return "{" + model + "," + rest + "}";
}

}  // namespace

TEST_CASE("responses golden fixtures translate Responses bodies to OCI ChatDetails",
          "[transform][responses]")
{
    ogp_test::for_each_fixture(
        "responses/requests", ".openai.json", 12, [](const auto& dir, const auto& name) {
            auto p = plan_ok(read_file(dir / (name + ".openai.json")));
            ogp_test::check_golden_json(p.chat.body, dir / (name + ".oci.json"));
        });
}

TEST_CASE("responses: the plan is the chat path's for the same conversation",
          "[transform][responses]")
{
    // The same request through both APIs gives the same OCI body.
    std::string chat = R"({"model":"llama","messages":[{"role":"system","content":"Be terse."},
        {"role":"user","content":"Hi"}],"temperature":0.3,"max_tokens":50})";
    std::string resp = R"({"model":"llama","instructions":"Be terse.","input":"Hi",
        "temperature":0.3,"max_output_tokens":50})";
    auto c = plan_chat(chat, ogp_test::test_config());
    REQUIRE(c.ok());
    auto r = plan_ok(resp);
    CHECK(ogp_test::json_equal(c.value().body, r.chat.body));
    CHECK(r.chat.client_model == "llama");
    CHECK(r.chat.model.oci_id == "meta.llama-3.3-70b-instruct");
    CHECK(r.chat.n == 1);
    CHECK_FALSE(r.chat.stream);
    CHECK(r.chat.path == chat_path);
}

TEST_CASE("responses: input forms and message items", "[transform][responses]")
{
    SECTION("a string is one user message")
    {
        auto d = chat_request_of(body(llama, R"("input":"Hello")"));
        REQUIRE(d["messages"].Size() == 1);
        CHECK(std::string(d["messages"][0]["role"].GetString()) == "USER");
        CHECK(std::string(d["messages"][0]["content"][0]["text"].GetString()) == "Hello");
    }
    SECTION("instructions lead as a system message; an empty one is dropped")
    {
        auto d = chat_request_of(body(llama, R"("instructions":"Sys",)" + user_hi));
        REQUIRE(d["messages"].Size() == 2);
        CHECK(std::string(d["messages"][0]["role"].GetString()) == "SYSTEM");
        CHECK(std::string(d["messages"][0]["content"][0]["text"].GetString()) == "Sys");
        auto e = chat_request_of(body(llama, R"("instructions":"",)" + user_hi));
        CHECK(e["messages"].Size() == 1);
    }
    SECTION("roles: user, system, developer, assistant; EasyInputMessage or typed")
    {
        auto d = chat_request_of(body(llama, R"("input":[
            {"role":"system","content":"s"},{"type":"message","role":"developer","content":"d"},
            {"role":"user","content":"u"},{"role":"assistant","content":"a"},
            {"role":"user","content":"u2"}])"));
        REQUIRE(d["messages"].Size() == 5);
        const char* roles[] = {"SYSTEM", "DEVELOPER", "USER", "ASSISTANT", "USER"};
        for (rapidjson::SizeType i = 0; i < 5; ++i) {
            CHECK(std::string(d["messages"][i]["role"].GetString()) == roles[i]);
        }
    }
    SECTION("assistant parts: output_text and input_text are text; refusals are not sent")
    {
        auto d = chat_request_of(body(llama, R"("input":[{"role":"user","content":"u"},
            {"role":"assistant","content":[{"type":"output_text","text":"a","annotations":[]},
              {"type":"input_text","text":"b"},{"type":"refusal","refusal":"no"}]},
            {"role":"user","content":"u2"}])"));
        const auto& parts = d["messages"][1]["content"];
        REQUIRE(parts.Size() == 2);
        CHECK(std::string(parts[0]["text"].GetString()) == "a");
        CHECK(std::string(parts[1]["text"].GetString()) == "b");
    }
    SECTION("input_image: URL or data URL, detail (sent as AUTO, the only one OCI takes)")
    {
        auto d = chat_request_of(body(llama, R"("input":[{"role":"user","content":[
            {"type":"input_image","image_url":"https://x/y.png","detail":"original"},
            {"type":"input_image","image_url":"data:image/png;base64,AAAA"}]}])"));
        const auto& parts = d["messages"][0]["content"];
        CHECK(std::string(parts[0]["type"].GetString()) == "IMAGE");
        CHECK(std::string(parts[0]["imageUrl"]["url"].GetString()) == "https://x/y.png");
        CHECK(std::string(parts[0]["imageUrl"]["detail"].GetString()) == "AUTO");
        CHECK(std::string(parts[1]["imageUrl"]["url"].GetString()) == "data:image/png;base64,AAAA");
        CHECK_FALSE(parts[1]["imageUrl"].HasMember("detail"));
    }
    SECTION("input_file: a data URL becomes a GENERIC DOCUMENT part")
    {
        auto d = chat_request_of(body(llama, R"("input":[{"role":"user","content":[
            {"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBE"}]}])"));
        const auto& part = d["messages"][0]["content"][0];
        CHECK(std::string(part["type"].GetString()) == "DOCUMENT");
        CHECK(std::string(part["documentUrl"]["url"].GetString()) ==
              "data:application/pdf;base64,JVBE");
        CHECK(part["documentUrl"].MemberCount() == 1);
    }
    SECTION("web_search_call items are dropped; null members count as absent")
    {
        auto d = chat_request_of(body(llama, R"("input":[{"role":"user","content":"u","type":null},
            {"type":"web_search_call","id":"ws","status":"completed"}],"instructions":null)"));
        CHECK(d["messages"].Size() == 1);
    }
}

TEST_CASE("responses: function calls and their outputs", "[transform][responses]")
{
    const std::string tools =
        R"("tools":[{"type":"function","name":"f","parameters":{"type":"object","properties":{}}}])";
    SECTION("consecutive calls, a preceding assistant message and reasoning: one turn")
    {
        auto d = chat_request_of(body(llama, tools + R"(,"input":[{"role":"user","content":"u"},
            {"type":"reasoning","summary":[{"type":"summary_text","text":"think"}]},
            {"role":"assistant","content":"Calling."},
            {"type":"function_call","call_id":"a","name":"f","arguments":"{\"x\":1}"},
            {"type":"function_call","call_id":"b","name":"f","arguments":{"y":2}},
            {"type":"function_call_output","call_id":"a","output":"A"},
            {"type":"function_call_output","call_id":"b","output":"B"}])"));
        const auto& m = d["messages"];
        REQUIRE(m.Size() == 4);
        CHECK(std::string(m[1]["role"].GetString()) == "ASSISTANT");
        CHECK(std::string(m[1]["content"][0]["text"].GetString()) == "Calling.");
        CHECK(std::string(m[1]["reasoningContent"].GetString()) == "think");
        REQUIRE(m[1]["toolCalls"].Size() == 2);
        CHECK(std::string(m[1]["toolCalls"][0]["id"].GetString()) == "a");
        CHECK(std::string(m[1]["toolCalls"][0]["name"].GetString()) == "f");
        CHECK(std::string(m[1]["toolCalls"][0]["arguments"].GetString()) == "{\"x\":1}");
        // An object is tolerated and serialised, as chat does.
        CHECK(std::string(m[1]["toolCalls"][1]["arguments"].GetString()) == "{\"y\":2}");
        CHECK(std::string(m[2]["role"].GetString()) == "TOOL");
        CHECK(std::string(m[2]["toolCallId"].GetString()) == "a");
        CHECK(std::string(m[3]["toolCallId"].GetString()) == "b");
    }
    SECTION("calls alone: an assistant turn with null content; missing arguments are {}")
    {
        auto d = chat_request_of(body(llama, tools + R"(,"input":[{"role":"user","content":"u"},
            {"type":"function_call","call_id":"a","name":"f"},
            {"type":"function_call_output","call_id":"a","output":[{"type":"input_text","text":"ok"}]}])"));
        const auto& m = d["messages"];
        REQUIRE(m.Size() == 3);
        CHECK(m[1]["content"].IsNull());
        CHECK_FALSE(m[1].HasMember("reasoningContent"));
        CHECK(std::string(m[1]["toolCalls"][0]["arguments"].GetString()) == "{}");
        CHECK(std::string(m[2]["content"][0]["text"].GetString()) == "ok");
    }
    SECTION("call, output, call, output: two assistant turns")
    {
        auto d = chat_request_of(body(llama, tools + R"(,"input":[{"role":"user","content":"u"},
            {"type":"function_call","call_id":"a","name":"f"},
            {"type":"function_call_output","call_id":"a","output":"A"},
            {"type":"function_call","call_id":"b","name":"f"},
            {"type":"function_call_output","call_id":"b","output":"B"}])"));
        CHECK(d["messages"].Size() == 5);
    }
    SECTION("reasoning interleaved between calls stays in the same turn")
    {
        auto d = chat_request_of(body(llama, tools + R"(,"input":[{"role":"user","content":"u"},
            {"type":"reasoning","summary":[{"type":"summary_text","text":"r1"}]},
            {"type":"function_call","call_id":"a","name":"f"},
            {"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"r2"}]},
            {"type":"function_call","call_id":"b","name":"f"},
            {"type":"function_call_output","call_id":"a","output":"A"},
            {"type":"function_call_output","call_id":"b","output":"B"}])"));
        const auto& m = d["messages"];
        REQUIRE(m.Size() == 4);
        CHECK(std::string(m[1]["reasoningContent"].GetString()) == "r1\n\nr2");
        CHECK(m[1]["toolCalls"].Size() == 2);
    }
    SECTION("a second assistant text starts a new turn; reasoning before a user turn is dropped")
    {
        auto d = chat_request_of(body(llama, R"("input":[{"role":"user","content":"u"},
            {"role":"assistant","content":"one"},
            {"type":"reasoning","summary":[{"type":"summary_text","text":"r"}]},
            {"role":"assistant","content":"two"},
            {"type":"reasoning","summary":[{"type":"summary_text","text":"lost"}]},
            {"role":"user","content":"u2"}])"));
        const auto& m = d["messages"];
        REQUIRE(m.Size() == 4);
        CHECK_FALSE(m[1].HasMember("reasoningContent"));
        CHECK(std::string(m[2]["reasoningContent"].GetString()) == "r");
        CHECK(std::string(m[2]["content"][0]["text"].GetString()) == "two");
    }
    SECTION("COHERE: tool results and the calls they answer")
    {
        auto d = chat_request_of(body(cohere, tools + R"(,"input":[{"role":"user","content":"u"},
            {"type":"reasoning","summary":[{"type":"summary_text","text":"r"}]},
            {"type":"function_call","call_id":"a","name":"f","arguments":"{\"x\":1}"},
            {"type":"function_call_output","call_id":"a","output":"A"}])"));
        CHECK(std::string(d["message"].GetString()).empty());
        REQUIRE(d["toolResults"].Size() == 1);
        CHECK(d["toolResults"][0]["call"]["parameters"]["x"].GetInt() == 1);
        CHECK(std::string(d["toolResults"][0]["outputs"][0]["output"].GetString()) == "A");
        const auto& hist = d["chatHistory"];
        REQUIRE(hist.Size() == 2);
        CHECK(std::string(hist[1]["role"].GetString()) == "CHATBOT");
        CHECK_FALSE(hist[1].HasMember("reasoningContent"));
    }
    SECTION("COHEREV2: nested calls; reasoning dropped")
    {
        auto d = chat_request_of(body(coherev2, tools + R"(,"input":[{"role":"user","content":"u"},
            {"type":"reasoning","summary":[{"type":"summary_text","text":"r"}]},
            {"type":"function_call","call_id":"a","name":"f","arguments":"{}"},
            {"type":"function_call_output","call_id":"a","output":"A"}])"));
        const auto& m = d["messages"];
        REQUIRE(m.Size() == 3);
        CHECK(std::string(m[1]["toolCalls"][0]["function"]["name"].GetString()) == "f");
        CHECK_FALSE(m[1].HasMember("reasoningContent"));
        CHECK_FALSE(m[1].HasMember("content"));
    }
}

TEST_CASE("responses: tools, tool_choice, text.format, reasoning and scalars",
          "[transform][responses]")
{
    SECTION("flat function tools keep strict; null parameters become an empty object schema")
    {
        auto d = chat_request_of(body(llama, R"("input":"x","tools":[
            {"type":"function","name":"a","description":"A","strict":true,
             "parameters":{"type":"object","properties":{"p":{"type":"string"}}}},
            {"type":"function","name":"b","parameters":null}])"));
        REQUIRE(d["tools"].Size() == 2);
        CHECK(std::string(d["tools"][0]["type"].GetString()) == "FUNCTION");
        CHECK(std::string(d["tools"][0]["name"].GetString()) == "a");
        CHECK(std::string(d["tools"][0]["description"].GetString()) == "A");
        CHECK(std::string(d["tools"][1]["parameters"]["type"].GetString()) == "object");
        auto v2 = chat_request_of(body(coherev2, R"("input":"x","tools":[
            {"type":"function","name":"a","strict":true,"parameters":{"type":"object"}}])"));
        CHECK(v2["isStrictToolsEnabled"].GetBool());
    }
    SECTION("tool_choice: strings and a named function")
    {
        const std::string t = R"("input":"x","tools":[{"type":"function","name":"f"}],)";
        auto d = chat_request_of(body(llama, t + R"("tool_choice":"required")"));
        CHECK(std::string(d["toolChoice"]["type"].GetString()) == "REQUIRED");
        d = chat_request_of(body(llama, t + R"("tool_choice":"none")"));
        CHECK(std::string(d["toolChoice"]["type"].GetString()) == "NONE");
        d = chat_request_of(body(llama, t + R"("tool_choice":{"type":"function","name":"f"})"));
        CHECK(std::string(d["toolChoice"]["type"].GetString()) == "FUNCTION");
        CHECK(std::string(d["toolChoice"]["name"].GetString()) == "f");
        d = chat_request_of(body(coherev2, t + R"("tool_choice":"required")"));
        CHECK(std::string(d["toolsChoice"].GetString()) == "REQUIRED");
        d = chat_request_of(body(cohere, t + R"("tool_choice":"none")"));
        CHECK_FALSE(d.HasMember("tools"));
    }
    SECTION("text.format")
    {
        auto d = chat_request_of(body(llama, R"("input":"x","text":{"format":{"type":"text"}})"));
        CHECK(std::string(d["responseFormat"]["type"].GetString()) == "TEXT");
        d = chat_request_of(body(llama, R"("input":"x","text":{"format":{"type":"json_object"}})"));
        CHECK(std::string(d["responseFormat"]["type"].GetString()) == "JSON_OBJECT");
        d = chat_request_of(body(llama, R"("input":"x","text":{"format":{"type":"json_schema",
            "name":"n","description":"D","strict":false,"schema":{"type":"object"}}})"));
        const auto& js = d["responseFormat"]["jsonSchema"];
        CHECK(std::string(js["name"].GetString()) == "n");
        CHECK(std::string(js["description"].GetString()) == "D");
        CHECK_FALSE(js["isStrict"].GetBool());
        CHECK(std::string(js["schema"]["type"].GetString()) == "object");
        d = chat_request_of(body(cohere, R"("input":"x","text":{"format":{"type":"json_schema",
            "name":"n","schema":{"type":"object"}}})"));
        CHECK(std::string(d["responseFormat"]["type"].GetString()) == "JSON_OBJECT");
        CHECK(d["responseFormat"].HasMember("schema"));
    }
    SECTION("reasoning.effort, text.verbosity, max_output_tokens, sampling, stream")
    {
        auto d = chat_request_of(body(llama, R"("input":"x","reasoning":{"effort":"Low",
            "summary":"detailed"},"text":{"verbosity":"high"},"max_output_tokens":77,
            "temperature":0,"top_p":0.5,"stream":true,"stream_options":{},"parallel_tool_calls":false,
            "metadata":{"a":"b"},"service_tier":"default","truncation":"disabled","store":true,
            "user":"u","top_logprobs":0,"background":false,"context_management":[],
            "include":["reasoning.encrypted_content","web_search_call.action.sources",
                       "message.input_image.image_url"])"));
        CHECK(std::string(d["reasoningEffort"].GetString()) == "LOW");
        CHECK(std::string(d["verbosity"].GetString()) == "HIGH");
        CHECK(d["maxTokens"].GetInt() == 77);
        CHECK(d["temperature"].GetDouble() == 0.0);
        CHECK(d["topP"].GetDouble() == 0.5);
        CHECK(d["isStream"].GetBool());
        CHECK_FALSE(d["isParallelToolCalls"].GetBool());
        CHECK(std::string(d["metadata"]["a"].GetString()) == "b");
        CHECK(std::string(d["serviceTier"].GetString()) == "DEFAULT");
        auto v2 = chat_request_of(body(R"("model":"cohere.command-a-reasoning-08-2025")",
                                       R"("input":"x","reasoning":{"effort":"none"})"));
        CHECK(std::string(v2["thinking"]["type"].GetString()) == "DISABLED");
    }
    SECTION("the plan: stream flag, n = 1, usage always")
    {
        auto p = plan_ok(body(llama, R"("input":"x","stream":true)"));
        CHECK(p.chat.stream);
        CHECK(p.chat.n == 1);
        CHECK(p.chat.client_wants_usage);
        CHECK_FALSE(p.chat.logprobs);
    }
    SECTION("web_search on GENERIC: webSearchOptions; its tool is not a function tool")
    {
        auto d = chat_request_of(body(llama, R"("input":"x","tools":[{"type":"web_search_preview",
            "search_context_size":"low","user_location":{"type":"approximate","city":"Oslo"}},
            {"type":"function","name":"f"}])"));
        CHECK(std::string(d["webSearchOptions"]["searchContextSize"].GetString()) == "LOW");
        CHECK(std::string(d["webSearchOptions"]["userLocation"]["city"].GetString()) == "Oslo");
        REQUIRE(d["tools"].Size() == 1);
        CHECK(std::string(d["tools"][0]["name"].GetString()) == "f");
    }
}

TEST_CASE("responses: what Codex CLI sends by default", "[transform][responses]")
{
    SECTION("a namespace tool's functions are offered under their own names")
    {
        const std::string b = body(llama, R"("input":"x","tools":[
            {"type":"function","name":"exec_command","parameters":{"type":"object"}},
            {"type":"namespace","name":"multi_agent_v1","description":"Sub-agents.","tools":[
              {"type":"function","name":"close_agent","strict":false,
               "parameters":{"type":"object","properties":{"target":{"type":"string"}}}},
              {"type":"function","name":"spawn_agent"}]}])");
        auto p = plan_ok(b);
        auto d = parsed(p.chat.body);
        const auto& tools = d["chatRequest"]["tools"];
        REQUIRE(tools.Size() == 3);
        CHECK(std::string(tools[0]["name"].GetString()) == "exec_command");
        CHECK(std::string(tools[1]["name"].GetString()) == "close_agent");
        CHECK(std::string(tools[2]["name"].GetString()) == "spawn_agent");
        REQUIRE(p.tool_namespaces.size() == 2);
        CHECK(p.tool_namespaces[0] ==
              std::pair<std::string, std::string>("close_agent", "multi_agent_v1"));
        CHECK(p.tool_namespaces[1].first == "spawn_agent");
        // The echo repeats the tools as sent.
        auto e = echo_of(b);
        CHECK(std::string(e["tools"][1]["type"].GetString()) == "namespace");
        CHECK(plan_ok(body(llama, R"("input":"x")")).tool_namespaces.empty());
    }
    SECTION("namespace errors name the inner tool")
    {
        const std::string pre = user_hi + R"(,"tools":[{"type":"namespace","name":"ns","tools":[)";
        check_400(
            body(llama, pre + R"({"type":"function","name":"a"},{"type":"mcp","name":"b"}]}])"),
            "tools[0].tools[1].type", "unsupported_parameter");
        check_400(body(llama, pre + R"({"type":"tool_search","execution":"client"}]}])"),
                  "tools[0].tools[0].type", "unsupported_parameter");
        check_400(body(llama, pre + R"({"type":"function"}]}])"), "tools[0].tools[0].name",
                  "missing_required_parameter");
        check_400(body(llama, pre + R"({"type":"function","name":"a","parameters":[]}]}])"),
                  "tools[0].tools[0].parameters", "invalid_type");
        check_400(body(llama, pre + R"(7]}])"), "tools[0].tools[0]", "invalid_type");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"namespace","name":"ns"}])"),
                  "tools[0].tools", "invalid_type");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"namespace","tools":[]}])"),
                  "tools[0].name", "missing_required_parameter");
        // One name, one function.
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"function","name":"a"},
            {"type":"namespace","name":"ns","tools":[{"type":"function","name":"a"}]}])"),
                  "tools[1].tools[0].name", "invalid_value");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"function","name":"a"},
            {"type":"function","name":"a"}])"),
                  "tools[1].name", "invalid_value");
        // The namespace's functions count toward max_tools.
        auto cfg = ogp_test::test_config();
        cfg.limits.max_tools = 2;
        auto r = plan_responses(body(llama, pre + R"({"type":"function","name":"a"},
            {"type":"function","name":"b"},{"type":"function","name":"c"}]}])"),
                                cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().param == "tools");
        CHECK(r.error().code == "array_above_max_length");
    }
    SECTION("web_search without external access is not offered (OCI's search is live)")
    {
        auto d = chat_request_of(body(
            llama, R"("input":"x","tools":[{"type":"web_search","external_web_access":false}])"));
        CHECK_FALSE(d.HasMember("webSearchOptions"));
        CHECK_FALSE(d.HasMember("tools"));
        // Not refused on COHERE either: nothing is asked of OCI.
        plan_ok(body(cohere,
                     R"("input":"x","tools":[{"type":"web_search","external_web_access":false}])"));
        d = chat_request_of(body(
            llama, R"("input":"x","tools":[{"type":"web_search","external_web_access":true}])"));
        CHECK(d.HasMember("webSearchOptions"));
        check_400(
            body(llama, user_hi + R"(,"tools":[{"type":"web_search","external_web_access":"no"}])"),
            "tools[0].external_web_access", "invalid_type");
    }
    SECTION("a function_call naming its namespace is sent by its name")
    {
        auto d = chat_request_of(body(llama, R"("input":[{"role":"user","content":"u"},
            {"type":"function_call","call_id":"c","name":"close_agent","namespace":"multi_agent_v1","arguments":"{}"},
            {"type":"function_call_output","call_id":"c","output":"ok"}])"));
        CHECK(std::string(d["messages"][1]["toolCalls"][0]["name"].GetString()) == "close_agent");
    }
}

TEST_CASE("responses: custom tools and a client-executed tool_search (Codex, a known model)",
          "[transform][responses]")
{
    const std::string lark =
        R"(start: begin_patch hunk+ end_patch\nbegin_patch: \"*** Begin Patch\" LF)";
    SECTION("a custom tool is a function with one string `input`; its grammar is described")
    {
        const std::string b = body(llama, R"("input":"x","tools":[
            {"type":"function","name":"exec_command","parameters":{"type":"object"}},
            {"type":"custom","name":"apply_patch","description":"Edit files. FREEFORM.",
             "format":{"type":"grammar","syntax":"lark","definition":")" +
                                              lark + R"("}},
            {"type":"custom","name":"re","format":{"type":"grammar","syntax":"regex","definition":"[a-z]+"}},
            {"type":"custom","name":"plain","description":"Plain text.","format":{"type":"text"}},
            {"type":"custom","name":"bare"}])");
        auto p = plan_ok(b);
        auto d = parsed(p.chat.body);
        const auto& tools = d["chatRequest"]["tools"];
        REQUIRE(tools.Size() == 5);
        const auto& ap = tools[1];
        CHECK(std::string(ap["type"].GetString()) == "FUNCTION");
        CHECK(std::string(ap["name"].GetString()) == "apply_patch");
        const std::string desc = ap["description"].GetString();
        CHECK(desc.starts_with("Edit files. FREEFORM.\n\n"));
        CHECK(desc.find("Lark grammar") != std::string::npos);
        CHECK(desc.find("begin_patch: \"*** Begin Patch\" LF\n```") != std::string::npos);
        CHECK(ogp_test::json_equal(
            ogp_test::pretty(std::string(R"({"x":)") + to_json_text(ap["parameters"]) + "}"),
            R"({"x":{"type":"object","properties":{"input":{"type":"string","description":
                "The tool's whole input: free-form text, not JSON."}},"required":["input"],
                "additionalProperties":false}})"));
        const std::string re = tools[2]["description"].GetString();
        CHECK(re.starts_with("Call this tool"));
        CHECK(re.find("regular expression:\n```\n[a-z]+\n```") != std::string::npos);
        CHECK(std::string(tools[3]["description"].GetString()) == "Plain text.");
        CHECK(
            (!tools[4].HasMember("description") || tools[4]["description"].GetStringLength() == 0));
        CHECK(p.custom_tools == std::vector<std::string>{"apply_patch", "re", "plain", "bare"});
        CHECK_FALSE(p.client_tool_search);
        // The echo repeats the tools as sent.
        CHECK(std::string(echo_of(b)["tools"][1]["type"].GetString()) == "custom");
        // Every format takes it.
        plan_ok(body(cohere, R"("input":"x","tools":[{"type":"custom","name":"apply_patch"}])"));
        plan_ok(body(coherev2, R"("input":"x","tools":[{"type":"custom","name":"apply_patch"}])"));
    }
    SECTION("a namespace's custom tool names its namespace")
    {
        auto p = plan_ok(body(llama, R"("input":"x","tools":[{"type":"namespace","name":"ns",
            "tools":[{"type":"custom","name":"c"},{"type":"function","name":"f"}]}])"));
        CHECK(p.custom_tools == std::vector<std::string>{"c"});
        REQUIRE(p.tool_namespaces.size() == 2);
        CHECK(p.tool_namespaces[0] == std::pair<std::string, std::string>("c", "ns"));
    }
    SECTION("a client-executed tool_search is the function tool_search")
    {
        auto p = plan_ok(body(llama, R"("input":"x","tools":[
            {"type":"tool_search","execution":"client","description":"Find tools.",
             "parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}])"));
        CHECK(p.client_tool_search);
        auto d = parsed(p.chat.body);
        const auto& t = d["chatRequest"]["tools"][0];
        CHECK(std::string(t["name"].GetString()) == "tool_search");
        CHECK(std::string(t["description"].GetString()) == "Find tools.");
        CHECK(t["parameters"]["properties"].HasMember("query"));
        CHECK_FALSE(t["parameters"]["properties"].HasMember("limit"));
        // No parameters: query and limit.
        auto q = plan_ok(
            body(llama, R"("input":"x","tools":[{"type":"tool_search","execution":"client"}])"));
        auto e = parsed(q.chat.body);
        const auto& dt = e["chatRequest"]["tools"][0];
        CHECK(dt["parameters"]["properties"].HasMember("query"));
        CHECK(dt["parameters"]["properties"].HasMember("limit"));
        CHECK(dt["description"].GetStringLength() > 0);
    }
    SECTION("tool_choice custom is the function of that name")
    {
        auto d = chat_request_of(
            body(llama, R"("input":"x","tools":[{"type":"custom","name":"apply_patch"}],
            "tool_choice":{"type":"custom","name":"apply_patch"})"));
        CHECK(std::string(d["toolChoice"]["type"].GetString()) == "FUNCTION");
        CHECK(std::string(d["toolChoice"]["name"].GetString()) == "apply_patch");
        check_400(body(llama, R"("input":"x","tool_choice":{"type":"custom"})"), "tool_choice.name",
                  "missing_required_parameter");
    }
    SECTION("custom tool calls and outputs: calls of the function, grouped like function calls")
    {
        auto d = chat_request_of(body(llama, R"("tools":[{"type":"custom","name":"apply_patch"},
            {"type":"function","name":"f"}],"input":[{"role":"user","content":"u"},
            {"type":"function_call","call_id":"a","name":"f","arguments":"{}"},
            {"type":"custom_tool_call","id":"ctc_1","status":"completed","call_id":"b",
             "name":"apply_patch","input":"*** Begin Patch\n\"q\" \\ \u00e9\ud83d\ude00\n"},
            {"type":"function_call_output","call_id":"a","output":"A"},
            {"type":"custom_tool_call_output","id":"x","call_id":"b","output":[{"type":"input_text","text":"Done!"}]}])"));
        const auto& m = d["messages"];
        REQUIRE(m.Size() == 4);
        REQUIRE(m[1]["toolCalls"].Size() == 2);
        const auto& call = m[1]["toolCalls"][1];
        CHECK(std::string(call["id"].GetString()) == "b");
        CHECK(std::string(call["name"].GetString()) == "apply_patch");
        // The arguments are JSON whose `input` is the text, escapes and all.
        rapidjson::Document args = parsed(call["arguments"].GetString());
        CHECK(std::string(args["input"].GetString()) ==
              "*** Begin Patch\n\"q\" \\ \xc3\xa9\xf0\x9f\x98\x80\n");
        CHECK(args.MemberCount() == 1);
        CHECK(std::string(m[3]["role"].GetString()) == "TOOL");
        CHECK(std::string(m[3]["toolCallId"].GetString()) == "b");
        CHECK(std::string(m[3]["content"][0]["text"].GetString()) == "Done!");
        // COHERE parses the arguments again: an object with `input`.
        auto c = chat_request_of(body(cohere, R"("tools":[{"type":"custom","name":"apply_patch"}],
            "input":[{"role":"user","content":"u"},
            {"type":"custom_tool_call","call_id":"b","name":"apply_patch","input":"x"},
            {"type":"custom_tool_call_output","call_id":"b","output":"ok"}])"));
        CHECK(std::string(c["toolResults"][0]["call"]["parameters"]["input"].GetString()) == "x");
    }
    SECTION("tool search calls and outputs; the loaded tools are offered")
    {
        const std::string b = body(llama, R"("tools":[{"type":"function","name":"f"},
            {"type":"tool_search","execution":"client"}],"input":[{"role":"user","content":"u"},
            {"type":"tool_search_call","id":"ts_1","call_id":"s1","execution":"client",
             "status":"completed","arguments":{"query":"calendar","limit":2}},
            {"type":"tool_search_output","call_id":"s1","execution":"client","status":"completed",
             "tools":[{"type":"function","name":"cal_list","description":"List events.",
                       "parameters":{"type":"object","properties":{"day":{"type":"string"}}},
                       "defer_loading":true},
                      {"type":"namespace","name":"mcp_cal","description":"Calendar",
                       "tools":[{"type":"custom","name":"cal_note"}]},
                      {"type":"function","name":"f"}]},
            {"type":"tool_search_call","call_id":"s2","arguments":"{\"query\":\"again\"}"},
            {"type":"tool_search_output","call_id":"s2","tools":[
                {"type":"function","name":"cal_list","description":"List events.",
                 "parameters":{"type":"object","properties":{"day":{"type":"string"}}}}]},
            {"type":"tool_search_call","call_id":"s3"},
            {"type":"tool_search_output","call_id":"s3","tools":[]}])");
        auto p = plan_ok(b);
        auto d = parsed(p.chat.body);
        const auto& cr = d["chatRequest"];
        const auto& m = cr["messages"];
        REQUIRE(m.Size() == 7);
        const auto& call = m[1]["toolCalls"][0];
        CHECK(std::string(call["name"].GetString()) == "tool_search");
        CHECK(std::string(call["id"].GetString()) == "s1");
        CHECK(ogp_test::json_equal(call["arguments"].GetString(),
                                   R"({"query":"calendar","limit":2})"));
        CHECK(std::string(m[3]["toolCalls"][0]["arguments"].GetString()) == R"({"query":"again"})");
        CHECK(std::string(m[5]["toolCalls"][0]["arguments"].GetString()) == "{}");
        CHECK(std::string(m[2]["role"].GetString()) == "TOOL");
        CHECK(std::string(m[2]["toolCallId"].GetString()) == "s1");
        CHECK(std::string(m[2]["content"][0]["text"].GetString()) ==
              "Tools loaded by the search, now offered as functions: cal_list, cal_note, f.");
        CHECK(std::string(m[6]["content"][0]["text"].GetString()) ==
              "The tool search found no tools.");
        // f and tool_search, then the loaded ones, each once.
        const auto& tools = cr["tools"];
        REQUIRE(tools.Size() == 4);
        CHECK(std::string(tools[1]["name"].GetString()) == "tool_search");
        CHECK(std::string(tools[2]["name"].GetString()) == "cal_list");
        CHECK(tools[2]["parameters"]["properties"].HasMember("day"));
        CHECK(std::string(tools[3]["name"].GetString()) == "cal_note");
        CHECK(tools[3]["parameters"]["properties"].HasMember("input"));
        CHECK(p.custom_tools == std::vector<std::string>{"cal_note"});
        CHECK(p.tool_namespaces ==
              std::vector<std::pair<std::string, std::string>>{{"cal_note", "mcp_cal"}});
        CHECK(p.client_tool_search);
        // Loaded tools alone (no tools sent) are offered too.
        auto alone = chat_request_of(body(llama, R"("input":[{"role":"user","content":"u"},
            {"type":"tool_search_call","call_id":"s1","arguments":{}},
            {"type":"tool_search_output","call_id":"s1","tools":[{"type":"function","name":"g"}]}])"));
        REQUIRE(alone["tools"].Size() == 1);
        CHECK(std::string(alone["tools"][0]["name"].GetString()) == "g");
    }
    SECTION("loaded tools: a different definition of a name is a 400; counted in max_tools")
    {
        const std::string pre = R"("tools":[{"type":"function","name":"f","description":"F"}],
            "input":[{"role":"user","content":"u"},{"type":"tool_search_call","call_id":"s"},
            {"type":"tool_search_output","call_id":"s","tools":[)";
        check_400(body(llama, pre + R"({"type":"function","name":"f","description":"G"}]}])"),
                  "input[2].tools[0].name", "invalid_value");
        check_400(body(llama, pre + R"({"type":"function","name":"g"},
                  {"type":"function","name":"g","strict":true}]}])"),
                  "input[2].tools[1].name", "invalid_value");
        check_400(body(llama, pre + R"({"type":"custom","name":"f"}]}])"), "input[2].tools[0].name",
                  "invalid_value");
        check_400(body(llama, pre + R"({"type":"mcp","server_label":"x"}]}])"),
                  "input[2].tools[0].type", "unsupported_parameter");
        check_400(body(llama, pre + R"(3]}])"), "input[2].tools[0]", "invalid_type");
        check_400(body(llama, pre + R"({"type":"function"}]}])"), "input[2].tools[0].name",
                  "missing_required_parameter");
        check_400(
            body(
                llama,
                pre +
                    R"({"type":"namespace","name":"n","tools":[{"type":"function","name":"f"}]}]}])"),
            "input[2].tools[0].tools[0].name", "invalid_value");
        check_400(body(llama, pre + R"({"type":"namespace","tools":[]}]}])"),
                  "input[2].tools[0].name", "missing_required_parameter");
        check_400(body(llama, pre + R"({"type":"function","name":"g","parameters":[]}]}])"),
                  "input[2].tools[0].parameters", "invalid_type");
        auto cfg = ogp_test::test_config();
        cfg.limits.max_tools = 2;
        auto r =
            plan_responses(body(llama, pre + R"({"type":"function","name":"f","description":"F"},
            {"type":"function","name":"g"},{"type":"function","name":"h"}]}])"),
                           cfg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().param == "input[2].tools[2]");
        CHECK(r.error().code == "array_above_max_length");
    }
    SECTION("the 400s name the Responses parameter")
    {
        // Server execution (the default) cannot run on OCI.
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"tool_search"}])"),
                  "tools[0].execution", "unsupported_parameter");
        check_400(
            body(llama, user_hi + R"(,"tools":[{"type":"tool_search","execution":"server"}])"),
            "tools[0].execution", "unsupported_parameter");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"tool_search","execution":"x"}])"),
                  "tools[0].execution", "invalid_value");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"tool_search","execution":"client"},
            {"type":"tool_search","execution":"client"}])"),
                  "tools[1]", "invalid_value");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"tool_search","execution":"client",
            "parameters":[]}])"),
                  "tools[0].parameters", "invalid_type");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"tool_search","execution":"client",
            "description":1}])"),
                  "tools[0].description", "invalid_type");
        // The function tool_search besides the tool: the duplicate is named.
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"tool_search","execution":"client"},
            {"type":"function","name":"tool_search"}])"),
                  "tools[1].name", "invalid_value");
        auto e =
            error_of(body(llama, user_hi + R"(,"tools":[{"type":"function","name":"tool_search"},
            {"type":"tool_search","execution":"client"}])"));
        CHECK(e.param == "tools[1].type");
        CHECK(e.message.find("tool_search") != std::string::npos);
        // Custom tools.
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"custom"}])"), "tools[0].name",
                  "missing_required_parameter");
        check_400(
            body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c","description":2}])"),
            "tools[0].description", "invalid_type");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c","format":"x"}])"),
                  "tools[0].format", "invalid_type");
        check_400(
            body(llama,
                 user_hi + R"(,"tools":[{"type":"custom","name":"c","format":{"type":"json"}}])"),
            "tools[0].format.type", "invalid_value");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c",
            "format":{"type":"grammar","syntax":"ebnf","definition":"x"}}])"),
                  "tools[0].format.syntax", "invalid_value");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c",
            "format":{"type":"grammar","syntax":"lark"}}])"),
                  "tools[0].format.definition", "missing_required_parameter");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c",
            "format":{"type":"grammar","syntax":"lark","definition":5}}])"),
                  "tools[0].format.definition", "invalid_type");
        const std::string big(16 * 1024 + 1, 'a');
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c",
            "format":{"type":"grammar","syntax":"regex","definition":")" +
                                  big + R"("}}])"),
                  "tools[0].format.definition", "string_above_max_length");
        plan_ok(body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c",
            "format":{"type":"grammar","syntax":"regex","definition":")" +
                                big.substr(1) + R"("}}])"));
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"custom","name":"c"},
            {"type":"function","name":"c"}])"),
                  "tools[1].name", "invalid_value");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"namespace","name":"n","tools":[
            {"type":"custom","name":"c","format":{"type":"grammar"}}]}])"),
                  "tools[0].tools[0].format.syntax", "invalid_value");
        // Items.
        const std::string u = R"({"role":"user","content":"u"},)";
        check_400(body(llama, R"("input":[)" + u +
                                  R"({"type":"custom_tool_call","name":"c","input":"x"}])"),
                  "input[1].call_id", "missing_required_parameter");
        check_400(body(llama, R"("input":[)" + u +
                                  R"({"type":"custom_tool_call","call_id":"c","input":"x"}])"),
                  "input[1].name", "missing_required_parameter");
        check_400(body(llama, R"("input":[)" + u +
                                  R"({"type":"custom_tool_call","call_id":"c","name":"c"}])"),
                  "input[1].input", "missing_required_parameter");
        check_400(
            body(llama, R"("input":[)" + u +
                            R"({"type":"custom_tool_call","call_id":"c","name":"c","input":{}}])"),
            "input[1].input", "invalid_type");
        check_400(
            body(llama, R"("input":[)" + u + R"({"type":"custom_tool_call_output","output":"x"}])"),
            "input[1].call_id", "missing_required_parameter");
        check_400(
            body(llama, R"("input":[)" + u +
                            R"({"type":"custom_tool_call_output","call_id":"c","output":5}])"),
            "input[1].output", "invalid_type");
        check_400(
            body(llama, R"("input":[)" + u +
                            R"({"type":"tool_search_call","execution":"server","call_id":"s"}])"),
            "input[1].execution", "unsupported_parameter");
        check_400(body(llama, R"("input":[)" + u +
                                  R"({"type":"tool_search_call","execution":7,"call_id":"s"}])"),
                  "input[1].execution", "invalid_value");
        check_400(
            body(llama, R"("input":[)" + u + R"({"type":"tool_search_call","call_id":null}])"),
            "input[1].call_id", "missing_required_parameter");
        check_400(
            body(llama, R"("input":[)" + u + R"({"type":"tool_search_output","call_id":"s"}])"),
            "input[1].tools", "invalid_type");
        check_400(body(llama, R"("input":[)" + u + R"({"type":"tool_search_output","tools":[]}])"),
                  "input[1].call_id", "missing_required_parameter");
        check_400(
            body(
                llama,
                R"("input":[)" + u +
                    R"({"type":"tool_search_output","execution":"server","call_id":"s","tools":[]}])"),
            "input[1].execution", "unsupported_parameter");
    }
}

TEST_CASE("responses: the echo repeats the request parameters", "[transform][responses]")
{
    SECTION("defaults")
    {
        auto e = echo_of(body(llama, R"("input":"x")"));
        CHECK(e["instructions"].IsNull());
        // Nothing configured: the family's maximum (Llama on demand: 4,000) was sent.
        CHECK(e["max_output_tokens"].GetInt() == 4000);
        CHECK(e["metadata"].IsObject());
        CHECK(e["metadata"].MemberCount() == 0);
        CHECK(e["parallel_tool_calls"].GetBool());
        CHECK(e["previous_response_id"].IsNull());
        CHECK(e["reasoning"]["effort"].IsNull());
        CHECK(e["reasoning"]["summary"].IsNull());
        CHECK_FALSE(e.HasMember("service_tier"));
        CHECK(e["store"].GetBool());
        // Nothing sent to OCI: null, not OpenAI's 1 (the model's own default applies).
        CHECK(e["temperature"].IsNull());
        CHECK(std::string(e["text"]["format"]["type"].GetString()) == "text");
        CHECK(std::string(e["text"]["verbosity"].GetString()) == "medium");
        CHECK(std::string(e["tool_choice"].GetString()) == "auto");
        CHECK(e["tools"].IsArray());
        CHECK(e["tools"].Empty());
        CHECK(e["top_p"].IsNull());
        CHECK(std::string(e["truncation"].GetString()) == "disabled");
        CHECK(e["user"].IsNull());
    }
    SECTION("the members come in the documented order")
    {
        auto p = plan_ok(body(llama, R"("input":"x","service_tier":"auto")"));
        const char* order[] = {"instructions",
                               "max_output_tokens",
                               "metadata",
                               "parallel_tool_calls",
                               "previous_response_id",
                               "reasoning",
                               "service_tier",
                               "store",
                               "temperature",
                               "text",
                               "tool_choice",
                               "tools",
                               "top_p",
                               "truncation",
                               "user"};
        std::size_t at = 0;
        for (const char* k : order) {
            std::size_t found = p.echo.find("\"" + std::string(k) + "\":", at);
            INFO(k << " in " << p.echo);
            REQUIRE(found != std::string::npos);
            at = found;
        }
    }
    SECTION("as sent")
    {
        auto e = echo_of(body(llama, R"("input":"x","instructions":"I","max_output_tokens":9,
            "metadata":{"k":"v"},"parallel_tool_calls":false,"reasoning":{"effort":"HIGH",
            "summary":"auto"},"service_tier":"priority","store":false,"temperature":0.1,
            "text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"}},
            "verbosity":"low"},"tool_choice":{"type":"function","name":"f"},
            "tools":[{"type":"function","name":"f","strict":true,"parameters":null}],
            "top_p":0.2,"truncation":"auto","user":"me")"));
        CHECK(std::string(e["instructions"].GetString()) == "I");
        CHECK(e["max_output_tokens"].GetInt() == 9);
        CHECK(std::string(e["metadata"]["k"].GetString()) == "v");
        CHECK_FALSE(e["parallel_tool_calls"].GetBool());
        CHECK(std::string(e["reasoning"]["effort"].GetString()) == "high");
        CHECK(std::string(e["reasoning"]["summary"].GetString()) == "auto");
        CHECK(std::string(e["service_tier"].GetString()) == "priority");
        CHECK_FALSE(e["store"].GetBool());
        CHECK(e["temperature"].GetDouble() == 0.1);
        CHECK(std::string(e["text"]["format"]["name"].GetString()) == "n");
        CHECK(std::string(e["text"]["verbosity"].GetString()) == "low");
        CHECK(std::string(e["tool_choice"]["name"].GetString()) == "f");
        CHECK(e["tools"][0]["strict"].GetBool());
        CHECK(e["top_p"].GetDouble() == 0.2);
        CHECK(std::string(e["truncation"].GetString()) == "auto");
        CHECK(std::string(e["user"].GetString()) == "me");
    }
    SECTION("configured defaults are echoed as sent")
    {
        auto cfg = ogp_test::test_config();
        cfg.defaults.max_tokens = 600;
        cfg.defaults.temperature = 0.7;
        cfg.defaults.top_p = 0.75;
        auto e = echo_of(body(llama, R"("input":"x")"), cfg);
        CHECK(e["max_output_tokens"].GetInt() == 600);
        CHECK(e["temperature"].GetDouble() == 0.7);
        CHECK(e["top_p"].GetDouble() == 0.75);
    }
    SECTION("OpenAI reasoning models take no sampling defaults: null")
    {
        auto cfg = ogp_test::test_config();
        cfg.defaults.temperature = 0.7;
        cfg.defaults.top_p = 0.75;
        auto e = echo_of(body(R"("model":"openai.gpt-5")", R"("input":"x")"), cfg);
        CHECK(e["temperature"].IsNull());
        CHECK(e["top_p"].IsNull());
    }
    SECTION("a reasoning family without a length gets its maximum")
    {
        auto e = echo_of(body(R"("model":"xai.grok-4")", R"("input":"x")"));
        CHECK(e["max_output_tokens"].GetInt() == 16000);
    }
}

TEST_CASE("responses: state and server-side features are refused", "[transform][responses]")
{
    SECTION("previous_response_id and conversation: no state on this route")
    {
        check_400(body(llama, user_hi + R"(,"previous_response_id":"resp_1")"),
                  "previous_response_id", "unsupported_parameter");
        auto e = error_of(body(llama, user_hi + R"(,"previous_response_id":"resp_1")"));
        CHECK(e.message.find("keeps no state") != std::string::npos);
        CHECK(e.message.find("whole input") != std::string::npos);
        CHECK(e.body().find(R"("type":"invalid_request_error")") != std::string::npos);
        check_400(body(llama, user_hi + R"(,"conversation":"conv_1")"), "conversation",
                  "unsupported_parameter");
        check_400(body(cohere, user_hi + R"(,"conversation":{"id":"conv_1"})"), "conversation",
                  "unsupported_parameter");
    }
    SECTION("background, prompt, context_management, moderation")
    {
        check_400(body(llama, user_hi + R"(,"background":true)"), "background",
                  "unsupported_parameter");
        check_400(body(llama, user_hi + R"(,"background":1)"), "background", "invalid_type");
        check_400(body(llama, user_hi + R"(,"prompt":{"id":"pmpt_1"})"), "prompt",
                  "unsupported_parameter");
        check_400(body(llama, user_hi + R"(,"context_management":[{"type":"compaction"}])"),
                  "context_management", "unsupported_parameter");
        check_400(body(llama, user_hi + R"(,"moderation":{"model":"m"})"), "moderation",
                  "unsupported_parameter");
    }
    SECTION("item references")
    {
        check_400(body(llama, R"("input":[{"type":"item_reference","id":"msg_1"}])"), "input[0]",
                  "unsupported_parameter");
        check_400(body(llama, R"("input":[{"role":"user","content":"u"},{"id":"msg_1"}])"),
                  "input[1]", "unsupported_parameter");
    }
}

TEST_CASE("responses: 400s name the Responses parameter", "[transform][responses]")
{
    SECTION("body, model, input")
    {
        check_400("{", "", "invalid_json");
        check_400(R"({"input":"x"})", "model", "missing_required_parameter");
        check_400(body(llama, R"("instructions":"x")"), "input", "missing_required_parameter");
        check_400(body(llama, R"("input":5)"), "input", "invalid_type");
        check_400(body(llama, R"("input":[])"), "input", "invalid_value");
        check_400(body(llama, R"("instructions":"s","input":[{"type":"reasoning","summary":[]}])"),
                  "input", "invalid_value");
        check_400(body(llama, R"("input":[1])"), "input[0]", "invalid_type");
        check_400(body(llama, R"("input":[{"content":"x"}])"), "input[0].type",
                  "missing_required_parameter");
        check_400(body(llama, R"("input":[{"type":7}])"), "input[0].type", "invalid_type");
        check_400(body(llama, R"("input":[{"type":"bogus"}])"), "input[0].type", "invalid_value");
        check_400(body(llama, R"("input":[{"type":"local_shell_call"}])"), "input[0].type",
                  "unsupported_parameter");
        check_400(body(llama, R"("input":[{"type":"custom_tool_call_output","call_id":"c"}])"),
                  "input[0].output", "missing_required_parameter");
        check_400(body(llama, R"("input":[{"type":"apply_patch_call"}])"), "input[0].type",
                  "unsupported_parameter");
    }
    SECTION("messages and content parts")
    {
        check_400(body(llama, R"("input":[{"role":"tool","content":"x"}])"), "input[0].role",
                  "invalid_value");
        check_400(body(llama, R"("input":[{"type":"message","content":"x"}])"), "input[0].role",
                  "missing_required_parameter");
        check_400(body(llama, R"("input":[{"role":"user"}])"), "input[0].content",
                  "missing_required_parameter");
        check_400(body(llama, R"("input":[{"role":"user","content":{}}])"), "input[0].content",
                  "invalid_type");
        check_400(body(llama, R"("input":[{"role":"user","content":[5]}])"), "input[0].content[0]",
                  "invalid_type");
        check_400(body(llama, R"("input":[{"role":"user","content":[{"type":"input_text"}]}])"),
                  "input[0].content[0].text", "invalid_type");
        check_400(body(llama, R"("input":[{"role":"user","content":[{"type":"input_audio"}]}])"),
                  "input[0].content[0].input_audio", "invalid_type");
        check_400(body(llama,
                       R"("input":[{"role":"user","content":[{"type":"refusal","refusal":"r"}]}])"),
                  "input[0].content[0].type", "unsupported_content_type");
    }
    SECTION("images: Responses paths for what the shared validation refuses")
    {
        const std::string pre = R"("input":[{"role":"user","content":"u"},{"role":"user","content":[
            {"type":"input_text","text":"t"},)";
        check_400(body(llama, pre + R"({"type":"input_image","file_id":"file_1"}]}])"),
                  "input[1].content[1].file_id", "unsupported_parameter");
        check_400(body(llama, pre + R"({"type":"input_image","detail":"auto"}]}])"),
                  "input[1].content[1].image_url", "invalid_value");
        check_400(body(llama, pre + R"({"type":"input_image","image_url":7}]}])"),
                  "input[1].content[1].image_url", "invalid_type");
        check_400(body(llama, pre + R"({"type":"input_image","image_url":"u","detail":"max"}]}])"),
                  "input[1].content[1].detail", "invalid_value");
        check_400(body(llama, R"("input":[{"role":"user","content":"u"},{"role":"assistant",
            "content":[{"type":"input_image","image_url":"u"}]},{"role":"user","content":"v"}])"),
                  "input[1].content[0].type", "invalid_value");
        check_400(body(cohere, pre + R"({"type":"input_image","image_url":"u"}]}])"),
                  "input[1].content[1].type", "unsupported_parameter");
    }
    SECTION("files: inline data URLs only, GENERIC only, user turns only")
    {
        const std::string pre = R"("input":[{"role":"user","content":[)";
        check_400(body(llama, pre + R"({"type":"input_file","file_id":"file_1"}]}])"),
                  "input[0].content[0].file_id", "unsupported_parameter");
        check_400(body(llama, pre + R"({"type":"input_file","file_url":"https://x/a.pdf"}]}])"),
                  "input[0].content[0].file_url", "unsupported_parameter");
        check_400(body(llama, pre + R"({"type":"input_file","filename":"a.pdf"}]}])"),
                  "input[0].content[0].file_data", "missing_required_parameter");
        check_400(body(llama, pre + R"({"type":"input_file","file_data":"JVBERi0="}]}])"),
                  "input[0].content[0].file_data", "invalid_value");
        const std::string file =
            R"({"type":"input_file","file_data":"data:application/pdf;base64,JVBE"})";
        check_400(body(cohere, pre + file + "]}]"), "input[0].content[0].type",
                  "unsupported_parameter");
        check_400(body(coherev2, pre + file + "]}]"), "input[0].content[0].type",
                  "unsupported_parameter");
        check_400(body(llama, R"("input":[{"role":"system","content":[)" + file +
                                  R"(]},{"role":"user","content":"u"}])"),
                  "input[0].content[0].type", "invalid_value");
        check_400(
            body(llama,
                 R"("tools":[{"type":"function","name":"f"}],"input":[{"role":"user","content":"u"},
            {"type":"function_call","call_id":"a","name":"f"},
            {"type":"function_call_output","call_id":"a","output":[)" +
                     file + "]}]"),
            "input[2].output[0].type", "invalid_value");
    }
    SECTION("function calls and outputs")
    {
        const std::string u = R"({"role":"user","content":"u"},)";
        check_400(body(llama, R"("input":[)" + u + R"({"type":"function_call","name":"f"}])"),
                  "input[1].call_id", "missing_required_parameter");
        check_400(body(llama, R"("input":[)" + u + R"({"type":"function_call","call_id":"a"}])"),
                  "input[1].name", "missing_required_parameter");
        check_400(
            body(llama, R"("input":[)" + u +
                            R"({"type":"function_call","call_id":"a","name":"f","arguments":3}])"),
            "input[1].arguments", "invalid_type");
        check_400(
            body(llama, R"("input":[)" + u + R"({"type":"function_call_output","output":"x"}])"),
            "input[1].call_id", "missing_required_parameter");
        check_400(body(llama, R"("input":[)" + u +
                                  R"({"type":"function_call","call_id":"a","name":"f"},
                                     {"type":"function_call_output","call_id":"a"}])"),
                  "input[2].output", "missing_required_parameter");
        check_400(body(llama, R"("input":[)" + u +
                                  R"({"type":"function_call","call_id":"a","name":"f"},
                                     {"type":"function_call_output","call_id":"a","output":{}}])"),
                  "input[2].output", "invalid_type");
        // An output that answers no call of the preceding assistant turn (shared validation).
        check_400(body(llama, R"("input":[)" + u +
                                  R"({"type":"function_call","call_id":"a","name":"f"},
                                     {"type":"function_call_output","call_id":"zz","output":"x"}])"),
                  "input[2].call_id", "invalid_value");
        // COHERE needs object arguments: the function_call item is named.
        check_400(body(cohere, R"("tools":[{"type":"function","name":"f"}],"input":[)" + u +
                                   R"({"type":"reasoning","summary":[]},
                                      {"type":"function_call","call_id":"a","name":"f","arguments":"{}"},
                                      {"type":"function_call","call_id":"b","name":"f","arguments":"nope"},
                                      {"type":"function_call_output","call_id":"a","output":"x"}])"),
                  "input[3].arguments", "invalid_value");
        check_400(body(cohere, R"("input":[)" + u + R"({"role":"assistant","content":"a"}])"),
                  "input", "invalid_value");
    }
    SECTION("reasoning items")
    {
        check_400(body(llama, R"("input":[{"type":"reasoning","summary":"s"}])"),
                  "input[0].summary", "invalid_type");
        check_400(
            body(llama, R"("input":[{"type":"reasoning","summary":[{"type":"summary_text"}]}])"),
            "input[0].summary[0].text", "invalid_type");
        check_400(body(llama, R"("input":[{"type":"reasoning","content":[1]}])"),
                  "input[0].content[0].text", "invalid_type");
    }
    SECTION("tools")
    {
        check_400(body(llama, user_hi + R"(,"tools":{})"), "tools", "invalid_type");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"function","name":"f"},3])"),
                  "tools[1]", "invalid_type");
        for (const char* t : {"file_search", "code_interpreter", "computer_use_preview", "mcp",
                              "image_generation", "local_shell", "shell", "apply_patch"}) {
            check_400(
                body(llama, user_hi + R"(,"tools":[{"type":"function","name":"f"},{"type":")" + t +
                                R"(","name":"x"}])"),
                "tools[1].type", "unsupported_parameter");
            auto e = error_of(body(llama, user_hi + R"(,"tools":[{"type":")" + t + R"("}])"));
            CHECK(e.message.find(t) != std::string::npos);
        }
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"nope"}])"), "tools[0].type",
                  "invalid_value");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"function"}])"), "tools[0].name",
                  "missing_required_parameter");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"function","name":"f","strict":1}])"),
                  "tools[0].strict", "invalid_type");
        check_400(
            body(llama, user_hi + R"(,"tools":[{"type":"function","name":"f","parameters":[]}])"),
            "tools[0].parameters", "invalid_type");
        check_400(body(llama, user_hi + R"(,"tools":[{"type":"function","name":"f",
            "parameters":{"type":"object","properties":{"a":{"$ref":"#/nowhere"}}}}])"),
                  "tools[0].parameters", "invalid_value");
        check_400(
            body(llama, user_hi + R"(,"tools":[{"type":"web_search"},{"type":"web_search"}])"),
            "tools[1]", "invalid_value");
        check_400(
            body(llama,
                 user_hi +
                     R"(,"tools":[{"type":"web_search","filters":{"allowed_domains":["a.com"]}}])"),
            "tools[0].filters.allowed_domains", "unsupported_parameter");
        check_400(
            body(llama,
                 user_hi + R"(,"tools":[{"type":"web_search","search_context_size":"huge"}])"),
            "tools[0].search_context_size", "invalid_value");
        check_400(
            body(cohere,
                 user_hi + R"(,"tools":[{"type":"function","name":"f"},{"type":"web_search"}])"),
            "tools[1].type", "unsupported_parameter");
        check_400(body(coherev2, user_hi + R"(,"tools":[{"type":"web_search_preview"}])"),
                  "tools[0].type", "unsupported_parameter");
    }
    SECTION("tool_choice")
    {
        const std::string t = user_hi + R"(,"tools":[{"type":"function","name":"f"}],)";
        check_400(body(llama, t + R"("tool_choice":"sometimes")"), "tool_choice", "invalid_value");
        check_400(body(llama, t + R"("tool_choice":3)"), "tool_choice", "invalid_type");
        check_400(body(llama, t + R"("tool_choice":{"type":"function"})"), "tool_choice.name",
                  "missing_required_parameter");
        check_400(
            body(llama, t + R"("tool_choice":{"type":"allowed_tools","mode":"auto","tools":[]})"),
            "tool_choice.tools", "invalid_value");
        check_400(body(llama, t + R"("tool_choice":{"type":"file_search"})"), "tool_choice.type",
                  "unsupported_parameter");
        check_400(body(cohere, t + R"("tool_choice":"required")"), "tool_choice",
                  "unsupported_parameter");
        check_400(body(coherev2, t + R"("tool_choice":{"type":"function","name":"f"})"),
                  "tool_choice", "unsupported_parameter");
    }
    SECTION("text")
    {
        check_400(body(llama, user_hi + R"(,"text":"json")"), "text", "invalid_type");
        check_400(body(llama, user_hi + R"(,"text":{"format":"json"})"), "text.format",
                  "invalid_type");
        check_400(body(llama, user_hi + R"(,"text":{"format":{"type":"xml"}})"), "text.format.type",
                  "invalid_value");
        check_400(body(llama, user_hi + R"(,"text":{"format":{"type":"json_schema","name":"n"}})"),
                  "text.format.schema", "missing_required_parameter");
        check_400(body(llama, user_hi + R"(,"text":{"format":{"type":"json_schema","schema":[]}})"),
                  "text.format.schema", "invalid_type");
        check_400(
            body(llama,
                 user_hi + R"(,"text":{"format":{"type":"json_schema","name":"a b","schema":{}}})"),
            "text.format.name", "invalid_value");
        check_400(
            body(llama,
                 user_hi +
                     R"(,"text":{"format":{"type":"json_schema","schema":{},"strict":"yes"}})"),
            "text.format.strict", "invalid_type");
        check_400(body(llama, user_hi + R"(,"text":{"format":{"type":"json_schema",
            "schema":{"type":"object","properties":{"a":{"$ref":"#/missing"}}}}})"),
                  "text.format.schema", "invalid_value");
        check_400(body(llama, user_hi + R"(,"text":{"verbosity":"loud"})"), "text.verbosity",
                  "invalid_value");
        auto e = error_of(body(cohere, user_hi + R"(,"text":{"verbosity":"low"})"));
        CHECK(e.param == "text.verbosity");
        CHECK(e.code == "unsupported_parameter");
        CHECK(e.message.starts_with("text.verbosity is not supported"));
    }
    SECTION("reasoning")
    {
        check_400(body(llama, user_hi + R"(,"reasoning":"high")"), "reasoning", "invalid_type");
        check_400(body(llama, user_hi + R"(,"reasoning":{"effort":1})"), "reasoning.effort",
                  "invalid_type");
        check_400(body(llama, user_hi + R"(,"reasoning":{"effort":"extreme"})"), "reasoning.effort",
                  "invalid_value");
        // Efforts newer than OCI's enum go as its nearest value (issue 13).
        for (const char* effort : {"xhigh", "max", "XHIGH"}) {
            INFO(effort);
            auto p = plan_ok(body(llama, user_hi + R"(,"reasoning":{"effort":")" + effort + "\"}"));
            CHECK(p.chat.body.find(R"("reasoningEffort":"HIGH")") != std::string::npos);
        }
        check_400(body(llama, user_hi + R"(,"reasoning":{"summary":"long"})"), "reasoning.summary",
                  "invalid_value");
        auto e = error_of(body(cohere, user_hi + R"(,"reasoning":{"effort":"low"})"));
        CHECK(e.param == "reasoning.effort");
        CHECK(e.code == "unsupported_parameter");
        CHECK(e.message.starts_with("reasoning.effort is not supported"));
    }
    SECTION("scalars")
    {
        check_400(body(llama, user_hi + R"(,"max_output_tokens":0)"), "max_output_tokens",
                  "invalid_value");
        check_400(body(llama, user_hi + R"(,"max_output_tokens":"5")"), "max_output_tokens",
                  "invalid_type");
        check_400(body(llama, user_hi + R"(,"temperature":3)"), "temperature", "invalid_value");
        check_400(body(llama, user_hi + R"(,"top_p":"x")"), "top_p", "invalid_type");
        check_400(body(llama, user_hi + R"(,"top_logprobs":2)"), "top_logprobs",
                  "unsupported_parameter");
        check_400(body(llama, user_hi + R"(,"top_logprobs":50)"), "top_logprobs", "invalid_value");
        check_400(body(llama, user_hi + R"(,"stream":"yes")"), "stream", "invalid_type");
        check_400(body(llama, user_hi + R"(,"stream_options":true)"), "stream_options",
                  "invalid_type");
        check_400(body(llama, user_hi + R"(,"parallel_tool_calls":"no")"), "parallel_tool_calls",
                  "invalid_type");
        check_400(body(llama, user_hi + R"(,"metadata":[])"), "metadata", "invalid_type");
        check_400(body(llama, user_hi + R"(,"store":"no")"), "store", "invalid_type");
        check_400(body(llama, user_hi + R"(,"truncation":"middle")"), "truncation",
                  "invalid_value");
        check_400(body(llama, user_hi + R"(,"instructions":["x"])"), "instructions",
                  "invalid_type");
        check_400(body(llama, user_hi + R"(,"user":1)"), "user", "invalid_type");
        check_400(body(llama, user_hi + R"(,"service_tier":"flex")"), "service_tier",
                  "invalid_value");
        check_400(body(cohere, user_hi + R"(,"service_tier":"priority")"), "service_tier",
                  "unsupported_parameter");
        check_400(
            body(cohere,
                 user_hi +
                     R"(,"parallel_tool_calls":false,"tools":[{"type":"function","name":"f"}])"),
            "parallel_tool_calls", "unsupported_parameter");
    }
    SECTION("include")
    {
        check_400(body(llama, user_hi + R"(,"include":"x")"), "include", "invalid_type");
        check_400(body(llama, user_hi + R"(,"include":["reasoning.encrypted_content",1])"),
                  "include[1]", "invalid_type");
        check_400(body(llama, user_hi + R"(,"include":["message.output_text.logprobs"])"),
                  "include[0]", "unsupported_parameter");
        check_400(body(llama, user_hi + R"(,"include":["everything"])"), "include[0]",
                  "invalid_value");
    }
    SECTION("instructions errors name instructions; a string input names input")
    {
        // COHERE needs the conversation to end with a user or tool turn.
        check_400(body(cohere, R"("instructions":"s","input":[{"role":"user","content":"u"},
            {"role":"system","content":"late"}])"),
                  "input", "invalid_value");
    }
}

TEST_CASE("responses: bounded by the limits", "[transform][responses]")
{
    auto cfg = ogp_test::test_config();
    cfg.limits.max_messages = 3;
    cfg.limits.max_tools = 1;
    auto err = [&](const std::string& b) {
        auto r = plan_responses(b, cfg);
        REQUIRE_FALSE(r.ok());
        return r.error();
    };
    std::string four = R"("input":[{"role":"user","content":"1"},{"role":"user","content":"2"},
        {"role":"user","content":"3"},{"role":"user","content":"4"}])";
    CHECK(err(body(llama, four)).code == "array_above_max_length");
    CHECK(err(body(llama, four)).param == "input");
    // Three items plus instructions: four messages.
    std::string three = R"("instructions":"s","input":[{"role":"user","content":"1"},
        {"role":"user","content":"2"},{"role":"user","content":"3"}])";
    CHECK(err(body(llama, three)).param == "input");
    CHECK(err(body(llama, user_hi + R"(,"tools":[{"type":"function","name":"a"},
        {"type":"function","name":"b"}])"))
              .param == "tools");
    // Nesting beyond the cap.
    std::string deep;
    for (int i = 0; i < 70; ++i)
        deep += "{\"a\":";
    deep += "1";
    for (int i = 0; i < 70; ++i)
        deep += "}";
    CHECK(err(body(llama, user_hi + R"(,"metadata":)" + deep)).status == 400);
    CHECK(err(std::string(100000, '[')).status == 400);
}

TEST_CASE("chat completions: file parts, reasoning_content and refusal sent back (issue 13)",
          "[transform][responses]")
{
    // A `file` part with a data URL is a GENERIC DOCUMENT, like the Responses input_file.
    auto r = plan_chat(R"({"model":"llama","messages":[{"role":"user","content":[
        {"type":"text","text":"sum up"},
        {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}}]}]})",
                       ogp_test::test_config());
    REQUIRE(r.ok());
    CHECK(r.value().body.find(
              R"({"type":"DOCUMENT","documentUrl":{"url":"data:application/pdf;base64,JVBE"}})") !=
          std::string::npos);
    CHECK(r.value().body.find("a.pdf") == std::string::npos);  // OCI has no field for it
    auto chat_400 = [](const std::string& body, const std::string& param, const std::string& code) {
        auto e = plan_chat(body, ogp_test::test_config());
        INFO(body);
        REQUIRE_FALSE(e.ok());
        CHECK(e.error().status == 400);
        CHECK(e.error().param == param);
        CHECK(e.error().code == code);
    };
    const std::string user_file =
        R"({"model":"MODEL","messages":[{"role":"ROLE","content":[PART]}]})";
    auto with = [&](std::string model, std::string role, std::string part) {
        std::string b = user_file;
        b.replace(b.find("MODEL"), 5, model);
        b.replace(b.find("ROLE"), 4, role);
        b.replace(b.find("PART"), 4, part);
        return b;
    };
    const std::string pdf =
        R"({"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE"}})";
    chat_400(with("llama", "user", R"({"type":"file","file":{"file_id":"file-1"}})"),
             "messages[0].content[0].file.file_id", "unsupported_parameter");
    chat_400(with("llama", "user", R"({"type":"file","file":{}})"),
             "messages[0].content[0].file.file_data", "missing_required_parameter");
    chat_400(with("llama", "user", R"({"type":"file","file":{"file_data":"JVBE"}})"),
             "messages[0].content[0].file.file_data", "invalid_value");
    chat_400(with("llama", "user", R"({"type":"file"})"), "messages[0].content[0].file",
             "invalid_type");
    chat_400(with("llama", "system", pdf), "messages[0].content[0].type", "invalid_value");
    // COHERE has no documents in content, COHEREV2 takes a document object, not a URL.
    chat_400(with("cohere.command-r-08-2024", "user", pdf), "messages[0].content[0].type",
             "unsupported_parameter");
    chat_400(with("command-v2", "user", pdf), "messages[0].content[0].type",
             "unsupported_parameter");

    // Assistant `reasoning_content` goes back to GENERIC as reasoningContent; Cohere drops it.
    const std::string turns = R"({"model":"MODEL","messages":[{"role":"user","content":"u"},
        {"role":"assistant","content":"a","reasoning_content":"I thought"},{"role":"user","content":"v"}]})";
    std::string generic = turns;
    generic.replace(generic.find("MODEL"), 5, "llama");
    auto ok = plan_chat(generic, ogp_test::test_config());
    REQUIRE(ok.ok());
    CHECK(ok.value().body.find(R"("reasoningContent":"I thought")") != std::string::npos);
    std::string cohere = turns;
    cohere.replace(cohere.find("MODEL"), 5, "cohere.command-r-08-2024");
    auto c = plan_chat(cohere, ogp_test::test_config());
    REQUIRE(c.ok());
    CHECK(c.value().body.find("I thought") == std::string::npos);
    chat_400(R"({"model":"llama","messages":[{"role":"user","content":"u"},
        {"role":"assistant","content":"a","reasoning_content":1},{"role":"user","content":"v"}]})",
             "messages[1].reasoning_content", "invalid_type");

    // An assistant's refusal (the field or a refusal part) goes back as GENERIC `refusal`.
    for (
        std::string assistant :
        {R"({"role":"assistant","content":null,"refusal":"I cannot help with that."})",
         R"({"role":"assistant","content":[{"type":"refusal","refusal":"I cannot help with that."}]})"}) {
        INFO(assistant);
        auto g = plan_chat(R"({"model":"llama","messages":[{"role":"user","content":"u"},)" +
                               assistant + R"(,{"role":"user","content":"v"}]})",
                           ogp_test::test_config());
        REQUIRE(g.ok());
        CHECK(g.value().body.find(R"("refusal":"I cannot help with that.")") != std::string::npos);
        auto k = plan_chat(
            R"({"model":"cohere.command-r-08-2024","messages":[{"role":"user","content":"u"},)" +
                assistant + R"(,{"role":"user","content":"v"}]})",
            ogp_test::test_config());
        REQUIRE(k.ok());
        CHECK(k.value().body.find("I cannot help") == std::string::npos);
    }
    auto resp = plan_responses(
        R"({"model":"llama","input":[{"role":"user","content":"u"},{"role":"assistant","content":[
            {"type":"refusal","refusal":"No."}]},{"role":"user","content":"v"}]})",
        ogp_test::test_config());
    REQUIRE(resp.ok());
    CHECK(resp.value().chat.body.find(R"("refusal":"No.")") != std::string::npos);
    chat_400(R"({"model":"llama","messages":[{"role":"user","content":"u"},
        {"role":"assistant","content":"a","refusal":1},{"role":"user","content":"v"}]})",
             "messages[1].refusal", "invalid_type");
}

TEST_CASE(
    "responses: text.format json_schema and function tool parameters get the chat path's "
    "schema rewrites (kept as given, Gemini's subset for Gemini)",
    "[transform][responses][schema]")
{
    const std::string schema =
        R"({"type":"object","properties":{"days":{"anyOf":[{"type":"integer"},{"type":"null"}]},"note":{"type":["string","null"]},"n":{"type":"number","exclusiveMinimum":0}},"required":["days"]})";
    auto request = [&](const std::string& model) {
        return R"({"model":")" + model +
               R"(","input":"Hi","tools":[{"type":"function","name":"f","parameters":)" + schema +
               R"(}],"text":{"format":{"type":"json_schema","name":"r","schema":)" + schema + "}}}";
    };
    auto to_json = [](const rapidjson::Value& v) {
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        v.Accept(w);
        return std::string(sb.GetString());
    };
    SECTION("a GENERIC model other than Gemini keeps anyOf and type lists")
    {
        auto cr = chat_request_of(request("meta.llama-3.3-70b-instruct"));
        const auto& tool = cr["tools"][0]["parameters"];
        const auto& rf = cr["responseFormat"]["jsonSchema"]["schema"];
        CHECK(to_json(tool) == to_json(rf));
        CHECK(tool["properties"]["days"]["anyOf"].Size() == 2);
        CHECK(tool["properties"]["note"]["type"].IsArray());
        CHECK(tool["properties"]["n"]["exclusiveMinimum"].GetInt() == 0);
    }
    SECTION("Gemini: the same rewrites in the tool and in text.format")
    {
        auto cr = chat_request_of(request("google.gemini-2.5-flash"));
        const auto& tool = cr["tools"][0]["parameters"];
        const auto& rf = cr["responseFormat"]["jsonSchema"]["schema"];
        CHECK(to_json(tool) == to_json(rf));
        CHECK_FALSE(tool["properties"]["days"].HasMember("anyOf"));
        CHECK(std::string(tool["properties"]["days"]["type"].GetString()) == "integer");
        CHECK(tool["properties"]["days"]["nullable"].GetBool());
        CHECK(std::string(tool["properties"]["note"]["type"].GetString()) == "string");
        CHECK_FALSE(tool["properties"]["n"].HasMember("exclusiveMinimum"));
        CHECK(tool["properties"]["n"]["minimum"].GetInt() == 0);
    }
}
