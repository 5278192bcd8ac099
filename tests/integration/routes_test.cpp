// Routing, client authentication, request ids and connection persistence of the real daemon:
// health endpoints, client keys on the OpenAI routes, 401/404/405 bodies, keep-alive rules and
// the per-connection request cap. What the API handlers answer is not asserted here (only that
// a request reached them); the OCI stand-ins are closed loopback ports.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <optional>
#include <set>
#include <string>

#include "support/daemon.hpp"
#include "support/http.hpp"
#include "support/http_checks.hpp"
#include "support/json.hpp"
#include "support/net.hpp"

using namespace ogp::test;

namespace {

// Sends one request on a fresh connection and returns its response (required).
http_response one(const daemon_process& d, const std::string& request, bool head = false)
{
    raw_client c(d.port());
    REQUIRE(c.send(request));
    auto r = c.read_response(3s, head);
    REQUIRE(r);
    return *r;
}

bool is_json(const std::string& body)
{
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    return !doc.HasParseError() && doc.IsObject();
}

std::string error_code_of(const std::string& body)
{
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error") ||
        !doc["error"].IsObject() || !doc["error"].HasMember("code") ||
        !doc["error"]["code"].IsString()) {
        return {};
    }
    return doc["error"]["code"].GetString();
}

}  // namespace

TEST_CASE("healthz answers 200 and readyz becomes 200, without a key", "[routes]")
{
    daemon_process d;
    auto h = one(d, get_request("/healthz"));
    CHECK(h.status == 200);
    CHECK(h.body == R"({"status":"ok"})");
    CHECK(h.header("content-type") == std::string("application/json"));
    CHECK(h.header("content-length") == std::to_string(h.body.size()));
    CHECK(h.header("date").has_value());
    CHECK(h.header("x-request-id").has_value());
    // Ready once the (local) credentials are loaded; until then 503 with an OpenAI error.
    std::optional<http_response> ready;
    const auto deadline = steady::now() + 5s;
    while (steady::now() < deadline) {
        auto r = one(d, get_request("/readyz"));
        if (r.status == 200) {
            ready = r;
            break;
        }
        CHECK(r.status == 503);
        CHECK(is_openai_error(r.body));
        CHECK(r.header("retry-after").has_value());
        std::this_thread::sleep_for(20ms);
    }
    REQUIRE(ready);
    CHECK(ready->body.find("ready") != std::string::npos);
    // One trailing slash and a query string are tolerated.
    CHECK(one(d, get_request("/healthz/")).status == 200);
    CHECK(one(d, get_request("/healthz?probe=1")).status == 200);
}

