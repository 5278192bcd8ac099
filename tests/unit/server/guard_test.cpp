// Unit tests for the request guard: head scanning, framing rules and the chunked decoder.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "ogp/server/request_guard.hpp"

using namespace ogp::server;

namespace {

const guard_limits limits{};

// Parses a head that must be accepted.
request_head accept(std::string_view head)
{
    auto scan = scan_head(head, limits);
    INFO(head);
    REQUIRE_FALSE(scan.reject);
    REQUIRE(scan.head_size == head.size());
    auto r = parse_head(head.substr(scan.skipped), limits);
    if (auto* bad = std::get_if<guard_reject>(&r)) {
        FAIL("rejected " << bad->status << ": " << bad->reason);
    }
    return std::get<request_head>(r);
}

// Status the guard answers for `head` (scan, then parse); 0 when accepted.
unsigned status_of(std::string_view head, const guard_limits& l = limits)
{
    auto scan = scan_head(head, l);
    if (scan.reject) {
        return scan.reject->status;
    }
    if (scan.head_size == 0) {
        return 1;  // incomplete
    }
    auto r = parse_head(head.substr(scan.skipped, scan.head_size - scan.skipped), l);
    if (auto* bad = std::get_if<guard_reject>(&r)) {
        return bad->status;
    }
    return 0;
}

std::string post_with(std::string_view extra, std::string_view version = "HTTP/1.1")
{
    return "POST /v1/chat/completions " + std::string(version) + "\r\nHost: x\r\n" +
           std::string(extra) + "\r\n";
}

}  // namespace

TEST_CASE("a plain request is accepted with its fields", "[guard]")
{
    auto h = accept("GET /v1/models?x=1 HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc\r\n\r\n");
    CHECK(h.method == "GET");
    CHECK(h.target == "/v1/models?x=1");
    CHECK(h.path() == "/v1/models");
    CHECK(h.version == 11);
    CHECK(h.keep_alive);
    CHECK_FALSE(h.has_body());
    CHECK(h.find("x-request-id") == std::string_view("abc"));
    CHECK(h.find("HOST") == std::string_view("a"));
    CHECK_FALSE(h.find("missing"));
}

TEST_CASE("absolute-form targets are reduced to path and query", "[guard]")
{
    CHECK(accept("GET http://proxy.example/v1/models?a=1 HTTP/1.1\r\nHost: x\r\n\r\n").target ==
          "/v1/models?a=1");
    CHECK(accept("GET HTTPS://h:8080 HTTP/1.1\r\nHost: x\r\n\r\n").target == "/");
}

TEST_CASE("scan_head waits for the blank line and skips leading CRLFs", "[guard]")
{
    CHECK(scan_head("GET / HTTP/1.1\r\nHost: a\r\n", limits).head_size == 0);
    CHECK(scan_head("GET / HTTP/1.1\r\nHost: a\r\n\r", limits).head_size == 0);
    auto s = scan_head("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT", limits);
    CHECK(s.skipped == 4);
    CHECK(s.head_size == 4 + 27);
}

TEST_CASE("content length framing", "[guard]")
{
    auto h = accept(post_with("Content-Length: 42\r\n"));
    CHECK(h.content_length == 42);
    CHECK_FALSE(h.chunked);
    CHECK(h.has_body());

    // Duplicates, even equal ones, and lists are refused.
    CHECK(status_of(post_with("Content-Length: 5\r\nContent-Length: 5\r\n")) == 400);
    CHECK(status_of(post_with("Content-Length: 5\r\nContent-Length: 6\r\n")) == 400);
    CHECK(status_of(post_with("Content-Length: 5, 6\r\n")) == 400);
    for (auto bad : {"-1", "+5", "0x10", "5 5", "1234567890123456789012345", "", "5a"}) {
        INFO(bad);
        CHECK(status_of(post_with("Content-Length: " + std::string(bad) + "\r\n")) == 400);
    }
    // Declared over the limit: 413 before any body byte.
    CHECK(status_of(post_with("Content-Length: 10737418240\r\n")) == 413);
}

TEST_CASE("transfer encoding rules close Beast 1.81's gaps", "[guard]")
{
    CHECK(accept(post_with("Transfer-Encoding: chunked\r\n")).chunked);
    CHECK(accept(post_with("Transfer-Encoding: CHUNKED\r\n")).chunked);
    // CL + TE in either order.
    CHECK(status_of(post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) == 400);
    CHECK(status_of(post_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) == 400);
    CHECK(status_of(post_with("Transfer-Encoding: gzip\r\nContent-Length: 5\r\n")) == 400);
    // Anything but exactly chunked.
    for (auto te :
         {"gzip", "gzip, chunked", "chunked, gzip", "identity", "xchunked", "chunked;q=1"}) {
        INFO(te);
        CHECK(status_of(post_with("Transfer-Encoding: " + std::string(te) + "\r\n")) == 501);
    }
    CHECK(status_of(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) ==
          400);
    CHECK(status_of(post_with("Transfer-Encoding: chunked\r\n", "HTTP/1.0")) == 400);
    CHECK(status_of(post_with("Transfer-Encoding:\r\n")) == 400);
}

