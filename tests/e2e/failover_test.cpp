// Upstream resilience end to end: the real daemon against one mock process playing two OCI
// regions (two inference listeners, `--extra-inference 1`, each with its own fault switch and
// counters). Region failover on 429/503 and on connect refusal, never after the first streamed
// byte; fallback aliases when every region fails; the circuit breaker opening and closing.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/scrape.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";

const std::vector<std::string> two_regions{"--extra-inference", "1"};

// oci.endpoints for the two regions: us-chicago-1 -> `first`, eu-frankfurt-1 -> `second`.
std::string endpoints(const std::string& first, const std::string& second)
{
    return "  endpoints:\n    us-chicago-1: " + first + "\n    eu-frankfurt-1: " + second + "\n";
}

// An alias served by both regions, us-chicago-1 first.
const std::string multi_alias =
    "  - name: multi\n    id: meta.llama-3.3-70b-instruct\n"
    "    regions: [us-chicago-1, eu-frankfurt-1]\n";

daemon_options region_options(const mock& m, std::string extra_models = {},
                              std::string first_endpoint = {})
{
    daemon_options o;
    o.oci_extra = endpoints(first_endpoint.empty() ? m.endpoint(0) : first_endpoint, m.endpoint(1));
    o.models = multi_alias + extra_models;
    return o;
}

http_response chat(std::uint16_t port, std::string_view model, bool stream = false,
                   std::string_view request_id = {})
{
    http_client c(port);
    std::string extra;
    if (!request_id.empty()) {
        extra = "X-Request-Id: " + std::string(request_id) + "\r\n";
    }
    return c.request("POST", chat_path, chat_body(model, "hello there", stream), 20s, true, extra);
}

