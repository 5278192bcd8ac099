// Graceful shutdown of the real daemon (style-and-reliability.md §B.6, cases 48-50) and the
// systemd notifications. A request is kept "in flight" either by sending only part of its
// head or body, or inside its handler: a chat request whose OCI endpoint is a silent loopback
// listener waits in the TLS handshake until `timeouts.upstream_connect`.
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

namespace {

// Polls until a new connection to `port` is refused; returns the seconds it took, or -1.
double seconds_until_refused(std::uint16_t port, ms timeout)
{
    const auto start = steady::now();
    while (steady::now() - start < timeout) {
        if (!raw_client::can_connect(port, 200ms)) {
            return seconds_since(start);
        }
        std::this_thread::sleep_for(5ms);
    }
    return -1;
}

// Reads notifications until one carries the assignment `line` (a datagram may hold several,
// one per line); false after `timeout`.
bool wait_for_notify(notify_listener& n, std::string_view line, ms timeout)
{
    const auto deadline = steady::now() + timeout;
    while (steady::now() < deadline) {
        auto msg = n.receive(std::chrono::duration_cast<ms>(deadline - steady::now()));
        if (!msg) {
            return false;
        }
        std::size_t start = 0;
        while (start <= msg->size()) {
            auto end = msg->find('\n', start);
            if (std::string_view(*msg).substr(start, end - start) == line) {
                return true;
            }
            if (end == std::string::npos) {
                break;
            }
            start = end + 1;
        }
    }
    return false;
}

// Sends SIGTERM and checks the start of the drain: the daemon logs it, new connections are
// refused within 1 s, and `idle` (a keep-alive connection) is closed without a byte, all
// within 1.5 s. Returns when the signal was sent.
steady::time_point begin_drain(daemon_process& d, raw_client& idle)
{
    const auto t0 = steady::now();
    d.stop(SIGTERM);
    REQUIRE(d.wait_for_log("draining", 2s));
    // New connections are refused promptly.
    const double refused_after = seconds_until_refused(d.port(), 2s);
    INFO("refused after " << refused_after << " s");
    CHECK(refused_after >= 0.0);
    CHECK(refused_after < 1.0);
    // The idle keep-alive connection is closed without a byte.
    CHECK(idle.is_closed(1s));
    CHECK(seconds_since(t0) < 1.5);
    return t0;
}

// Sends SIGTERM with a request in flight under a 1 s drain budget and checks the cut: exit 0
// between 0.8 s and 3 s later, with "drain timeout" in the log.
void expect_drain_cut(daemon_process& d)
{
    const auto t0 = steady::now();
    d.stop(SIGTERM);
    check_window(expect_exit(d, 0, 5s, t0), {0.8, 3.0}, "exited after");
    CHECK(d.captured_stderr().find("drain timeout") != std::string::npos);
}

// True when the peer closes `c` within `timeout`, whatever it sent before.
bool peer_closed(raw_client& c, ms timeout)
{
    bool closed = false;
    c.read_until_eof(timeout, &closed);
    return closed;
}

}  // namespace

TEST_CASE("B6.48 sigterm_drain: listener closed, idle closed, in-flight requests finish, exit 0",
          "[shutdown]")
{
    daemon_process d(
        {.request_header = "5", .request_body = "5", .keepalive_idle = "10", .drain = "5"});

    // An idle keep-alive connection.
    raw_client idle(d.port());
    require_keepalive_ok(idle);
    // Three requests whose bodies are half sent.
    std::vector<std::unique_ptr<raw_client>> busy;
    for (int i = 0; i < 3; ++i) {
        busy.push_back(std::make_unique<raw_client>(d.port()));
        REQUIRE(busy.back()->send(chat_head("Content-Length: 10\r\n") + "01234"));
    }
    // A readiness probe whose head is not complete yet.
    raw_client probe(d.port());
    REQUIRE(probe.send("GET /readyz HTTP/1.1\r\nHost: x\r\n"));
    std::this_thread::sleep_for(300ms);  // let the daemon read what was sent

    const auto t0 = begin_drain(d, idle);
    // In-flight work keeps the daemon alive.
    CHECK_FALSE(d.wait_exit(300ms));

    // The probe completes its head: 503 while draining, then close.
    REQUIRE(probe.send("\r\n"));
    auto not_ready = probe.read_response();
    REQUIRE(not_ready);
    CHECK(not_ready->status == 503);
    CHECK(not_ready->header("retry-after").has_value());
    CHECK(is_openai_error(not_ready->body));
    CHECK(not_ready->connection_close());
    CHECK(probe.is_closed(2s));

    // The three bodies complete: each is answered, with Connection: close; a request
    // pipelined behind one of them is not served any more.
    for (auto& b : busy) {
        REQUIRE(b->send(b == busy.front() ? "56789" + get_request() : std::string("56789")));
    }
    for (auto& b : busy) {
        auto r = b->read_response();
        REQUIRE(r);
        CHECK(r->status != 408);  // answered by the handler, not cut by a deadline
        CHECK(r->connection_close());
        CHECK(b->is_closed(2s));
    }
    // Then the daemon exits 0, well before the 5 s drain budget.
    check_window(expect_exit(d, 0, 3s, t0), {0, 4.5}, "exited after");
    CHECK(d.captured_stderr().find("drain timeout") == std::string::npos);
}

