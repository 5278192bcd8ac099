// Size and connection limits of the real daemon (style-and-reliability.md §B.6, cases 18-22,
// 25 and 37): oversized heads, URIs and bodies are refused with the right status before the
// excess is read, and the connection cap refuses extra connections without starving the rest.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/daemon.hpp"
#include "support/daemon_checks.hpp"
#include "support/http.hpp"
#include "support/http_checks.hpp"
#include "support/json.hpp"
#include "support/net.hpp"

using namespace ogp::test;

TEST_CASE("B6.18 header_too_large: a 20 KiB header is 431", "[limits]")
{
    daemon_process d;
    const auto rss_before = d.rss_kib();
    check_refused(
        d.port(),
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n",
        {431});
    // Refused before the head ends: the daemon does not wait for the blank line.
    raw_client c(d.port());
    REQUIRE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a')));
    // Well before the 1 s header deadline.
    expect_refused_within(c, {431}, steady::now(), {0, 0.8}, 3s);
    // Many heads of 1 MiB each do not grow the daemon: only 16 KiB are ever buffered.
    for (int i = 0; i < 4; ++i) {
        raw_client big(d.port());
        big.send("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(1024 * 1024, 'a'));
        auto rr = big.read_response(3s);
        REQUIRE(rr);
        CHECK(rr->status == 431);
    }
    check_rss_growth(d, rss_before, 4096);
}

TEST_CASE("B6.18 header_too_large: the 16 KiB head limit is exact", "[limits]")
{
    daemon_process d;
    // Head = request line + Host + X-Pad line + blank line, sized exactly around 16 KiB.
    const std::string prefix = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    const std::size_t fixed = prefix.size() + 4;  // "\r\n\r\n" after the value
    const std::size_t limit = 16 * 1024;
    {
        raw_client c(d.port());
        expect_ok(c, prefix + std::string(limit - fixed, 'p') + "\r\n\r\n");
    }
    check_refused(d.port(), prefix + std::string(limit - fixed + 1, 'p') + "\r\n\r\n", {431});
}

TEST_CASE("B6.19 too_many_headers: 150 small headers are 431", "[limits]")
{
    daemon_process d;
    auto head = [](int n) {
        std::string h = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
        for (int i = 1; i < n; ++i) {  // Host counts as one
            h += "X-H" + std::to_string(i % 10) + ": v\r\n";
        }
        return h + "\r\n";
    };
    REQUIRE(head(150).size() < 4096);  // far under the byte limit
    check_refused(d.port(), head(150), {431});
    check_refused(d.port(), head(101), {431});
    raw_client c(d.port());
    expect_ok(c, head(100));
}

TEST_CASE("B6.20 uri_too_long: a 16 KiB request-target is 414", "[limits]")
{
    daemon_process d;
    check_refused(d.port(), get_request("/" + std::string(16 * 1024, 'u')), {414});
    // Refused before the request line ends.
    {
        raw_client c(d.port());
        REQUIRE(c.send("GET /" + std::string(16 * 1024, 'u')));
        expect_refused_and_closed(c, {414});
    }
    // Boundary: 8 KiB exactly is routed (404), one more byte is 414.
    {
        raw_client c(d.port());
        REQUIRE(c.send(get_request("/" + std::string(8 * 1024 - 1, 'u'))));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 404);
    }
    check_refused(d.port(), get_request("/" + std::string(8 * 1024, 'u')), {414});
}

TEST_CASE("B6.21 body_too_large_declared: 413 without reading the body", "[limits]")
{
    daemon_process d;  // max_body_bytes 64 KiB
    raw_client c(d.port());
    const auto start = steady::now();
    REQUIRE(c.send(chat_head("Content-Length: 10737418240\r\n")));  // no body byte sent
    // Not after waiting for the body deadline.
    auto r = expect_refused_within(c, {413}, start, {0, 0.8}, 3s);
    CHECK(is_openai_error(r.body));
    // 19 digits still parse (and are too large); the limit itself is exact.
    check_refused(d.port(), chat_head("Content-Length: 9999999999999999999\r\n"), {413});
    check_refused(d.port(), chat_head("Content-Length: 65537\r\n") + std::string(65537, 'x'),
                  {413});
    // Exactly at the limit: read and handed to the handler.
    raw_client ok(d.port());
    check_accepted(ok, chat_head("Content-Length: 65536\r\n") + std::string(65536, 'x'));
}

TEST_CASE("B6.22 body_too_large_chunked: 413 when the chunked body passes the limit", "[limits]")
{
    daemon_process d;  // max_body_bytes 64 KiB
    // 16 KiB chunks: the fifth crosses 64 KiB.
    const std::string chunk = "4000\r\n" + std::string(16 * 1024, 'c') + "\r\n";
    {
        raw_client c(d.port());
        REQUIRE(c.send(chat_head("Transfer-Encoding: chunked\r\n")));
        for (int i = 0; i < 4; ++i) {
            REQUIRE(c.send(chunk));
        }
        CHECK_FALSE(c.readable(300ms));  // exactly at the limit: still reading
        c.send(chunk);
        expect_refused_and_closed(c, {413});
    }
    // One chunk that declares more than the limit is refused before its data arrives.
    {
        raw_client c(d.port());
        const auto start = steady::now();
        REQUIRE(c.send(chat_head("Transfer-Encoding: chunked\r\n") + "10001\r\n"));
        expect_refused_within(c, {413}, start, {0, 0.8}, 3s);
    }
    // Exactly 64 KiB in chunks is accepted.
    {
        raw_client c(d.port());
        std::string body;
        for (int i = 0; i < 4; ++i) {
            body += chunk;
        }
        check_accepted(c, chat_head("Transfer-Encoding: chunked\r\n") + body + "0\r\n\r\n");
    }
}

