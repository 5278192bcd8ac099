#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "ogp/transform/sse_parser.hpp"
#include "ogp/transform/stream_transcoder.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::fixture_dir;
using ogp_test::read_file;

namespace {

struct stream_case
{
    std::string name;
    std::string model;
    bool include_usage = false;
    int n = 1;
    std::string expect;  // complete, error, incomplete, awaiting_usage
    std::string extra;   // more request members (`"logprobs":true`), optional
    std::string upstream;
};

stream_case load_case(const std::string& name)
{
    auto dir = fixture_dir("streams");
    stream_case c;
    c.name = name;
    c.upstream = read_file(dir / (name + ".sse"));
    std::string meta = read_file(dir / (name + ".meta.json"));
    rapidjson::Document d;
    d.Parse(meta.c_str());
    REQUIRE(d.IsObject());
    c.model = d["model"].GetString();
    c.include_usage = d["include_usage"].GetBool();
    c.n = d.HasMember("n") ? d["n"].GetInt() : 1;
    c.expect = d["expect"].GetString();
    c.extra = d.HasMember("extra") ? d["extra"].GetString() : "";
    return c;
}

chat_plan plan_for(const stream_case& c)
{
    std::string body = R"({"model":")" + c.model +
                       R"(","messages":[{"role":"user","content":"x"}],"stream":true)" +
                       (c.include_usage ? R"(,"stream_options":{"include_usage":true})" : "") +
                       (c.n > 1 ? R"(,"n":)" + std::to_string(c.n) : "") +
                       (c.extra.empty() ? "" : "," + c.extra) + "}";
    auto r = plan_chat(body, ogp_test::test_config());
    REQUIRE(r.ok());
    return r.value();
}

// A fresh transcoder (id "chatcmpl-x", created 1) for a fixture's request, and its output.
struct fixture_transcoder
{
    stream_case c;
    chat_plan plan;
    stream_transcoder t;
    std::string out;

    explicit fixture_transcoder(const std::string& name, std::size_t max_event_bytes = 1024 * 1024)
        : c(load_case(name)), plan(plan_for(c)), t(plan, "chatcmpl-x", 1, max_event_bytes)
    {
    }
};