TEST_CASE("malformed heads are refused", "[guard]")
{
    CHECK(status_of(post_with("Transfer-Encoding : chunked\r\n")) == 400);  // space before colon
    CHECK(status_of(post_with("X-A: a\r\n b\r\n")) == 400);                 // obs-fold
    CHECK(status_of(post_with("X-A: a\r\n\tb\r\n")) == 400);
    CHECK(status_of("GET / HTTP/1.1\nHost: x\n\n") == 400);  // bare LF
    CHECK(status_of(post_with(std::string("X-A: a\0b\r\n", 11))) == 400);
    CHECK(status_of(post_with("X-A: a\x7f\r\n")) == 400);
    CHECK(status_of("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n") == 400);  // CR without LF
    CHECK(status_of("hello\r\n\r\n") == 400);
    CHECK(status_of("GE(T / HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
    CHECK(status_of("GET  / HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n") == 505);
    CHECK(status_of("GET / HTTQ/1.1\r\nHost: x\r\n\r\n") == 400);
    CHECK(status_of("GET evil/ HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\n: empty\r\n\r\n") == 400);
    CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == 400);                        // no Host in 1.1
    CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);  // two Hosts
    CHECK(status_of("GET / HTTP/1.0\r\n\r\n") == 0);                          // 1.0 needs no Host
}

TEST_CASE("size and count limits: 431 and 414", "[guard]")
{
    std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 150; ++i) {
        many += "X-" + std::to_string(i) + ": v\r\n";
    }
    many += "\r\n";
    REQUIRE(many.size() < limits.max_header_bytes);
    CHECK(status_of(many) == 431);

    std::string big =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n";
    CHECK(status_of(big) == 431);
    // An incomplete, already too large head is refused before its end arrives.
    CHECK(scan_head(big.substr(0, 17 * 1024), limits).reject->status == 431);

    std::string uri = "GET /" + std::string(16 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    guard_limits roomy = limits;
    roomy.max_header_bytes = 64 * 1024;
    CHECK(status_of(uri, roomy) == 414);
    CHECK(scan_head(uri.substr(0, 9 * 1024), limits).reject->status == 414);
}

TEST_CASE("connection persistence and expectations", "[guard]")
{
    CHECK_FALSE(accept("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
    CHECK_FALSE(accept("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n").keep_alive);
    CHECK_FALSE(accept("GET / HTTP/1.0\r\n\r\n").keep_alive);
    CHECK(accept("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    CHECK(accept(post_with("Content-Length: 3\r\nExpect: 100-continue\r\n")).expect_continue);
    CHECK(status_of(post_with("Content-Length: 3\r\nExpect: magic\r\n")) == 417);
}

TEST_CASE("a repeated Authorization is refused, whatever its case or values", "[guard]")
{
    CHECK(status_of(post_with("Authorization: Bearer a\r\nAuthorization: Bearer b\r\n")) == 400);
    CHECK(status_of(post_with("authorization: Bearer a\r\nAUTHORIZATION: Bearer a\r\n")) == 400);
    CHECK(status_of(post_with("Authorization: Bearer a\r\nAuthorization:\r\n")) == 400);
    CHECK(accept(post_with("Authorization: Bearer a\r\nProxy-Authorization: b\r\n"))
              .find("authorization") == "Bearer a");
}

namespace {

// Decodes `body` split at random points; returns status (0 ok) and the decoded data.
std::pair<unsigned, std::string> decode(std::string_view body, std::size_t max, unsigned seed)
{
    chunked_decoder d(max);
    std::string out;
    std::mt19937 rng(seed);
    std::size_t pos = 0;
    while (pos < body.size() && !d.done()) {
        std::size_t n = seed == 0 ? 1 : 1 + rng() % 7;
        auto piece = body.substr(pos, std::min(n, body.size() - pos));
        auto r = d.feed(piece, out);
        if (auto* bad = std::get_if<guard_reject>(&r)) {
            return {bad->status, out};
        }
        pos += std::get<std::size_t>(r);
        if (std::get<std::size_t>(r) < piece.size()) {
            break;  // body ended inside the piece
        }
    }
    return {d.done() ? 0u : 1u, out};
}

}  // namespace

TEST_CASE("chunked decoder: any split gives the same body", "[guard][chunked]")
{
    std::string body = "5\r\nhello\r\n7;ext=1\r\n, world\r\nA\r\n0123456789\r\n0\r\n\r\n";
    for (unsigned seed = 0; seed < 20; ++seed) {
        auto [status, out] = decode(body, 1024, seed);
        CHECK(status == 0);
        CHECK(out == "hello, world0123456789");
    }
}

TEST_CASE("chunked decoder stops at the end of the body", "[guard][chunked]")
{
    chunked_decoder d(100);
    std::string out;
    std::string_view in = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    auto r = d.feed(in, out);
    REQUIRE(std::holds_alternative<std::size_t>(r));
    CHECK(std::get<std::size_t>(r) == 13);
    CHECK(d.done());
    CHECK(out == "abc");
}

TEST_CASE("chunked decoder rejects bad framing, trailers and floods", "[guard][chunked]")
{
    auto status = [](std::string_view body, std::size_t max = 1024) {
        return decode(body, max, 3).first;
    };
    CHECK(status("fffffffffffffffffff\r\n") == 400);
    CHECK(status("-1\r\n") == 400);
    CHECK(status("\r\n") == 400);
    CHECK(status("g\r\n") == 400);
    CHECK(status("3\r\nabcX\r\n0\r\n\r\n") == 400);  // missing CRLF after data
    CHECK(status("3\nabc\r\n") == 400);              // bare LF
    CHECK(status("0\r\nContent-Length: 100\r\n\r\n") == 400);
    CHECK(status("0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
    CHECK(status("1;" + std::string(8192, 'a') + "\r\n") == 400);
    CHECK(status("400\r\n", 1000) == 413);
    CHECK(status("200\r\n" + std::string(0x200, 'a') + "\r\n200\r\n", 0x300) == 413);
}
