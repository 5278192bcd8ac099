#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "ogp/transform/responses.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::fixture_dir;
using ogp_test::read_file;

namespace {

// What the request side would echo for a plain request (the tests build plans by hand).
const std::string test_echo =
    R"(,"instructions":null,"max_output_tokens":null,"metadata":{},"parallel_tool_calls":true,)"
    R"("previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,)"
    R"("temperature":1,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],)"
    R"("top_p":1,"truncation":"disabled","user":null)";

constexpr std::string_view test_id = "resp_0123456789abcdef01234567";

responses_plan plan_for_model(const std::string& model)
{
    auto r = plan_chat(R"({"model":")" + model + R"(","messages":[{"role":"user","content":"x"}]})",
                       ogp_test::test_config());
    REQUIRE(r.ok());
    return responses_plan{r.value(), test_echo};
}

responses_plan plan_for_fixture(const std::string& name)
{
    rapidjson::Document meta;
    std::string text = read_file(fixture_dir("responses/answers") / (name + ".meta.json"));
    meta.Parse(text.c_str());
    REQUIRE(meta.IsObject());
    responses_plan plan = plan_for_model(meta["model"].GetString());
    // What the request side records about the tools (custom, tool_search, namespaces).
    if (meta.HasMember("custom_tools")) {
        for (const auto& n : meta["custom_tools"].GetArray()) {
            plan.custom_tools.emplace_back(n.GetString());
        }
    }
    plan.client_tool_search = meta.HasMember("tool_search") && meta["tool_search"].GetBool();
    if (meta.HasMember("namespaces")) {
        for (auto it = meta["namespaces"].MemberBegin(); it != meta["namespaces"].MemberEnd();
             ++it) {
            plan.tool_namespaces.emplace_back(it->name.GetString(), it->value.GetString());
        }
    }
    return plan;
}

std::string answer_of(const std::string& name)
{
    auto plan = plan_for_fixture(name);
    auto r = responses_answer_to_openai(
        read_file(fixture_dir("responses/answers") / (name + ".oci.json")), plan, test_id,
        1700000000);
    REQUIRE(r.ok());
    return r.value();
}

rapidjson::Document parsed(const std::string& json)
{
    rapidjson::Document d;
    d.Parse(json.c_str());
    REQUIRE(d.IsObject());
    return d;
}

std::string s(const rapidjson::Value& v)
{
    return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<not a string>";
}

// The Response shape the openai SDK types require of every answer.
void check_response_shape(const rapidjson::Value& d)
{
    CHECK(s(d["object"]) == "response");
    CHECK(s(d["id"]).rfind("resp_", 0) == 0);
    CHECK(d["created_at"].IsInt64());
    REQUIRE(d["output"].IsArray());
    CHECK(d.HasMember("error"));
    CHECK(d.HasMember("incomplete_details"));
    CHECK_FALSE(d.HasMember("output_text"));  // SDK-computed
    for (const auto& item : d["output"].GetArray()) {
        std::string type = s(item["type"]);
        CHECK(item["id"].IsString());
        CHECK(item["status"].IsString());
        if (type == "message") {
            CHECK(s(item["role"]) == "assistant");
            REQUIRE(item["content"].IsArray());
            CHECK_FALSE(item["content"].Empty());
            for (const auto& part : item["content"].GetArray()) {
                if (s(part["type"]) == "output_text") {
                    CHECK(part["text"].IsString());
                    CHECK(part["annotations"].IsArray());
                } else {
                    CHECK(s(part["type"]) == "refusal");
                    CHECK(part["refusal"].IsString());
                }
            }
        } else if (type == "function_call") {
            CHECK(item["call_id"].IsString());
            CHECK(item["name"].IsString());
            CHECK(item["arguments"].IsString());
        } else if (type == "custom_tool_call") {
            CHECK(item["call_id"].IsString());
            CHECK(item["name"].IsString());
            CHECK(item["input"].IsString());
        } else if (type == "tool_search_call") {
            CHECK(item["call_id"].IsString());
            CHECK(s(item["execution"]) == "client");
            CHECK(item.HasMember("arguments"));
        } else {
            CHECK(type == "reasoning");
            REQUIRE(item["summary"].IsArray());
            for (const auto& part : item["summary"].GetArray()) {
                CHECK(s(part["type"]) == "summary_text");
                CHECK(part["text"].IsString());
            }
        }
    }
    if (!d["usage"].IsNull()) {
        const auto& u = d["usage"];
        CHECK(u["input_tokens"].IsInt64());
        CHECK(u["output_tokens"].IsInt64());
        CHECK(u["total_tokens"].IsInt64());
        CHECK(u["input_tokens_details"]["cached_tokens"].IsInt64());
        CHECK(u["output_tokens_details"]["reasoning_tokens"].IsInt64());
    }
}

}  // namespace

