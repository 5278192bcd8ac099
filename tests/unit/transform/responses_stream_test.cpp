#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <random>

#include "ogp/transform/responses.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::fixture_dir;
using ogp_test::read_file;

namespace {

const std::string test_echo =
    R"(,"instructions":null,"max_output_tokens":null,"metadata":{},"parallel_tool_calls":true,)"
    R"("previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":false,)"
    R"("temperature":1,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],)"
    R"("top_p":1,"truncation":"disabled","user":null)";

constexpr std::string_view test_id = "resp_0123456789abcdef01234567";
constexpr std::int64_t test_created = 1700000000;
constexpr std::size_t test_max_output = 1024 * 1024;

struct stream_case
{
    std::string model;
    // What the request side records about the tools (meta: custom_tools, tool_search,
    // namespaces).
    std::vector<std::string> custom_tools;
    bool tool_search = false;
    std::vector<std::pair<std::string, std::string>> namespaces;
    std::string expect;  // complete, error, incomplete (EOF before the finish), awaiting_usage
    std::string upstream;
};

stream_case load_case(const std::string& name)
{
    auto dir = fixture_dir("responses/streams");
    stream_case c;
    c.upstream = read_file(dir / (name + ".sse"));
    rapidjson::Document d;
    std::string meta = read_file(dir / (name + ".meta.json"));
    d.Parse(meta.c_str());
    REQUIRE(d.IsObject());
    c.model = d["model"].GetString();
    c.expect = d["expect"].GetString();
    if (d.HasMember("custom_tools")) {
        for (const auto& n : d["custom_tools"].GetArray()) {
            c.custom_tools.emplace_back(n.GetString());
        }
    }
    c.tool_search = d.HasMember("tool_search") && d["tool_search"].GetBool();
    if (d.HasMember("namespaces")) {
        for (auto it = d["namespaces"].MemberBegin(); it != d["namespaces"].MemberEnd(); ++it) {
            c.namespaces.emplace_back(it->name.GetString(), it->value.GetString());
        }
    }
    return c;
}

responses_plan plan_for_model(const std::string& model)
{
    auto r = plan_chat(
        R"({"model":")" + model + R"(","messages":[{"role":"user","content":"x"}],"stream":true})",
        ogp_test::test_config());
    REQUIRE(r.ok());
    return responses_plan{r.value(), test_echo};
}

responses_plan plan_for_case(const stream_case& c)
{
    responses_plan plan = plan_for_model(c.model);
    plan.custom_tools = c.custom_tools;
    plan.client_tool_search = c.tool_search;
    plan.tool_namespaces = c.namespaces;
    return plan;
}

// A transcoder writing Responses events, as the service builds it.
struct responses_run
{
    const responses_plan& plan;
    stream_transcoder t;
    std::string out;

