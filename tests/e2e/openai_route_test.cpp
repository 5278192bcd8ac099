// The `openai` route end to end with a raw HTTP client: the real daemon forwarding OpenAI
// bodies to oci-genai-mock's OpenAI-compatible endpoint (/openai/v1/..., which verifies the OCI
// signature or the GenAI API key, the project and the compartment), in both auth modes (instance
// principal and `genai_api_key`). What the mock received is read back from GET
// /mock/openai/last: the forwarded body (only `model` rewritten), the headers, and the exact
// answer bytes it sent, which the client must receive unchanged (streams byte for byte).
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/e2e_checks.hpp"
#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";
constexpr std::string_view responses_path = "/v1/responses";

constexpr std::string_view project = "ocid1.generativeaiproject.oc1.us-chicago-1.e2eproject";
constexpr std::string_view alias_project = "ocid1.generativeaiproject.oc1.us-chicago-1.e2ealias";
constexpr std::string_view compartment = "ocid1.compartment.oc1..e2e";  // stack.cpp's
constexpr std::string_view genai_key = "e2e-genai-api-key-0123456789abcdef";

const std::string long_prompt =
    "please answer with a long text so that the stream is split into many separate writes, "
    "then some more words, and still more words to make it longer";

enum class auth {
    iam,        ///< instance principal: OCI signatures
    genai_key,  ///< oci.auth genai_api_key: Authorization Bearer
};

const char* name_of(auth a)
{
    return a == auth::iam ? "instance_principal" : "genai_api_key";
}

// The openai-route aliases every stack here has.
std::string openai_aliases(std::string_view own_project = {})
{
    return openai_alias("gpt-oss", "openai.gpt-oss-120b", own_project) +
           openai_alias("gpt-gzip", "openai.mock-gzip-1", own_project) +
           openai_alias("gpt-zstd", "openai.mock-zstd-1", own_project) +
           openai_alias("gpt-429", "openai.mock-429-1", own_project) +
           openai_alias("gpt-500", "openai.mock-500-1", own_project) +
           openai_alias("gpt-stall", "openai.mock-stall-1", own_project);
}

// Daemon options for `a`: with `oci.project_id` (`with_project`), else each alias has its own
// project (IAM needs one) or none (genai_api_key does not). genai_api_key refuses native
// aliases, so they are left out there.
daemon_options openai_options(auth a, bool with_project = true)
{
    daemon_options o;
    if (with_project) {
        o.project_id = std::string(project);
        o.models = openai_aliases();
    } else {
        o.models = openai_aliases(a == auth::iam ? alias_project : std::string_view{});
    }
    if (a == auth::genai_key) {
        o.auth = "genai_api_key";
        o.genai_api_key = std::string(genai_key);
        o.native_aliases = false;
    }
    return o;
}

std::vector<std::string> mock_args(std::vector<std::string> extra = {})
{
    extra.insert(extra.begin(), {"--genai-api-key", std::string(genai_key)});
    return extra;
}

// The mock's record of the last /openai/v1 exchange once `pred` holds (the record of a stream
// may trail its last byte at the client), or the last one read after 3 s.
std::string wait_last(mock& m, const std::function<bool(const std::string&)>& pred)
{
    const auto deadline = steady::now() + 3s;
    for (;;) {
        std::string last = m.openai_last();
        if (pred(last) || steady::now() >= deadline) {
            return last;
        }
        std::this_thread::sleep_for(20ms);
    }
}

std::string last_answered(mock& m, const std::string& client_body)
{
    return wait_last(
        m, [&](const std::string& l) { return json_string(l, "/answer") == client_body; });
}

std::string header_of(const std::string& last, std::string_view name)
{
    const std::string ptr = "/headers/" + std::string(name);
    return json_string(last, ptr.c_str());
}

bool has_header(const std::string& last, std::string_view name)
{
    rapidjson::Document doc;
    doc.Parse(last.data(), last.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("headers") ||
        !doc["headers"].IsObject()) {
        return false;
    }
    const auto& headers = doc["headers"];
    return headers.FindMember(rapidjson::StringRef(name.data(), name.size())) !=
           headers.MemberEnd();
}

