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
    auto r = c.read_response(3s);
    const double at = seconds_since(start);
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(r->connection_close());
    CHECK(is_openai_error(r->body));
    CHECK(c.is_closed(2s));
    INFO("closed after " << at << " s, " << sent << " bytes trickled");
    CHECK(at >= 0.8);
    CHECK(at <= 3.0);
    CHECK(sent < head.size());
}

TEST_CASE(
    "B6.28 slowloris_headers: a complete head split in slow pieces within the deadline "
    "is served",
    "[timeouts]")
{
    daemon_config cfg;
    cfg.request_header = "3";
    daemon_process d(cfg);
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
    const auto start = steady::now();
    bool closed = false;
    auto bytes = c.read_until_eof(5s, &closed);
    const double at = seconds_since(start);
    INFO("closed after " << at << " s");
    CHECK(closed);
    CHECK(bytes.empty());
    CHECK(at >= 0.8);
    CHECK(at <= 3.0);
}

TEST_CASE("B6.29 idle_no_bytes: a partial head at the header deadline gets 408", "[timeouts]")
{
    daemon_process d;  // request_header 1 s
    raw_client c(d.port());
    const auto start = steady::now();
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHo"));
    auto r = c.read_response(5s);
    const double at = seconds_since(start);
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(r->connection_close());
    CHECK(r->header("x-request-id").has_value());
    CHECK(c.is_closed(2s));
    INFO("answered after " << at << " s");
    CHECK(at >= 0.8);
    CHECK(at <= 3.0);
}

TEST_CASE(
    "B6.29 idle_no_bytes: after a complete request, silence is closed at the keep-alive "
    "idle timeout",
    "[timeouts]")
{
    daemon_config cfg;
    cfg.request_header = "1";
    cfg.keepalive_idle = "2.5";  // distinct from the header deadline
    daemon_process d(cfg);
    raw_client c(d.port());
    REQUIRE(c.send(get_request()));
    auto r = c.read_response();
    REQUIRE(r);
    REQUIRE(r->status == 200);
    REQUIRE_FALSE(r->connection_close());
    const auto start = steady::now();
    bool closed = false;
    auto bytes = c.read_until_eof(6s, &closed);
    const double at = seconds_since(start);
    INFO("closed after " << at << " s");
    CHECK(closed);
    CHECK(bytes.empty());  // silent close, no 408
    CHECK(at >= 2.0);      // the keep-alive timeout, not the 1 s header deadline
    CHECK(at <= 4.5);
}

TEST_CASE("B6.29 idle_no_bytes: a partial second request on a keep-alive connection gets 408",
          "[timeouts]")
{
    daemon_config cfg;
    cfg.request_header = "1";
    cfg.keepalive_idle = "5";
    daemon_process d(cfg);
    raw_client c(d.port());
    REQUIRE(c.send(get_request()));
    auto first = c.read_response();
    REQUIRE(first);
    REQUIRE(first->status == 200);
    std::this_thread::sleep_for(300ms);  // idle for a while: that time does not count
    const auto start = steady::now();
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost:"));
    auto r = c.read_response(5s);
    const double at = seconds_since(start);
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(r->connection_close());
    CHECK(c.is_closed(2s));
    INFO("answered after " << at << " s (header deadline 1 s, keep-alive idle 5 s)");
    CHECK(at >= 0.8);
    CHECK(at <= 3.0);
}

TEST_CASE("B6.29 idle_no_bytes: each request on a keep-alive connection restarts the idle timer",
          "[timeouts]")
{
    daemon_config cfg;
    cfg.keepalive_idle = "1.5";
    daemon_process d(cfg);
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
    daemon_config cfg;
    cfg.request_header = "5";  // the head arrives at once; only the body deadline matters
    cfg.request_body = "1";
    daemon_process d(cfg);
    raw_client c(d.port());
    const auto start = steady::now();
    REQUIRE(c.send(chat_head("Content-Length: 1000\r\n") + std::string(10, 'b')));
    auto r = c.read_response(5s);
    const double at = seconds_since(start);
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(r->connection_close());
    CHECK(is_openai_error(r->body));
    CHECK(c.is_closed(2s));
    INFO("answered after " << at << " s");
    CHECK(at >= 0.8);
    CHECK(at <= 3.0);
}

TEST_CASE("B6.30 slow_body: a trickled body cannot extend the total body deadline", "[timeouts]")
{
    daemon_config cfg;
    cfg.request_header = "5";
    cfg.request_body = "1";
    daemon_process d(cfg);
    raw_client c(d.port());
    REQUIRE(c.send(chat_head("Transfer-Encoding: chunked\r\n")));
    const auto start = steady::now();
    // One 1-byte chunk every 100 ms.
    while (seconds_since(start) < 5.0 && c.send("1\r\nx\r\n")) {
        if (c.readable(100ms)) {
            break;
        }
    }
    auto r = c.read_response(3s);
    const double at = seconds_since(start);
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(r->connection_close());
    CHECK(c.is_closed(2s));
    INFO("answered after " << at << " s");
    CHECK(at >= 0.8);
    CHECK(at <= 3.0);
}

TEST_CASE("B6.30 slow_body: a client that closes mid-body gets no answer and frees the slot",
          "[timeouts]")
{
    daemon_config cfg;
    cfg.max_connections = 1;
    cfg.request_body = "5";
    daemon_process d(cfg);
    {
        raw_client c(d.port());
        REQUIRE(c.send(chat_head("Content-Length: 100\r\n") + "abc"));
        c.shutdown_write();
        bool closed = false;
        auto bytes = c.read_until_eof(3s, &closed);
        CHECK(closed);
        CHECK(bytes.empty());
    }
    // The only connection slot is free again well before the 5 s body deadline.
    bool served = false;
    const auto deadline = steady::now() + 2s;
    while (!served && steady::now() < deadline) {
        raw_client c(d.port());
        c.send(get_request());
        auto r = c.read_response(1s);
        served = r && r->status == 200;
        if (!served) {
            std::this_thread::sleep_for(50ms);
        }
    }
    CHECK(served);
}

TEST_CASE("B6.29 idle_no_bytes: a CRLF after a request does not turn keep-alive idle into a 408",
          "[timeouts]")
{
    // RFC 9112 §2.2: servers SHOULD ignore an empty line before a request line. Some clients
    // send CRLF after a POST body; the connection is then idle and must be closed silently at
    // the keep-alive timeout, not answered with an unsolicited 408 at the header deadline
    // (a client reusing the connection would take that 408 for the answer to its next request).
    daemon_config cfg;
    cfg.request_header = "1";
    cfg.keepalive_idle = "3";
    daemon_process d(cfg);
    raw_client c(d.port());
    REQUIRE(c.send(post_request("/v1/embeddings", "{}") + "\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    REQUIRE_FALSE(r->connection_close());
    const auto start = steady::now();
    bool closed = false;
    auto extra = c.read_until_eof(6s, &closed);
    const double at = seconds_since(start);
    INFO("closed after " << at << " s; bytes after the response: " << printable(extra));
    CHECK(closed);
    CHECK(extra.empty());
    CHECK(at >= 2.4);
}
