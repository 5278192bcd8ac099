// The daemon's API handlers end to end against oci-genai-mock (which verifies every OCI
// signature and rejects a chat format that does not fit the model): chat non-stream and
// stream in each chat format, tool calls, embeddings batching, the models list, OCI error
// mapping (B.6 #47), and the connection economy of the upstream pool.
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";

// Every event of an OpenAI stream: JSON chat.completion.chunk objects, then "[DONE]".
void check_openai_stream(const std::vector<std::string>& events)
{
    REQUIRE(events.size() >= 3);
    CHECK(events.back() == "[DONE]");
    std::set<std::string> ids;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        INFO(events[i]);
        REQUIRE(json_ok(events[i]));
        CHECK(json_string(events[i], "/object") == "chat.completion.chunk");
        CHECK(events[i].find("\"pad\"") == std::string::npos);
        ids.insert(json_string(events[i], "/id"));
    }
    CHECK(ids.size() == 1);  // one completion id for the whole stream
    CHECK(json_string(events.front(), "/choices/0/delta/role") == "assistant");
}

// The text of the `n`-th "embedding" array in `body` (same serialiser, so equal values are
// equal text).
std::string embedding_text(const std::string& body, std::size_t n)
{
    std::size_t at = std::string::npos;
    std::size_t from = 0;
    for (std::size_t k = 0; k <= n; ++k) {
        at = body.find("\"embedding\":[", from);
        if (at == std::string::npos) {
            return {};
        }
        from = at + 1;
    }
    return body.substr(at, body.find(']', at) - at);
}

// The finish_reason of the stream's last choice chunk.
std::string stream_finish(const std::vector<std::string>& events)
{
    std::string finish;
    for (const auto& e : events) {
        if (auto f = json_string(e, "/choices/0/finish_reason"); !f.empty()) {
            finish = f;
        }
    }
    return finish;
}

}  // namespace

TEST_CASE_METHOD(e2e_stack, "chat non-stream, GENERIC and COHERE aliases, answers the mock's text",
                 "[e2e][chat]")
{
    auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "hi there"));
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    CHECK(chat_content(r.body) == "Hello from the OCI mock. You said: hi there");
    CHECK(json_string(r.body, "/object") == "chat.completion");
    CHECK(json_string(r.body, "/model") == "gpt-4o-mini");
    CHECK(json_string(r.body, "/id").starts_with("chatcmpl-"));
    CHECK(json_string(r.body, "/choices/0/finish_reason") == "stop");
    CHECK(json_string(r.body, "/choices/0/message/role") == "assistant");
    CHECK(json_int(r.body, "/usage/prompt_tokens") > 0);
    CHECK(json_int(r.body, "/usage/completion_tokens") == 9);
    CHECK(r.header("opc-request-id").has_value());

    // The Cohere alias: the mock refuses any chat format but COHERE/COHEREV2 for cohere.*.
    auto co = c.request("POST", chat_path, chat_body("command-r-plus", "bonjour"));
    INFO(printable(co.body));
    REQUIRE(co.status == 200);
    CHECK(chat_content(co.body) == "Hello from the OCI mock. You said: bonjour");
    CHECK(json_string(co.body, "/model") == "command-r-plus");

    // max_tokens truncates: finish_reason length.
    auto cut = c.request("POST", chat_path,
                         chat_body("gpt-4o-mini", "one two three", false, R"("max_tokens":3)"));
    REQUIRE(cut.status == 200);
    CHECK(chat_content(cut.body) == "Hello from the ");
    CHECK(json_string(cut.body, "/choices/0/finish_reason") == "length");

    auto s = m.stats();
    CHECK(s.chat == 3);
    CHECK(s.rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack, "chat stream: chunked SSE in OpenAI's format from OCI's framing",
                 "[e2e][chat]")
{
    for (std::string model : {"gpt-4o-mini", "command-r-plus"}) {
        INFO(model);
        const auto start = steady::now();
        auto r = c.request("POST", chat_path,
                           chat_body(model, "stream me please", true,
                                     R"("stream_options":{"include_usage":true})"),
                           15s);
        INFO(printable(r.body, 3000));
        REQUIRE(r.status == 200);
        CHECK(r.chunked);
        CHECK(r.complete);                  // the daemon ends the stream though OCI keeps it open
        CHECK(seconds_since(start) < 4.0);  // no wait for an upstream close
        CHECK(r.header("content-type").value_or("").starts_with("text/event-stream"));
        auto events = r.sse_data();
        check_openai_stream(events);
        // Cohere's terminal event repeats the whole text: it must not be doubled.
        CHECK(stream_content(events) == "Hello from the OCI mock. You said: stream me please");
        CHECK(stream_finish(events) == "stop");
        // Usage last (before [DONE]), in a chunk with empty choices.
        REQUIRE(events.size() >= 2);
        const auto& usage = events[events.size() - 2];
        CHECK(json_int(usage, "/usage/completion_tokens") == 10);
        CHECK(usage.find("\"choices\":[]") != std::string::npos);
    }
    // Without stream_options the usage chunk is not sent.
    auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "x", true));
    REQUIRE(r.status == 200);
    for (const auto& e : r.sse_data()) {
        CHECK(e.find("\"usage\":{") == std::string::npos);
    }
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack, "chat stream is relayed as it arrives, not buffered", "[e2e][chat]")
{
    // mock-slow: 100 ms between upstream writes; the client must see the chunks spread out.
    const std::string prompt =
        "a long enough prompt so that the mock sends its answer in many separate writes";
    auto r = c.request("POST", chat_path, chat_body("meta.mock-slow-1", prompt, true), 20s);
    INFO(printable(r.body, 2000));
    REQUIRE(r.status == 200);
    CHECK(r.complete);
    REQUIRE(r.arrivals.size() >= 5);
    CHECK(r.arrivals.back() - r.arrivals.front() >= 0.5);
    CHECK(stream_content(r.sse_data()) == "Hello from the OCI mock. You said: " + prompt);
}