// The checks on the headers of every forwarded request in mode `a` with project `proj`.
void check_upstream_headers(const std::string& last, auth a, std::string_view proj)
{
    INFO(printable(last, 3000));
    CHECK(header_of(last, "authorization") == (a == auth::iam ? "Signature" : "Bearer"));
    if (proj.empty()) {
        CHECK(!has_header(last, "openai-project"));
    } else {
        CHECK(header_of(last, "openai-project") == proj);
    }
    CHECK(header_of(last, "opc-compartment-id") == compartment);
    CHECK(header_of(last, "accept-encoding") == "identity");
    CHECK(header_of(last, "user-agent").starts_with("oci-genai-proxy/"));
    CHECK(!header_of(last, "opc-request-id").empty());
    if (a == auth::iam) {
        CHECK(!header_of(last, "date").empty());
        CHECK(!header_of(last, "host").empty());
    }
}

std::string responses_body(std::string_view model, std::string_view input, bool stream = false,
                           std::string_view extra = {})
{
    std::string b =
        R"({"model":")" + std::string(model) + R"(","input":")" + std::string(input) + "\"";
    if (stream) {
        b += ",\"stream\":true";
    }
    if (!extra.empty()) {
        b += ",";
        b += extra;
    }
    return b + "}";
}

// A request with a raw body of `content_type` (the harness client sends JSON otherwise).
std::string raw_request(std::string_view method, std::string_view path,
                        std::string_view content_type, std::string_view body)
{
    return std::string(method) + " " + std::string(path) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + std::string(test_key) +
           "\r\nContent-Type: " + std::string(content_type) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

}  // namespace

TEST_CASE(
    "openai route: chat non-stream forwards the body unchanged but for model with the project and "
    "compartment and credentials of each auth mode",
    "[e2e][openai]")
{
    for (auth a : {auth::iam, auth::genai_key}) {
        INFO(name_of(a));
        e2e_stack stack(openai_options(a), mock_args());
        auto& [m, d, c] = stack;
        // Spacing, escapes, number spellings and member order that a re-serialiser would change.
        const std::string head =
            R"({"messages": [ {"role":"system","content":"Be terse."},)"
            R"( {"role":"user","content":"caf\u00e9 \"quoted\" hi"} ],  "model" : )";
        const std::string tail =
            R"( , "temperature": 0.50, "max_tokens":64, "top_p":1e0, "user":"u-1",)"
            R"("metadata":{"b":"2","a":"1"}, "store" :false })";
        const std::string sent = head + "\"gpt-oss\"" + tail;
        const std::string expected = head + "\"openai.gpt-oss-120b\"" + tail;
        auto r = c.request("POST", chat_path, sent, 15s, true,
                           "OpenAI-Beta: assistants=v2\r\nIdempotency-Key: idem-e2e-1\r\n"
                           "X-Client-Secret: do-not-forward\r\nCookie: session=secret\r\n"
                           "OpenAI-Organization: org-e2e\r\n");
        INFO(printable(r.body, 3000));
        REQUIRE(r.status == 200);
        CHECK(r.header("content-type").value_or("").starts_with("application/json"));
        CHECK(!r.header("content-encoding").has_value());
        CHECK(json_string(r.body, "/object") == "chat.completion");
        CHECK(json_string(r.body, "/choices/0/message/content").find("hi") != std::string::npos);

        const std::string last = last_answered(m, r.body);
        INFO(printable(last, 4000));
        CHECK(json_string(last, "/method") == "POST");
        CHECK(json_string(last, "/target") == "/openai/v1/chat/completions");
        CHECK(json_string(last, "/body") == expected);
        CHECK(json_string(last, "/body_sha256") == sha256_hex(expected));
        CHECK(json_int(last, "/body_bytes") == static_cast<long long>(expected.size()));
        CHECK(json_int(last, "/status") == 200);
        // The client's answer is the mock's answer, byte for byte (model: the alias' id).
        CHECK(json_string(last, "/answer") == r.body);
        CHECK(json_string(r.body, "/model") == "openai.gpt-oss-120b");

        check_upstream_headers(last, a, project);
        CHECK(header_of(last, "content-type") == "application/json");
        CHECK(header_of(last, "accept") == "application/json");
        CHECK(header_of(last, "openai-beta") == "assistants=v2");
        CHECK(header_of(last, "idempotency-key") == "idem-e2e-1");
        for (auto name : {"x-client-secret", "cookie", "openai-organization"}) {
            INFO(name);
            CHECK(!has_header(last, name));
        }
        CHECK(last.find(std::string(test_key)) == std::string::npos);
        CHECK(last.find("do-not-forward") == std::string::npos);

        auto s = m.stats();
        CHECK(s.openai_requests == 1);
        CHECK(s.openai_rejected == 0);
        CHECK(s.rejected_signatures == 0);
        CHECK(s.chat == 0);  // not the native API
        if (a == auth::iam) {
            CHECK(s.openai_signed == 1);
            CHECK(s.openai_bearer == 0);
        } else {
            CHECK(s.openai_bearer == 1);
            CHECK(s.openai_signed == 0);
        }
        // Responses non-stream: the same forwarding on its own path.
        const std::string rsent = R"({"input":"hello responses","model":"gpt-oss","store":true})";
        auto rr = c.request("POST", responses_path, rsent, 15s);
        INFO(printable(rr.body, 3000));
        CHECK(rr.status == 200);
        CHECK(json_string(rr.body, "/object") == "response");
        const std::string rlast = last_answered(m, rr.body);
        CHECK(json_string(rlast, "/target") == "/openai/v1/responses");
        CHECK(json_string(rlast, "/body") ==
              R"({"input":"hello responses","model":"openai.gpt-oss-120b","store":true})");
        CHECK(json_string(rlast, "/answer") == rr.body);
        check_upstream_headers(rlast, a, project);
        // The GenAI API key is a secret: never in the daemon's log.
        CHECK(d.captured_stderr().find(std::string(genai_key)) == std::string::npos);
    }
}

