// Deadlines of the real daemon against slow and silent peers (style-and-reliability.md §B.6,
// cases 28-30). Configured deadlines are short (1-2 s); the bounds allow a loaded 2-core CI
// machine: a 1 s deadline must fire between 0.8 s and 3 s.
#include <catch2/catch.hpp>

#include <string>

#include "support/daemon.hpp"
#include "support/http.hpp"
#include "support/http_checks.hpp"
#include "support/json.hpp"
#include "support/net.hpp"

using namespace ogp::test;

TEST_CASE("B6.28 slowloris_headers: a trickled head hits the total header deadline", "[timeouts]")
{
    daemon_process d;  // request_header 1 s
    raw_client c(d.port());
    const std::string head =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 's') + "\r\n\r\n";
    const auto start = steady::now();
    std::size_t sent = 0;
    // One byte every 100 ms, far more often than any inactivity timer would need.
    while (sent < head.size() && seconds_since(start) < 5.0) {
        if (!c.send(head.substr(sent, 1))) {
            break;
        }
        ++sent;
        if (c.readable(100ms)) {
            break;
        }
    }
    INFO(sent << " bytes trickled");
    auto r = expect_refused_within(c, {408}, start, {0.8, 3.0}, 3s);
    CHECK(is_openai_error(r.body));
    CHECK(sent < head.size());
}

TEST_CASE(
    "B6.28 slowloris_headers: a complete head split in slow pieces within the deadline "
    "is served",
    "[timeouts]")
{
    daemon_process d({.request_header = "3"});
    raw_client c(d.port());
    REQUIRE(c.send_slowly(get_request("/healthz"), 8, 50ms));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
}

TEST_CASE(
    "B6.29 idle_no_bytes: a silent connection is closed at the header deadline, with no "
    "response",
    "[timeouts]")
{
    daemon_process d;  // request_header 1 s
    raw_client c(d.port());
    check_window(expect_silent_close(c, 5s), {0.8, 3.0}, "closed after");
}

TEST_CASE("B6.29 idle_no_bytes: a partial head at the header deadline gets 408", "[timeouts]")
{
    daemon_process d;  // request_header 1 s
    raw_client c(d.port());
    const auto start = steady::now();
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHo"));
    auto r = expect_refused_within(c, {408}, start, {0.8, 3.0});
    CHECK(r.header("x-request-id").has_value());
}

TEST_CASE(
    "B6.29 idle_no_bytes: after a complete request, silence is closed at the keep-alive "
    "idle timeout",
    "[timeouts]")
{
    // A keep-alive idle timeout distinct from the header deadline.
    daemon_process d({.request_header = "1", .keepalive_idle = "2.5"});
    raw_client c(d.port());
    require_keepalive_ok(c);
    // A silent close (no 408) at the keep-alive timeout, not at the 1 s header deadline.
    check_window(expect_silent_close(c, 6s), {2.0, 4.5}, "closed after");
}

TEST_CASE("B6.29 idle_no_bytes: a partial second request on a keep-alive connection gets 408",
          "[timeouts]")
{
    daemon_process d({.request_header = "1", .keepalive_idle = "5"});
    raw_client c(d.port());
    require_keepalive_ok(c);
    std::this_thread::sleep_for(300ms);  // idle for a while: that time does not count
    const auto start = steady::now();
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost:"));
    INFO("header deadline 1 s, keep-alive idle 5 s");
    expect_refused_within(c, {408}, start, {0.8, 3.0});
}

TEST_CASE("B6.29 idle_no_bytes: each request on a keep-alive connection restarts the idle timer",
          "[timeouts]")
{
    daemon_process d({.keepalive_idle = "1.5"});
    raw_client c(d.port());
    // Four requests 0.7 s apart: 2.8 s in all, longer than one idle period.
    for (int i = 0; i < 4; ++i) {
        REQUIRE(c.send(get_request()));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        if (i < 3) {
            CHECK_FALSE(c.readable(700ms));
        }
    }
}

TEST_CASE("B6.30 slow_body: a stalled Content-Length body gets 408 at the body deadline",
          "[timeouts]")
{
    // The head arrives at once (request_header 5 s); only the body deadline matters.
    daemon_process d({.request_header = "5", .request_body = "1"});
    raw_client c(d.port());
    const auto start = steady::now();
    REQUIRE(c.send(chat_head("Content-Length: 1000\r\n") + std::string(10, 'b')));
    auto r = expect_refused_within(c, {408}, start, {0.8, 3.0});
    CHECK(is_openai_error(r.body));
}

TEST_CASE("B6.30 slow_body: a trickled body cannot extend the total body deadline", "[timeouts]")
{
    daemon_process d({.request_header = "5", .request_body = "1"});
    raw_client c(d.port());
    REQUIRE(c.send(chat_head("Transfer-Encoding: chunked\r\n")));
    const auto start = steady::now();
    // One 1-byte chunk every 100 ms.
    while (seconds_since(start) < 5.0 && c.send("1\r\nx\r\n")) {
        if (c.readable(100ms)) {
            break;
        }
    }
    expect_refused_within(c, {408}, start, {0.8, 3.0}, 3s);
}

TEST_CASE("B6.30 slow_body: a client that closes mid-body gets no answer and frees the slot",
          "[timeouts]")
{
    daemon_process d({.request_body = "5", .max_connections = 1});
    {
        raw_client c(d.port());
        REQUIRE(c.send(chat_head("Content-Length: 100\r\n") + "abc"));
        c.shutdown_write();
        expect_silent_close(c, 3s);
    }
    // The only connection slot is free again well before the 5 s body deadline.
    CHECK(served_within(d.port(), 2s));
}

TEST_CASE("B6.29 idle_no_bytes: a CRLF after a request does not turn keep-alive idle into a 408",
          "[timeouts]")
{
    // RFC 9112 §2.2: servers SHOULD ignore an empty line before a request line. Some clients
    // send CRLF after a POST body; the connection is then idle and must be closed silently at
    // the keep-alive timeout, not answered with an unsolicited 408 at the header deadline
    // (a client reusing the connection would take that 408 for the answer to its next request).
    daemon_process d({.request_header = "1", .keepalive_idle = "3"});
    raw_client c(d.port());
    REQUIRE(c.send(post_request("/v1/embeddings", "{}") + "\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    REQUIRE_FALSE(r->connection_close());
    check_window(expect_silent_close(c, 6s), {2.4}, "closed after");
}
