// POST /v1/responses end to end with a raw HTTP client: the real daemon against
// oci-genai-mock (which verifies every OCI signature and refuses a chat format that does not
// fit the model). Non-stream and stream in each chat format, the event sequence, a function
// tool round trip, the stateless refusals, and the same stream guarantees as chat
// (cancellation on disconnect, the idle deadline ending in an error).
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "support/e2e_checks.hpp"
#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view responses_path = "/v1/responses";

const std::string long_prompt =
    "please answer with a long text so that the stream is split into many separate writes, "
    "then some more words, and still more words to make it longer";

std::string quoted(std::string_view s)
{
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
        }
        out += ch;
    }
    return out + "\"";
}

std::string responses_body(std::string_view model, std::string_view input, bool stream = false,
                           std::string_view extra = {})
{
    std::string b = "{\"model\":" + quoted(model) + ",\"input\":" + quoted(input);
    if (stream) {
        b += ",\"stream\":true";
    }
    if (!extra.empty()) {
        b += ",";
        b += extra;
    }
    return b + "}";
}

// The text of every output_text part of a Response object.
std::string response_text(const std::string& body, std::string_view base = "")
{
    std::string text;
    for (int i = 0; i < 8; ++i) {
        const std::string item = std::string(base) + "/output/" + std::to_string(i);
        if (json_string(body, (item + "/type").c_str()) == "message") {
            text += json_string(body, (item + "/content/0/text").c_str());
        }
    }
    return text;
}

// Checks the envelope of a Responses stream and returns its events' types in order.
std::vector<std::string> check_event_sequence(const std::vector<std::string>& events)
{
    std::vector<std::string> types;
    REQUIRE(events.size() >= 4);
    std::int64_t expected_seq = 0;
    std::set<std::string> ids;
    for (const auto& e : events) {
        INFO(e);
        REQUIRE(json_ok(e));
        CHECK(json_int(e, "/sequence_number") == expected_seq++);
        types.push_back(json_string(e, "/type"));
        if (auto id = json_string(e, "/response/id"); !id.empty()) {
            ids.insert(id);
        }
    }
    CHECK(ids.size() == 1);  // one response id for the whole stream
    CHECK(types[0] == "response.created");
    CHECK(types[1] == "response.in_progress");
    return types;
}

std::string joined_deltas(const std::vector<std::string>& events, std::string_view type)
{
    std::string out;
    for (const auto& e : events) {
        if (json_string(e, "/type") == type) {
            out += json_string(e, "/delta");
        }
    }
    return out;
}

const std::string weather_tool =
    R"("tools":[{"type":"function","name":"get_weather","description":"Weather",)"
    R"("parameters":{"type":"object","properties":{"city":{"type":"string"},)"
    R"("unit":{"type":"string"}},"required":["city"]}}])";

}  // namespace