TEST_CASE("openai route: streams are relayed byte for byte and chunked in both auth modes",
          "[e2e][openai]")
{
    for (auth a : {auth::iam, auth::genai_key}) {
        INFO(name_of(a));
        e2e_stack stack(openai_options(a), mock_args());
        auto& [m, d, c] = stack;
        const std::vector<std::pair<std::string_view, std::string>> streams{
            {chat_path, chat_body("gpt-oss", "stream me please", true,
                                  R"("stream_options":{"include_usage":true})")},
            {responses_path, responses_body("gpt-oss", "stream the response please", true)}};
        for (const auto& [path, body] : streams) {
            INFO(path);
            const auto start = steady::now();
            auto r = c.request("POST", path, body, 15s);
            INFO(printable(r.body, 4000));
            REQUIRE(r.status == 200);
            CHECK(r.chunked);
            CHECK(r.complete);
            CHECK(seconds_since(start) < 5.0);
            CHECK(r.header("content-type").value_or("").starts_with("text/event-stream"));
            CHECK(!r.header("content-encoding").has_value());
            auto events = r.sse_data();
            REQUIRE(events.size() >= 3);
            if (path == chat_path) {
                CHECK(events.back() == "[DONE]");
                CHECK(json_string(events.front(), "/object") == "chat.completion.chunk");
            } else {
                CHECK(json_string(events.front(), "/type") == "response.created");
                CHECK(json_string(events.back(), "/type") == "response.completed");
            }
            const std::string last = last_answered(m, r.body);
            INFO(printable(last, 4000));
            CHECK(json_string(last, "/target") == "/openai/v1" + std::string(path.substr(3)));
            CHECK(json_string(last, "/answer") == r.body);  // de-chunked bytes = the mock's bytes
            CHECK(header_of(last, "accept-encoding") == "identity");
            check_upstream_headers(last, a, project);
        }
        CHECK(m.stats().openai_rejected == 0);
    }
}