// The access-log line of request `id` (the one with its status; warnings name the id too).
std::string access_line(const proxy& d, std::string_view id)
{
    const std::string needle = "request_id=" + std::string(id);
    REQUIRE(d.wait_for_log(needle));
    std::string found;
    for (int i = 0; i < 100 && found.empty(); ++i) {
        const std::string log = d.captured_stderr();
        std::size_t begin = 0;
        while (begin < log.size()) {
            std::size_t end = log.find('\n', begin);
            if (end == std::string::npos) {
                end = log.size();
            }
            const std::string line = log.substr(begin, end - begin);
            if (line.find(needle) != std::string::npos &&
                line.find(" status=") != std::string::npos) {
                found = line;
                break;
            }
            begin = end + 1;
        }
        if (found.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    return found;
}

double circuit_state(std::uint16_t port, std::string_view upstream)
{
    auto r = get_metrics(port);
    REQUIRE(r.status == 200);
    metric_set s(r.body);
    REQUIRE(s.has("ogp_upstream_circuit_state", {{"upstream", upstream}}));
    return s.sum("ogp_upstream_circuit_state", {{"upstream", upstream}});
}

}  // namespace

TEST_CASE("failover: a 503 or 429 in the first region is answered by the second at once",
          "[e2e][failover]")
{
    mock m(two_regions);
    REQUIRE(m.listeners() == 2);
    proxy d(m, region_options(m));
    const auto port = d.port();

    int round = 0;
    for (const char* fault : {R"({"mode":"status","status":503,"retry_after":"3"})",
                              R"({"mode":"status","status":429,"retry_after":"3"})"}) {
        INFO(fault);
        const std::string id = "failover-status-" + std::to_string(++round);
        m.set_fault(0, fault);
        const auto a = m.stats(0);
        const auto b = m.stats(1);
        const auto start = steady::now();
        auto r = chat(port, "multi", false, id);
        INFO(r.body);
        CHECK(r.status == 200);
        CHECK(chat_content(r.body).size() > 0);
        CHECK(json_string(r.body, "/model") == "multi");
        // The first region was asked once (no Retry-After wait while a region is left), the
        // second answered.
        CHECK(m.stats(0).faulted == a.faulted + 1);
        CHECK(m.stats(1).chat == b.chat + 1);
        CHECK(seconds_since(start) < 2.5);
        const auto line = access_line(d, id);
        INFO(line);
        CHECK(line.find("region=eu-frankfurt-1") != std::string::npos);
        CHECK(line.find("failovers=1") != std::string::npos);

        // Streams fail over the same way (before any byte reached the client).
        auto s = chat(port, "multi", true);
        CHECK(s.status == 200);
        CHECK(stream_content(s.sse_data()).size() > 0);
        CHECK(m.stats(1).chat == b.chat + 2);
        m.clear_fault(0);
    }
    auto r = get_metrics(port);
    metric_set s(r.body);
    CHECK(s.sum("ogp_upstream_failovers_total") >= 4);
}

TEST_CASE("failover: a region that refuses connections is skipped", "[e2e][failover]")
{
    mock m(two_regions);
    const std::string refused = "https://127.0.0.1:" + std::to_string(closed_port());
    proxy d(m, region_options(m, {}, refused));
    const auto b = m.stats(1);
    for (bool stream : {false, true}) {
        auto r = chat(d.port(), "multi", stream);
        INFO(r.body);
        CHECK(r.status == 200);
    }
    CHECK(m.stats(1).chat == b.chat + 2);
}

TEST_CASE("failover: never after the first byte reached the client", "[e2e][failover]")
{
    mock m(two_regions);
    proxy d(m, region_options(m));
    m.set_fault(0, R"({"mode":"reset_after_first"})");
    const auto a = m.stats(0);
    const auto b = m.stats(1);

    auto r = chat(d.port(), "multi", true);
    // The stream had begun: it ends with an error event, and the second region is never asked.
    CHECK(r.status == 200);
    const auto events = r.sse_data();
    INFO(printable(r.body, 3000));
    REQUIRE(!events.empty());
    CHECK(r.body.find("\"error\"") != std::string::npos);
    CHECK(m.stats(0).faulted == a.faulted + 1);
    CHECK(m.stats(1).chat == b.chat);
    CHECK(m.stats(1).faulted == b.faulted);
}

TEST_CASE("failover: the fallback alias answers when every region of the model fails",
          "[e2e][failover]")
{
    mock m(two_regions);
    const std::string aliases =
        "  - name: primary\n    id: meta.llama-3.3-70b-instruct\n    regions: [us-chicago-1]\n"
        "    fallbacks: [backup]\n"
        "  - name: backup\n    id: cohere.command-r-plus-08-2024\n    regions: [eu-frankfurt-1]\n";
    proxy d(m, region_options(m, aliases));
    m.set_fault(0, R"({"mode":"status","status":503})");
    const auto b = m.stats(1);

    for (bool stream : {false, true}) {
        INFO("stream " << stream);
        auto r = chat(d.port(), "primary", stream, stream ? "fallback-stream" : "fallback-plain");
        INFO(printable(r.body, 2000));
        REQUIRE(r.status == 200);
        CHECK(r.header("x-ogp-fallback").value_or("") == "backup");
        if (stream) {
            const auto events = r.sse_data();
            REQUIRE(!events.empty());
            CHECK(json_string(events.front(), "/model") == "backup");
        } else {
            CHECK(json_string(r.body, "/model") == "backup");
        }
        const auto line = access_line(d, stream ? "fallback-stream" : "fallback-plain");
        INFO(line);
        CHECK(line.find("fallback=backup") != std::string::npos);
    }
    CHECK(m.stats(1).chat == b.chat + 2);

    // Without a fallback, the failure is OCI's 503 (mapped), not a success.
    m.set_fault(1, R"({"mode":"status","status":503})");
    auto r = chat(d.port(), "primary");
    CHECK(r.status == 503);
    CHECK(is_openai_error(r.body));
    CHECK(!r.header("x-ogp-fallback"));

    auto metrics = get_metrics(d.port());
    metric_set s(metrics.body);
    CHECK(s.sum("ogp_fallbacks_total", {{"fallback", "backup"}}) == 2);
}

TEST_CASE("failover: the circuit breaker opens after failures and closes after a probe",
          "[e2e][failover]")
{
    mock m(two_regions);
    daemon_options o = region_options(m);
    o.extra = "circuit_breaker:\n  failures: 2\n  cooldown: 1s\n";
    proxy d(m, o);
    const auto port = d.port();
    CHECK(circuit_state(port, "us-chicago-1") == 0);

    m.set_fault(0, R"({"mode":"status","status":503})");
    for (int i = 0; i < 2; ++i) {
        CHECK(chat(port, "multi").status == 200);
    }
    REQUIRE(m.stats(0).faulted == 2);
    // Open: the first region is skipped, not asked.
    CHECK(circuit_state(port, "us-chicago-1") == 2);
    http_client c(port);
    auto ready = c.request("GET", "/readyz", {}, 5s, false);
    INFO(ready.body);
    CHECK(ready.status == 200);
    CHECK(ready.body.find("\"us-chicago-1\"") != std::string::npos);
    CHECK(ready.body.find("\"open\"") != std::string::npos);
    for (int i = 0; i < 3; ++i) {
        CHECK(chat(port, "multi").status == 200);
    }
    CHECK(m.stats(0).faulted == 2);
    CHECK(m.stats(0).chat == 0);

    // After the cool-down one probe goes to the first region; its success closes the circuit.
    m.clear_fault(0);
    std::this_thread::sleep_for(1200ms);
    CHECK(chat(port, "multi").status == 200);
    CHECK(m.stats(0).chat == 1);
    CHECK(circuit_state(port, "us-chicago-1") == 0);
    CHECK(chat(port, "multi").status == 200);
    CHECK(m.stats(0).chat == 2);

    auto metrics = get_metrics(port);
    metric_set s(metrics.body);
    CHECK(s.sum("ogp_upstream_circuit_opened_total", {{"upstream", "us-chicago-1"}}) == 1);
}
