// Session tests over an in-process stream: one end of a connected loopback socket pair is
// handed to server::serve(), the test drives the other end on the same io_context. No daemon,
// no listener.
#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ogp/server/server.hpp"
#include "unit/server/loopback.hpp"

using namespace ogp;
using namespace ogp::server;
using namespace ogp::server::test;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// What the test handlers saw.
struct probe
{
    int calls = 0;
    bool disconnected = false;  // the on_disconnect hook ran
    bool client_gone = false;   // sink.client_gone() when the handler ended
    bool instant = false;       // waiting_handler returns at once, before the monitor reads
    std::vector<std::string> bodies;
};

// Echoes the body after a short pause, so that the monitor reads ahead pipelined requests.
net::awaitable<http_response> echo_handler(http_request& req, response_sink&, probe& p)
{
    ++p.calls;
    p.bodies.push_back(req.body);
    net::steady_timer t(co_await net::this_coro::executor, 20ms);
    co_await t.async_wait(use_nothrow);
    http_response res;
    res.body = req.body;
    res.headers.emplace_back("X-Echo", "1");
    res.headers.emplace_back("X-Bad", "a\r\nInjected: 1");  // dropped: CR/LF
    res.headers.emplace_back("content-length", "999");      // dropped: the server frames
    co_return res;
}

net::awaitable<http_response> stream_handler(http_request&, response_sink& sink, probe& p)
{
    ++p.calls;
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back("opc-request-id", "opc-1");
    co_await sink.begin_stream(200, "text/event-stream", std::move(headers));
    co_await sink.write("data: 1\n\n");
    co_await sink.write("data: 22\n\n");
    co_await sink.end_stream();
    p.client_gone = sink.client_gone();
    http_response ignored;
    ignored.status = 500;
    ignored.body = "ignored";
    co_return ignored;
}

// Waits (up to 5 s) for the client to go away, as an upstream exchange would.
net::awaitable<http_response> waiting_handler(http_request&, response_sink& sink, probe& p)
{
    ++p.calls;
    if (p.instant) {
        http_response at_once;
        at_once.body = "[]";
        co_return at_once;
    }
    net::steady_timer t(co_await net::this_coro::executor, 5s);
    sink.on_disconnect([&t, &p] {
        p.disconnected = true;
        t.cancel();
    });
    co_await t.async_wait(use_nothrow);
    sink.on_disconnect(nullptr);
    p.client_gone = sink.client_gone();
    http_response res;
    res.body = "{}";
    co_return res;
}

// A server fed one in-process connection; the test is the client `c`.
struct harness : loop
{
    config cfg;
    std::unique_ptr<ogp::server::server> srv;
    raw_client c{*this};
    probe p;

    explicit harness(const std::function<void(config&)>& tune = {})
    {
        cfg.log.access_log = false;
        cfg.clients.api_keys = {"sk-test"};
        if (tune) {
            tune(cfg);
        }
        srv = std::make_unique<ogp::server::server>(ioc, cfg);
        srv->set_handler(route::chat_completions, [this](http_request& r, response_sink& s) {
            return echo_handler(r, s, p);
        });
        srv->set_handler(route::embeddings, [this](http_request& r, response_sink& s) {
            return stream_handler(r, s, p);
        });
        srv->set_handler(route::models, [this](http_request& r, response_sink& s) {
            return waiting_handler(r, s, p);
        });
        c.socket = connect_to(*srv);
    }

    ~harness()
    {
        error_code ignored;
        c.socket.close(ignored);
        srv->close_all();
        run_until([this] { return srv->active_connections() == 0; });
    }
};