TEST_CASE(
    "openai route: a slow stream arrives as sent and a client disconnect closes the upstream "
    "connection within 1 s",
    "[e2e][openai][b6]")
{
    e2e_stack stack(openai_options(auth::iam), mock_args({"--token-delay-ms", "60"}));
    auto& [m, d, c] = stack;
    {
        http_client slow(d.port());
        slow.send_request("POST", chat_path, chat_body("gpt-oss", long_prompt, true));
        auto part = slow.read_head_and_chunks(2, 10s);
        REQUIRE(part.status == 200);
        REQUIRE(m.stats().open_used == 1);
    }  // the client closes mid-stream
    const auto closed_at = steady::now();
    auto s = m.wait_stats([](const mock_stats& st) { return st.open_used == 0; }, 5s);
    const double took = seconds_since(closed_at);
    INFO("upstream closed " << took << " s after the client");
    CHECK(s.open_used == 0);
    CHECK(took < 1.5);
    CHECK(s.closed_by_client == 1);

    // Relayed as it arrives, not buffered: the chunks spread over the mock's pacing.
    auto r = c.request("POST", chat_path,
                       chat_body("gpt-oss", "a short prompt of several words", true), 20s);
    INFO(printable(r.body, 3000));
    REQUIRE(r.status == 200);
    CHECK(r.complete);
    REQUIRE(r.arrivals.size() >= 5);
    CHECK(r.arrivals.back() - r.arrivals.front() >= 0.25);
    CHECK(json_string(last_answered(m, r.body), "/answer") == r.body);
}

TEST_CASE(
    "openai route: a stalled upstream stream ends at the idle deadline and its upstream connection "
    "is closed",
    "[e2e][openai][b6]")
{
    auto o = openai_options(auth::genai_key);
    o.upstream_stream_idle = "1s";
    e2e_stack stack(o, mock_args());
    auto& [m, d, c] = stack;
    auto [r, took] =
        timed_request(c, "POST", chat_path, chat_body("gpt-stall", long_prompt, true), 10s);
    INFO(printable(r.body, 3000) << " after " << took << " s");
    REQUIRE(r.status == 200);
    check_window(took, {0.9, 4.0}, "stream ended after");
    CHECK(r.body.find("[DONE]") == std::string::npos);  // not made to look complete
    CHECK(wait_used_closed(m, 3s) == 0);
}

TEST_CASE(
    "openai route: gzip and zstd answers are decoded (stream and not) and the client's answer is "
    "never compressed",
    "[e2e][openai]")
{
    e2e_stack stack(openai_options(auth::genai_key), mock_args());
    auto& [m, d, c] = stack;
    // Asked for identity, the mock does not compress an ordinary model.
    auto plain = c.request("POST", chat_path, chat_body("gpt-oss", "plain"), 15s, true,
                           "Accept-Encoding: gzip, zstd\r\n");
    REQUIRE(plain.status == 200);
    CHECK(!plain.header("content-encoding").has_value());
    CHECK(header_of(m.openai_last(), "accept-encoding") == "identity");
    CHECK(m.stats().openai_compressed == 0);
    std::uint64_t compressed = 0;
    for (std::string model : {"gpt-gzip", "gpt-zstd"}) {
        for (bool stream : {false, true}) {
            INFO(model << (stream ? " stream" : " non-stream"));
            auto r = c.request("POST", chat_path, chat_body(model, "squeeze me", stream), 15s, true,
                               "Accept-Encoding: gzip, deflate, br, zstd\r\n");
            INFO(printable(r.body, 3000));
            REQUIRE(r.status == 200);
            CHECK(!r.header("content-encoding").has_value());
            CHECK(r.complete);
            CHECK(r.chunked == stream);
            if (stream) {
                CHECK(r.sse_data().back() == "[DONE]");
            } else {
                CHECK(json_string(r.body, "/object") == "chat.completion");
            }
            // The answer before compression, as the mock recorded it.
            CHECK(json_string(last_answered(m, r.body), "/answer") == r.body);
            CHECK(m.stats().openai_compressed == ++compressed);
        }
    }
}

