// Upstream resilience of the real daemon against oci-genai-mock (and two loopback stand-ins):
// the cases 31-46 of the reliability table (style-and-reliability.md, B.6) that apply.
#include <catch2/catch.hpp>

#include <csignal>
#include <string>
#include <thread>

#include "support/credentials.hpp"
#include "support/e2e_checks.hpp"
#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";

// A prompt long enough for the mock to answer in about 15 separate writes.
const std::string long_prompt =
    "please answer with a long text so that the stream is split into many separate writes, "
    "then some more words, and still more words to make it longer";

// The `data:` payload of the stream's last event, which must be an OpenAI error object.
std::string last_error_code(const http_response& r)
{
    auto events = r.sse_data();
    if (events.empty()) {
        return {};
    }
    return json_string(events.back(), "/error/code");
}

}  // namespace

TEST_CASE("B.6 #31 a client that stops reading: the write stall ends both sides", "[e2e][b6]")
{
    mock m;
    daemon_options o;
    o.write_stall = "1s";
    proxy d(m, o);
    const auto rss_before = d.rss_kib();
    // A small receive window, and the test never reads: the daemon's writes stall.
    http_client c(d.port(), 4096);
    c.send_request("POST", chat_path, chat_body("meta.mock-long-1", "x", true));
    const auto start = steady::now();
    // The upstream exchange is cancelled: the mock's writes fail, its connection closes.
    auto s = m.wait_stats([](const mock_stats& st) { return st.closed_by_client == 1; }, 20s);
    const double took = seconds_since(start);
    CHECK(s.closed_by_client == 1);
    // (the daemon's idle spare connection may stay open: it never carried a request)
    s = m.wait_stats([](const mock_stats& st) { return st.open_used == 0; }, 5s);
    CHECK(s.open_used == 0);
    CHECK(took < 15.0);
    const auto rss_after = d.rss_kib();
    INFO("RSS " << rss_before << " KiB -> " << rss_after << " KiB, cancelled after " << took
                << " s");
    if (!asan_build && rss_before > 0) {
        // Bounded by one upstream read and one downstream chunk, not by the 16 MiB stream.
        CHECK(rss_after < rss_before + 8 * 1024);
    }
    // The client side is closed too (what was buffered arrives first, then EOF).
    CHECK(c.wait_closed(10s));
    // The daemon still serves.
    http_client c2(d.port());
    CHECK(c2.request("POST", chat_path, chat_body("gpt-4o-mini", "after")).status == 200);
}

TEST_CASE("B.6 #32 client disconnect mid-stream closes the upstream connection within 1 s",
          "[e2e][b6]")
{
    mock m;
    proxy d(m);
    {
        http_client c(d.port());
        c.send_request("POST", chat_path, chat_body("meta.mock-slow-1", long_prompt, true));
        auto head = c.read_head_and_chunks(1, 10s);
        REQUIRE(head.status == 200);
        REQUIRE(head.arrivals.size() == 1);
        REQUIRE(m.stats().open_used == 1);
    }  // the client closes mid-stream
    const auto closed_at = steady::now();
    auto s = m.wait_stats([](const mock_stats& st) { return st.open_used == 0; }, 5s);
    const double took = seconds_since(closed_at);
    INFO("upstream closed " << took << " s after the client");
    CHECK(s.open_used == 0);
    CHECK(took < 1.5);  // 1 s, plus polling and scheduling slack
    CHECK(s.closed_by_client == 1);
    CHECK(s.requests == 1);
    // That connection is not pooled: the next request goes to another one (the spare opened
    // meanwhile, or a new one on the other io thread), never to the closed one.
    http_client c2(d.port());
    CHECK(c2.request("POST", chat_path, chat_body("gpt-4o-mini", "next")).status == 200);
    CHECK(m.stats().connections >= 2);
    CHECK(m.stats().requests == 2);
    CHECK(m.stats().stale_drops == 0);
}