TEST_CASE("B6.25 expect_100_continue: 100 Continue, then the final response", "[limits]")
{
    daemon_process d;
    raw_client c(d.port());
    REQUIRE(c.send(chat_head("Expect: 100-continue\r\nContent-Length: 1024\r\n")));
    auto interim = c.read_response(3s);
    REQUIRE(interim);
    CHECK(interim->version == "HTTP/1.1");
    CHECK(interim->status == 100);
    CHECK_FALSE(c.readable(200ms));  // nothing more until the body arrives
    REQUIRE(c.send(std::string(1024, 'b')));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status != 408);  // the body was read and the handler answered
    CHECK_FALSE(r->connection_close());
    // Chunked bodies get the 100 as well.
    REQUIRE(c.send(chat_head("Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n")));
    auto interim2 = c.read_response(3s);
    REQUIRE(interim2);
    CHECK(interim2->status == 100);
    REQUIRE(c.send("2\r\n{}\r\n0\r\n\r\n"));
    auto r2 = c.read_response();
    REQUIRE(r2);
    CHECK(r2->status != 408);
    CHECK_FALSE(r2->connection_close());
    expect_ok(c);  // the connection is still in sync
}

TEST_CASE("B6.25 expect_100_continue: refused requests get no 100", "[limits]")
{
    daemon_process d;
    // Too large: 413 straight away, no 100.
    {
        raw_client c(d.port());
        REQUIRE(c.send(chat_head("Expect: 100-continue\r\nContent-Length: 1073741824\r\n")));
        expect_refused_and_closed(c, {413});
    }
    // Not authenticated: 401, no 100, and the body is never read.
    {
        raw_client c(d.port());
        REQUIRE(
            c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                   "Content-Length: 1024\r\n\r\n"));
        expect_refused_and_closed(c, {401});
    }
    // An expectation we do not support: 417.
    check_refused(d.port(), chat_head("Expect: something-else\r\nContent-Length: 2\r\n") + "{}",
                  {417});
}

TEST_CASE("B6.37 max_connections: extra connections are closed, the first ones are served",
          "[limits][concurrency]")
{
    daemon_process d({.request_header = "5", .keepalive_idle = "10", .max_connections = 3});

    // Fill the cap with connections the daemon has certainly accepted (each was served) and
    // that are busy again: a head still arriving (idle ones would be closed to make room).
    std::vector<std::unique_ptr<raw_client>> kept;
    for (int i = 0; i < 3; ++i) {
        kept.push_back(idle_connection(d.port()));
        REQUIRE(kept.back()->send("GET /healthz HTTP/1.1\r\n"));
    }
    std::this_thread::sleep_for(200ms);  // let the daemon read those partial heads
    // cap + 10 more: each is closed promptly without a byte.
    std::vector<std::unique_ptr<raw_client>> extra;
    for (int i = 0; i < 10; ++i) {
        extra.push_back(std::make_unique<raw_client>(d.port()));
        extra.back()->send(get_request());
    }
    const auto start = steady::now();
    for (auto& e : extra) {
        CHECK(e->is_closed(2s));
    }
    CHECK(seconds_since(start) < 2.0);
    CHECK(d.wait_for_log("limits.max_connections", 2s));

    // The first three are still served.
    for (auto& k : kept) {
        expect_ok(*k, "Host: x\r\n\r\n");
    }
    // After one closes, a new connection is accepted again (allow the daemon to notice).
    kept.front().reset();
    CHECK(served_within(d.port(), 3s));
}

TEST_CASE("Configured head limits are honoured exactly", "[limits]")
{
    daemon_process d(
        {.limits_extra =
             "  max_header_bytes: 2KiB\n  max_header_count: 10\n  max_uri_bytes: 1KiB\n"});
    // URI: 1024 bytes pass, 1025 are 414.
    {
        raw_client c(d.port());
        check_accepted(c, get_request("/" + std::string(1023, 'u')));
    }
    check_refused(d.port(), get_request("/" + std::string(1024, 'u')), {414});
    // Header count: 10 fields pass (Host + 9), 11 are 431.
    auto with_fields = [](int n) {
        std::string extra;
        for (int i = 1; i < n; ++i) {
            extra += "X-F" + std::to_string(i) + ": v\r\n";
        }
        return get_request("/healthz", extra);
    };
    {
        raw_client c(d.port());
        check_accepted(c, with_fields(10));
    }
    check_refused(d.port(), with_fields(11), {431});
    // Head bytes: exactly 2048 pass, 2049 are 431.
    const std::string prefix = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    const std::size_t pad = 2048 - prefix.size() - 4;
    {
        raw_client c(d.port());
        check_accepted(c, prefix + std::string(pad, 'p') + "\r\n\r\n");
    }
    check_refused(d.port(), prefix + std::string(pad + 1, 'p') + "\r\n\r\n", {431});
}
