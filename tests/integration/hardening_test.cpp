// Hardening of the front end against cheap resource abuse (issue 10): bodies nobody needs are
// never buffered, idle connections cannot lock new clients out, repeated warnings are rate
// limited, every request leaves one access-log line, a second Authorization is refused, and
// the unauthenticated /readyz tells clients nothing beyond "not ready".
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/daemon.hpp"
#include "support/http.hpp"
#include "support/http_checks.hpp"
#include "support/json.hpp"
#include "support/net.hpp"

using namespace ogp::test;

namespace {

std::size_t count_of(std::string_view text, std::string_view needle)
{
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + needle.size())) {
        ++n;
    }
    return n;
}

// The stderr line that contains `needle` (empty if none).
std::string log_line(const daemon_process& d, std::string_view needle)
{
    const auto log = d.captured_stderr();
    const auto at = log.find(needle);
    if (at == std::string::npos) {
        return {};
    }
    const auto begin = log.rfind('\n', at);
    const auto start = begin == std::string::npos ? 0 : begin + 1;
    return log.substr(start, log.find('\n', at) - start);
}

}  // namespace

TEST_CASE("Item 4: a large body on a route that takes none is refused unread", "[hardening]")
{
    // request_body 10 s: a body read would outlast every read below.
    daemon_process d({.request_body = "10", .max_body_bytes = "32MiB"});
    const std::string declared = "Content-Length: 33554432\r\n";
    const std::string auth = "Authorization: Bearer " + std::string(test_key) + "\r\n";
    for (const std::string target : {"/healthz", "/readyz", "/v1/models"}) {
        INFO(target);
        raw_client c(d.port());
        REQUIRE(c.send(get_request(target, declared + auth) + std::string(1000, 'b')));
        CHECK(is_openai_error(expect_refused_and_closed(c, {413}).body));
    }
    {
        raw_client c(d.port());
        REQUIRE(c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n" + declared + "\r\n"));
        expect_refused_and_closed(c, {413}, 3s, true);
    }
    // A chunked body is dropped only up to 64 KiB: a larger chunk is refused before its data.
    {
        raw_client c(d.port());
        REQUIRE(
            c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "10001\r\n"));
        expect_refused_and_closed(c, {413});
    }
    check_refused(d.port(),
                  "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n\r\n" +
                      std::string(65537, 'b'),
                  {413});
    // Up to 64 KiB is read and dropped: the connection stays in sync and usable.
    raw_client ok(d.port());
    check_accepted(ok, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n" +
                           std::string(65536, 'b'));
}