TEST_CASE("Response fixtures: golden output, SDK shape, deterministic", "[transform][responses]")
{
    ogp_test::for_each_fixture(
        "responses/answers", ".oci.json", 15, [](const auto& dir, const auto& name) {
            std::string got = answer_of(name);
            ogp_test::check_golden_json(got, dir / (name + ".response.json"));
            CHECK(answer_of(name) == got);  // same inputs, same bytes
            auto d = parsed(got);
            check_response_shape(d);
        });
}

TEST_CASE("Response fields", "[transform][responses]")
{
    SECTION("id, created_at, model, status, the echo, usage")
    {
        auto d = parsed(answer_of("generic_text"));
        CHECK(s(d["id"]) == test_id);
        CHECK(d["created_at"].GetInt64() == 1700000000);  // the caller's time, not timeCreated
        CHECK(s(d["model"]) == "meta.llama-3.3-70b-instruct");
        CHECK(s(d["status"]) == "completed");
        CHECK(d["error"].IsNull());
        CHECK(d["incomplete_details"].IsNull());
        CHECK(s(d["truncation"]) == "disabled");
        CHECK(d["parallel_tool_calls"].GetBool());
        REQUIRE(d["output"].Size() == 1);
        const auto& msg = d["output"][0];
        CHECK(s(msg["id"]) == "msg_0123456789abcdef01234567_0");
        CHECK(s(msg["content"][0]["text"]) == "Hello, world");
        CHECK(d["usage"]["input_tokens"].GetInt() == 20);
        CHECK(d["usage"]["output_tokens"].GetInt() == 12);
        CHECK(d["usage"]["total_tokens"].GetInt() == 32);
        CHECK(d["usage"]["input_tokens_details"]["cached_tokens"].GetInt() == 4);
        CHECK(d["usage"]["output_tokens_details"]["reasoning_tokens"].GetInt() == 7);
    }
    SECTION("usage counts OCI did not report are 0; no usage is null")
    {
        auto d = parsed(answer_of("cohere_text"));
        CHECK(d["usage"]["input_tokens_details"]["cached_tokens"].GetInt() == 0);
        CHECK(d["usage"]["output_tokens_details"]["reasoning_tokens"].GetInt() == 0);
        CHECK(parsed(answer_of("generic_no_usage"))["usage"].IsNull());
    }
    SECTION("order: reasoning, message, function calls; ids follow the output index")
    {
        auto d = parsed(answer_of("coherev2_thinking_tool_call"));
        const auto& out = d["output"];
        REQUIRE(out.Size() == 3);
        CHECK(s(out[0]["type"]) == "reasoning");
        CHECK(s(out[0]["id"]) == "rs_0123456789abcdef01234567_0");
        CHECK(s(out[0]["summary"][0]["text"]) == "I should look it up.");
        CHECK(s(out[1]["type"]) == "message");
        CHECK(s(out[1]["id"]) == "msg_0123456789abcdef01234567_1");
        CHECK(s(out[2]["type"]) == "function_call");
        CHECK(s(out[2]["id"]) == "fc_0123456789abcdef01234567_2");
        CHECK(s(out[2]["call_id"]) == "tc_1");
        CHECK(s(out[2]["name"]) == "lookup");
        CHECK(s(out[2]["arguments"]) == R"({"q":"oci"})");
        CHECK(s(d["status"]) == "completed");
    }
    SECTION("tool calls: empty text is no message; synthetic call ids; no arguments is {}")
    {
        auto one = parsed(answer_of("generic_tool_call"));
        REQUIRE(one["output"].Size() == 1);
        CHECK(s(one["output"][0]["call_id"]) == "call_abc");
        auto two = parsed(answer_of("generic_parallel_tool_calls"));
        REQUIRE(two["output"].Size() == 2);
        CHECK(s(two["output"][0]["call_id"]) == "call_0123456789abcdef01234567_0");
        CHECK(s(two["output"][1]["call_id"]) == "call_0123456789abcdef01234567_1");
        CHECK(s(two["output"][1]["arguments"]) == "{}");
        auto cohere = parsed(answer_of("cohere_tool_calls"));
        REQUIRE(cohere["output"].Size() == 3);
        CHECK(s(cohere["output"][0]["content"][0]["text"]) == "I will check.");
        CHECK(s(cohere["output"][2]["arguments"]) == R"({"city":"Rome"})");
    }
    SECTION("length and content_filter leave the Response incomplete, its last item too")
    {
        auto d = parsed(answer_of("generic_length"));
        CHECK(s(d["status"]) == "incomplete");
        CHECK(s(d["incomplete_details"]["reason"]) == "max_output_tokens");
        CHECK(s(d["output"][0]["status"]) == "incomplete");
        auto r = parsed(answer_of("generic_reasoning_length"));
        CHECK(s(r["incomplete_details"]["reason"]) == "max_output_tokens");
        REQUIRE(r["output"].Size() == 1);
        CHECK(s(r["output"][0]["type"]) == "reasoning");
        auto f = parsed(answer_of("generic_content_filter"));
        CHECK(s(f["status"]) == "incomplete");
        CHECK(s(f["incomplete_details"]["reason"]) == "content_filter");
        CHECK(s(parsed(answer_of("cohere_toxic"))["incomplete_details"]["reason"]) ==
              "content_filter");
    }
    SECTION("refusal is a refusal part; citations are url_citation annotations")
    {
        auto r = parsed(answer_of("generic_refusal"));
        REQUIRE(r["output"][0]["content"].Size() == 1);
        CHECK(s(r["output"][0]["content"][0]["type"]) == "refusal");
        CHECK(s(r["output"][0]["content"][0]["refusal"]) == "I can't help with that.");
        auto c = parsed(answer_of("generic_citations"));
        const auto& a = c["output"][0]["content"][0]["annotations"][0];
        CHECK(s(a["type"]) == "url_citation");
        CHECK(a["start_index"].GetInt() == 16);
        CHECK(a["end_index"].GetInt() == 19);
        CHECK(s(a["title"]) == "Oracle Cloud");
        CHECK(s(a["url"]) == "https://www.oracle.com/cloud/");
    }
}