TEST_CASE_METHOD(e2e_stack, "tool calls: non-stream and progressive stream fragments",
                 "[e2e][chat][tools]")
{
    const std::string tools =
        R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather",)"
        R"("parameters":{"type":"object","properties":{"city":{"type":"string"},)"
        R"("unit":{"type":"string"}},"required":["city"]}}}])";
    auto r =
        c.request("POST", chat_path, chat_body("gpt-4o-mini", "Weather in Paris?", false, tools));
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    CHECK(json_string(r.body, "/choices/0/finish_reason") == "tool_calls");
    CHECK(json_string(r.body, "/choices/0/message/tool_calls/0/type") == "function");
    CHECK(json_string(r.body, "/choices/0/message/tool_calls/0/function/name") == "get_weather");
    CHECK(json_string(r.body, "/choices/0/message/tool_calls/0/function/arguments") ==
          R"({"city":"Paris","unit":"celsius"})");
    const std::string call_id = json_string(r.body, "/choices/0/message/tool_calls/0/id");
    CHECK(!call_id.empty());

    // Streamed: the id and name first, the arguments in fragments that concatenate.
    auto s =
        c.request("POST", chat_path, chat_body("gpt-4o-mini", "Weather in Paris?", true, tools));
    INFO(printable(s.body, 3000));
    REQUIRE(s.status == 200);
    auto events = s.sse_data();
    check_openai_stream(events);
    std::string args;
    std::string name;
    int fragments = 0;
    for (const auto& e : events) {
        name += json_string(e, "/choices/0/delta/tool_calls/0/function/name");
        auto a = json_string(e, "/choices/0/delta/tool_calls/0/function/arguments");
        if (!a.empty()) {
            ++fragments;
            args += a;
        }
    }
    CHECK(name == "get_weather");
    CHECK(args == R"({"city":"Paris","unit":"celsius"})");
    CHECK(fragments >= 2);
    CHECK(stream_finish(events) == "tool_calls");

    // The tool's answer goes back; the mock answers with it.
    const std::string round_trip =
        R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Weather in Paris?"},)"
        R"({"role":"assistant","content":null,"tool_calls":[{"id":")" +
        call_id +
        R"(","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
        R"({"role":"tool","tool_call_id":")" +
        call_id + R"(","content":"18 C and sunny"}],)" + tools + "}";
    auto t = c.request("POST", chat_path, round_trip);
    INFO(printable(t.body));
    REQUIRE(t.status == 200);
    CHECK(chat_content(t.body) == "The tool returned: 18 C and sunny");
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack, "embeddings: more than 96 inputs are batched and merged in order",
                 "[e2e][embeddings]")
{
    std::string inputs;
    for (int i = 0; i < 100; ++i) {
        inputs += (i ? ",\"" : "\"") + std::string("input number ") + std::to_string(i) + "\"";
    }
    auto r = c.request("POST", "/v1/embeddings",
                       R"({"model":"text-embedding-3-small","input":[)" + inputs + "]}", 20s);
    INFO(printable(r.body, 500));
    REQUIRE(r.status == 200);
    CHECK(json_string(r.body, "/object") == "list");
    CHECK(json_string(r.body, "/model") == "text-embedding-3-small");
    CHECK(json_int(r.body, "/data/99/index") == 99);
    CHECK(json_string(r.body, "/data/100/object").empty());
    CHECK(m.stats().embed == 2);  // 96 + 4

    // Order: the merged item i is the embedding of input i (deterministic per text).
    for (int i : {0, 95, 96, 99}) {
        auto one = c.request("POST", "/v1/embeddings",
                             R"({"model":"text-embedding-3-small","input":"input number )" +
                                 std::to_string(i) + "\"}");
        REQUIRE(one.status == 200);
        CHECK(!embedding_text(one.body, 0).empty());
        CHECK(embedding_text(one.body, 0) == embedding_text(r.body, static_cast<std::size_t>(i)));
    }
    CHECK(m.stats().embed == 6);
}