TEST_CASE(
    "openai route: a JSON upstream error is relayed unchanged (429 after the retries) and a "
    "non-JSON 500 becomes an OpenAI error",
    "[e2e][openai][errors]")
{
    e2e_stack stack(openai_options(auth::iam), mock_args());
    auto& [m, d, c] = stack;
    const auto before = m.stats().openai_requests;
    const auto start = steady::now();
    auto r = c.request("POST", chat_path, chat_body("gpt-429", "x"), 20s);
    const double took = seconds_since(start);
    INFO(printable(r.body) << " after " << took << " s");
    CHECK(r.status == 429);
    CHECK(r.header("retry-after").has_value());
    CHECK(r.header("content-type").value_or("").starts_with("application/json"));
    CHECK(is_openai_error(r.body));
    const std::string last = m.openai_last();
    CHECK(json_int(last, "/status") == 429);
    CHECK(json_string(last, "/answer") == r.body);  // OCI's own error, unchanged
    // The native route's retry rule: two retries after Retry-After: 1 each.
    CHECK(m.stats().openai_requests - before == 3);
    CHECK(took >= 1.9);
    CHECK(took < 10.0);

    for (bool stream : {false, true}) {
        INFO((stream ? "stream" : "non-stream"));
        auto e = c.request("POST", chat_path, chat_body("gpt-500", "x", stream), 15s);
        INFO(printable(e.body));
        CHECK(e.status == 500);  // status kept
        CHECK(e.header("content-type").value_or("").starts_with("application/json"));
        CHECK(is_openai_error(e.body));
        const std::string l = m.openai_last();
        CHECK(json_int(l, "/status") == 500);
        CHECK(json_ok(json_string(l, "/answer")) == false);  // the mock's body was not JSON
        CHECK(e.body != json_string(l, "/answer"));
    }
    CHECK(m.stats().openai_rejected == 0);
}

TEST_CASE("openai route: without oci.project_id the stateful paths answer 404 naming it",
          "[e2e][openai]")
{
    for (auth a : {auth::iam, auth::genai_key}) {
        INFO(name_of(a));
        e2e_stack stack(openai_options(a, false), mock_args());
        auto& [m, d, c] = stack;
        // Inference still works: IAM with the alias' own project, the key without any.
        auto ok = c.request("POST", chat_path, chat_body("gpt-oss", "no project"), 15s);
        INFO(printable(ok.body));
        REQUIRE(ok.status == 200);
        check_upstream_headers(last_answered(m, ok.body), a,
                               a == auth::iam ? alias_project : std::string_view{});
        const auto before = m.stats().openai_requests;
        for (auto [method, path, body] :
             std::vector<std::tuple<std::string, std::string, std::string>>{
                 {"GET", "/v1/responses/resp_0123abcd", ""},
                 {"DELETE", "/v1/responses/resp_0123abcd", ""},
                 {"GET", "/v1/responses/resp_0123abcd/input_items", ""},
                 {"POST", "/v1/conversations", "{}"},
                 {"GET", "/v1/conversations/conv_1", ""},
                 {"GET", "/v1/files", ""},
                 {"GET", "/v1/files/file-1/content", ""},
                 {"POST", "/v1/vector_stores", R"({"name":"x"})"},
                 {"GET", "/v1/vector_stores", ""}}) {
            INFO(method << " " << path);
            auto r = c.request(method, path, body, 10s);
            INFO(printable(r.body));
            CHECK(r.status == 404);
            CHECK(is_openai_error(r.body));
            CHECK(json_string(r.body, "/error/message").find("oci.project_id") !=
                  std::string::npos);
        }
        CHECK(m.stats().openai_requests == before);  // none reached OCI
    }
}