// Runs the transcoder over `pieces`, then ends the stream as the caller would.
std::string run(const chat_plan& plan, const std::vector<std::string_view>& pieces,
                stream_transcoder** keep = nullptr)
{
    static thread_local std::unique_ptr<stream_transcoder> last;
    last = std::make_unique<stream_transcoder>(plan, "chatcmpl-test", 1700000000);
    std::string out;
    for (auto p : pieces) {
        last->feed(p, out);
    }
    if (keep != nullptr) {
        *keep = last.get();
    }
    return out;
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

std::vector<std::string_view> split_bytes(std::string_view s)
{
    std::vector<std::string_view> parts;
    for (std::size_t i = 0; i < s.size(); ++i) {
        parts.push_back(s.substr(i, 1));
    }
    return parts;
}

// Checks the OpenAI stream contract on the client-visible output.
void check_invariants(const stream_case& c, const std::string& out, bool failed)
{
    REQUIRE(out.size() >= 2);
    REQUIRE(out.compare(out.size() - 2, 2, "\n\n") == 0);
    std::vector<std::string> frames;
    std::size_t pos = 0;
    while (pos < out.size()) {
        std::size_t end = out.find("\n\n", pos);
        REQUIRE(end != std::string::npos);
        frames.push_back(out.substr(pos, end - pos));
        pos = end + 2;
    }
    std::map<int, int> finishes;
    std::map<int, bool> saw_role;
    std::map<std::pair<int, int>, std::string> call_ids;
    bool saw_usage = false;
    bool saw_done = false;
    bool saw_error = false;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const std::string& f = frames[i];
        INFO("frame " << i << ": " << f);
        REQUIRE(f.rfind("data: ", 0) == 0);
        std::string payload = f.substr(6);
        REQUIRE_FALSE(saw_done);
        if (payload == "[DONE]") {
            saw_done = true;
            continue;
        }
        rapidjson::Document d;
        d.Parse(payload.c_str());
        REQUIRE(d.IsObject());
        if (d.HasMember("error")) {
            saw_error = true;
            CHECK(i == frames.size() - 1);
            continue;
        }
        CHECK(std::string(d["object"].GetString()) == "chat.completion.chunk");
        CHECK(std::string(d["id"].GetString()) == "chatcmpl-test");
        CHECK(std::string(d["model"].GetString()) == c.model);
        if (d.HasMember("usage") && !d["usage"].IsNull()) {
            // The usage chunk: no choices, after every finish chunk, only when asked.
            CHECK(c.include_usage);
            CHECK(d["choices"].Size() == 0);
            CHECK(static_cast<int>(finishes.size()) == c.n);
            saw_usage = true;
            continue;
        }
        CHECK_FALSE(saw_usage);
        // As OpenAI's: with include_usage every chunk before the usage chunk says
        // `"usage":null`; without it, no chunk has the key.
        CHECK(d.HasMember("usage") == c.include_usage);
        REQUIRE(d["choices"].Size() == 1);
        const auto& ch = d["choices"][0];
        int idx = ch["index"].GetInt();
        const auto& delta = ch["delta"];
        // The first chunk of a choice carries the role, later ones do not.
        CHECK(delta.HasMember("role") == !saw_role[idx]);
        saw_role[idx] = true;
        CHECK(finishes.count(idx) == 0);  // nothing after a choice's finish chunk
        if (!ch["finish_reason"].IsNull()) {
            finishes[idx]++;
        }
        if (delta.HasMember("tool_calls")) {
            for (auto& tc : delta["tool_calls"].GetArray()) {
                int k = tc["index"].GetInt();
                auto key = std::make_pair(idx, k);
                if (tc.HasMember("id")) {
                    // One id per call, announced once.
                    CHECK(call_ids.count(key) == 0);
                    call_ids[key] = tc["id"].GetString();
                    CHECK(tc["function"].HasMember("name"));
                } else {
                    CHECK(call_ids.count(key) == 1);
                }
            }
        }
    }
    std::set<std::string> distinct;
    for (auto& [k, v] : call_ids) {
        distinct.insert(v);
    }
    CHECK(distinct.size() == call_ids.size());
    if (failed) {
        CHECK(saw_error);
        CHECK_FALSE(saw_done);
        return;
    }
    CHECK_FALSE(saw_error);
    CHECK(saw_done);
    CHECK(static_cast<int>(finishes.size()) == c.n);
    for (auto& [idx, count] : finishes) {
        CHECK(count == 1);
    }
}

}  // namespace

TEST_CASE("SSE parser accepts any split, CRLF, single newlines, comments and other fields", "[sse]")
{
    std::string input =
        ": comment\r\nevent: message\r\ndata: {\"a\":1}\r\n\r\ndata:{\"b\":2}\ndata: "
        "{\"c\":3}\n\npad: zz\nid: 7\nretry: 10\ndata\n"
        "data: [DONE]\n";
    std::vector<std::string> expected = {"{\"a\":1}", "{\"b\":2}", "{\"c\":3}", "[DONE]"};
    auto collect = [&](const std::vector<std::string_view>& parts) {
        ogp::sse::parser p(1024);
        std::vector<std::string> got;
        for (auto part : parts) {
            REQUIRE(p.feed(part, [&](std::string_view d) { got.emplace_back(d); }) ==
                    ogp::sse::feed_status::ok);
        }
        return got;
    };
    CHECK(collect({input}) == expected);
    CHECK(collect(split_bytes(input)) == expected);
    std::mt19937 rng(7);
    for (int i = 0; i < 50; ++i) {
        CHECK(collect(split_random(input, rng)) == expected);
    }
}

TEST_CASE("SSE parser bounds the event size", "[sse]")
{
    ogp::sse::parser p(16);
    int events = 0;
    auto cb = [&](std::string_view) { ++events; };
    CHECK(p.feed("data: short\n", cb) == ogp::sse::feed_status::ok);
    CHECK(events == 1);
    SECTION("in one piece")
    {
        CHECK(p.feed("data: " + std::string(64, 'x') + "\n", cb) ==
              ogp::sse::feed_status::too_large);
    }
    SECTION("growing across pieces without a newline")
    {
        auto st = ogp::sse::feed_status::ok;
        for (int i = 0; i < 10 && st == ogp::sse::feed_status::ok; ++i) {
            st = p.feed("xxxxx", cb);
        }
        CHECK(st == ogp::sse::feed_status::too_large);
        CHECK(p.buffered() == 0);
    }
    CHECK(p.failed());
    CHECK(p.feed("data: ok\n", cb) == ogp::sse::feed_status::too_large);
    CHECK(events == 1);
}