TEST_CASE("B6.48 sigterm_drain: an idle daemon exits 0 at once on SIGTERM and on SIGINT",
          "[shutdown]")
{
    // Nothing is in flight: the exit must not wait for parked operations (signal registrations).
    for (int sig : {SIGTERM, SIGINT}) {
        INFO("signal " << sig);
        daemon_process d;
        const auto t0 = steady::now();
        d.stop(sig);
        check_window(expect_exit(d, 0, 3s, t0), {0, 2.0}, "exited after");
        CHECK(d.wait_for_log("stopped", 1s));
    }
}

TEST_CASE("B6.48 sigterm_drain: a connection that has sent nothing does not hold up shutdown",
          "[shutdown]")
{
    // Such a connection is idle like a keep-alive one (load balancers pre-open them); the
    // daemon should close it at once instead of waiting for the header deadline.
    daemon_process d({.request_header = "3", .drain = "10"});
    raw_client silent(d.port());
    REQUIRE(silent.send(""));
    std::this_thread::sleep_for(200ms);  // accepted
    const auto t0 = steady::now();
    d.stop(SIGTERM);
    INFO("request_header 3 s, drain 10 s");
    check_window(expect_exit(d, 0, 8s, t0), {0, 1.5}, "exited after");
}

TEST_CASE("B6.49 sigterm_drain_timeout: in-flight requests are cut at the drain deadline",
          "[shutdown]")
{
    daemon_process d({.request_header = "10", .request_body = "10", .drain = "1"});
    raw_client busy(d.port());
    REQUIRE(busy.send(chat_head("Content-Length: 10\r\n") + "01234"));
    raw_client partial(d.port());
    REQUIRE(partial.send("GET /healthz HTTP/1.1\r\n"));
    std::this_thread::sleep_for(300ms);

    INFO("drain 1 s");
    expect_drain_cut(d);
    // Both connections are gone (no response is owed to an unfinished request).
    CHECK(peer_closed(busy, 2s));
    CHECK(peer_closed(partial, 2s));
}

TEST_CASE("B6.50 second_signal: a second SIGTERM exits immediately with code 1", "[shutdown]")
{
    for (int sig : {SIGTERM, SIGINT}) {
        INFO("signal " << sig);
        daemon_process d({.request_body = "20", .drain = "20"});
        raw_client busy(d.port());
        REQUIRE(busy.send(chat_head("Content-Length: 10\r\n") + "01234"));
        std::this_thread::sleep_for(200ms);
        d.stop(sig);
        REQUIRE(d.wait_for_log("draining", 2s));
        CHECK_FALSE(d.wait_exit(300ms));  // still draining for the busy request
        const auto t1 = steady::now();
        d.stop(sig);
        check_window(expect_exit(d, 1, 3s, t1), {0, 1.5}, "exited after");
        CHECK(d.captured_stderr().find("second signal") != std::string::npos);
        CHECK(busy.read_until_eof(2s).empty());
    }
}

TEST_CASE("systemd notify: READY=1 once listening, STOPPING=1 on SIGTERM", "[shutdown]")
{
    temp_dir dir;
    notify_listener notify(dir.path() + "/notify.sock");
    daemon_process d({}, {"NOTIFY_SOCKET=" + notify.path()});
    REQUIRE(wait_for_notify(notify, "READY=1", 3s));
    CHECK(raw_client::can_connect(d.port()));  // ready means accepting
    d.stop(SIGTERM);
    CHECK(wait_for_notify(notify, "STOPPING=1", 3s));
    expect_exit(d, 0, 3s);
}

TEST_CASE("systemd notify: abstract socket names work, a missing socket is harmless", "[shutdown]")
{
    const std::string name = "@ogp-it-notify-" + std::to_string(::getpid());
    {
        notify_listener notify(name);
        daemon_process d({}, {"NOTIFY_SOCKET=" + name});
        CHECK(wait_for_notify(notify, "READY=1", 3s));
        d.stop(SIGTERM);
        expect_exit(d, 0, 3s);
    }
    // Nobody listening on the socket: the daemon still runs and stops normally.
    temp_dir dir;
    daemon_process d({}, {"NOTIFY_SOCKET=" + dir.path() + "/absent.sock"});
    raw_client c(d.port());
    expect_ok(c);
    d.stop(SIGTERM);
    expect_exit(d, 0, 3s);
}