TEST_CASE_METHOD(e2e_stack, "models lists the configured aliases", "[e2e][models]")
{
    auto r = c.request("GET", "/v1/models");
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    CHECK(json_string(r.body, "/object") == "list");
    std::set<std::string> ids;
    for (int i = 0; i < 10; ++i) {
        auto id = json_string(r.body, ("/data/" + std::to_string(i) + "/id").c_str());
        if (!id.empty()) {
            ids.insert(id);
            CHECK(json_string(r.body, ("/data/" + std::to_string(i) + "/object").c_str()) ==
                  "model");
        }
    }
    CHECK(ids == std::set<std::string>{"gpt-4o-mini", "command-r-plus", "text-embedding-3-small"});
    // Without a key: 401.
    CHECK(c.request("GET", "/v1/models", {}, 5s, false).status == 401);
}

TEST_CASE("B.6 #47 OCI errors map to OpenAI errors", "[e2e][errors]")
{
    // A format override that does not fit the model: OCI (the mock) answers 400.
    e2e_stack stack(
        {.models =
             "  - name: wrong-format\n    id: meta.llama-3.3-70b-instruct\n    format: COHERE\n"});
    auto& [m, d, c] = stack;
    struct expectation
    {
        std::string model;
        int status;
        std::string type;
        std::string code;
        std::uint64_t upstream_requests;  // OCI requests the daemon made for it
    };
    const std::vector<expectation> cases{
        {"meta.unknown-x", 404, "invalid_request_error", "model_not_found", 1},
        {"meta.mock-500", 502, "api_error", "upstream_error", 1},
        {"wrong-format", 400, "invalid_request_error", "", 1},
        // 401 from OCI: one credential refresh and one retry, then 502.
        {"meta.mock-401", 502, "api_error", "upstream_authentication_failed", 2},
    };
    for (const auto& e : cases) {
        INFO(e.model);
        const auto before = m.stats().requests;
        for (bool stream : {false, true}) {
            auto r = c.request("POST", chat_path, chat_body(e.model, "x", stream), 15s);
            INFO(printable(r.body));
            CHECK(r.status == e.status);
            CHECK(r.header("content-type").value_or("") == "application/json");
            CHECK(json_string(r.body, "/error/type") == e.type);
            if (!e.code.empty()) {
                CHECK(json_string(r.body, "/error/code") == e.code);
            }
            CHECK(json_string(r.body, "/error/message").find("OCI Generative AI") !=
                  std::string::npos);
            // Our words, not OCI's (which name OCIDs and internal hosts in production).
            for (const char* oci_text : {"Entity with key", "Internal Server Error",
                                         "does not match", "authentication was not"}) {
                CHECK(r.body.find(oci_text) == std::string::npos);
            }
            // Nothing of the signed request is echoed.
            CHECK(r.body.find("Signature") == std::string::npos);
            CHECK(r.body.find("ST$") == std::string::npos);
        }
        CHECK(m.stats().requests - before == 2 * e.upstream_requests);
    }
    CHECK(d.log_count("refreshing credentials") == 2);
    // OCI's text goes to the log at warn; the client gets our words and the opc-request-id.
    auto r = c.request("POST", chat_path, chat_body("wrong-format", "x"));
    CHECK(json_string(r.body, "/error/message").find("does not match serving model") ==
          std::string::npos);
    CHECK(json_string(r.body, "/error/message").find("opc-request-id: ") != std::string::npos);
    CHECK(d.wait_for_log("does not match serving model"));
    // Embeddings map the same way.
    auto e = c.request("POST", "/v1/embeddings", R"({"model":"cohere.unknown-embed","input":"x"})");
    CHECK(e.status == 404);
    CHECK(json_string(e.body, "/error/code") == "model_not_found");
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE_METHOD(
    e2e_stack,
    "B.6 #43 upstream 429 and 503 are retried honouring Retry-After, then passed through",
    "[e2e][errors]")
{
    for (const auto& [model, status, code] : std::vector<std::tuple<std::string, int, std::string>>{
             {"meta.mock-429", 429, "rate_limit_exceeded"},
             {"meta.mock-503", 503, "service_unavailable"}}) {
        INFO(model);
        const auto before = m.stats().requests;
        const auto start = steady::now();
        auto r = c.request("POST", chat_path, chat_body(model, "x"), 20s);
        const double took = seconds_since(start);
        INFO(printable(r.body));
        CHECK(r.status == status);
        CHECK(json_string(r.body, "/error/code") == code);
        CHECK(r.header("retry-after").has_value());
        // Two retries, each after the upstream's Retry-After: 1 (never a tight loop).
        CHECK(m.stats().requests - before == 3);
        CHECK(took >= 1.9);
        CHECK(took < 10.0);
    }
    CHECK(m.stats().chat == 0);
}

TEST_CASE("1,000 sequential requests cost at most 2 upstream TLS handshakes", "[e2e][pool]")
{
    mock m;
    proxy d(m);
    const auto start = steady::now();
    int ok = 0;
    // Four client connections of 250 requests each (under the per-connection cap).
    for (int conn = 0; conn < 4; ++conn) {
        http_client c(d.port());
        for (int i = 0; i < 250; ++i) {
            auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "ping"), 10s);
            ok += r.status == 200 ? 1 : 0;
            if (r.status != 200) {
                FAIL_CHECK("request " << conn * 250 + i << ": " << r.status << " "
                                      << printable(r.body));
                break;
            }
        }
    }
    INFO("took " << seconds_since(start) << " s");
    CHECK(ok == 1000);
    auto s = m.stats();
    CHECK(s.requests == 1000);
    CHECK(s.chat == 1000);
    CHECK(s.connections <= 2);
    CHECK(s.rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack,
                 "streams resume the upstream TLS session and find a spare connection ready",
                 "[e2e][pool][tls]")
{
    // OCI never ends a streamed body, so each stream's upstream connection is closed after it.
    // Each stream leaves one spare connection opened in the background for the next; all
    // connections but the first resume the TLS session.
    constexpr int streams = 6;
    for (int i = 0; i < streams; ++i) {
        auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "again", true), 10s);
        INFO("stream " << i << ": " << printable(r.body, 500));
        REQUIRE(r.status == 200);
        CHECK(stream_content(r.sse_data()) == "Hello from the OCI mock. You said: again");
    }
    // The last spare may still be in its handshake.
    auto s = m.stats();
    for (int i = 0; i < 60 && !(s.connections == streams + 1 && s.resumed == streams); ++i) {
        std::this_thread::sleep_for(50ms);
        s = m.stats();
    }
    CHECK(s.chat == streams);
    CHECK(s.connections == streams + 1);  // one per stream, plus the spare for the next
    CHECK(s.resumed == streams);          // only the first paid a full handshake
    CHECK(s.rejected_signatures == 0);
}