TEST_CASE("B.6 #33 upstream accepts TCP but never answers the TLS handshake: 504", "[e2e][b6]")
{
    mock m;  // credentials only
    silent_listener silent;
    daemon_options o;
    o.endpoint = "https://127.0.0.1:" + std::to_string(silent.port());
    o.upstream_connect = "1s";
    proxy d(m, o);
    http_client c(d.port());
    // Connect timeout + 0.5 s, plus slack for a loaded machine.
    expect_upstream_timeout(c, chat_body("gpt-4o-mini", "x"), {0.9, 1.5 + 0.5}, 10s);
    CHECK(silent.accepted() >= 1);
    // A stream request fails the same way, before any byte of a stream.
    auto s = c.request("POST", chat_path, chat_body("gpt-4o-mini", "x", true), 10s);
    CHECK(s.status == 504);
    CHECK(!s.chunked);
}

TEST_CASE("B.6 #34 upstream reads the request and never answers: 504 at the first-byte timeout",
          "[e2e][b6]")
{
    // Regression: a GCC 12 conditional co_await once also ran the plain-socket read after the
    // TLS read was cancelled, and that read was never cancelled (no 504 until the client left).
    e2e_stack stack({.upstream_first_byte = "1s"});
    auto& [m, d, c] = stack;
    for (bool stream : {false, true}) {
        INFO("stream " << stream);
        const auto before = m.stats().requests;
        expect_upstream_timeout(c, chat_body("meta.mock-hang-1", "x", stream), {0.9, 3.0}, 5s);
        CHECK(m.stats().requests - before == 1);  // not retried
    }
    // The hung connections were closed, not pooled.
    CHECK(wait_all_closed(m, 3s) == 0);
}

TEST_CASE("B.6 #35 upstream stream stalls: events, then an error event at the idle timeout",
          "[e2e][b6]")
{
    e2e_stack stack({.upstream_stream_idle = "1s"});
    auto& [m, d, c] = stack;
    auto [r, took] =
        timed_request(c, "POST", chat_path, chat_body("meta.mock-stall-1", long_prompt, true), 10s);
    INFO(printable(r.body, 2000) << " after " << took << " s");
    check_window(took, {0.9, 4.0}, "stream ended after");
    auto events = expect_stream_ended_by_error(r);
    CHECK(json_string(events.back(), "/error/type") == "api_error");
    CHECK(!json_string(events.back(), "/error/message").empty());
    // The stalled connection is closed (the daemon's idle spare may stay open).
    CHECK(wait_used_closed(m, 3s) == 0);
}

TEST_CASE("B.6 #38 max in-flight upstream: an extra request gets 503 + Retry-After at once",
          "[e2e][b6]")
{
    mock m;
    daemon_options o;
    o.limits = "  max_inflight_upstream: 1\n";
    proxy d(m, o);
    // One exchange in flight (the mock holds it without answering).
    http_client busy(d.port());
    busy.send_request("POST", chat_path, chat_body("meta.mock-hang-1", "x"));
    REQUIRE(m.wait_stats([](const mock_stats& s) { return s.requests == 1; }, 5s).requests == 1);
    http_client c(d.port());
    const auto start = steady::now();
    auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "x"), 5s);
    const double took = seconds_since(start);
    INFO(printable(r.body));
    CHECK(r.status == 503);
    CHECK(r.header("retry-after").has_value());
    CHECK(json_string(r.body, "/error/type") == "service_unavailable_error");
    CHECK(!json_string(r.body, "/error/message").empty());
    CHECK(took < 1.0);  // not queued behind the hung exchange
    CHECK(m.stats().requests == 1);
    // The slot frees when the first exchange ends (its client leaves: the exchange aborts).
    busy.close();
    CHECK(status_until_ok(c, chat_body("gpt-4o-mini", "x"), 5s) == 200);
}

TEST_CASE("B.6 #38 max in-flight upstream counts a stream in flight", "[e2e][b6]")
{
    // Regression: the slot was once released when the response head arrived.
    mock m;
    daemon_options o;
    o.limits = "  max_inflight_upstream: 1\n";
    proxy d(m, o);
    http_client streaming(d.port());
    streaming.send_request("POST", chat_path, chat_body("meta.mock-slow-1", long_prompt, true));
    auto head = streaming.read_head_and_chunks(1, 10s);
    REQUIRE(head.status == 200);
    http_client c(d.port());
    auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "x"), 5s);
    INFO(printable(r.body));
    CHECK(r.status == 503);
    CHECK(r.header("retry-after").has_value());
    CHECK(m.stats().chat == 1);
    // Once the stream has ended (its client left), the slot is free again.
    streaming.close();
    CHECK(status_until_ok(c, chat_body("gpt-4o-mini", "x"), 5s, 5s) == 200);
}