std::string chat(const std::string& body, const std::string& extra = "")
{
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
           "Content-Type: application/json\r\n" +
           extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("session: pipelined requests are answered in order", "[session]")
{
    harness h;
    // One write: the chat handler runs while the monitor reads the next two requests ahead.
    h.c.send(chat(R"({"n":1})", "x-request-id: first\r\n") +
             "GET /healthz HTTP/1.1\r\nHost: x\r\nx-request-id: second\r\n\r\n" +
             chat(R"({"n":3})", "x-request-id: third\r\n"));
    auto r1 = h.c.next_response();
    auto r2 = h.c.next_response();
    auto r3 = h.c.next_response();
    CHECK(r1.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(has(r1, "x-request-id: first\r\n"));
    CHECK(has(r1, "Content-Length: 7\r\n"));
    CHECK(r1.ends_with("\r\n\r\n{\"n\":1}"));
    CHECK(has(r2, "x-request-id: second\r\n"));
    CHECK(r2.ends_with(R"({"status":"ok"})"));
    CHECK(has(r3, "x-request-id: third\r\n"));
    CHECK(r3.ends_with(R"({"n":3})"));
    CHECK(h.p.calls == 2);
    CHECK(h.srv->active_connections() == 1);
}

TEST_CASE("session: one head writer frames buffered responses", "[session]")
{
    harness h;
    h.c.send(chat("{}"));
    auto r = h.c.next_response();
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\nDate: "));
    CHECK(has(r, "\r\nContent-Type: application/json\r\n"));
    CHECK(has(r, "\r\nX-Echo: 1\r\n"));
    CHECK_FALSE(has(r, "Injected"));
    // Not `999` anywhere: the random x-request-id may contain it.
    CHECK_FALSE(has(r, "Content-Length: 999"));
    CHECK_FALSE(has(r, "content-length: 999"));
    CHECK(has(r, "\r\nContent-Length: 2\r\n"));
    CHECK_FALSE(has(r, "Transfer-Encoding"));
    CHECK_FALSE(has(r, "Connection:"));

    // HEAD: the length of the body that is not sent.
    h.c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(h.c.receive_until([](const std::string& s) { return has(s, "\r\n\r\n"); }));
    CHECK(has(h.c.in, "Content-Length: 15\r\n"));
    CHECK(h.c.in.ends_with("\r\n\r\n"));
    h.c.in.clear();

    // 405 names what the path allows; 404 for an unknown path; both keep the connection.
    h.c.send("GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r405 = h.c.next_response();
    CHECK(r405.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK(has(r405, "\r\nAllow: POST\r\n"));
    h.c.send("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(h.c.next_response().starts_with("HTTP/1.1 404 Not Found\r\n"));
    CHECK(h.srv->active_connections() == 1);
}

TEST_CASE("session: a streamed response is written chunked", "[session]")
{
    harness h;
    const std::string body = R"({"input":"x"})";
    h.c.send(
        "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body);
    auto r = h.c.next_response();
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\nDate: "));
    CHECK(has(r, "\r\nContent-Type: text/event-stream\r\n"));
    CHECK(has(r, "\r\nTransfer-Encoding: chunked\r\n"));
    CHECK(has(r, "\r\nopc-request-id: opc-1\r\n"));
    CHECK_FALSE(has(r, "Content-Length"));
    CHECK_FALSE(has(r, "Connection: close"));
    CHECK(r.ends_with("\r\n\r\n9\r\ndata: 1\n\n\r\na\r\ndata: 22\n\n\r\n0\r\n\r\n"));
    CHECK_FALSE(h.p.client_gone);
    // The handler's returned response is ignored, and the connection is reused.
    CHECK_FALSE(has(r, "ignored"));
    h.c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(h.c.next_response().starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("session: the monitor notices a client that leaves during the handler", "[session]")
{
    harness h;
    h.c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n\r\n");
    REQUIRE(h.run_until([&] { return h.p.calls == 1; }));
    const auto started = std::chrono::steady_clock::now();
    h.c.socket.close();
    REQUIRE(h.run_until([&] { return h.srv->active_connections() == 0; }));
    CHECK(h.p.disconnected);
    CHECK(h.p.client_gone);
    // Noticed at once, not at the handler's own 5 s deadline.
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("session: a watched handler that returns at once is answered at once", "[session]")
{
    harness h;
    h.p.instant = true;
    const auto started = std::chrono::steady_clock::now();
    h.c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n\r\n");
    auto r = h.c.next_response();
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(r.ends_with("\r\n\r\n[]"));
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK_FALSE(h.p.disconnected);
    h.c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n\r\n");
    CHECK(h.c.next_response().ends_with("\r\n\r\n[]"));
    CHECK(h.p.calls == 2);
}

TEST_CASE("session: close_all() during a handler reaches it as a disconnect", "[session]")
{
    harness h;
    h.c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n\r\n");
    REQUIRE(h.run_until([&] { return h.p.calls == 1; }));
    // close_all() ends the wait like a disconnect; the session then closes.
    h.srv->close_all();
    REQUIRE(h.run_until([&] { return h.srv->active_connections() == 0; }));
    CHECK(h.p.disconnected);
    CHECK(h.c.closed_by_server());
}

TEST_CASE("session: keep-alive unless Connection: close or HTTP/1.0", "[session]")
{
    harness h;
    h.c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto kept = h.c.next_response();
    CHECK(kept.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK_FALSE(has(kept, "Connection: close"));

    h.c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto last = h.c.next_response();
    CHECK(has(last, "\r\nConnection: close\r\n"));
    CHECK(h.c.closed_by_server());
    CHECK(h.run_until([&] { return h.srv->active_connections() == 0; }));

    harness old;
    old.c.send("GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n");
    CHECK(has(old.c.next_response(), "\r\nConnection: close\r\n"));
    CHECK(old.c.closed_by_server());
}

TEST_CASE("session: the last request allowed on a connection closes it", "[session]")
{
    harness h([](config& c) { c.limits.max_requests_per_connection = 2; });
    h.c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_FALSE(has(h.c.next_response(), "Connection: close"));
    h.c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(has(h.c.next_response(), "\r\nConnection: close\r\n"));
    CHECK(h.c.closed_by_server());
}

TEST_CASE("session: an oversize body is refused before it is read", "[session]")
{
    SECTION("Content-Length over the limit")
    {
        harness h([](config& c) { c.limits.max_body_bytes = 1024; });
        // The head alone: unread body bytes would turn the server's close into a reset.
        const auto full = chat(std::string(2048, 'x'));
        h.c.send(full.substr(0, full.find("\r\n\r\n") + 4));
        auto r = h.c.next_response();
        CHECK(r.starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
        CHECK(has(r, "\r\nConnection: close\r\n"));
        CHECK(h.c.closed_by_server());
        CHECK(h.p.calls == 0);
    }
    SECTION("chunked past the limit")
    {
        harness h([](config& c) { c.limits.max_body_bytes = 1024; });
        h.c.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
            "Transfer-Encoding: chunked\r\n\r\n800\r\n");
        auto r = h.c.next_response();
        CHECK(r.starts_with("HTTP/1.1 413 "));
        CHECK(h.c.closed_by_server());
        CHECK(h.p.calls == 0);
    }
    SECTION("a large body on a route that takes none")
    {
        harness h;
        h.c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
        auto r = h.c.next_response();
        CHECK(r.starts_with("HTTP/1.1 413 "));
        CHECK(has(r, "this route takes no request body"));
        CHECK(h.c.closed_by_server());
    }
    SECTION("a small body on a route that takes none is dropped")
    {
        harness h;
        h.c.send(
            "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(h.c.next_response().starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(h.c.next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    }
}

TEST_CASE("session: a refused client is answered without reading its body", "[session]")
{
    harness h;
    h.c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n");
    auto r = h.c.next_response();
    CHECK(r.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    CHECK(has(r, "\r\nWWW-Authenticate: Bearer\r\n"));
    CHECK(has(r, "\r\nConnection: close\r\n"));
    CHECK(h.c.closed_by_server());
    CHECK(h.p.calls == 0);
}
