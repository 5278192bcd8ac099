// The exchange's bookkeeping over in-process connections (server::serve() on one end of a
// loopback socket pair): `/metrics` routing per listener kind, the observer and its reject
// tokens, the client's key name, the access-log fields, stats() and reconfigure().
#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ogp/server/server.hpp"
#include "support/log_capture.hpp"
#include "unit/server/loopback.hpp"

using namespace ogp;
using namespace ogp::server;
using namespace ogp::server::test;
using ogp::test::log_capture;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// `key-` + the first 8 hex digits of SHA-256("sk-one") / ("sk-two") / ("sk-new").
constexpr std::string_view one_name = "key-456f1612";
constexpr std::string_view two_name = "key-5e312785";
constexpr std::string_view new_name = "key-8da9a7ef";

// The access lines in `logs` so far.
std::vector<std::string> access_lines(log_capture& logs)
{
    std::vector<std::string> lines;
    std::istringstream in(logs.text());
    for (std::string l; std::getline(in, l);) {
        if (has(l, "access method=")) {
            lines.push_back(l);
        }
    }
    return lines;
}

// What the observer saw, copied out of the views.
struct seen
{
    route target;
    std::string method;
    unsigned status;
    bool stream;
    bool metrics_listener;
    std::string reject;
    std::string client;
    bool has_record;
};

// A server with test handlers; connections are served in-process.
struct fixture : loop
{
    std::shared_ptr<config> cfg = std::make_shared<config>();
    std::unique_ptr<ogp::server::server> srv;
    std::vector<seen> observed;
    bool release = false;  // ends slow_handler's wait and stream_handler's pause
    int calls = 0;

    explicit fixture(const std::function<void(config&)>& tune = {},
                     listener_kind kind = listener_kind::main)
    {
        cfg->log.access_log = true;
        cfg->clients.api_keys = {"sk-one", "sk-two"};
        if (tune) {
            tune(*cfg);
        }
        srv = std::make_unique<ogp::server::server>(std::vector<net::io_context*>{&ioc}, cfg, kind);
        srv->set_observer([this](const exchange_summary& s) {
            observed.push_back(seen{s.target, std::string(s.method), s.status, s.stream,
                                    s.metrics_listener, std::string(s.reject_reason),
                                    s.record ? s.record->client : std::string("?"),
                                    s.record != nullptr});
        });
        srv->set_handler(route::metrics, [this](http_request& r, response_sink& s) {
            return metrics_handler(r, s);
        });
        srv->set_handler(route::chat_completions, [this](http_request& r, response_sink& s) {
            return record_handler(r, s);
        });
        srv->set_handler(route::models,
                         [this](http_request& r, response_sink& s) { return slow_handler(r, s); });
        srv->set_handler(route::embeddings, [this](http_request& r, response_sink& s) {
            return stream_handler(r, s);
        });
    }

    ~fixture()
    {
        srv->close_all();
        run_until([this] { return srv->active_connections() == 0; });
    }

    std::unique_ptr<raw_client> connect()
    {
        return std::make_unique<raw_client>(*this, connect_to(*srv));
    }

    net::awaitable<http_response> metrics_handler(http_request&, response_sink&)
    {
        ++calls;
        co_return http_response{200, "text/plain; version=0.0.4", {}, "# metrics\n"};
    }

    // Fills the record as the api does, including an upstream model name with characters
    // that must not reach the log line as they are.
    net::awaitable<http_response> record_handler(http_request& req, response_sink&)
    {
        ++calls;
        auto& r = req.record;
        r.operation = "chat";
        r.model = "fast";
        r.oci_model = "cohere.command-r \"x\"\nfake=1";
        r.route = "native";
        r.input_tokens = 12;
        r.output_tokens = 34;
        r.ttft = std::chrono::microseconds(1500);
        r.upstream = std::chrono::microseconds(2250);
        r.upstream_status = 200;
        r.retries = 1;
        co_return http_response{200, "application/json", {}, "{}"};
    }

