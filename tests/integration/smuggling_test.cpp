// Framing and request-smuggling defences of the real daemon (style-and-reliability.md §B.6,
// cases 1-17): every ambiguous or malformed request is answered once with `Connection: close`
// and the connection is closed, so bytes behind it are never parsed as a second request.
#include <catch2/catch.hpp>

#include <string>

#include "support/daemon.hpp"
#include "support/daemon_checks.hpp"
#include "support/http.hpp"
#include "support/http_checks.hpp"
#include "support/json.hpp"
#include "support/net.hpp"

using namespace ogp::test;

namespace {

// A valid request smuggled behind a malformed one: if the daemon ever answered it, the test
// would see a 200 after the refusal instead of EOF.
const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

}  // namespace

TEST_CASE("B6.1 cl_and_te: Content-Length with Transfer-Encoding is refused", "[smuggling]")
{
    daemon_process d;
    check_refused(
        d.port(),
        chat_head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n" + smuggled,
        {400});
}

TEST_CASE("B6.2 te_then_cl_order: the order of TE and CL does not matter", "[smuggling]")
{
    daemon_process d;
    check_refused(
        d.port(),
        chat_head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") + "0\r\n\r\n" + smuggled,
        {400});
    // Also on a route that would not read a body at all.
    check_refused(d.port(),
                  "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  "Content-Length: 3\r\n\r\n0\r\n\r\n" +
                      smuggled,
                  {400});
}

TEST_CASE("B6.3 te_not_chunked: a coding other than chunked is 501 and the rest is not parsed",
          "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(), chat_head("Transfer-Encoding: gzip\r\n") + smuggled, {501});
}

TEST_CASE("B6.4 te_list_variants: only exactly 'chunked' is accepted", "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(), chat_head("Transfer-Encoding: gzip, chunked\r\n") + smuggled, {501});
    check_refused(d.port(), chat_head("Transfer-Encoding: chunked, gzip\r\n") + smuggled,
                  {400, 501});
    check_refused(d.port(), chat_head("Transfer-Encoding: identity\r\n") + smuggled, {501});
    check_refused(d.port(), chat_head("Transfer-Encoding: xchunked\r\n") + smuggled, {501});
    check_refused(d.port(), chat_head("Transfer-Encoding: chunked;q=1\r\n") + smuggled, {400, 501});
    check_refused(d.port(), chat_head("Transfer-Encoding: chunked, chunked\r\n") + smuggled,
                  {400, 501});
    check_refused(d.port(), chat_head("Transfer-Encoding:\r\n") + smuggled, {400, 501});
}

TEST_CASE("B6.4 te_list_variants: exactly chunked (any case, trimmed) is accepted", "[smuggling]")
{
    // Control for the refusals above: the same request with plain chunked reaches the handler
    // and its body is consumed exactly.
    daemon_process d;
    for (const char* te : {"chunked", "Chunked", "CHUNKED", "chunked \t"}) {
        INFO("Transfer-Encoding: " << te);
        raw_client c(d.port());
        check_accepted(c, chat_head(std::string("Transfer-Encoding: ") + te + "\r\n") +
                              "2\r\n{}\r\n0\r\n\r\n");
    }
}

TEST_CASE("B6.5 te_repeated: two Transfer-Encoding lines are refused", "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(),
                  chat_head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") +
                      "0\r\n\r\n" + smuggled,
                  {400});
    check_refused(d.port(),
                  chat_head("Transfer-Encoding: chunked\r\nX-A: 1\r\ntransfer-encoding: gzip\r\n") +
                      "0\r\n\r\n" + smuggled,
                  {400});
}

TEST_CASE("B6.6 te_http10: Transfer-Encoding on HTTP/1.0 is refused", "[smuggling]")
{
    daemon_process d;
    check_refused(
        d.port(),
        chat_head("Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n", "HTTP/1.0") +
            "0\r\n\r\n" + smuggled,
        {400});
}

TEST_CASE("B6.7 space_before_colon: whitespace between name and colon is refused", "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(), chat_head("Transfer-Encoding : chunked\r\n") + "0\r\n\r\n" + smuggled,
                  {400});
    check_refused(d.port(), chat_head("Content-Length\t: 2\r\n") + "{}" + smuggled, {400});
    check_refused(d.port(), chat_head(" Content-Length: 2\r\n") + "{}" + smuggled, {400});
}