TEST_CASE("B6.48 sigterm_drain: upstream exchanges in flight complete during the drain",
          "[shutdown][upstream]")
{
    // Each exchange stalls in the TLS handshake with the silent upstream until the 2 s
    // upstream connect timeout, then answers 504: a slow handler, all inside the daemon.
    silent_listener upstream;
    daemon_process d({.keepalive_idle = "10",
                      .drain = "8",
                      .upstream_port = upstream.port(),
                      .upstream_connect = "2"});
    raw_client idle(d.port());
    require_keepalive_ok(idle);

    const auto t_start = steady::now();
    std::vector<std::unique_ptr<raw_client>> busy;
    for (int i = 0; i < 3; ++i) {
        busy.push_back(std::make_unique<raw_client>(d.port()));
        REQUIRE(busy.back()->send(upstream_chat_request("inflight-" + std::to_string(i))));
    }
    // All three handlers are talking to the upstream.
    CHECK(upstream.wait_connections(3, 3s) == 3);
    std::this_thread::sleep_for(200ms);

    const auto t0 = begin_drain(d, idle);
    CHECK_FALSE(d.wait_exit(200ms));  // the exchanges are still running

    for (std::size_t i = 0; i < busy.size(); ++i) {
        INFO("request " << i);
        // The upstream connect timeout, answered in full.
        auto r = expect_refused_and_closed(*busy[i], {504}, 6s);
        CHECK(is_openai_error(r.body));
        CHECK(r.header("x-request-id") == "inflight-" + std::to_string(i));
    }
    INFO("upstream_connect 2 s");
    check_window(seconds_since(t_start), {1.6, 5.0}, "answered after");
    // Before the 8 s drain budget.
    check_window(expect_exit(d, 0, 3s, t0), {0, 7.0}, "exited after");
    CHECK(d.captured_stderr().find("drain timeout") == std::string::npos);
}

TEST_CASE("B6.49 sigterm_drain_timeout: an upstream exchange longer than the drain is cut",
          "[shutdown][upstream]")
{
    // At the drain deadline the forced close must also abort the upstream exchange (here still
    // in its TLS handshake), or the exit waits for the 30 s connect timeout.
    silent_listener upstream;
    daemon_process d({.drain = "1", .upstream_port = upstream.port(), .upstream_connect = "30"});
    raw_client busy(d.port());
    REQUIRE(busy.send(upstream_chat_request("too-slow")));
    REQUIRE(upstream.wait_connections(1, 3s) == 1);
    std::this_thread::sleep_for(100ms);

    INFO("drain 1 s, upstream_connect 30 s");
    expect_drain_cut(d);
    CHECK(peer_closed(busy, 2s));
}

TEST_CASE("SIGHUP reloads the configuration: the daemon keeps serving", "[shutdown][reload]")
{
    daemon_process d;
    raw_client c(d.port());
    REQUIRE(c.send(get_request()));
    REQUIRE(c.read_response());
    for (std::size_t i = 1; i <= 3; ++i) {
        d.stop(SIGHUP);
        CHECK(d.wait_for_log_count("configuration reloaded", i, 3s));
    }
    CHECK_FALSE(d.wait_exit(300ms));
    // The keep-alive connection and new ones are still served.
    expect_ok(c);
    raw_client fresh(d.port());
    expect_ok(fresh);
    // A reload is not a stop.
    CHECK(d.log_count("draining") == 0);
}

TEST_CASE("systemd notify: RELOADING=1 then READY=1 on SIGHUP", "[shutdown][reload]")
{
    temp_dir dir;
    notify_listener notify(dir.path() + "/notify.sock");
    daemon_process d({}, {"NOTIFY_SOCKET=" + notify.path()});
    REQUIRE(wait_for_notify(notify, "READY=1", 3s));
    d.stop(SIGHUP);
    CHECK(wait_for_notify(notify, "RELOADING=1", 3s));
    CHECK(wait_for_notify(notify, "READY=1", 3s));
    // Also when the new file is rejected: the old configuration is running, so ready again.
    std::string broken = d.config_text() + "bogus_top: 1\n";
    d.rewrite_config(broken);
    d.stop(SIGHUP);
    CHECK(wait_for_notify(notify, "RELOADING=1", 3s));
    CHECK(wait_for_notify(notify, "READY=1", 3s));
    raw_client c(d.port());
    expect_ok(c);
    d.stop(SIGTERM);
    CHECK(wait_for_notify(notify, "STOPPING=1", 3s));
    expect_exit(d, 0, 3s);
}