TEST_CASE_METHOD(e2e_stack, "responses non-stream, GENERIC and COHERE: a Response object",
                 "[e2e][responses]")
{
    for (std::string model : {"gpt-4o-mini", "command-r-plus"}) {
        INFO(model);
        auto r = c.request("POST", responses_path,
                           responses_body(model, "hello responses", false,
                                          R"("instructions":"Be terse.","store":false)"));
        INFO(printable(r.body, 3000));
        REQUIRE(r.status == 200);
        CHECK(json_string(r.body, "/object") == "response");
        CHECK(json_string(r.body, "/id").starts_with("resp_"));
        CHECK(json_string(r.body, "/status") == "completed");
        CHECK(json_string(r.body, "/model") == model);
        CHECK(json_string(r.body, "/instructions") == "Be terse.");
        CHECK(json_string(r.body, "/output/0/role") == "assistant");
        CHECK(json_string(r.body, "/output/0/content/0/type") == "output_text");
        CHECK(response_text(r.body) == "Hello from the OCI mock. You said: hello responses");
        CHECK(json_int(r.body, "/usage/output_tokens") > 0);
        CHECK(json_int(r.body, "/usage/total_tokens") > json_int(r.body, "/usage/output_tokens"));
    }
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack, "responses stream: the full event sequence, text deltas, completed",
                 "[e2e][responses]")
{
    for (std::string model : {"gpt-4o-mini", "command-r-plus"}) {
        INFO(model);
        const auto start = steady::now();
        auto r =
            c.request("POST", responses_path, responses_body(model, "stream me please", true), 15s);
        INFO(printable(r.body, 4000));
        REQUIRE(r.status == 200);
        CHECK(r.chunked);
        CHECK(r.complete);
        CHECK(seconds_since(start) < 4.0);  // ends without waiting for OCI to close
        CHECK(r.header("content-type").value_or("").starts_with("text/event-stream"));
        auto events = r.sse_data();
        auto types = check_event_sequence(events);
        const std::vector<std::string> expected_order{
            "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.done",
            "response.content_part.done", "response.output_item.done",
            "response.completed"};
        std::size_t at = 0;
        for (const auto& t : types) {
            if (at < expected_order.size() && t == expected_order[at]) {
                ++at;
            } else if (at > 0 && t == expected_order[at - 1]) {
                continue;  // repeated deltas
            }
        }
        CHECK(at == expected_order.size());
        const std::string text = "Hello from the OCI mock. You said: stream me please";
        // Cohere's terminal restatement must not be doubled.
        CHECK(joined_deltas(events, "response.output_text.delta") == text);
        CHECK(types.back() == "response.completed");
        CHECK(json_string(events.back(), "/response/status") == "completed");
        CHECK(response_text(events.back(), "/response") == text);
        CHECK(json_int(events.back(), "/response/usage/output_tokens") > 0);
        CHECK(r.body.find("[DONE]") == std::string::npos);
    }
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack, "responses: a function tool round trip, non-stream and stream",
                 "[e2e][responses][tools]")
{
    auto r = c.request("POST", responses_path,
                       responses_body("gpt-4o-mini", "Weather in Paris?", false, weather_tool));
    INFO(printable(r.body, 3000));
    REQUIRE(r.status == 200);
    CHECK(json_string(r.body, "/output/0/type") == "function_call");
    CHECK(json_string(r.body, "/output/0/name") == "get_weather");
    CHECK(json_string(r.body, "/output/0/arguments") == R"({"city":"Paris","unit":"celsius"})");
    const std::string call_id = json_string(r.body, "/output/0/call_id");
    REQUIRE(!call_id.empty());

    // Streamed: one function_call item, its arguments in deltas that concatenate.
    auto s = c.request("POST", responses_path,
                       responses_body("gpt-4o-mini", "Weather in Paris?", true, weather_tool), 15s);
    INFO(printable(s.body, 4000));
    REQUIRE(s.status == 200);
    auto events = s.sse_data();
    check_event_sequence(events);
    CHECK(joined_deltas(events, "response.function_call_arguments.delta") ==
          R"({"city":"Paris","unit":"celsius"})");
    bool args_done = false;
    for (const auto& e : events) {
        if (json_string(e, "/type") == "response.function_call_arguments.done") {
            args_done = json_string(e, "/arguments") == R"({"city":"Paris","unit":"celsius"})";
        }
    }
    CHECK(args_done);
    CHECK(json_string(events.back(), "/response/output/0/type") == "function_call");

    // The call and its output go back as items; the mock answers with the tool's output.
    for (std::string model : {"gpt-4o-mini", "command-r-plus"}) {
        INFO(model);
        const std::string round_trip =
            R"({"model":")" + model +
            R"(","input":[{"role":"user","content":"Weather in Paris?"},)"
            R"({"type":"function_call","call_id":")" +
            call_id +
            R"(","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},)"
            R"({"type":"function_call_output","call_id":")" +
            call_id + R"(","output":"18 C and sunny"}],)" + weather_tool + "}";
        auto t = c.request("POST", responses_path, round_trip);
        INFO(printable(t.body, 3000));
        REQUIRE(t.status == 200);
        // The mock echoes the tool result as the format carried it (Cohere: an outputs list).
        CHECK(response_text(t.body).starts_with("The tool returned: "));
        CHECK(response_text(t.body).find("18 C and sunny") != std::string::npos);
    }
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE_METHOD(e2e_stack, "responses: stateless refusals, 404 for stored responses, 405, 401",
                 "[e2e][responses]")
{
    const auto before = m.stats().requests;
    for (std::string_view param : {"previous_response_id", "conversation"}) {
        INFO(param);
        auto r = c.request("POST", responses_path,
                           responses_body("gpt-4o-mini", "x", false,
                                          "\"" + std::string(param) + "\":\"resp_123\""));
        INFO(printable(r.body));
        CHECK(r.status == 400);
        CHECK(json_string(r.body, "/error/type") == "invalid_request_error");
        CHECK(json_string(r.body, "/error/param") == param);
        CHECK(json_string(r.body, "/error/code") == "unsupported_parameter");
        CHECK(json_string(r.body, "/error/message").find("state") != std::string::npos);
    }
    // Retrieval, deletion, cancellation and input items of a response: nothing is stored.
    for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/v1/responses/resp_0123abcd"},
             {"DELETE", "/v1/responses/resp_0123abcd"},
             {"POST", "/v1/responses/resp_0123abcd/cancel"},
             {"GET", "/v1/responses/resp_0123abcd/input_items"}}) {
        INFO(method << " " << path);
        auto r = c.request(method, path);
        CHECK(r.status == 404);
        CHECK(json_string(r.body, "/error/type") == "invalid_request_error");
        CHECK(json_string(r.body, "/error/message").find("resp_0123abcd") != std::string::npos);
        CHECK(json_string(r.body, "/error/message").find("no state") != std::string::npos);
    }
    auto put = c.request("PUT", "/v1/responses/resp_1");
    CHECK(put.status == 405);
    CHECK(put.header("allow").value_or("") == "GET, HEAD, DELETE");
    CHECK(c.request("GET", "/v1/responses").status == 405);
    // The key is required on every Responses path.
    http_client anonymous(d.port());
    CHECK(anonymous.request("POST", responses_path, responses_body("gpt-4o-mini", "x"), 10s, false)
              .status == 401);
    http_client anonymous2(d.port());
    CHECK(anonymous2.request("GET", "/v1/responses/resp_1", {}, 10s, false).status == 401);
    CHECK(m.stats().requests == before);  // none of these reached OCI
}