TEST_CASE("B6.8 cl_duplicate: any repeated Content-Length is refused", "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(),
                  chat_head("Content-Length: 5\r\nContent-Length: 5\r\n") + "hello" + smuggled,
                  {400});
    check_refused(d.port(),
                  chat_head("Content-Length: 5\r\nContent-Length: 6\r\n") + "hello!" + smuggled,
                  {400});
    check_refused(d.port(), chat_head("Content-Length: 5, 6\r\n") + "hello!" + smuggled, {400});
    check_refused(d.port(), chat_head("Content-Length: 5, 5\r\n") + "hello" + smuggled, {400});
}

TEST_CASE("B6.9 cl_malformed: only 1*DIGIT Content-Length values are accepted", "[smuggling]")
{
    daemon_process d;
    for (const char* v :
         {"-1", "+5", "0x10", "5 5", "1234567890123456789012345", "", "5a", "1e3", "\"5\""}) {
        INFO("Content-Length: " << v);
        check_refused(d.port(), chat_head(std::string("Content-Length: ") + v + "\r\n") + smuggled,
                      {400});
    }
}

TEST_CASE("B6.10 chunk_size_malformed: bad chunk framing is refused", "[smuggling]")
{
    daemon_process d;
    const std::string head = chat_head("Transfer-Encoding: chunked\r\n");
    for (const char* body : {
             "fffffffffffffffffff\r\n",  // overflows 64 bits
             "-1\r\nx\r\n0\r\n\r\n",     // sign
             "\r\n0\r\n\r\n",            // empty size line
             "5\r\nhelloXX0\r\n\r\n",    // missing CRLF after data
             "5\r\nhello\n0\r\n\r\n",    // LF only after data
             "0x5\r\nhello\r\n0\r\n\r\n",
             "5\nhello\r\n0\r\n\r\n",  // bare LF after size
             "g\r\n",
         }) {
        INFO("body: " << printable(body));
        check_refused(d.port(), head + body + smuggled, {400});
    }
    // Control: a well-formed body with an extension and uppercase hex reaches the handler.
    raw_client c(d.port());
    check_accepted(c, head + "A;ext=1\r\n0123456789\r\n0\r\n\r\n");
    check_accepted(c, head + "2 ; a=b ; c=\"d\"\r\n{}\r\n0\r\n\r\n");
}

TEST_CASE("B6.11 chunk_ext_flood: a 1 MiB chunk-extension line is cut off with 400",
          "[smuggling][limits]")
{
    daemon_process d;
    const auto rss_before = d.rss_kib();
    std::string flood = chat_head("Transfer-Encoding: chunked\r\n") + "1";
    flood.reserve(flood.size() + 1024 * 1024 + 16);
    while (flood.size() < 1024 * 1024) {
        flood += ";a=b";
    }
    flood += "\r\nx\r\n0\r\n\r\n";
    raw_client c(d.port());
    c.send(flood);  // may fail part-way: the daemon stops reading at the 4 KiB line cap
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->connection_close());
    bool closed = false;
    c.read_until_eof(2s, &closed);
    CHECK(closed);
    check_rss_growth(d, rss_before, 2048);
}

TEST_CASE("B6.12 trailer_fields: any trailer field is refused", "[smuggling]")
{
    daemon_process d;
    const std::string head = chat_head("Transfer-Encoding: chunked\r\n");
    check_refused(d.port(), head + "2\r\n{}\r\n0\r\nContent-Length: 100\r\n\r\n" + smuggled, {400});
    check_refused(d.port(), head + "2\r\n{}\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled,
                  {400});
    check_refused(d.port(), head + "0\r\nX-Trailer: a\r\n\r\n" + smuggled, {400});
}

TEST_CASE("B6.13 obs_fold: folded header lines are refused", "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n" + smuggled,
                  {400});
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n" + smuggled,
                  {400});
    // Folding Transfer-Encoding onto another field must not hide it.
    check_refused(d.port(),
                  chat_head("Content-Length: 2\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n") +
                      "{}" + smuggled,
                  {400});
}

TEST_CASE("B6.14 bare_lf / ctl_in_value: bare LF and control bytes are refused", "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(), "GET /healthz HTTP/1.1\nHost: x\n\n" + smuggled, {400});
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\n\r\n" + smuggled, {400});
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n" + smuggled, {400});
    check_refused(d.port(),
                  "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a" + std::string(1, '\0') +
                      "b\r\n\r\n" + smuggled,
                  {400});
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x7f b\r\n\r\n" + smuggled,
                  {400});
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01\r\n\r\n" + smuggled,
                  {400});
}