    explicit responses_run(const responses_plan& p, std::size_t max_output = test_max_output)
        : plan(p),
          t(p.chat, std::string(test_id),
            make_responses_stream_writer(p, std::string(test_id), test_created, max_output))
    {
    }
};

// Feeds `pieces`, then ends the stream as the service would for `expect`.
std::string run(const responses_plan& plan, const std::vector<std::string_view>& pieces,
                const std::string& expect, std::size_t max_output = test_max_output)
{
    responses_run r(plan, max_output);
    for (auto p : pieces) {
        r.t.feed(p, r.out);
    }
    if (expect == "complete" || expect == "error") {
        CHECK(r.t.done());
        CHECK(r.t.failed() == (expect == "error"));
    } else {
        CHECK_FALSE(r.t.done());
        CHECK(r.t.awaiting_usage() == (expect == "awaiting_usage"));
        r.t.finish_on_eof(r.out);
        CHECK(r.t.failed() == (expect == "incomplete"));
    }
    return r.out;
}

std::vector<std::string_view> split_bytes(std::string_view s)
{
    std::vector<std::string_view> parts;
    for (std::size_t i = 0; i < s.size(); ++i) {
        parts.push_back(s.substr(i, 1));
    }
    return parts;
}

std::vector<std::string_view> split_random(std::string_view s, std::mt19937& rng)
{
    std::vector<std::string_view> parts;
    std::uniform_int_distribution<std::size_t> len(1, 23);
    while (!s.empty()) {
        std::size_t n = std::min(s.size(), len(rng));
        parts.push_back(s.substr(0, n));
        s.remove_prefix(n);
    }
    return parts;
}

std::string to_json(const rapidjson::Value& v)
{
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.Accept(w);
    return std::string(sb.GetString(), sb.GetSize());
}

std::string s(const rapidjson::Value& v)
{
    return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "<not a string>";
}

bool valid_utf8(const std::string& text)
{
    rapidjson::StringStream in(text.c_str());
    while (in.Tell() < text.size()) {
        unsigned cp = 0;
        if (!rapidjson::UTF8<>::Decode(in, &cp)) {
            return false;
        }
    }
    return true;
}

struct event
{
    std::string type;
    std::shared_ptr<rapidjson::Document> data;
    const rapidjson::Value& operator[](const char* k) const { return (*data)[k]; }
    bool has(const char* k) const { return data->HasMember(k); }
};

// Splits the output into `event: <type>\ndata: <json>\n\n` frames.
std::vector<event> events_of(const std::string& out)
{
    std::vector<event> events;
    std::size_t pos = 0;
    while (pos < out.size()) {
        std::size_t end = out.find("\n\n", pos);
        REQUIRE(end != std::string::npos);
        std::string frame = out.substr(pos, end - pos);
        pos = end + 2;
        INFO("frame: " << frame);
        REQUIRE(frame.rfind("event: ", 0) == 0);
        std::size_t nl = frame.find('\n');
        REQUIRE(nl != std::string::npos);
        REQUIRE(frame.compare(nl + 1, 6, "data: ") == 0);
        event e;
        e.type = frame.substr(7, nl - 7);
        e.data = std::make_shared<rapidjson::Document>();
        e.data->Parse(frame.c_str() + nl + 7);
        REQUIRE(e.data->IsObject());
        events.push_back(std::move(e));
    }
    return events;
}

// Checks what the openai SDK's ResponseStream requires and what a client may rely on:
// increasing sequence numbers from 0, response.created first, every delta on an added and
// not yet done item and part (with its item id), done texts equal to the deltas, every item
// done before response.completed / response.incomplete, whose output equals the items' done
// payloads; a failure is `error` then response.failed; nothing after the end.
// Returns the terminal event's type.
std::string check_invariants(const std::string& out)
{
    struct item_track
    {
        std::string type;
        std::string id;
        bool part_added = false;
        bool part_done = false;
        bool done = false;
        std::string text;
        std::string done_payload;
        int annotations = 0;
    };
    auto events = events_of(out);
    REQUIRE(events.size() >= 3);
    std::vector<item_track> items;
    std::string terminal;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const event& e = events[i];
        INFO("event " << i << ": " << e.type << " " << to_json(*e.data));
        REQUIRE(terminal.empty());  // nothing after the end
        CHECK(s(e["type"]) == e.type);
        CHECK(e["sequence_number"].GetInt64() == static_cast<std::int64_t>(i));
        if (i == 0) {
            REQUIRE(e.type == "response.created");
        } else if (i == 1) {
            REQUIRE(e.type == "response.in_progress");
        }
        if (e.type == "response.created" || e.type == "response.in_progress") {
            CHECK(i < 2);
            CHECK(s(e["response"]["status"]) == "in_progress");
            CHECK(s(e["response"]["id"]) == test_id);
            CHECK(e["response"]["output"].Empty());
            continue;
        }
        if (e.type == "error") {
            CHECK(e["code"].IsString());
            CHECK(e["message"].IsString());
            CHECK(e["param"].IsNull());
            REQUIRE(i + 1 < events.size());
            CHECK(events[i + 1].type == "response.failed");
            continue;
        }
        if (e.type == "response.completed" || e.type == "response.incomplete" ||
            e.type == "response.failed") {
            terminal = e.type;
            const auto& r = e["response"];
            CHECK(s(r["id"]) == test_id);
            CHECK(r["created_at"].GetInt64() == test_created);
            CHECK(s(r["status"]) == e.type.substr(9));
            CHECK_FALSE(r.HasMember("output_text"));
            const auto& output = r["output"];
            REQUIRE(output.Size() == items.size());
            if (e.type == "response.failed") {
                CHECK(events[i - 1].type == "error");
                CHECK(s(r["error"]["code"]) == s(events[i - 1]["code"]));
                CHECK(r["usage"].IsNull());
                continue;
            }
            CHECK(r["error"].IsNull());
            CHECK(r["incomplete_details"].IsNull() == (e.type == "response.completed"));
            for (std::size_t k = 0; k < items.size(); ++k) {
                CHECK(items[k].done);
                CHECK(to_json(output[static_cast<rapidjson::SizeType>(k)]) ==
                      items[k].done_payload);
            }
            continue;
        }
        // Item events: the item they name exists, is open and carries that id.
        REQUIRE(e["output_index"].IsUint());
        std::size_t idx = e["output_index"].GetUint();
        if (e.type == "response.output_item.added") {
            CHECK(idx == items.size());
            CHECK(s(e["item"]["status"]) == "in_progress");
            if (s(e["item"]["type"]) == "custom_tool_call") {
                CHECK(s(e["item"]["input"]).empty());  // the SDK appends the deltas to it
            }
            items.push_back({s(e["item"]["type"]), s(e["item"]["id"])});
            continue;
        }
        REQUIRE(idx < items.size());
        item_track& it = items[idx];
        CHECK_FALSE(it.done);
        if (e.type == "response.output_item.done") {
            CHECK(s(e["item"]["id"]) == it.id);
            CHECK(s(e["item"]["type"]) == it.type);
            CHECK(s(e["item"]["status"]) != "in_progress");
            if (it.type == "message") {
                CHECK(it.part_done);
                CHECK(s(e["item"]["content"][0]["text"]) == it.text);
            } else if (it.type == "reasoning") {
                CHECK(it.part_done);
                CHECK(s(e["item"]["summary"][0]["text"]) == it.text);
            } else if (it.type == "custom_tool_call") {
                CHECK(it.part_done);  // input.done
                CHECK(s(e["item"]["input"]) == it.text);
            } else if (it.type == "tool_search_call") {
                // No events of its own: the arguments (a JSON value) come with the item.
                CHECK(s(e["item"]["execution"]) == "client");
                CHECK(e["item"].HasMember("arguments"));
                CHECK(e["item"]["call_id"].IsString());
            } else {
                CHECK(it.type == "function_call");
                CHECK(it.part_done);  // arguments.done
            }
            it.done = true;
            it.done_payload = to_json(e["item"]);
            continue;
        }
        CHECK(s(e["item_id"]) == it.id);
        bool part_event = e.type == "response.content_part.added" ||
                          e.type == "response.reasoning_summary_part.added";
        if (part_event) {
            CHECK_FALSE(it.part_added);
            it.part_added = true;
            CHECK(s(e["part"]["text"]).empty());
            if (it.type == "message") {
                CHECK(e.type == "response.content_part.added");
                CHECK(e["content_index"].GetInt() == 0);
                CHECK(s(e["part"]["type"]) == "output_text");
            } else {
                CHECK(it.type == "reasoning");
                CHECK(e.type == "response.reasoning_summary_part.added");
                CHECK(e["summary_index"].GetInt() == 0);
                CHECK(s(e["part"]["type"]) == "summary_text");
            }
            continue;
        }
        if (e.type == "response.custom_tool_call_input.delta" ||
            e.type == "response.custom_tool_call_input.done") {
            CHECK(it.type == "custom_tool_call");
            CHECK_FALSE(it.part_done);
            if (e.type.ends_with("delta")) {
                CHECK_FALSE(s(e["delta"]).empty());
                CHECK(valid_utf8(s(e["delta"])));  // whole characters, even when cut upstream
                it.text += s(e["delta"]);
            } else {
                CHECK(s(e["input"]) == it.text);  // the deltas, decoded, add up to the input
                it.part_done = true;
            }
            continue;
        }
        if (e.type == "response.function_call_arguments.delta" ||
            e.type == "response.function_call_arguments.done") {
            CHECK(it.type == "function_call");
            CHECK_FALSE(it.part_done);
            if (e.type.ends_with("delta")) {
                it.text += s(e["delta"]);
            } else {
                std::string args = s(e["arguments"]);
                CHECK((args == it.text || (it.text.empty() && args == "{}")));
                it.part_done = true;
            }
            continue;
        }
        // Text and reasoning: on the added, not yet done part 0.
        CHECK(it.part_added);
        CHECK_FALSE(it.part_done);
        if (it.type == "message") {
            CHECK(e["content_index"].GetInt() == 0);
        } else {
            CHECK(it.type == "reasoning");
            CHECK(e["summary_index"].GetInt() == 0);
        }
        if (e.type == "response.output_text.delta" ||
            e.type == "response.reasoning_summary_text.delta") {
            CHECK((it.type == "message") == (e.type == "response.output_text.delta"));
            CHECK_FALSE(s(e["delta"]).empty());
            it.text += s(e["delta"]);
        } else if (e.type == "response.output_text.done" ||
                   e.type == "response.reasoning_summary_text.done") {
            CHECK(s(e["text"]) == it.text);
        } else if (e.type == "response.content_part.done" ||
                   e.type == "response.reasoning_summary_part.done") {
            CHECK(s(e["part"]["text"]) == it.text);
            it.part_done = true;
        } else if (e.type == "response.output_text.annotation.added") {
            // Numbered from 0 within the part; the part's done payload lists them all.
            CHECK(it.type == "message");
            CHECK(e["annotation_index"].GetInt() == it.annotations++);
            CHECK(s(e["annotation"]["type"]) == "url_citation");
        } else {
            FAIL("unexpected event " << e.type);
        }
    }
    CHECK_FALSE(terminal.empty());
    return terminal;
}