TEST_CASE("responses: client disconnect mid-stream closes the upstream connection within 1 s",
          "[e2e][responses][b6]")
{
    mock m;
    proxy d(m);
    {
        http_client c(d.port());
        c.send_request("POST", responses_path,
                       responses_body("meta.mock-slow-1", long_prompt, true));
        auto head = c.read_head_and_chunks(1, 10s);
        REQUIRE(head.status == 200);
        REQUIRE(m.stats().open_used == 1);
    }  // the client closes mid-stream
    const auto closed_at = steady::now();
    auto s = m.wait_stats([](const mock_stats& st) { return st.open_used == 0; }, 5s);
    const double took = seconds_since(closed_at);
    INFO("upstream closed " << took << " s after the client");
    CHECK(s.open_used == 0);
    CHECK(took < 1.5);
    CHECK(s.closed_by_client == 1);
}

TEST_CASE("responses: a stalled upstream stream ends with error and response.failed",
          "[e2e][responses][b6]")
{
    e2e_stack stack({.upstream_stream_idle = "1s"});
    auto& [m, d, c] = stack;
    auto [r, took] = timed_request(c, "POST", responses_path,
                                   responses_body("meta.mock-stall-1", long_prompt, true), 10s);
    INFO(printable(r.body, 4000) << " after " << took << " s");
    check_window(took, {0.9, 4.0}, "stream ended after");
    REQUIRE(r.status == 200);
    CHECK(r.complete);
    auto events = r.sse_data();
    auto types = check_event_sequence(events);
    REQUIRE(types.size() >= 2);
    CHECK(types[types.size() - 2] == "error");
    CHECK(types.back() == "response.failed");
    CHECK(json_string(events.back(), "/response/status") == "failed");
    CHECK(!json_string(events.back(), "/response/error/code").empty());
    CHECK(wait_used_closed(m, 3s) == 0);
}