TEST_CASE("Item 4: a route that takes no body does not solicit one with 100 Continue",
          "[hardening]")
{
    daemon_process d;
    raw_client c(d.port());
    REQUIRE(
        c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 10\r\n\r\n"));
    auto r = c.read_response(3s);
    REQUIRE(r);
    CHECK(r->status == 200);  // the answer itself, not an interim 100
    CHECK(r->connection_close());
    CHECK(c.is_closed(2s));
}

TEST_CASE("Item 4: bodies of refused requests are not read, the connection closes", "[hardening]")
{
    daemon_process d({.request_body = "10", .max_body_bytes = "32MiB"});
    const std::string declared = "Content-Length: 33554432\r\n\r\n" + std::string(1000, 'b');
    for (const std::string head :
         {"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n",
          "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
          "Authorization: Bearer wrong\r\n",
          "POST /nope HTTP/1.1\r\nHost: x\r\n", "PUT /healthz HTTP/1.1\r\nHost: x\r\n"}) {
        INFO(printable(head));
        raw_client c(d.port());
        REQUIRE(c.send(head + declared));
        expect_refused_and_closed(c, {401, 404, 405});
    }
}

TEST_CASE("Item 5: at the connection cap the longest-idle connection makes room",
          "[hardening][concurrency]")
{
    daemon_process d({.keepalive_idle = "30", .max_connections = 3});
    std::vector<std::unique_ptr<raw_client>> idle;
    for (int i = 0; i < 3; ++i) {
        idle.push_back(idle_connection(d.port()));
        std::this_thread::sleep_for(50ms);  // distinct idle start times
    }
    // Without eviction each of these would be closed unanswered for 30 s. They stay open
    // (idle in turn), so that each one needs room.
    std::vector<std::unique_ptr<raw_client>> added;
    for (std::size_t i = 0; i < 6; ++i) {
        INFO("new connection " << i);
        added.push_back(std::make_unique<raw_client>(d.port()));
        REQUIRE(added.back()->send(get_request()));
        auto r = added.back()->read_response(3s);
        REQUIRE(r);
        CHECK(r->status == 200);
        // The one idle the longest was closed for it.
        CHECK((i < 3 ? idle[i] : added[i - 3])->is_closed(2s));
        std::this_thread::sleep_for(50ms);
    }
    CHECK(d.wait_for_log("connection limit reached", 2s));
}

TEST_CASE("Item 5: authenticated idle connections are closed after unauthenticated ones",
          "[hardening][concurrency]")
{
    daemon_process d({.keepalive_idle = "30", .max_connections = 3});
    // The oldest idle connection has authenticated.
    raw_client trusted(d.port());
    REQUIRE(trusted.send(post_request("/v1/embeddings", "{}")));
    auto tr = trusted.read_response(5s);
    REQUIRE(tr);
    REQUIRE(tr->status != 401);  // whatever the handler answers, as long as it authenticated
    REQUIRE_FALSE(tr->connection_close());
    std::this_thread::sleep_for(50ms);
    auto a = idle_connection(d.port());
    std::this_thread::sleep_for(50ms);
    auto b = idle_connection(d.port());
    std::this_thread::sleep_for(50ms);
    // Each newcomer is served and closes an unauthenticated idle connection (the newcomers
    // too, once they idle), never `trusted`.
    std::vector<std::unique_ptr<raw_client>> added;
    for (int i = 0; i < 4; ++i) {
        INFO("new connection " << i);
        added.push_back(idle_connection(d.port()));
        std::this_thread::sleep_for(50ms);
    }
    CHECK(a->is_closed(2s));
    CHECK(b->is_closed(2s));
    CHECK(added[0]->is_closed(2s));
    CHECK(added[1]->is_closed(2s));
    CHECK_FALSE(trusted.readable(200ms));
    expect_ok(trusted);
}

TEST_CASE("Item 5: near the connection cap idle connections get a short keep-alive deadline",
          "[hardening][timeouts]")
{
    daemon_process d({.keepalive_idle = "60", .max_connections = 4});
    // Spaced so that each goes idle before the next one connects.
    auto first = idle_connection(d.port());  // 1 of 4 open: the full 60 s
    std::this_thread::sleep_for(100ms);
    auto second = idle_connection(d.port());  // 2 of 4
    std::this_thread::sleep_for(100ms);
    auto third = idle_connection(d.port());  // 3 of 4 (75 %): 5 s
    CHECK(third->is_closed(9s));
    CHECK_FALSE(first->readable(0ms));  // still open
    CHECK_FALSE(second->readable(0ms));
}

TEST_CASE("Item 6: refused connections log one warning a second with a count",
          "[hardening][concurrency]")
{
    daemon_process d({.request_header = "20", .max_connections = 2});
    // Both slots busy: a head that is still arriving is not idle, so nothing can be closed.
    std::vector<std::unique_ptr<raw_client>> busy;
    for (int i = 0; i < 2; ++i) {
        busy.push_back(std::make_unique<raw_client>(d.port()));
        REQUIRE(busy.back()->send("GET /healthz HTTP/1.1\r\n"));
    }
    std::this_thread::sleep_for(200ms);
    const auto start = steady::now();
    int refused = 0;
    for (int i = 0; i < 200; ++i) {
        raw_client c(d.port());
        refused += c.is_closed(2s) ? 1 : 0;
    }
    const double took = seconds_since(start);
    CHECK(refused == 200);
    REQUIRE(d.wait_for_log("connection refused", 2s));
    const auto lines = count_of(d.captured_stderr(), "connection refused");
    INFO(lines << " lines in " << took << " s");
    CHECK(lines <= static_cast<std::size_t>(took) + 2);
    // The next line, a second later, counts what was held back.
    std::this_thread::sleep_for(1100ms);
    {
        raw_client c(d.port());
        CHECK(c.is_closed(2s));
    }
    CHECK(d.wait_for_log("more since the last line", 2s));
    // The busy connections are still served once their heads complete.
    for (auto& b : busy) {
        expect_ok(*b, "Host: x\r\n\r\n");
    }
}

TEST_CASE("Item 10: a client that leaves before a non-streamed answer is logged once",
          "[hardening][upstream]")
{
    silent_listener upstream;
    daemon_process d({.upstream_port = upstream.port(), .upstream_connect = "10"});
    for (int i = 0; i < 3; ++i) {
        const std::string id = "gone-" + std::to_string(i);
        {
            raw_client c(d.port());
            // Its handler waits in the daemon while the upstream stays silent.
            REQUIRE(c.send(upstream_chat_request(id)));
            REQUIRE(upstream.wait_connections(static_cast<std::size_t>(i) + 1, 3s) ==
                    static_cast<std::size_t>(i) + 1);
        }  // closed while the handler waits for OCI
        INFO(id);
        REQUIRE(d.wait_for_log("request_id=" + id, 3s));
        const auto line = log_line(d, "request_id=" + id);
        CHECK(line.find("access method=POST path=/v1/chat/completions") != std::string::npos);
        CHECK(line.find("status=499") != std::string::npos);
        CHECK(line.find("client_gone=true") != std::string::npos);
    }
    // A client that leaves in the middle of its body is logged too.
    {
        raw_client c(d.port());
        REQUIRE(c.send(chat_head("Content-Length: 100\r\nX-Request-Id: mid-body\r\n") + "{\"mo"));
        std::this_thread::sleep_for(100ms);
    }
    REQUIRE(d.wait_for_log("request_id=mid-body", 3s));
    CHECK(log_line(d, "request_id=mid-body").find("client_gone=true") != std::string::npos);
    // Exactly one line per request.
    std::this_thread::sleep_for(200ms);
    const auto log = d.captured_stderr();
    for (const char* id : {"gone-0", "gone-1", "gone-2", "mid-body"}) {
        CHECK(count_of(log, std::string("request_id=") + id + " ") == 1);
    }
}

TEST_CASE("Item 14: two Authorization headers are refused with 400", "[hardening][auth]")
{
    daemon_process d;
    const std::string key = "Authorization: Bearer " + std::string(test_key) + "\r\n";
    check_refused(d.port(), get_request("/v1/models", key + "Authorization: Bearer wrong\r\n"),
                  {400});
    check_refused(d.port(), get_request("/v1/models", "Authorization: Bearer wrong\r\n" + key),
                  {400});
    check_refused(d.port(), get_request("/v1/models", key + key), {400});
    check_refused(d.port(), post_request("/v1/embeddings", "{}", key), {400});
    // One is still fine.
    raw_client c(d.port());
    check_accepted(c, get_request("/v1/models", key));
}

TEST_CASE("Item 11: /readyz tells clients only 'not ready' and logs the reason, not per probe",
          "[hardening][routes]")
{
    // Instance principal with IMDS on a closed loopback port: never ready.
    daemon_process d({}, {"OGP_AUTH=instance_principal"});
    for (int i = 0; i < 10; ++i) {
        raw_client c(d.port());
        REQUIRE(c.send(get_request("/readyz")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 503);
        CHECK(is_openai_error(r->body));
        CHECK(r->body.find(R"("message":"not ready")") != std::string::npos);
        CHECK(r->body.find("127.0.0.1") == std::string::npos);
        CHECK(r->body.find("http") == std::string::npos);
        CHECK(r->header("retry-after").has_value());
    }
    REQUIRE(d.wait_for_log("warning not ready: ", 2s));
    const auto line = log_line(d, "warning not ready: ");
    INFO(line);
    CHECK(line.size() > std::string_view("warning not ready: ").size() + 30);  // the detail
    CHECK(count_of(d.captured_stderr(), "warning not ready: ") < 5);
}