std::string run_fixture(const std::string& name, std::size_t max_output = test_max_output)
{
    stream_case c = load_case(name);
    auto plan = plan_for_case(c);
    return run(plan, {c.upstream}, c.expect, max_output);
}

}  // namespace

TEST_CASE("Responses stream fixtures: golden events, identical for every split, invariants",
          "[transform][responses][stream]")
{
    ogp_test::for_each_fixture(
        "responses/streams", ".sse", 15, [](const auto& dir, const auto& name) {
            stream_case c = load_case(name);
            auto plan = plan_for_case(c);
            std::string whole = run(plan, {c.upstream}, c.expect);
            std::string terminal = check_invariants(whole);
            CHECK((terminal == "response.failed") ==
                  (c.expect == "error" || c.expect == "incomplete"));
            auto golden = dir / (name + ".expected");
            if (ogp_test::update_golden()) {
                ogp_test::write_file(golden, whole);
            } else {
                CHECK(whole == read_file(golden));
            }
            CHECK(run(plan, split_bytes(c.upstream), c.expect) == whole);
            std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(name)));
            for (int i = 0; i < 10; ++i) {
                CHECK(run(plan, split_random(c.upstream, rng), c.expect) == whole);
            }
        });
}

TEST_CASE("Responses stream specifics", "[transform][responses][stream]")
{
    SECTION("url citations: annotation.added events, then in the part and the final output")
    {
        auto events = events_of(run_fixture("generic_web_search_annotations"));
        std::vector<std::string> urls;
        for (const auto& e : events) {
            if (e.type == "response.output_text.annotation.added") {
                urls.push_back(s(e["annotation"]["url"]));
                CHECK(e["annotation"]["start_index"].IsInt());
            }
        }
        CHECK(urls ==
              std::vector<std::string>{"https://example.com/paris", "https://example.com/rain"});
        const auto& done = events.back();
        REQUIRE(done.type == "response.completed");
        const auto& part = done["response"]["output"][0]["content"][0];
        CHECK(s(part["text"]) == "It rained in Paris.");
        REQUIRE(part["annotations"].Size() == 2);
        CHECK(part["annotations"][1]["end_index"].GetInt() == 9);
        CHECK(s(part["annotations"][1]["title"]) == "Rain");
    }
    SECTION("final status: completed, incomplete for length, usage or null")
    {
        auto done = events_of(run_fixture("generic_text"));
        const auto& r = done.back()["response"];
        CHECK(done.back().type == "response.completed");
        CHECK(r["usage"]["input_tokens"].GetInt() == 9);
        CHECK(r["usage"]["output_tokens"].GetInt() == 5);
        CHECK(r["usage"]["total_tokens"].GetInt() == 14);
        CHECK(s(r["output"][0]["content"][0]["text"]) == "Hello");
        CHECK(s(r["output"][0]["id"]) == "msg_0123456789abcdef01234567_0");
        auto cut = events_of(run_fixture("generic_length"));
        CHECK(cut.back().type == "response.incomplete");
        CHECK(s(cut.back()["response"]["incomplete_details"]["reason"]) == "max_output_tokens");
        CHECK(s(cut.back()["response"]["output"][0]["status"]) == "incomplete");
        auto no_usage = events_of(run_fixture("generic_eof_after_finish_no_usage"));
        CHECK(no_usage.back().type == "response.completed");
        CHECK(no_usage.back()["response"]["usage"].IsNull());
    }
    SECTION("the empty role announcement opens no item")
    {
        for (auto name : {"generic_text", "generic_tool_call"}) {
            INFO(name);
            auto events = events_of(run_fixture(name));
            for (const auto& e : events) {
                if (e.type == "response.output_text.delta") {
                    CHECK_FALSE(s(e["delta"]).empty());
                }
            }
        }
        auto events = events_of(run_fixture("generic_tool_call"));
        const auto& output = events.back()["response"]["output"];
        REQUIRE(output.Size() == 1);
        CHECK(s(output[0]["type"]) == "function_call");
        CHECK(s(output[0]["call_id"]) == "call_abc");
        CHECK(s(output[0]["arguments"]) == R"({"location": "NYC"})");
    }
    SECTION("reasoning, then text: two items in arrival order")
    {
        auto events = events_of(run_fixture("generic_reasoning"));
        const auto& output = events.back()["response"]["output"];
        REQUIRE(output.Size() == 2);
        CHECK(s(output[0]["id"]) == "rs_0123456789abcdef01234567_0");
        CHECK(s(output[0]["summary"][0]["text"]) == "The user wants a greeting.");
        CHECK(s(output[1]["content"][0]["text"]) == "Hello there \"friend\"\n");
    }
    SECTION("a late fragment of an earlier call lands in its own item")
    {
        auto events = events_of(run_fixture("generic_parallel_tool_calls"));
        const auto& output = events.back()["response"]["output"];
        REQUIRE(output.Size() == 2);
        CHECK(s(output[0]["call_id"]) == "call_a");
        CHECK(s(output[0]["name"]) == "get_weather");
        CHECK(s(output[0]["arguments"]) == R"({"city":"Paris"})");
        CHECK(s(output[1]["call_id"]) == "call_b");
        CHECK(s(output[1]["arguments"]) == R"({"tz":"CET"})");
        bool late = false;
        for (const auto& e : events) {
            if (e.type == "response.function_call_arguments.delta" &&
                s(e["delta"]) == "\"Paris\"}") {
                late = true;
                CHECK(e["output_index"].GetInt() == 0);
                CHECK(s(e["item_id"]) == "fc_0123456789abcdef01234567_0");
            }
        }
        CHECK(late);
    }
    SECTION("upstream failures: error, then response.failed with the output so far")
    {
        for (auto name : {"generic_oci_error_event", "cohere_error_finish"}) {
            INFO(name);
            auto events = events_of(run_fixture(name));
            REQUIRE(events.size() >= 2);
            const auto& err = events[events.size() - 2];
            CHECK(err.type == "error");
            CHECK_FALSE(err.has("error"));  // a top-level `error` makes the SDK throw instead
            const auto& failed = events.back();
            CHECK(failed.type == "response.failed");
            CHECK(s(failed["response"]["status"]) == "failed");
            CHECK(s(failed["response"]["error"]["code"]) == s(err["code"]));
            CHECK(s(failed["response"]["error"]["message"]) == s(err["message"]));
            const auto& output = failed["response"]["output"];
            REQUIRE(output.Size() == 1);
            CHECK(s(output[0]["status"]) == "incomplete");
        }
        auto eof = events_of(run_fixture("generic_eof_before_finish"));
        CHECK(s(eof.back()["response"]["error"]["code"]) == "upstream_incomplete");
    }
    SECTION("beyond max_output_bytes the stream fails, and stays ended")
    {
        for (auto name : {"generic_text", "generic_parallel_tool_calls", "generic_reasoning"}) {
            INFO(name);
            stream_case c = load_case(name);
            auto plan = plan_for_model(c.model);
            responses_run r(plan, 3);
            r.t.feed(c.upstream, r.out);
            r.t.finish_on_eof(r.out);
            check_invariants(r.out);
            auto events = events_of(r.out);
            REQUIRE(events.size() >= 2);
            CHECK(events.back().type == "response.failed");
            CHECK(s(events[events.size() - 2]["code"]) == "upstream_response_too_large");
            CHECK(r.out.size() < 4096);
        }
        // The bound is on what the writer keeps: text, reasoning and arguments.
        std::string text;
        for (int i = 0; i < 200; ++i) {
            text +=
                R"(data: {"index":0,"message":{"content":[{"type":"TEXT","text":"0123456789"}]}})";
            text += "\n\n";
        }
        auto plan = plan_for_model("meta.llama-3.3-70b-instruct");
        responses_run big(plan, 1000);
        big.t.feed(text, big.out);
        auto events = events_of(big.out);
        std::size_t deltas = 0;
        for (const auto& e : events) {
            deltas += e.type == "response.output_text.delta" ? 1 : 0;
        }
        CHECK(deltas < 100);
        CHECK(events.back().type == "response.failed");
        // The transcoder is done: the service stops reading from OCI at once.
        CHECK(big.t.done());
        CHECK(big.t.failed());
        std::size_t end = big.out.size();
        big.t.feed(R"(data: {"index":0,"finishReason":"stop","usage":{"promptTokens":1}})"
                   "\n\n",
                   big.out);
        big.t.finish_on_eof(big.out);
        CHECK(big.out.size() == end);
    }
    SECTION("a cut by the proxy (fail) mid-text")
    {
        auto plan = plan_for_model("meta.llama-3.3-70b-instruct");
        responses_run r(plan);
        r.t.feed(R"(data: {"index":0,"message":{"content":[{"type":"TEXT","text":"Hi"}]}})"
                 "\n\n",
                 r.out);
        r.t.fail(r.out, "The request deadline passed.", "upstream_timeout");
        CHECK(check_invariants(r.out) == "response.failed");
        auto events = events_of(r.out);
        CHECK(s(events.back()["response"]["output"][0]["content"][0]["text"]) == "Hi");
        CHECK(s(events.back()["response"]["error"]["code"]) == "upstream_timeout");
    }
    SECTION("the writer alone: an end without any output, an error before start")
    {
        auto plan = plan_for_model("meta.llama-3.3-70b-instruct");
        auto w = make_responses_stream_writer(plan, std::string(test_id), test_created, 100);
        std::string out;
        w->start(out);
        w->text(out, 0, "", false);
        w->finish(out, 0, "stop");
        w->complete(out, token_usage{});
        CHECK(check_invariants(out) == "response.completed");
        CHECK(events_of(out).size() == 3);
        auto e = make_responses_stream_writer(plan, std::string(test_id), test_created, 100);
        std::string err;
        e->error(err, ogp::make_error(502, "x", "upstream_error"));
        CHECK(check_invariants(err) == "response.failed");
    }
    SECTION("a function a namespace tool grouped names its namespace again")
    {
        responses_plan plan = plan_for_model("meta.llama-3.3-70b-instruct");
        plan.tool_namespaces = {{"spawn_agent", "agents"}};
        responses_run r(plan);
        r.t.feed(
            R"(data: {"index":0,"message":{"toolCalls":[{"id":"c1","type":"FUNCTION","name":"spawn_agent","arguments":"{}"}]}})"
            "\n\n"
            R"(data: {"index":0,"message":{"toolCalls":[{"id":"c2","type":"FUNCTION","name":"shell","arguments":"{}"}]}})"
            "\n\n"
            R"(data: {"index":0,"finishReason":"tool_calls","usage":{"promptTokens":1}})"
            "\n\n",
            r.out);
        CHECK(check_invariants(r.out) == "response.completed");
        auto events = events_of(r.out);
        for (const auto& e : events) {
            if (e.type == "response.output_item.added" || e.type == "response.output_item.done") {
                bool first = e["output_index"].GetInt() == 0;
                CHECK(e["item"].HasMember("namespace") == first);
            }
        }
        const auto& output = events.back()["response"]["output"];
        CHECK(s(output[0]["namespace"]) == "agents");
        CHECK_FALSE(output[1].HasMember("namespace"));
    }
    SECTION("custom tool input deltas are the decoded text; tool_search_call has no deltas")
    {
        auto events = events_of(run_fixture("generic_custom_tool_calls"));
        CHECK(events.back().type == "response.completed");
        const auto& output = events.back()["response"]["output"];
        REQUIRE(output.Size() == 4);
        CHECK(s(output[0]["type"]) == "message");
        CHECK(s(output[1]["type"]) == "custom_tool_call");
        CHECK(s(output[1]["id"]) == "ctc_0123456789abcdef01234567_1");
        CHECK(s(output[1]["call_id"]) == "call_p");
        CHECK(s(output[1]["name"]) == "apply_patch");
        CHECK(s(output[1]["status"]) == "completed");
        CHECK(s(output[1]["input"]) ==
              "*** Begin Patch\n+caf\xc3\xa9 \"q\" \\ "
              "\xf0\x9f\x98\x80 \xf0\x9f\x98\x81 end\n");
        CHECK(s(output[2]["type"]) == "tool_search_call");
        CHECK(s(output[2]["id"]) == "ts_0123456789abcdef01234567_2");
        CHECK(s(output[2]["execution"]) == "client");
        REQUIRE(output[2]["arguments"].IsObject());
        CHECK(s(output[2]["arguments"]["query"]) == "calendar");
        CHECK(output[2]["arguments"]["limit"].GetInt() == 3);
        // Arguments of another shape: the raw text, in one delta at the end.
        CHECK(s(output[3]["input"]) == "*** Begin Patch raw");
        std::vector<std::string> deltas[4];
        for (const auto& e : events) {
            CHECK(e.type.find("function_call_arguments") == std::string::npos);
            if (e.type == "response.custom_tool_call_input.delta") {
                deltas[e["output_index"].GetUint()].push_back(s(e["delta"]));
            }
            if (e.type == "response.output_item.added" && e["output_index"].GetInt() == 2) {
                CHECK(e["item"]["arguments"].IsObject());  // nothing known yet: {}
            }
        }
        CHECK(deltas[1] == std::vector<std::string>{"*** Begin Patch\n+caf", "\xc3\xa9 \"q\" \\ ",
                                                    "\xf0\x9f\x98\x80 ", "\xf0\x9f\x98\x81",
                                                    " end\n"});
        CHECK(deltas[2].empty());
        CHECK(deltas[3] == std::vector<std::string>{"*** Begin Patch raw"});
    }
    SECTION("a custom tool call cut by the length: incomplete, the input so far")
    {
        auto events = events_of(run_fixture("generic_custom_tool_length"));
        CHECK(events.back().type == "response.incomplete");
        const auto& item = events.back()["response"]["output"][0];
        CHECK(s(item["status"]) == "incomplete");
        CHECK(s(item["namespace"]) == "files");
        CHECK(s(item["input"]) == "*** Begin Patch\n");  // a dangling high surrogate is dropped
    }
    SECTION("custom tool input decodes alike for every split of the arguments")
    {
        auto plan = plan_for_model("meta.llama-3.3-70b-instruct");
        plan.custom_tools = {"apply_patch"};
        const std::string want = "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80/\t\xe2\x82\xac end";
        for (std::string args :
             {std::string(R"({"input":"a\"b\\c\n\u00e9\ud83d\ude00\/\t\u20AC end"})"),
              std::string(
                  " {\n \"input\" :\t\"a\\\"b\\\\c\\n\u00e9\\uD83D\\uDE00/\\t\\u20ac end\" }")}) {
            INFO("arguments: " << args);
            for (std::size_t i = 0; i <= args.size(); ++i) {
                for (std::size_t j = i; j <= args.size(); ++j) {
                    INFO("split at " << i << " and " << j);
                    auto w = make_responses_stream_writer(plan, std::string(test_id), test_created,
                                                          test_max_output);
                    std::string out;
                    w->start(out);
                    stream_tool_call call;
                    call.opens = true;
                    call.id = "call_1";
                    call.name = "apply_patch";
                    call.arguments = std::string_view(args).substr(0, i);
                    w->tool_call(out, 0, call);
                    call.opens = false;
                    call.id = {};
                    call.name = {};
                    call.arguments = std::string_view(args).substr(i, j - i);
                    w->tool_call(out, 0, call);
                    call.arguments = std::string_view(args).substr(j);
                    w->tool_call(out, 0, call);
                    w->finish(out, 0, "tool_calls");
                    w->complete(out, token_usage{});
                    REQUIRE(check_invariants(out) == "response.completed");
                    auto events = events_of(out);
                    REQUIRE(s(events.back()["response"]["output"][0]["input"]) == want);
                }
            }
        }
    }
    SECTION("the echo is in every Response")
    {
        auto events = events_of(run_fixture("coherev2_thinking_tool_call"));
        for (const auto& e : events) {
            if (e.has("response")) {
                CHECK(s(e["response"]["truncation"]) == "disabled");
                CHECK(s(e["response"]["model"]) == "cohere.command-a-vision-07-2025");
            }
        }
    }
}