TEST_CASE("HEAD is GET without a body", "[routes]")
{
    daemon_process d;
    raw_client c(d.port());
    REQUIRE(c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/healthz")));
    auto h = c.read_response(3s, true);
    REQUIRE(h);
    CHECK(h->status == 200);
    CHECK(h->header("content-length") == std::string("15"));
    // If HEAD had sent a body, it would be parsed as the next status line here.
    auto g = c.read_response();
    REQUIRE(g);
    CHECK(g->status == 200);
    CHECK(g->body == R"({"status":"ok"})");
}

TEST_CASE("API routes require a Bearer key: 401 invalid_api_key", "[routes][auth]")
{
    daemon_process d({.api_keys = {"test-key-1", "second-key"}});
    const std::string chat = R"({"model":"m","messages":[]})";
    auto req = [&](std::string_view auth) {
        std::string r = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n";
        r += auth;
        r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(chat.size()) +
             "\r\n\r\n" + chat;
        return r;
    };
    for (const char* auth :
         {"", "Authorization: \r\n", "Authorization: Bearer\r\n",
          "Authorization: Bearer wrong-key\r\n", "Authorization: Basic dGVzdC1rZXktMTo=\r\n",
          "Authorization: Bearer test-key-1x\r\n", "Authorization: Bearer  test-key-1\r\n",
          "Authorization: Bearer TEST-KEY-1\r\n", "Authorization: test-key-1\r\n"}) {
        INFO("auth line: " << printable(auth));
        raw_client c(d.port());
        REQUIRE(c.send(req(auth)));
        // The body was not read, so the connection cannot be reused.
        auto r = expect_refused_and_closed(c, {401});
        CHECK(error_code_of(r.body) == "invalid_api_key");
        CHECK(is_openai_error(r.body));
        CHECK(r.header("www-authenticate") == std::string("Bearer"));
    }
    // Both keys work; the scheme is case-insensitive.
    for (const char* auth :
         {"Authorization: Bearer test-key-1\r\n", "Authorization: bearer second-key\r\n",
          "authorization: BEARER test-key-1\r\n"}) {
        INFO("auth line: " << printable(auth));
        auto r = one(d, req(auth));
        CHECK(r.status != 401);
        CHECK(error_code_of(r.body) != "invalid_api_key");
    }
    // Keys never appear in the logs (checked once the daemon has written everything).
    d.stop(SIGTERM);
    REQUIRE(d.wait_exit(5s));
    CHECK(d.captured_stderr().find("test-key-1") == std::string::npos);
    CHECK(d.captured_stderr().find("second-key") == std::string::npos);
}

TEST_CASE("A refused request's unread body is never parsed as a request", "[routes][smuggling]")
{
    daemon_process d;
    // The "body" of an unauthenticated POST is a complete request; it must not be answered.
    const std::string inner = get_request("/healthz");
    raw_client c(d.port());
    REQUIRE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                   std::to_string(inner.size()) + "\r\n\r\n" + inner));
    expect_refused_and_closed(c, {401});
    // Same for an unknown path with a body.
    raw_client c2(d.port());
    REQUIRE(c2.send("POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                    std::to_string(inner.size()) + "\r\n\r\n" + inner));
    expect_refused_and_closed(c2, {404});
}

TEST_CASE("With a valid key the OpenAI routes reach their handlers and answer JSON", "[routes]")
{
    daemon_process d;
    for (const char* path : {"/v1/chat/completions", "/v1/embeddings"}) {
        INFO(path);
        // An incomplete request: its handler answers without calling OCI.
        raw_client c(d.port());
        auto r = check_accepted(c, post_request(path, "{}"));
        REQUIRE(r);
        CHECK(r->status != 401);
        CHECK(is_json(r->body));
        CHECK(r->header("content-type") == std::string("application/json"));
        CHECK(r->header("x-request-id").has_value());
    }
    raw_client c(d.port());
    auto m = check_accepted(c, get_request("/v1/models", "Authorization: Bearer test-key-1\r\n"));
    REQUIRE(m);
    CHECK(m->status != 401);
    CHECK(is_json(m->body));
    auto unauth = one(d, get_request("/v1/models"));
    CHECK(unauth.status == 401);
}

TEST_CASE("allow_anonymous without keys lets clients in", "[routes][auth]")
{
    daemon_config cfg;
    cfg.api_keys.clear();
    cfg.allow_anonymous = true;
    daemon_process d(cfg);
    auto r = one(d, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    CHECK(r.status != 401);
    CHECK(error_code_of(r.body) != "invalid_api_key");
    CHECK(d.captured_stderr().find("allow_anonymous") != std::string::npos);  // warned
}

TEST_CASE("Unknown paths are 404, wrong methods 405 with Allow", "[routes]")
{
    daemon_process d;
    auto nf = one(d, get_request("/v2/chat/completions"));
    CHECK(nf.status == 404);
    CHECK(is_openai_error(nf.body));
    CHECK_FALSE(nf.connection_close());  // no body: the connection stays usable
    CHECK(one(d, get_request("/")).status == 404);
    CHECK(one(d, get_request("/v1/chat/completions/extra")).status == 404);

    auto chat_get = one(d, get_request("/v1/chat/completions"));
    CHECK(chat_get.status == 405);
    CHECK(chat_get.header("allow") == std::string("POST"));
    CHECK(is_openai_error(chat_get.body));
    CHECK(error_code_of(chat_get.body) == "method_not_allowed");

    auto models_post = one(d, post_request("/v1/models", "{}"));
    CHECK(models_post.status == 405);
    CHECK(models_post.header("allow") == std::string("GET, HEAD"));
    CHECK(models_post.connection_close());  // its body was not read

    auto health_delete = one(d, "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(health_delete.status == 405);
    CHECK(health_delete.header("allow") == std::string("GET, HEAD"));
    // Method names are case-sensitive.
    CHECK(one(d, "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 405);
}

TEST_CASE("x-request-id: a valid one is echoed, others are replaced", "[routes]")
{
    daemon_process d;
    auto echoed = one(d, get_request("/healthz", "X-Request-Id: abc-123_x.y:z\r\n"));
    CHECK(echoed.header("x-request-id") == std::string("abc-123_x.y:z"));
    // Also on errors.
    auto err = one(d, get_request("/nope", "X-Request-Id: trace-404\r\n"));
    CHECK(err.header("x-request-id") == std::string("trace-404"));

    std::set<std::string> generated;
    for (const char* bad :
         {"X-Request-Id: <script>\r\n", "X-Request-Id: a b\r\n", "", "X-Request-Id: \r\n"}) {
        INFO("header: " << printable(bad));
        auto r = one(d, get_request("/healthz", bad));
        auto id = r.header("x-request-id");
        REQUIRE(id);
        CHECK_FALSE(id->empty());
        CHECK(id->find('<') == std::string::npos);
        CHECK(id->find(' ') == std::string::npos);
        generated.insert(*id);
    }
    CHECK(generated.size() == 4);  // fresh for every request
    auto long_id =
        one(d, get_request("/healthz", "X-Request-Id: " + std::string(200, 'a') + "\r\n"));
    CHECK(long_id.header("x-request-id") != std::string(200, 'a'));
}

TEST_CASE("Keep-alive: HTTP/1.1 persists, Connection: close and HTTP/1.0 close", "[routes]")
{
    daemon_process d;
    {
        raw_client c(d.port());
        for (int i = 0; i < 3; ++i) {
            CHECK_FALSE(expect_ok(c).connection_close());
        }
    }
    {
        raw_client c(d.port());
        auto r = expect_ok(c, get_request("/healthz", "Connection: close\r\n") + get_request());
        CHECK(r.connection_close());
        CHECK(c.is_closed(2s));  // the pipelined second request is not answered
    }
    {
        raw_client c(d.port());
        expect_ok(c, "GET /healthz HTTP/1.0\r\n\r\n");
        CHECK(c.is_closed(2s));
    }
    {
        raw_client c(d.port());
        CHECK_FALSE(expect_ok(c, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                        .connection_close());
        expect_ok(c, "GET /healthz?2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    }
}

TEST_CASE("max_requests_per_connection: the last allowed response closes", "[routes][limits]")
{
    daemon_process d({.max_requests_per_connection = 2});
    raw_client c(d.port());
    REQUIRE(c.send(get_request() + get_request() + get_request()));
    auto r1 = c.read_response();
    REQUIRE(r1);
    CHECK_FALSE(r1->connection_close());
    auto r2 = c.read_response();
    REQUIRE(r2);
    CHECK(r2->status == 200);
    CHECK(r2->connection_close());
    CHECK(c.is_closed(2s));
}

TEST_CASE("Leading empty lines before a request line are ignored", "[routes]")
{
    daemon_process d;
    auto r = one(d, "\r\n\r\n" + get_request());
    CHECK(r.status == 200);
}

TEST_CASE("The access log records each request", "[routes]")
{
    daemon_process d;
    one(d, get_request("/healthz", "X-Request-Id: logged-id-1\r\n"));
    REQUIRE(d.wait_for_log("request_id=logged-id-1", 2s));
    auto log = d.captured_stderr();
    auto line_start = log.rfind('\n', log.find("request_id=logged-id-1"));
    auto line = log.substr(line_start + 1, log.find('\n', line_start + 1) - line_start - 1);
    CHECK(line.find("method=GET") != std::string::npos);
    CHECK(line.find("path=/healthz") != std::string::npos);
    CHECK(line.find("status=200") != std::string::npos);
}

TEST_CASE("A request followed by a half-close is still answered", "[routes]")
{
    daemon_process d;
    raw_client c(d.port());
    REQUIRE(c.send(get_request("/healthz") + get_request("/healthz?2")));
    c.shutdown_write();
    auto r1 = c.read_response();
    REQUIRE(r1);
    CHECK(r1->status == 200);
    auto r2 = c.read_response();
    REQUIRE(r2);
    CHECK(r2->status == 200);
    CHECK(c.is_closed(2s));  // closed once the daemon reads EOF, long before keep-alive idle
}

TEST_CASE("A 401 without a request body keeps the connection usable", "[routes][auth]")
{
    daemon_process d;
    raw_client c(d.port());
    REQUIRE(c.send(get_request("/v1/models")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK_FALSE(r->connection_close());
    REQUIRE(c.send(get_request("/v1/models", "Authorization: Bearer test-key-1\r\n")));
    auto r2 = c.read_response();
    REQUIRE(r2);
    CHECK(r2->status != 401);
}

TEST_CASE("GET /v1/models/{id}: the client key is required, a model or 404 model_not_found",
          "[routes][models]")
{
    daemon_config cfg;
    cfg.extra =
        "models:\n  - name: my-model\n    id: meta.llama-3.3-70b-instruct\n"
        "  - name: org/with:colon\n    id: cohere.command-r-08-2024\n";
    daemon_process d(cfg);
    const std::string key = "Authorization: Bearer test-key-1\r\n";
    CHECK(one(d, get_request("/v1/models/my-model")).status == 401);
    auto ok = one(d, get_request("/v1/models/my-model", key));
    INFO(ok.body);
    REQUIRE(ok.status == 200);
    CHECK(ok.body.find(R"("id":"my-model")") != std::string::npos);
    CHECK(ok.body.find(R"("object":"model")") != std::string::npos);
    CHECK(ok.body.find(R"("owned_by":"meta")") != std::string::npos);
    // An id with `/` and `:`, encoded (as the OpenAI SDKs send it) or not.
    for (const char* path : {"/v1/models/org%2Fwith%3Acolon", "/v1/models/org/with:colon"}) {
        INFO(path);
        auto r = one(d, get_request(path, key));
        CHECK(r.status == 200);
        CHECK(r.body.find(R"("id":"org/with:colon")") != std::string::npos);
    }
    auto missing = one(d, get_request("/v1/models/gpt-5", key));
    CHECK(missing.status == 404);
    CHECK(is_openai_error(missing.body));
    CHECK(error_code_of(missing.body) == "model_not_found");
    CHECK(missing.body.find(R"("param":"model")") != std::string::npos);
    auto post = one(d, post_request("/v1/models/my-model", "{}"));
    CHECK(post.status == 405);
    CHECK(post.header("allow") == std::string("GET, HEAD"));
}