    // Waits until `release` (or 5 s), polling: a request in flight for as long as the test
    // wants.
    net::awaitable<http_response> slow_handler(http_request&, response_sink&)
    {
        ++calls;
        net::steady_timer t(co_await net::this_coro::executor);
        for (int i = 0; i < 500 && !release; ++i) {
            t.expires_after(10ms);
            co_await t.async_wait(use_nothrow);
        }
        co_return http_response{200, "application/json", {}, "[]"};
    }

    // Starts a stream, pauses until `release`, then ends it.
    net::awaitable<http_response> stream_handler(http_request&, response_sink& sink)
    {
        ++calls;
        co_await sink.begin_stream(200, "text/event-stream", {});
        co_await sink.write("data: 1\n\n");
        net::steady_timer t(co_await net::this_coro::executor);
        for (int i = 0; i < 500 && !release; ++i) {
            t.expires_after(10ms);
            co_await t.async_wait(use_nothrow);
        }
        co_await sink.end_stream();
        co_return http_response{};
    }
};

std::string get(std::string_view path, std::string_view key = "")
{
    std::string r = "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n";
    if (!key.empty()) {
        r += "Authorization: Bearer " + std::string(key) + "\r\n";
    }
    return r + "\r\n";
}

std::string chat(std::string_view key, const std::string& body = "{}")
{
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           std::string(key) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("/metrics on the main listener needs a key by default", "[exchange]")
{
    fixture f;
    auto c = f.connect();
    c->send(get("/metrics"));
    auto refused = c->next_response();
    CHECK(refused.starts_with("HTTP/1.1 401 "));
    CHECK(has(refused, "WWW-Authenticate: Bearer"));
    CHECK(f.calls == 0);
    c->send(get("/metrics", "sk-two"));
    auto ok = c->next_response();
    CHECK(ok.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(ok.ends_with("# metrics\n"));
    CHECK(f.calls == 1);
    // HEAD too.
    c->send("HEAD /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-two\r\n\r\n");
    REQUIRE(c->receive_until([](const std::string& s) { return has(s, "\r\n\r\n"); }));
    CHECK(c->in.starts_with("HTTP/1.1 200 OK\r\n"));
    REQUIRE(f.observed.size() == 3);
    CHECK(f.observed[0].target == route::metrics);
    CHECK(f.observed[0].reject == "unauthorized");
    CHECK(f.observed[0].client.empty());
    CHECK(f.observed[1].reject.empty());
    CHECK(f.observed[1].client == two_name);
    CHECK_FALSE(f.observed[1].metrics_listener);
    CHECK(f.observed[2].method == "HEAD");
}

TEST_CASE("/metrics on the main listener without a key when require_key is false", "[exchange]")
{
    fixture f([](config& c) { c.metrics.require_key = false; });
    auto c = f.connect();
    c->send(get("/metrics"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    REQUIRE(f.observed.size() == 1);
    CHECK(f.observed[0].client.empty());
}

TEST_CASE("metrics.enabled false: /metrics is unknown", "[exchange]")
{
    fixture f([](config& c) { c.metrics.enabled = false; });
    auto c = f.connect();
    c->send(get("/metrics", "sk-one"));
    CHECK(c->next_response().starts_with("HTTP/1.1 404 Not Found\r\n"));
    c->send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(c->next_response().starts_with("HTTP/1.1 404 Not Found\r\n"));
    CHECK(f.calls == 0);
    REQUIRE(f.observed.size() == 2);
    CHECK(f.observed[0].target == route::not_found);
    CHECK(f.observed[0].reject == "not_found");
}

TEST_CASE("the metrics listener serves only /metrics and the probes", "[exchange]")
{
    fixture f({}, listener_kind::metrics);
    auto c = f.connect();
    // No key needed there by default.
    c->send(get("/metrics"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    c->send(get("/healthz"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    c->send(get("/readyz"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    // The API is not there, even with a valid key.
    c->send(get("/v1/models", "sk-one"));
    auto models = c->next_response();
    CHECK(models.starts_with("HTTP/1.1 404 Not Found\r\n"));
    CHECK(has(models, "only GET /metrics"));
    // A wrong method on /metrics is still a 405.
    c->send("DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r405 = c->next_response();
    CHECK(r405.starts_with("HTTP/1.1 405 "));
    CHECK(has(r405, "Allow: GET, HEAD\r\n"));
    // Last: a refused request with a body closes the connection.
    c->send(chat("sk-one"));
    CHECK(c->next_response().starts_with("HTTP/1.1 404 Not Found\r\n"));
    CHECK(f.calls == 1);
    REQUIRE(f.observed.size() == 6);
    for (const auto& s : f.observed) {
        CHECK(s.metrics_listener);
    }
    CHECK(f.observed[3].reject == "not_found");
    CHECK(f.observed[4].reject == "method_not_allowed");
    CHECK(f.observed[5].reject == "not_found");
}

TEST_CASE("the metrics listener with require_key true", "[exchange]")
{
    fixture f([](config& c) { c.metrics.require_key = true; }, listener_kind::metrics);
    auto c = f.connect();
    c->send(get("/metrics"));
    CHECK(c->next_response().starts_with("HTTP/1.1 401 "));
    c->send(get("/metrics", "sk-one"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    REQUIRE(f.observed.size() == 2);
    CHECK(f.observed[1].client == one_name);
}

TEST_CASE("observer: once per exchange with the reject token", "[exchange]")
{
    SECTION("401 404 405 and a handler's answer on one connection")
    {
        fixture f;
        auto c = f.connect();
        c->send(chat("sk-wrong"));
        CHECK(c->next_response().starts_with("HTTP/1.1 401 "));
        // A refused request with a body closes the connection: a new one.
        c = f.connect();
        c->send(get("/nowhere"));
        CHECK(c->next_response().starts_with("HTTP/1.1 404 "));
        c->send(get("/v1/chat/completions"));
        CHECK(c->next_response().starts_with("HTTP/1.1 405 "));
        c->send(chat("sk-one"));
        CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
        c->send(get("/healthz"));
        CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
        REQUIRE(f.observed.size() == 5);
        CHECK(f.observed[0].status == 401);
        CHECK(f.observed[0].reject == "unauthorized");
        CHECK(f.observed[0].target == route::chat_completions);
        CHECK(f.observed[1].status == 404);
        CHECK(f.observed[1].reject == "not_found");
        CHECK(f.observed[2].status == 405);
        CHECK(f.observed[2].reject == "method_not_allowed");
        CHECK(f.observed[3].status == 200);
        CHECK(f.observed[3].reject.empty());
        CHECK(f.observed[3].target == route::chat_completions);
        CHECK(f.observed[3].method == "POST");
        CHECK(f.observed[3].client == one_name);
        CHECK_FALSE(f.observed[3].stream);
        CHECK(f.observed[4].target == route::healthz);
        CHECK(f.observed[4].client.empty());
        for (const auto& s : f.observed) {
            CHECK(s.has_record);
        }
    }
    SECTION("413 on a declared body over the limit")
    {
        fixture f([](config& c) { c.limits.max_body_bytes = 16; });
        auto c = f.connect();
        const auto full = chat("sk-one", std::string(64, 'x'));
        c->send(full.substr(0, full.find("\r\n\r\n") + 4));
        CHECK(c->next_response().starts_with("HTTP/1.1 413 "));
        REQUIRE(f.observed.size() == 1);
        CHECK(f.observed[0].reject == "body_too_large");
    }
    SECTION("431 on a head over the limit and on too many fields")
    {
        fixture f([](config& c) {
            c.limits.max_header_bytes = 512;
            c.limits.max_header_count = 4;
        });
        auto c = f.connect();
        c->send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(600, 'a') + "\r\n\r\n");
        CHECK(c->next_response().starts_with("HTTP/1.1 431 "));
        auto d = f.connect();
        d->send("GET /healthz HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n");
        CHECK(d->next_response().starts_with("HTTP/1.1 431 "));
        REQUIRE(f.observed.size() == 2);
        CHECK(f.observed[0].status == 431);
        CHECK(f.observed[0].reject == "header_too_large");
        CHECK(f.observed[1].reject == "too_many_headers");
    }
    SECTION("414 and 400 from the guard")
    {
        fixture f([](config& c) { c.limits.max_uri_bytes = 64; });
        auto c = f.connect();
        c->send(get("/" + std::string(100, 'a')));
        CHECK(c->next_response().starts_with("HTTP/1.1 414 "));
        auto d = f.connect();
        d->send("GET /healthz HTTP/1.1\r\n\r\n");  // no Host
        CHECK(d->next_response().starts_with("HTTP/1.1 400 "));
        REQUIRE(f.observed.size() == 2);
        CHECK(f.observed[0].reject == "uri_too_long");
        CHECK(f.observed[1].reject == "bad_request");
    }
    SECTION("408 on a head that does not finish in time")
    {
        fixture f([](config& c) { c.timeouts.request_header = 100ms; });
        auto c = f.connect();
        c->send("GET /healthz HTTP/1.1\r\nHo");
        CHECK(c->next_response().starts_with("HTTP/1.1 408 "));
        REQUIRE(f.observed.size() == 1);
        CHECK(f.observed[0].reject == "header_timeout");
    }
    SECTION("408 on a body that does not arrive in time")
    {
        fixture f([](config& c) { c.timeouts.request_body = 100ms; });
        auto c = f.connect();
        const auto full = chat("sk-one", std::string(64, 'x'));
        c->send(full.substr(0, full.size() - 10));
        CHECK(c->next_response().starts_with("HTTP/1.1 408 "));
        REQUIRE(f.observed.size() == 1);
        CHECK(f.observed[0].reject == "body_timeout");
        CHECK(f.calls == 0);
    }
    SECTION("499 when the client leaves during the body")
    {
        fixture f;
        auto c = f.connect();
        const auto full = chat("sk-one", std::string(64, 'x'));
        c->send(full.substr(0, full.size() - 10));
        REQUIRE(f.run_until([&] { return f.srv->stats().connections_open == 1; }));
        c->socket.close();
        REQUIRE(f.run_until([&] { return !f.observed.empty(); }));
        CHECK(f.observed[0].status == 499);
        CHECK(f.observed[0].reject == "client_closed");
    }
    SECTION("a stream is flagged")
    {
        fixture f;
        f.release = true;
        auto c = f.connect();
        c->send(
            "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-one\r\n"
            "Content-Length: 2\r\n\r\n{}");
        CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
        REQUIRE(f.run_until([&] { return !f.observed.empty(); }));
        CHECK(f.observed.size() == 1);
        CHECK(f.observed[0].stream);
        CHECK(f.observed[0].target == route::embeddings);
        CHECK(f.observed[0].reject.empty());
    }
}

TEST_CASE("access log: the record's fields and the key's name", "[exchange]")
{
    log_capture logs(spdlog::level::info);
    fixture f;
    auto c = f.connect();
    c->send(chat("sk-one"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    c->send(get("/healthz"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    auto lines = access_lines(logs);
    REQUIRE(lines.size() == 2);
    const auto& l = lines[0];
    INFO(l);
    CHECK(has(l, " status=200 "));
    CHECK(has(l, " model=fast "));
    // Quotes, spaces, `=` and the newline of an upstream string do not reach the line.
    CHECK(has(l, " oci_model=cohere.command-r__x__fake_1 "));
    CHECK(has(l, " route=native "));
    CHECK(has(l, " prompt_tokens=12 "));
    CHECK(has(l, " completion_tokens=34 "));
    CHECK(has(l, " ttft_ms=1.500 "));
    CHECK(has(l, " upstream_status=200 "));
    CHECK(has(l, " upstream_ms=2.250 "));
    CHECK(has(l, " retries=1 "));
    CHECK(has(l, " client=" + std::string(one_name)));
    CHECK_FALSE(has(logs.text(), "sk-one"));
    // No policy figure is known: none is shown.
    CHECK_FALSE(has(l, "region="));
    CHECK_FALSE(has(l, "fallback="));
    CHECK_FALSE(has(l, "failovers="));
    CHECK_FALSE(has(l, "rate_limited="));
    // A probe knows none of them.
    INFO(lines[1]);
    CHECK_FALSE(has(lines[1], "model="));
    CHECK_FALSE(has(lines[1], "client="));
    CHECK_FALSE(has(lines[1], "upstream"));
    CHECK_FALSE(has(lines[1], "retries="));
}

TEST_CASE("access log off: the observer still sees every exchange", "[exchange]")
{
    log_capture logs(spdlog::level::info);
    fixture f([](config& c) { c.log.access_log = false; });
    auto c = f.connect();
    c->send(get("/healthz"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(access_lines(logs).empty());
    CHECK(f.observed.size() == 1);
}

TEST_CASE("stats: connections and requests and streams in flight", "[exchange]")
{
    fixture f;
    CHECK(f.srv->stats().connections_open == 0);
    auto c = f.connect();
    c->send(get("/v1/models", "sk-one"));
    REQUIRE(f.run_until([&] { return f.calls == 1; }));
    auto during = f.srv->stats();
    CHECK(during.connections_open == 1);
    CHECK(during.connections_accepted == 1);
    CHECK(during.connections_refused == 0);
    CHECK(during.requests_in_flight == 1);
    CHECK(during.streams_in_flight == 0);
    f.release = true;
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(f.srv->stats().requests_in_flight == 0);

    // A stream counts from its head until the handler ends it.
    f.release = false;
    auto d = f.connect();
    d->send(
        "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-one\r\n"
        "Content-Length: 2\r\n\r\n{}");
    REQUIRE(d->receive_until([](const std::string& s) { return has(s, "data: 1"); }));
    auto streaming = f.srv->stats();
    CHECK(streaming.streams_in_flight == 1);
    CHECK(streaming.requests_in_flight == 1);
    CHECK(streaming.connections_open == 2);
    CHECK(streaming.connections_accepted == 2);
    f.release = true;
    CHECK(d->receive_until([](const std::string& s) { return has(s, "\r\n0\r\n\r\n"); }));
    REQUIRE(f.run_until([&] { return f.srv->stats().streams_in_flight == 0; }));
    CHECK(f.srv->stats().requests_in_flight == 0);
    CHECK(f.srv->stats().tls_handshakes == 0);
}

TEST_CASE("reconfigure: new requests use the new keys and in-flight ones keep theirs", "[exchange]")
{
    log_capture logs(spdlog::level::info);
    fixture f;
    // In flight before the reload: started with sk-one and the access log on.
    auto slow = f.connect();
    slow->send(get("/v1/models", "sk-one"));
    REQUIRE(f.run_until([&] { return f.calls == 1; }));

    auto next = std::make_shared<config>(*f.cfg);
    next->clients.api_keys = {"sk-two", "sk-new"};
    next->log.access_log = false;
    f.srv->reconfigure(next);

    auto c = f.connect();
    c->send(get("/metrics", "sk-new"));
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    c->send(get("/metrics", "sk-one"));
    CHECK(c->next_response().starts_with("HTTP/1.1 401 "));
    // No access lines for these two: the new configuration turned the log off.
    CHECK(access_lines(logs).empty());

    f.release = true;
    CHECK(slow->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    // The request that started before logs with its own configuration.
    auto lines = access_lines(logs);
    REQUIRE(lines.size() == 1);
    CHECK(has(lines[0], "path=/v1/models"));
    CHECK(has(lines[0], " client=" + std::string(one_name)));

    REQUIRE(f.observed.size() == 3);
    CHECK(f.observed[0].client == new_name);
    CHECK(f.observed[1].reject == "unauthorized");
    CHECK(f.observed[2].client == one_name);
}

TEST_CASE("stats: a connection refused at the cap is counted", "[exchange]")
{
    fixture f([](config& c) {
        c.listen_host = "127.0.0.1";
        c.listen_port = 0;
        c.limits.max_connections = 1;
    });
    f.srv->listen();
    f.srv->start();
    const auto ep = f.srv->local_endpoint();
    tcp::socket first(f.ioc);
    first.connect(ep);
    raw_client busy(f, std::move(first));
    busy.send(get("/v1/models", "sk-one"));
    REQUIRE(f.run_until([&] { return f.calls == 1; }));
    // Every connection busy: the next one is closed at once, and counted.
    tcp::socket second(f.ioc);
    second.connect(ep);
    raw_client refused(f, std::move(second));
    CHECK(refused.closed_by_server());
    CHECK(f.srv->stats().connections_refused == 1);
    CHECK(f.srv->stats().connections_accepted == 1);
    f.release = true;
    CHECK(busy.next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    f.srv->drain();
}

namespace {

// Headers a policy adds to whatever answers: good ones, one the answer itself sets
// (`Retry-After`: the answer's value stays), and bad ones the server must drop.
void add_policy_headers(http_request& req)
{
    req.answer_headers = {{"x-ratelimit-limit-requests", "10"},
                          {"x-ratelimit-reset-requests", "1m0s"},
                          {"retry-after", "99"},
                          {"x-evil", "a\r\nInjected: 1"},
                          {"x-evil-lf", "a\nInjected: 2"},
                          {"content-type", "text/html"},
                          {"x-request-id", "forged"},
                          {"bad name", "v"},
                          {"x-ogp-fallback", "small"}};
}

// Refuses as a rate limit does: a returned error with its own Retry-After.
net::awaitable<http_response> refusing_handler(http_request& req, response_sink&)
{
    add_policy_headers(req);
    req.record.rate_limited = "requests";
    api_error e = make_error(429, "Rate limit reached", error_codes::rate_limit_exceeded);
    e.retry_after = "7";
    co_return error_response(e);
}

// Streams with a head header of its own.
net::awaitable<http_response> policy_stream_handler(http_request& req, response_sink& sink)
{
    add_policy_headers(req);
    req.record.model = "big";
    req.record.region = "eu-frankfurt-1";
    req.record.fallback = "small \"x\"\n=1";
    req.record.failovers = 2;
    std::vector<std::pair<std::string, std::string>> own;
    own.emplace_back("x-own", "1");
    co_await sink.begin_stream(200, "text/event-stream", std::move(own));
    co_await sink.write("data: 1\n\n");
    co_await sink.end_stream();
    co_return http_response{};
}

// The head of a response (up to the blank line).
std::string head_of(const std::string& r)
{
    return r.substr(0, r.find("\r\n\r\n") + 4);
}

std::size_t count_of(std::string_view s, std::string_view part)
{
    std::size_t n = 0;
    for (auto p = s.find(part); p != std::string_view::npos; p = s.find(part, p + 1)) {
        ++n;
    }
    return n;
}

// What both paths must show: the policy headers once, the answer's own Retry-After, none of
// the bad ones.
void check_policy_headers(const std::string& head)
{
    INFO(head);
    CHECK(count_of(head, "x-ratelimit-limit-requests: 10\r\n") == 1);
    CHECK(has(head, "\r\nx-ratelimit-reset-requests: 1m0s\r\n"));
    CHECK(has(head, "\r\nx-ogp-fallback: small\r\n"));
    CHECK_FALSE(has(head, "Injected"));
    CHECK_FALSE(has(head, "x-evil"));
    CHECK_FALSE(has(head, "text/html"));
    CHECK_FALSE(has(head, "forged"));
    CHECK_FALSE(has(head, "bad name"));
    CHECK(count_of(head, "Content-Type: ") == 1);
    CHECK(count_of(head, "x-request-id: ") == 1);
}

}  // namespace

TEST_CASE("answer_headers reach a returned error answer once", "[exchange]")
{
    fixture f;
    f.srv->set_handler(route::responses, refusing_handler);
    auto c = f.connect();
    c->send(
        "POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-one\r\n"
        "Content-Length: 2\r\n\r\n{}");
    const auto r = c->next_response();
    REQUIRE(r.starts_with("HTTP/1.1 429 "));
    const auto head = head_of(r);
    check_policy_headers(head);
    // The answer's own Retry-After wins over the policy's copy.
    CHECK(has(head, "\r\nRetry-After: 7\r\n"));
    CHECK_FALSE(has(head, ": 99\r\n"));  // (not a bare "99": the random request id may hold it)
    CHECK(has(r, "rate_limit_exceeded"));
    // Another request on the connection does not inherit them.
    c->send(get("/healthz"));
    const auto next = c->next_response();
    CHECK(next.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK_FALSE(has(next, "x-ratelimit"));
}

TEST_CASE("answer_headers reach a stream head once", "[exchange]")
{
    fixture f;
    f.srv->set_handler(route::responses, policy_stream_handler);
    auto c = f.connect();
    c->send(
        "POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-one\r\n"
        "Content-Length: 2\r\n\r\n{}");
    const auto r = c->next_response();
    REQUIRE(r.starts_with("HTTP/1.1 200 OK\r\n"));
    const auto head = head_of(r);
    check_policy_headers(head);
    CHECK(has(head, "\r\nretry-after: 99\r\n"));
    CHECK(count_of(head, "x-own: 1\r\n") == 1);
    CHECK(has(head, "Transfer-Encoding: chunked\r\n"));
    CHECK(has(r, "data: 1"));
}

TEST_CASE("readyz: the upstream detail when ready and nothing of it when not", "[exchange]")
{
    bool ready = true;
    std::string detail =
        R"([{"upstream":"us-chicago-1","host":"h","state":"open","retry_in_s":12}])";
    int detail_calls = 0;
    fixture f;
    f.srv->set_readiness([&ready]() -> std::optional<std::string> {
        if (ready) {
            return std::nullopt;
        }
        return std::string("upstream down");
    });
    f.srv->set_readiness_detail([&] {
        ++detail_calls;
        return detail;
    });
    auto c = f.connect();
    auto body = [](const std::string& r) { return r.substr(r.find("\r\n\r\n") + 4); };

    c->send(get("/readyz"));
    auto r = c->next_response();
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(
        body(r) ==
        R"({"status":"ready","upstreams":[{"upstream":"us-chicago-1","host":"h","state":"open","retry_in_s":12}]})");

    detail = "";
    c->send(get("/readyz"));
    r = c->next_response();
    CHECK(body(r) == R"({"status":"ready"})");

    // Not an array: left out rather than breaking the JSON.
    detail = R"({"x":1})";
    c->send(get("/readyz"));
    r = c->next_response();
    CHECK(body(r) == R"({"status":"ready"})");

    detail = " [] ";
    c->send(get("/readyz"));
    r = c->next_response();
    CHECK(body(r) == R"({"status":"ready","upstreams":[]})");

    ready = false;
    detail = R"([{"upstream":"x"}])";
    const int before = detail_calls;
    c->send(get("/readyz"));
    r = c->next_response();
    CHECK(r.starts_with("HTTP/1.1 503 "));
    CHECK(has(r, "not ready"));
    CHECK_FALSE(has(r, "upstream"));
    CHECK(detail_calls == before);
}

TEST_CASE("readyz without a detail function answers as before", "[exchange]")
{
    fixture f;
    auto c = f.connect();
    c->send(get("/readyz"));
    auto r = c->next_response();
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(has(r, "\r\n\r\n{\"status\":\"ready\"}"));
}

TEST_CASE("access log: region fallback failovers and rate_limited when known", "[exchange]")
{
    log_capture logs(spdlog::level::info);
    fixture f;
    f.srv->set_handler(route::responses, policy_stream_handler);
    f.srv->set_handler(route::chat_completions, refusing_handler);
    auto c = f.connect();
    c->send(
        "POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-one\r\n"
        "Content-Length: 2\r\n\r\n{}");
    CHECK(c->next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    c->send(chat("sk-two"));
    CHECK(c->next_response().starts_with("HTTP/1.1 429 "));
    auto lines = access_lines(logs);
    REQUIRE(lines.size() == 2);
    INFO(lines[0]);
    CHECK(has(lines[0], " region=eu-frankfurt-1 "));
    // Sanitized like the other fields: no quote, space, newline or `=` of its own.
    CHECK(has(lines[0], " fallback=small__x___1 "));
    CHECK(has(lines[0], " failovers=2 "));
    CHECK_FALSE(has(lines[0], "rate_limited="));
    CHECK(has(lines[0], " stream=true"));
    INFO(lines[1]);
    CHECK(has(lines[1], " status=429 "));
    CHECK(has(lines[1], " rate_limited=requests "));
    CHECK(has(lines[1], " client=" + std::string(two_name)));
    CHECK_FALSE(has(lines[1], "failovers="));
    CHECK_FALSE(has(lines[1], "region="));
    CHECK_FALSE(has(lines[1], "fallback="));
}