TEST_CASE(
    "openai route: with oci.project_id the stateful paths (responses files conversations vector "
    "stores) are forwarded in both auth modes",
    "[e2e][openai]")
{
    for (auth a : {auth::iam, auth::genai_key}) {
        INFO(name_of(a));
        e2e_stack stack(openai_options(a), mock_args());
        auto& [m, d, c] = stack;
        auto expect = [&](std::string_view method, std::string_view path, std::string_view body,
                          int status, std::string_view upstream_target) {
            auto r = c.request(method, path, body, 15s);
            INFO(method << " " << path << " -> " << printable(r.body, 2000));
            CHECK(r.status == status);
            CHECK(!r.header("content-encoding").has_value());
            const std::string last = last_answered(m, r.body);
            INFO(printable(last, 3000));
            CHECK(json_string(last, "/method") == method);
            CHECK(json_string(last, "/target") == upstream_target);
            CHECK(json_string(last, "/answer") == r.body);
            check_upstream_headers(last, a, project);
            return r;
        };

        // Responses: create, retrieve, input items, a second turn, delete.
        auto first = expect("POST", responses_path, responses_body("gpt-oss", "first turn"), 200,
                            "/openai/v1/responses");
        const std::string id = json_string(first.body, "/id");
        REQUIRE(!id.empty());
        auto got = expect("GET", "/v1/responses/" + id, "", 200, "/openai/v1/responses/" + id);
        CHECK(json_string(got.body, "/id") == id);
        expect("GET", "/v1/responses/" + id + "/input_items?limit=5", "", 200,
               "/openai/v1/responses/" + id + "/input_items?limit=5");
        auto second = expect("POST", responses_path,
                             responses_body("gpt-oss", "second turn", false,
                                            R"("previous_response_id":")" + id + "\""),
                             200, "/openai/v1/responses");
        CHECK(second.body.find("turn 2") != std::string::npos);
        auto unknown = expect(
            "POST", responses_path,
            responses_body("gpt-oss", "x", false, R"("previous_response_id":"resp_unknown")"), 404,
            "/openai/v1/responses");
        CHECK(json_string(unknown.body, "/error/code") == "previous_response_not_found");
        expect("DELETE", "/v1/responses/" + id, "", 200, "/openai/v1/responses/" + id);
        auto gone = expect("GET", "/v1/responses/" + id, "", 404, "/openai/v1/responses/" + id);
        CHECK(is_openai_error(gone.body));

        // Files: a multipart upload forwarded as sent, list, retrieve, content, delete.
        const std::string content = std::string("line one\nline two\n") + '\x01' + '\x00' +
                                    "\xff\xfe binary tail\r\n--not-a-boundary\r\n";
        const std::string boundary = "----e2eBoundary7MA4YWxkTrZu0gW";
        const std::string multipart =
            "--" + boundary +
            "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants\r\n--" +
            boundary +
            "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" +
            content + "\r\n--" + boundary + "--\r\n";
        c.send_bytes(raw_request("POST", "/v1/files", "multipart/form-data; boundary=" + boundary,
                                 multipart));
        auto up = c.read_response(15s);
        INFO(printable(up.body, 2000));
        INFO("the mock got: " << printable(m.openai_last(), 2000));
        REQUIRE(up.status == 200);
        const std::string file_id = json_string(up.body, "/id");
        REQUIRE(!file_id.empty());
        {
            const std::string last = last_answered(m, up.body);
            INFO(printable(last, 3000));
            CHECK(json_string(last, "/target") == "/openai/v1/files");
            CHECK(header_of(last, "content-type") == "multipart/form-data; boundary=" + boundary);
            CHECK(json_string(last, "/body_sha256") == sha256_hex(multipart));
            CHECK(json_int(last, "/body_bytes") == static_cast<long long>(multipart.size()));
            check_upstream_headers(last, a, project);
        }
        auto list = expect("GET", "/v1/files?limit=2&purpose=assistants", "", 200,
                           "/openai/v1/files?limit=2&purpose=assistants");
        CHECK(list.body.find(file_id) != std::string::npos);
        auto meta = expect("GET", "/v1/files/" + file_id, "", 200, "/openai/v1/files/" + file_id);
        CHECK(json_string(meta.body, "/filename") == "notes.txt");
        CHECK(json_int(meta.body, "/bytes") == static_cast<long long>(content.size()));
        auto bytes = c.request("GET", "/v1/files/" + file_id + "/content", {}, 15s);
        CHECK(bytes.status == 200);
        CHECK(bytes.body == content);  // byte for byte
        CHECK(!bytes.header("content-encoding").has_value());
        CHECK(json_string(m.openai_last(), "/target") ==
              "/openai/v1/files/" + file_id + "/content");
        expect("DELETE", "/v1/files/" + file_id, "", 200, "/openai/v1/files/" + file_id);
        expect("GET", "/v1/files/" + file_id, "", 404, "/openai/v1/files/" + file_id);

        // Conversations: create, retrieve, update, delete.
        auto conv = expect("POST", "/v1/conversations", R"({"metadata":{"topic":"e2e"}})", 200,
                           "/openai/v1/conversations");
        const std::string conv_id = json_string(conv.body, "/id");
        REQUIRE(!conv_id.empty());
        auto conv_got = expect("GET", "/v1/conversations/" + conv_id, "", 200,
                               "/openai/v1/conversations/" + conv_id);
        CHECK(json_string(conv_got.body, "/metadata/topic") == "e2e");
        auto updated =
            expect("POST", "/v1/conversations/" + conv_id, R"({"metadata":{"topic":"changed"}})",
                   200, "/openai/v1/conversations/" + conv_id);
        CHECK(json_string(updated.body, "/metadata/topic") == "changed");
        expect("DELETE", "/v1/conversations/" + conv_id, "", 200,
               "/openai/v1/conversations/" + conv_id);

        // Vector stores: create, list, retrieve, delete.
        auto vs = expect("POST", "/v1/vector_stores", R"({"name":"e2e store"})", 200,
                         "/openai/v1/vector_stores");
        const std::string vs_id = json_string(vs.body, "/id");
        REQUIRE(!vs_id.empty());
        auto vs_list = expect("GET", "/v1/vector_stores", "", 200, "/openai/v1/vector_stores");
        CHECK(vs_list.body.find(vs_id) != std::string::npos);
        auto vs_got = expect("GET", "/v1/vector_stores/" + vs_id, "", 200,
                             "/openai/v1/vector_stores/" + vs_id);
        CHECK(json_string(vs_got.body, "/name") == "e2e store");
        expect("DELETE", "/v1/vector_stores/" + vs_id, "", 200,
               "/openai/v1/vector_stores/" + vs_id);

        auto s = m.stats();
        CHECK(s.openai_rejected == 0);
        CHECK((a == auth::iam ? s.openai_bearer : s.openai_signed) == 0);
    }
}