TEST_CASE("stream fixtures: golden output, identical for every split, OpenAI contract",
          "[transform][stream]")
{
    ogp_test::for_each_fixture("streams", ".sse", 20, [](const auto& dir, const auto& name) {
        stream_case c = load_case(name);
        chat_plan plan = plan_for(c);
        stream_transcoder* t = nullptr;
        std::string whole = run(plan, {c.upstream}, &t);
        // Completion state as the caller sees it before any EOF.
        if (c.expect == "complete") {
            CHECK(t->done());
            CHECK_FALSE(t->failed());
        } else if (c.expect == "error") {
            CHECK(t->done());
            CHECK(t->failed());
        } else if (c.expect == "incomplete") {
            CHECK_FALSE(t->done());
            CHECK_FALSE(t->awaiting_usage());
            t->finish_on_eof(whole);
            CHECK(t->failed());
        } else if (c.expect == "awaiting_usage") {
            CHECK_FALSE(t->done());
            CHECK(t->awaiting_usage());
            t->finish_on_eof(whole);
            CHECK(t->done());
            CHECK_FALSE(t->failed());
        } else {
            FAIL("bad expect " << c.expect);
        }
        check_invariants(c, whole, t->failed());
        auto golden = dir / (name + ".expected");
        if (ogp_test::update_golden()) {
            ogp_test::write_file(golden, whole);
        } else {
            CHECK(whole == read_file(golden));
        }
        // Byte by byte and random splits give the same bytes.
        bool eof = c.expect == "incomplete" || c.expect == "awaiting_usage";
        auto finish = [&](std::string out) {
            if (eof) {
                t->finish_on_eof(out);
            }
            return out;
        };
        CHECK(finish(run(plan, split_bytes(c.upstream), &t)) == whole);
        std::mt19937 rng(static_cast<unsigned>(std::hash<std::string>{}(name)));
        for (int i = 0; i < 20; ++i) {
            CHECK(finish(run(plan, split_random(c.upstream, rng), &t)) == whole);
        }
    });
}