TEST_CASE("Response errors and ids", "[transform][responses]")
{
    auto plan = plan_for_model("cohere.command-r-08-2024");
    SECTION("an ERROR finish is a 502, not a Response")
    {
        auto r = responses_answer_to_openai(
            R"({"chatResponse":{"apiFormat":"COHERE","text":"","finishReason":"ERROR","errorMessage":"boom"}})",
            plan, test_id, 1);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 502);
        CHECK(r.error().code == "upstream_generation_error");
    }
    SECTION("not a chat result is a 502")
    {
        auto r = responses_answer_to_openai("{}", plan, test_id, 1);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().status == 502);
    }
    SECTION("make_response_id: resp_ and 24 hex digits")
    {
        CHECK(make_response_id(0x0123456789abcdefull, 0x01234567u) == test_id);
        CHECK(make_response_id(0, 1) == "resp_000000000000000000000001");
    }
    SECTION("a chat_answer without choices is an empty completed Response")
    {
        chat_answer a;
        auto d = parsed(write_response(a, plan, test_id, 5));
        CHECK(s(d["status"]) == "completed");
        CHECK(d["output"].Empty());
        CHECK(d["usage"].IsNull());
    }
    SECTION("a function a namespace tool grouped names its namespace again")
    {
        responses_plan p = plan;
        p.tool_namespaces = {{"spawn_agent", "agents"}, {"wait", "agents"}};
        chat_answer a;
        a.choices.emplace_back();
        a.choices[0].tool_calls = {{"call_1", "spawn_agent", "{}"}, {"call_2", "shell", "{}"}};
        auto d = parsed(write_response(a, p, test_id, 5));
        REQUIRE(d["output"].Size() == 2);
        CHECK(s(d["output"][0]["name"]) == "spawn_agent");
        CHECK(s(d["output"][0]["namespace"]) == "agents");
        CHECK_FALSE(d["output"][1].HasMember("namespace"));
    }
    SECTION("custom tool calls and tool search calls")
    {
        auto d = parsed(answer_of("generic_custom_tool_calls"));
        const auto& out = d["output"];
        REQUIRE(out.Size() == 4);
        CHECK(s(out[0]["type"]) == "custom_tool_call");
        CHECK(s(out[0]["id"]) == "ctc_0123456789abcdef01234567_0");
        CHECK(s(out[0]["call_id"]) == "call_p");
        CHECK(s(out[0]["name"]) == "apply_patch");
        CHECK(s(out[0]["input"]) ==
              "*** Begin Patch\n*** Add File: hello.txt\n+Hello \"world\" "
              "\\o/ caf\xc3\xa9 \xf0\x9f\x98\x80\n*** End Patch\n");
        CHECK_FALSE(out[0].HasMember("namespace"));
        CHECK(s(out[1]["type"]) == "tool_search_call");
        CHECK(s(out[1]["id"]) == "ts_0123456789abcdef01234567_1");
        CHECK(s(out[1]["call_id"]) == "call_s");
        CHECK(s(out[1]["execution"]) == "client");
        CHECK(s(out[1]["status"]) == "completed");
        // The arguments are the JSON object itself.
        REQUIRE(out[1]["arguments"].IsObject());
        CHECK(s(out[1]["arguments"]["query"]) == "calendar events");
        CHECK(out[1]["arguments"]["limit"].GetInt() == 3);
        CHECK(s(out[2]["type"]) == "custom_tool_call");
        CHECK(s(out[2]["namespace"]) == "mcp_cal");
        CHECK(s(out[2]["input"]) == "remember");
        CHECK(s(out[3]["type"]) == "function_call");
        CHECK(s(out[3]["id"]) == "fc_0123456789abcdef01234567_3");
        // Without the plan's record they are function calls, as before.
        auto plain =
            parsed(responses_answer_to_openai(read_file(fixture_dir("responses/answers") /
                                                        "generic_custom_tool_calls.oci.json"),
                                              plan, test_id, 1700000000)
                       .value());
        for (const auto& item : plain["output"].GetArray()) {
            CHECK(s(item["type"]) == "function_call");
        }
    }
    SECTION("arguments of other shapes: the input member, else the raw text")
    {
        auto d = parsed(answer_of("generic_custom_tool_odd_arguments"));
        const auto& out = d["output"];
        REQUIRE(out.Size() == 7);
        CHECK(s(out[0]["input"]) == "*** Begin Patch\n*** End Patch");
        CHECK(s(out[1]["input"]) == "second member");
        CHECK(s(out[2]["input"]) == R"({"input":42})");
        // A lone surrogate is U+FFFD, a malformed escape stays as written, the rest is ignored.
        CHECK(s(out[3]["input"]) == "lone \xef\xbf\xbd high, bad \\q escape");
        CHECK(s(out[4]["arguments"]) == "query: calendar");
        REQUIRE(out[5]["arguments"].IsArray());
        CHECK(out[5]["arguments"].Size() == 2);
        REQUIRE(out[6]["arguments"].IsObject());
        CHECK(out[6]["arguments"].ObjectEmpty());
    }
    SECTION("the echo is spliced verbatim")
    {
        responses_plan p = plan;
        p.echo = R"(,"instructions":"be brief","temperature":0.5)";
        chat_answer a;
        a.choices.emplace_back();
        a.choices[0].has_text = true;
        a.choices[0].text = "ok";
        std::string out = write_response(a, p, test_id, 5);
        CHECK(out.find(R"(,"instructions":"be brief","temperature":0.5})") != std::string::npos);
        CHECK(parsed(out)["temperature"].GetDouble() == 0.5);
    }
}

TEST_CASE("Responses with the request side's echo are JSON objects repeating the request",
          "[transform][responses]")
{
    // Every request fixture of plan_responses: its echo spliced into a Response.
    chat_answer a;
    a.choices.emplace_back();
    a.choices[0].has_text = true;
    a.choices[0].text = "ok";
    a.choices[0].tool_calls = {{"call_1", "f", "{}"}};
    a.choices[0].finish = "tool_calls";
    ogp_test::for_each_fixture(
        "responses/requests", ".openai.json", 10, [&](const auto& dir, const auto& name) {
            auto plan =
                plan_responses(read_file(dir / (name + ".openai.json")), ogp_test::test_config());
            REQUIRE(plan.ok());
            auto d = parsed(write_response(a, plan.value(), test_id, 1));
            check_response_shape(d);
            for (const char* key : {"instructions", "metadata", "parallel_tool_calls",
                                    "temperature", "tool_choice", "tools", "top_p"}) {
                INFO(key);
                CHECK(d.HasMember(key));
            }
            CHECK(d["tools"].IsArray());
            CHECK(s(d["model"]) == plan.value().chat.client_model);
        });
}