TEST_CASE("B.6 #40 a stale pooled connection is retried once on a new connection", "[e2e][b6]")
{
    // The mock drops a request that arrives on a connection idle for 300 ms or more (its idle
    // close crossing the request), without answering.
    e2e_stack stack({.log_level = "debug"}, {"--stale-after-ms", "300"});
    auto& [m, d, c] = stack;
    REQUIRE(c.request("POST", chat_path, chat_body("gpt-4o-mini", "first")).status == 200);
    std::this_thread::sleep_for(700ms);
    auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "second"), 5s);
    INFO(printable(r.body));
    CHECK(r.status == 200);
    CHECK(chat_content(r.body) == "Hello from the OCI mock. You said: second");
    auto s = m.stats();
    CHECK(s.stale_drops == 1);  // the pooled connection was reused and found stale
    CHECK(s.requests == 2);     // the upstream handled exactly one request for the second
    CHECK(s.connections == 2);  // the retry went to a fresh connection
    CHECK(d.log_count("was stale") == 1);
    // A second stale reuse is retried the same way.
    std::this_thread::sleep_for(700ms);
    CHECK(c.request("POST", chat_path, chat_body("gpt-4o-mini", "third"), 5s).status == 200);
    CHECK(m.stats().stale_drops == 2);
}

TEST_CASE_METHOD(e2e_stack,
                 "B.6 #41 no retry after bytes went to the client: truncated stream, error event",
                 "[e2e][b6]")
{
    auto [r, took] = timed_request(c, "POST", chat_path,
                                   chat_body("meta.mock-reset-mock-slow-1", long_prompt, true), 5s);
    INFO(printable(r.body, 2000) << " after " << took << " s");
    check_window(took, {0, 5.0}, "stream ended after");
    // mock-reset paced by mock-slow: the head and a first write (100 ms apart), a second write,
    // then a TCP reset (which may destroy the second write before the daemon reads it).
    auto events = expect_stream_ended_by_error(r);
    CHECK(json_string(events.back(), "/error/type") == "api_error");
    const auto text = stream_content(events);
    CHECK(text.size() < ("Hello from the OCI mock. You said: " + long_prompt).size());
    // The upstream saw exactly one request: nothing was retried.
    std::this_thread::sleep_for(300ms);
    auto s = m.stats();
    CHECK(s.requests == 1);
    CHECK(s.chat == 1);
}

TEST_CASE_METHOD(
    e2e_stack, "B.6 #45 bad upstream framing (CL+TE, bad chunk size) is a 502, connection dropped",
    "[e2e][b6]")
{
    for (std::string model : {"meta.mock-cl-te-1", "meta.mock-bad-chunk-1"}) {
        INFO(model);
        auto r = c.request("POST", chat_path, chat_body(model, "x"), 10s);
        INFO(printable(r.body));
        CHECK(r.status == 502);
        CHECK(json_string(r.body, "/error/type") == "api_error");
        CHECK(wait_all_closed(m, 3s) == 0);
    }
    // Streamed, a bad chunk after the first: the stream ends with an error event.
    auto s =
        c.request("POST", chat_path, chat_body("meta.mock-bad-chunk-1", long_prompt, true), 10s);
    INFO(printable(s.body, 2000));
    if (s.status == 200) {
        expect_stream_ended_by_error(s);
        CHECK(!last_error_code(s).empty());
    } else {
        CHECK(s.status == 502);
    }
    CHECK(wait_used_closed(m, 3s) == 0);
    // Healthy again on a fresh connection (the spare the stream left).
    CHECK(c.request("POST", chat_path, chat_body("gpt-4o-mini", "x")).status == 200);
    CHECK(m.stats().connections == 4);
}