TEST_CASE("a spare connection the upstream closed meanwhile is retried on a new one", "[e2e][pool]")
{
    // The mock drops a request arriving on a connection idle for 300 ms or more.
    e2e_stack stack({}, {"--stale-after-ms", "300"});
    auto& [m, d, c] = stack;
    auto first = c.request("POST", chat_path, chat_body("gpt-4o-mini", "one", true), 10s);
    REQUIRE(first.status == 200);
    std::this_thread::sleep_for(700ms);  // the spare goes stale
    auto second = c.request("POST", chat_path, chat_body("gpt-4o-mini", "two", true), 10s);
    INFO(printable(second.body, 500));
    REQUIRE(second.status == 200);
    CHECK(stream_content(second.sse_data()) == "Hello from the OCI mock. You said: two");
    CHECK(m.stats().stale_drops == 1);
}

TEST_CASE_METHOD(e2e_stack,
                 "chat answers: web-search annotations, logprobs, system_fingerprint, service_tier",
                 "[e2e][chat]")
{
    // The mock cites a source when webSearchOptions came, gives logProbs alternatives per token
    // (values as strings, the sampled token among them) and names modelVersion 1.0.0.
    const std::string extra =
        R"("web_search_options":{"search_context_size":"low","user_location":{"type":)"
        R"("approximate","approximate":{"city":"Paris","country":"FR"}}},)"
        R"("logprobs":true,"top_logprobs":2,"service_tier":"default")";
    auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "hi there", false, extra));
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    const std::string text = chat_content(r.body);
    CHECK(json_string(r.body, "/choices/0/message/annotations/0/type") == "url_citation");
    CHECK(json_string(r.body, "/choices/0/message/annotations/0/url_citation/url") ==
          "https://example.com/mock-source");
    CHECK(json_int(r.body, "/choices/0/message/annotations/0/url_citation/end_index") ==
          static_cast<long long>(text.size()));
    CHECK(json_string(r.body, "/system_fingerprint") == "1.0.0");
    CHECK(json_string(r.body, "/service_tier") == "default");
    rapidjson::Document d;
    d.Parse(r.body.data(), r.body.size());
    REQUIRE(d.IsObject());
    const auto& lp = d["choices"][0]["logprobs"];
    REQUIRE(lp.IsObject());
    CHECK(lp["refusal"].IsNull());
    REQUIRE(lp["content"].IsArray());
    REQUIRE(lp["content"].Size() > 0);
    std::string joined;
    for (const auto& tok : lp["content"].GetArray()) {
        joined += tok["token"].GetString();
        CHECK(tok["logprob"].IsNumber());
        // OCI's strings become numbers; two alternatives of the three OCI sent, best first.
        REQUIRE(tok["top_logprobs"].Size() == 2);
        CHECK(tok["top_logprobs"][0]["token"] == tok["token"]);
        CHECK(tok["top_logprobs"][0]["logprob"].GetDouble() == -0.25);
        CHECK(tok["top_logprobs"][1]["logprob"].GetDouble() == -2.5);
    }
    CHECK(joined == text);

    // Streamed: logprobs on the text chunks, the annotation as a delta, the fingerprint
    // once OCI's events name it, usage null before the usage chunk.
    auto s = c.request("POST", chat_path,
                       chat_body("gpt-4o-mini", "hi there", true,
                                 extra + R"(,"stream_options":{"include_usage":true})"),
                       15s);
    INFO(printable(s.body, 3000));
    REQUIRE(s.status == 200);
    auto events = s.sse_data();
    check_openai_stream(events);
    int with_logprobs = 0;
    bool annotated = false;
    for (std::size_t i = 0; i + 2 < events.size(); ++i) {
        INFO(events[i]);
        CHECK(events[i].find("\"usage\":null") != std::string::npos);
        CHECK(json_string(events[i], "/service_tier") == "default");
        CHECK(json_string(events[i], "/system_fingerprint") == "1.0.0");
        if (!json_string(events[i], "/choices/0/logprobs/content/0/token").empty()) {
            ++with_logprobs;
        }
        annotated = annotated ||
                    json_string(events[i], "/choices/0/delta/annotations/0/url_citation/url") ==
                        "https://example.com/mock-source";
    }
    CHECK(with_logprobs == static_cast<int>(lp["content"].Size()));
    CHECK(annotated);
    CHECK(stream_content(events) == text);
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack, "media parts: audio and documents reach OCI as data URLs it checks",
                 "[e2e][chat]")
{
    // The mock checks GENERIC AUDIO and DOCUMENT parts as OCI does (a base64 data URL of the
    // part's media family) and names what it received in its answer.
    auto body = [](std::string_view part) {
        return std::string(R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":[)"
                           R"({"type":"text","text":"listen"},)") +
               std::string(part) + "]}]}";
    };
    auto audio = c.request(
        "POST", chat_path,
        body(R"({"type":"input_audio","input_audio":{"data":"UklGRiQAAABXQVZF","format":"wav"}})"));
    INFO(printable(audio.body));
    REQUIRE(audio.status == 200);
    CHECK(chat_content(audio.body) ==
          "Hello from the OCI mock. You said: listen [audio: audio/wav]");
    auto pdf = c.request(
        "POST", chat_path,
        body(
            R"({"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}})"));
    INFO(printable(pdf.body));
    REQUIRE(pdf.status == 200);
    CHECK(chat_content(pdf.body) ==
          "Hello from the OCI mock. You said: listen [document: application/pdf]");
    // An image sent as a document passes the proxy (a data URL) but not OCI's check.
    auto png =
        c.request("POST", chat_path,
                  body(R"({"type":"file","file":{"file_data":"data:image/png;base64,iVBORw0K"}})"));
    INFO(printable(png.body));
    CHECK(png.status == 400);
    // Audio on a Cohere model never leaves the proxy.
    auto cohere = c.request("POST", chat_path,
                            std::string(R"({"model":"command-r-plus","messages":[{"role":"user",)"
                                        R"("content":[{"type":"input_audio","input_audio":)"
                                        R"({"data":"UklGRg==","format":"wav"}}]}]})"));
    CHECK(cohere.status == 400);
    CHECK(json_string(cohere.body, "/error/param") == "messages[0].content[0].type");
    CHECK(m.stats().chat == 3);
}

TEST_CASE_METHOD(e2e_stack, "json_schema with nullable fields reaches OCI as given and is answered",
                 "[e2e][chat][schema]")
{
    // Pydantic's Optional[int] (anyOf with a null branch) and Zod's .nullable() (a type list):
    // kept as given for a GENERIC non-Gemini model, so the mock samples the non-null type.
    const std::string schema =
        R"({"type":"object","properties":{"n":{"anyOf":[{"type":"integer"},{"type":"null"}]},)"
        R"("tags":{"type":["array","null"],"items":{"type":"string"}}},"required":["n","tags"],)"
        R"("additionalProperties":false})";
    auto r = c.request(
        "POST", chat_path,
        chat_body(
            "gpt-4o-mini", "fill it", false,
            R"("response_format":{"type":"json_schema","json_schema":{"name":"o","strict":true,"schema":)" +
                schema + "}}"));
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    CHECK(chat_content(r.body) == R"({"n":1,"tags":["JSON_SCHEMA"]})");
}