TEST_CASE("B6.15 error_then_pipelined: one answer to a malformed request, none after",
          "[smuggling]")
{
    daemon_process d;
    // One write: a bad request line, then a valid request.
    check_refused(d.port(), "GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n" + smuggled, {400});
    // A framing error after a valid pipelined request: the first is answered, the second is
    // refused, the third never answered.
    raw_client c(d.port());
    REQUIRE(c.send(smuggled + chat_head("Content-Length: 1\r\nContent-Length: 1\r\n") + "x" +
                   smuggled));
    auto first = c.read_response();
    REQUIRE(first);
    CHECK(first->status == 200);
    expect_refused_and_closed(c, {400});
}

TEST_CASE("B6.16 pipelined_valid: pipelined requests are answered in order", "[smuggling]")
{
    daemon_process d;
    raw_client c(d.port());
    std::string batch =
        get_request("/healthz", "X-Request-Id: first\r\n") +
        post_request("/v1/embeddings", R"({"input":"a"})", "X-Request-Id: second\r\n") +
        get_request("/nope", "X-Request-Id: third\r\n") +
        get_request("/healthz?4", "X-Request-Id: fourth\r\n");
    REQUIRE(c.send(batch));
    // 0: whatever the embeddings handler answers (it may not be a 401 or a framing refusal).
    const std::pair<const char*, int> expected[] = {
        {"first", 200}, {"second", 0}, {"third", 404}, {"fourth", 200}};
    for (const auto& [id, status] : expected) {
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->header("x-request-id") == std::string(id));
        if (status != 0) {
            CHECK(r->status == status);
        } else {
            CHECK(r->status != 401);
        }
        CHECK_FALSE(r->connection_close());
    }
    expect_ok(c);  // the connection stays usable afterwards
}

TEST_CASE("B6.16 pipelined_valid: a body split across writes and a request behind it",
          "[smuggling]")
{
    daemon_process d;
    raw_client c(d.port());
    std::string both = chat_head("Transfer-Encoding: chunked\r\n") +
                       "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n" + get_request("/healthz");
    REQUIRE(c.send_slowly(both, 7, 5ms));
    auto first = c.read_response();
    REQUIRE(first);
    CHECK_FALSE(first->connection_close());  // answered by the chat handler
    auto second = c.read_response();
    REQUIRE(second);
    CHECK(second->status == 200);
    CHECK(second->body == R"({"status":"ok"})");
}

TEST_CASE("B6.17 bad_request_line: malformed request lines are refused", "[smuggling]")
{
    daemon_process d;
    check_refused(d.port(), "hello\r\n\r\n" + smuggled, {400});
    check_refused(d.port(), "GE(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled, {400});
    check_refused(d.port(), "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n" + smuggled, {400, 505});
    check_refused(d.port(), "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n" + smuggled, {400, 505});
    check_refused(d.port(), "GET /healthz HTTP/1.1x\r\nHost: x\r\n\r\n" + smuggled, {400});
    check_refused(d.port(), "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled, {400});
    check_refused(d.port(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + smuggled, {400, 505});
    // A missing or duplicated Host is a malformed HTTP/1.1 request too.
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\n\r\n" + smuggled, {400});
    check_refused(d.port(), "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled,
                  {400});
}

TEST_CASE("B6.15 error_then_pipelined: a body on a GET is consumed, never parsed as a request",
          "[smuggling]")
{
    // If the daemon ignored the body of a GET, the request inside it would be answered (404)
    // before check_accepted's probe.
    daemon_process d;
    const std::string inner = get_request("/nope");
    raw_client c(d.port());
    check_accepted(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(inner.size()) + "\r\n\r\n" + inner);
    check_accepted(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          (std::string(1, "0123456789abcdef"[inner.size() / 16]) +
                           "0123456789abcdef"[inner.size() % 16]) +
                          "\r\n" + inner + "\r\n0\r\n\r\n");
}

TEST_CASE("B6.16 pipelined_valid: large requests pipelined behind an API request", "[smuggling]")
{
    // While an API handler runs the daemon keeps reading ahead (bounded); everything pipelined
    // behind it, including a body larger than that read-ahead, is still answered in order.
    daemon_process d;
    const std::string big(40 * 1024, ' ');
    raw_client c(d.port());
    REQUIRE(c.send(post_request("/v1/embeddings", "{}", "X-Request-Id: one\r\n") +
                   post_request("/v1/embeddings", "{}" + big, "X-Request-Id: two\r\n") +
                   get_request("/healthz", "X-Request-Id: three\r\n")));
    for (const char* id : {"one", "two", "three"}) {
        auto r = c.read_response(5s);
        REQUIRE(r);
        CHECK(r->header("x-request-id") == std::string(id));
        CHECK_FALSE(r->connection_close());
        CHECK(r->status != 401);
        CHECK(r->status != 413);
    }
}