TEST_CASE("B.6 #46 untrusted upstream certificate: 502, no request reaches the upstream",
          "[e2e][b6]")
{
    // API-key credentials (local), so that only the inference connection depends on the CA.
    temp_dir keys;
    auto creds = write_api_key_credentials(keys);
    mock m(creds.mock_args());
    {
        daemon_options o;
        o.api_key_config = creds.config_file;
        o.use_ca_file = false;  // the mock's CA is not in the system store
        proxy d(m, o);
        http_client c(d.port());
        for (bool stream : {false, true}) {
            auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "x", stream), 10s);
            INFO(printable(r.body));
            CHECK(r.status == 502);
            CHECK(json_string(r.body, "/error/code") == "upstream_unavailable");
            CHECK(json_string(r.body, "/error/message").find("TLS") != std::string::npos);
            // Neither the upstream's address nor the TLS library's words reach the client.
            CHECK(r.body.find("127.0.0.1") == std::string::npos);
            CHECK(r.body.find("certificate") == std::string::npos);
        }
        auto s = m.stats();
        CHECK(s.connections >= 1);  // the daemon connected...
        CHECK(s.requests == 0);     // ...but sent no request
    }
    // Control: the same daemon configuration with oci.ca_file works.
    daemon_options o;
    o.api_key_config = creds.config_file;
    proxy d(m, o);
    http_client c(d.port());
    CHECK(c.request("POST", chat_path, chat_body("gpt-4o-mini", "x")).status == 200);
    CHECK(m.stats().rejected_signatures == 0);
}

TEST_CASE("issue 10 #9 a non-streamed answer that drips ends at timeouts.upstream_total",
          "[e2e][hardening]")
{
    // One body byte every 200 ms never trips the idle timeout; the total deadline does.
    e2e_stack stack({.upstream_stream_idle = "1s", .upstream_total = "2s"});
    auto& [m, d, c] = stack;
    expect_upstream_timeout(c, chat_body("meta.mock-drip", "x"), {1.8, 6.0}, 15s);
    // The dripping connection is closed, not pooled.
    CHECK(wait_used_closed(m, 3s) == 0);
}

TEST_CASE("issue 10 #9 SSE comments are not stream progress", "[e2e][hardening]")
{
    // Comments every 200 ms, never an event: the idle timeout counts from the last event.
    e2e_stack stack({.upstream_stream_idle = "1s"});
    auto& [m, d, c] = stack;
    auto [r, took] =
        timed_request(c, "POST", chat_path, chat_body("meta.mock-comments", "x", true), 15s);
    INFO(printable(r.body, 2000) << " after " << took << " s");
    check_window(took, {0, 6.0}, "stream ended after");
    auto events = expect_stream_ended_by_error(r);
    REQUIRE(events.size() == 1);
    CHECK(json_string(events.back(), "/error/type") == "api_error");
    CHECK(wait_used_closed(m, 3s) == 0);
}

TEST_CASE_METHOD(e2e_stack, "issue 10 #12 interim 1xx heads from OCI are skipped",
                 "[e2e][hardening]")
{
    for (bool stream : {false, true}) {
        INFO("stream=" << stream);
        auto r = c.request("POST", chat_path, chat_body("meta.mock-1xx", "hello", stream), 10s);
        INFO(printable(r.body, 2000));
        CHECK(r.status == 200);
        if (stream) {
            auto events = r.sse_data();
            REQUIRE(!events.empty());
            CHECK(events.back() == "[DONE]");
        } else {
            CHECK(json_string(r.body, "/object") == "chat.completion");
        }
    }
}

TEST_CASE_METHOD(e2e_stack,
                 "issue 10 #15 a stream cut at the drain deadline ends with an error event",
                 "[e2e][hardening]")
{
    // The mock stalls after its first write; the daemon's drain budget is 2 s (stack.cpp).
    c.send_request("POST", chat_path, chat_body("meta.mock-stall-1", long_prompt, true));
    REQUIRE(m.wait_stats([](const mock_stats& s) { return s.chat >= 1; }, 5s).chat >= 1);
    std::this_thread::sleep_for(200ms);  // the stream's head and first events are on their way
    REQUIRE(::kill(d.pid(), SIGTERM) == 0);
    const auto start = steady::now();
    auto r = c.read_response(10s);
    const double took = seconds_since(start);
    INFO(printable(r.body, 2000) << " after " << took << " s");
    check_window(took, {1.5, 6.0}, "stream ended after");
    auto events = expect_stream_ended_by_error(r);
    REQUIRE(events.size() >= 2);
    CHECK(json_string(events.front(), "/object") == "chat.completion.chunk");
    CHECK(json_string(events.back(), "/error/code") == "server_shutting_down");
    CHECK(d.wait_for_log("ending the open streams"));
    CHECK(d.log_count("ending the open streams") == 1);
}
