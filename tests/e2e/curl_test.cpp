// curl against the daemon backed by oci-genai-mock, as a user would try it: a chat completion,
// a stream with `curl -N`, and the error answers.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/curl.hpp"
#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

// curl that must exit 0 (every request here gets an HTTP answer).
curl_run curl(const std::vector<std::string>& args)
{
    auto r = run_curl(args);
    INFO("curl stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    return r;
}

std::vector<std::string> post(const proxy& d, const std::string& path, const std::string& body,
                              const std::string& key = std::string(test_key))
{
    return {"-H",
            "Authorization: Bearer " + key,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            d.base_url() + path};
}

}  // namespace

TEST_CASE("curl: chat completion", "[e2e][curl]")
{
    mock m;
    proxy d(m);
    auto r = curl(post(d, "/chat/completions", chat_body("gpt-4o-mini", "hello curl")));
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(chat_content(r.body) == "Hello from the OCI mock. You said: hello curl");
    CHECK(json_string(r.body, "/choices/0/finish_reason") == "stop");
    // GET /v1/models with curl too.
    auto models =
        curl({"-H", "Authorization: Bearer " + std::string(test_key), d.base_url() + "/models"});
    CHECK(models.status == 200);
    CHECK(models.body.find("\"gpt-4o-mini\"") != std::string::npos);
}

TEST_CASE("curl -N: streamed chat completion", "[e2e][curl]")
{
    mock m;
    proxy d(m);
    auto args = post(d, "/chat/completions", chat_body("command-r-plus", "stream for curl", true));
    args.insert(args.begin(), "-N");
    args.insert(args.begin(), "-i");  // with the response head
    auto r = curl(args);
    INFO(printable(r.body, 3000));
    CHECK(r.status == 200);
    CHECK(r.seconds < 10.0);  // curl saw the end of the body: no hang on OCI's open stream
    const auto head_end = r.body.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    const std::string head = r.body.substr(0, head_end);
    CHECK(head.find("Content-Type: text/event-stream") != std::string::npos);
    CHECK(head.find("Transfer-Encoding: chunked") != std::string::npos);
    http_response parsed;
    parsed.body = r.body.substr(head_end + 4);
    auto events = parsed.sse_data();
    REQUIRE(events.size() >= 3);
    CHECK(events.back() == "[DONE]");
    CHECK(stream_content(events) == "Hello from the OCI mock. You said: stream for curl");
}

TEST_CASE("curl: error answers are OpenAI errors", "[e2e][curl][errors]")
{
    mock m;
    proxy d(m);
    auto wrong_key = curl(post(d, "/chat/completions", chat_body("gpt-4o-mini", "x"), "sk-wrong"));
    CHECK(wrong_key.status == 401);
    CHECK(json_string(wrong_key.body, "/error/type") == "invalid_request_error");
    CHECK(json_string(wrong_key.body, "/error/code") == "invalid_api_key");

    auto unknown = curl(post(d, "/chat/completions", chat_body("meta.unknown-x", "x")));
    CHECK(unknown.status == 404);
    CHECK(json_string(unknown.body, "/error/code") == "model_not_found");

    auto limited = curl({"-i", "-H", "Authorization: Bearer " + std::string(test_key), "-H",
                         "Content-Type: application/json", "-d", chat_body("meta.mock-429", "x"),
                         d.base_url() + "/chat/completions"});
    CHECK(limited.status == 429);
    CHECK(limited.body.find("\r\nRetry-After: ") != std::string::npos);
    CHECK(limited.body.find("rate_limit_exceeded") != std::string::npos);

    auto bad_json = curl(post(d, "/chat/completions", "{not json"));
    CHECK(bad_json.status == 400);
    CHECK(!json_string(bad_json.body, "/error/message").empty());

    // Nothing reached OCI for the refused requests (the 429 was tried 3 times).
    auto s = m.stats();
    CHECK(s.requests == 4);
    CHECK(s.rejected_signatures == 0);
}