TEST_CASE("stream specifics", "[transform][stream]")
{
    auto text_of = [](const std::string& out) {
        std::string text;
        std::size_t pos = 0;
        while ((pos = out.find("data: {", pos)) != std::string::npos) {
            std::size_t end = out.find("\n\n", pos);
            rapidjson::Document d;
            std::string payload = out.substr(pos + 6, end - pos - 6);
            d.Parse(payload.c_str());
            if (d.HasMember("choices") && d["choices"].Size() > 0 &&
                d["choices"][0]["delta"].HasMember("content") &&
                d["choices"][0]["delta"]["content"].IsString()) {
                text += d["choices"][0]["delta"]["content"].GetString();
            }
            pos = end;
        }
        return text;
    };
    auto run_fixture = [](const std::string& name) {
        stream_case c = load_case(name);
        chat_plan plan = plan_for(c);
        return run(plan, {c.upstream});
    };
    SECTION("Cohere's restated text is not repeated")
    {
        CHECK(text_of(run_fixture("cohere_text_terminal_restates")) == "Bonjour");
        CHECK(text_of(run_fixture("cohere_tool_calls_restated_text")) == "I will check.");
        CHECK(text_of(run_fixture("generic_finish_restates_text")) == "Hello");
        CHECK(text_of(run_fixture("generic_finish_with_last_delta")) == "Hello!");
    }
    SECTION("tool-call turns finish with tool_calls even when OCI says stop or COMPLETE")
    {
        for (auto name : {"generic_tool_calls_gpt_oss", "cohere_tool_calls_restated_text",
                          "generic_gemini_no_ids"}) {
            INFO(name);
            std::string out = run_fixture(name);
            CHECK(out.find("\"finish_reason\":\"tool_calls\"") != std::string::npos);
            CHECK(out.find("\"finish_reason\":\"stop\"") == std::string::npos);
        }
        CHECK(run_fixture("cohere_max_tokens").find("\"finish_reason\":\"length\"") !=
              std::string::npos);
    }
    SECTION("fragments keep the index and id of their call")
    {
        std::string out = run_fixture("generic_parallel_tool_calls_position0");
        CHECK(out.find(R"("tool_calls":[{"index":0,"id":"call_1")") != std::string::npos);
        CHECK(out.find(R"("tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}])") !=
              std::string::npos);
        CHECK(out.find(R"("tool_calls":[{"index":1,"id":"call_2")") != std::string::npos);
        CHECK(out.find(R"("tool_calls":[{"index":1,"function":{"arguments":":2}"}}])") !=
              std::string::npos);
        std::string gem = run_fixture("generic_gemini_no_ids");
        CHECK(gem.find(R"("index":1,"id":"call_test_1")") != std::string::npos);
    }
    SECTION("usage chunk comes after finish even when OCI sends it first")
    {
        std::string out = run_fixture("generic_usage_before_finish");
        auto fin = out.find("\"finish_reason\":\"stop\"");
        auto use = out.find("\"choices\":[],\"usage\"");
        REQUIRE(fin != std::string::npos);
        REQUIRE(use != std::string::npos);
        CHECK(fin < use);
    }
    SECTION("usage is metered even when the client did not ask")
    {
        fixture_transcoder f("generic_text_no_client_usage");
        f.t.feed(f.c.upstream, f.out);
        CHECK(f.t.done());
        CHECK(f.t.usage().present);
        CHECK(f.t.usage().total_tokens == 14);
        CHECK(f.out.find("\"usage\"") == std::string::npos);
    }
    SECTION("input after done is ignored; finish_on_eof is idempotent")
    {
        fixture_transcoder f("generic_text_usage");
        f.t.feed(f.c.upstream, f.out);
        REQUIRE(f.t.done());
        std::string before = f.out;
        f.t.feed(
            "data: "
            "{\"index\":0,\"message\":{\"content\":[{\"type\":\"TEXT\",\"text\":\"late\"}]}}\n",
            f.out);
        f.t.finish_on_eof(f.out);
        CHECK(f.out == before);
    }
    SECTION("oversized events become an error frame")
    {
        fixture_transcoder f("generic_text_usage", 64);
        f.t.feed("data: {\"index\":0,\"pad\":\"" + std::string(100, 'p') + "\"}\n", f.out);
        CHECK(f.t.done());
        CHECK(f.t.failed());
        CHECK(f.out.find("upstream_event_too_large") != std::string::npos);
    }
    SECTION("log probabilities only when asked, never for restated text")
    {
        stream_case c = load_case("generic_logprobs");
        c.extra.clear();
        std::string out = run(plan_for(c), {c.upstream});
        CHECK(out.find("\"logprobs\":{") == std::string::npos);
        CHECK(out.find("top_logprobs") == std::string::npos);
        std::string asked = run_fixture("generic_logprobs");
        // Two text events, two logprobs objects; the terminal restatement adds none.
        std::size_t n = 0;
        for (std::size_t p = asked.find("\"logprobs\":{"); p != std::string::npos;
             p = asked.find("\"logprobs\":{", p + 1)) {
            ++n;
        }
        CHECK(n == 2);
    }
    SECTION("mid-stream errors are OpenAI error events")
    {
        std::string out = run_fixture("cohere_midstream_error");
        // OCI's words go to the log (upstream_error()), ours to the client.
        CHECK(out.find("model overloaded") == std::string::npos);
        CHECK(out.find("upstream_error") != std::string::npos);
        CHECK(out.find("data: {\"error\":{") != std::string::npos);
        CHECK(out.find("[DONE]") == std::string::npos);
    }
}

TEST_CASE("a choice index beyond n is an upstream error, not a stall", "[transform][stream]")
{
    auto r =
        plan_chat(R"({"model":"llama","messages":[{"role":"user","content":"x"}],"stream":true})",
                  ogp_test::test_config());
    REQUIRE(r.ok());
    stream_transcoder t(r.value(), "chatcmpl-x", 1);
    std::string out;
    t.feed(
        "data: "
        "{\"index\":3,\"message\":{\"role\":\"ASSISTANT\",\"content\":[{\"type\":\"TEXT\",\"text\":"
        "\"x\"}]}}\n",
        out);
    CHECK(t.done());
    CHECK(t.failed());
    CHECK(out.find("bad_upstream_response") != std::string::npos);
}