TEST_CASE(
    "openai route: one daemon serves native and openai-route aliases and refuses embeddings on an "
    "openai alias",
    "[e2e][openai]")
{
    e2e_stack stack(openai_options(auth::iam), mock_args());
    auto& [m, d, c] = stack;
    auto native = c.request("POST", chat_path, chat_body("gpt-4o-mini", "native hi"), 15s);
    INFO(printable(native.body));
    REQUIRE(native.status == 200);
    CHECK(chat_content(native.body) == "Hello from the OCI mock. You said: native hi");
    CHECK(json_string(native.body, "/model") == "gpt-4o-mini");
    auto cohere = c.request("POST", chat_path, chat_body("command-r-plus", "cohere hi"), 15s);
    CHECK(cohere.status == 200);
    auto s = m.stats();
    CHECK(s.chat == 2);
    CHECK(s.openai_requests == 0);

    auto routed = c.request("POST", chat_path, chat_body("gpt-oss", "openai hi"), 15s);
    INFO(printable(routed.body));
    REQUIRE(routed.status == 200);
    CHECK(json_string(routed.body, "/model") == "openai.gpt-oss-120b");
    s = m.stats();
    CHECK(s.chat == 2);
    CHECK(s.openai_requests == 1);

    // Embeddings stay native: an openai-route alias is refused before OCI.
    auto e = c.request("POST", "/v1/embeddings", R"({"model":"gpt-oss","input":"x"})", 10s);
    INFO(printable(e.body));
    CHECK(e.status == 400);
    CHECK(is_openai_error(e.body));
    auto emb = c.request("POST", "/v1/embeddings",
                         R"({"model":"text-embedding-3-small","input":"x"})", 10s);
    CHECK(emb.status == 200);
    s = m.stats();
    CHECK(s.openai_requests == 1);
    CHECK(s.embed == 1);

    // The models list names both kinds of alias.
    auto models = c.request("GET", "/v1/models", {}, 10s);
    REQUIRE(models.status == 200);
    for (auto name : {"\"gpt-oss\"", "\"gpt-4o-mini\"", "\"command-r-plus\"", "\"gpt-zstd\""}) {
        INFO(name);
        CHECK(models.body.find(name) != std::string::npos);
    }
    CHECK(s.rejected_signatures == 0);
    CHECK(s.openai_rejected == 0);
}
