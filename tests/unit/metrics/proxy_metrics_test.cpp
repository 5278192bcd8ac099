// Unit tests of proxy_metrics: one observe() moves exactly the series the contract names, the
// runtime snapshot is written at scrape time, and whole scrapes parse strictly in both formats.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../support/exposition.hpp"
#include "ogp/metrics/metrics.hpp"

using namespace ogp::metrics;
using namespace std::chrono_literals;
using ogp::test::label_pairs;

namespace {

/// A strict parse of a whole scrape (the test fails on any format error).
std::vector<ogp::test::expo_family> scrape(const proxy_metrics& m,
                                           exposition fmt = exposition::text_0_0_4)
{
    std::string out;
    m.write(out, fmt);
    const auto r = ogp::test::parse_exposition(
        out, fmt == exposition::text_0_0_4 ? ogp::test::expo_format::text_0_0_4
                                           : ogp::test::expo_format::openmetrics_1_0_0);
    INFO(out);
    INFO(r.describe());
    REQUIRE(r.ok());
    return r.families;
}

/// `name{k="v",...}` with labels sorted and `le` left out: one key per series.
std::map<std::string, double> values_of(const std::vector<ogp::test::expo_family>& families)
{
    std::map<std::string, double> out;
    for (const auto& f : families) {
        for (const auto& s : f.samples) {
            if (s.name.ends_with("_bucket") || s.name.ends_with("_sum")) {
                continue;  // a histogram series moves with its _count
            }
            auto labels = s.labels;
            std::sort(labels.begin(), labels.end());
            std::string key = s.name + "{";
            for (const auto& [k, v] : labels) {
                key += k + "=" + v + ",";
            }
            out[key + "}"] = s.value;
        }
    }
    return out;
}

/// The series whose value changed (or appeared) between two scrapes.
std::set<std::string> moved(const std::map<std::string, double>& before,
                            const std::map<std::string, double>& after)
{
    std::set<std::string> out;
    for (const auto& [k, v] : after) {
        const auto it = before.find(k);
        if (it == before.end() || it->second != v) {
            out.insert(k);
        }
    }
    return out;
}

/// Observes `s` and returns the series that moved.
std::set<std::string> observe_and_diff(proxy_metrics& m, const request_sample& s)
{
    const auto before = values_of(scrape(m));
    m.observe(s);
    return moved(before, values_of(scrape(m)));
}

const std::string genai_chat_fast =
    "gen_ai_operation_name=chat,gen_ai_provider_name=oci,gen_ai_request_model=fast,"
    "gen_ai_response_model=cohere.command-r,";

request_sample chat_sample()
{
    request_sample s;
    s.route = "chat_completions";
    s.method = "POST";
    s.status = 200;
    s.duration = 1500ms;
    s.client = "team-a";
    s.operation = "chat";
    s.request_model = "fast";
    s.response_model = "cohere.command-r";
    s.upstream = 1400ms;
    return s;
}

}  // namespace

TEST_CASE("observe of a buffered chat with tokens moves exactly its series", "[proxy_metrics]")
{
    proxy_metrics m;
    auto s = chat_sample();
    s.input_tokens = 100;
    s.output_tokens = 50;
    s.cached_tokens = 20;
    const auto changed = observe_and_diff(m, s);
    const std::set<std::string> expected{
        "ogp_http_requests_total{code=200,route=chat_completions,}",
        "ogp_client_requests_total{client=team-a,}",
        "ogp_client_tokens_total{client=team-a,type=input,}",
        "ogp_client_tokens_total{client=team-a,type=output,}",
        "gen_ai_client_token_usage_count{" + genai_chat_fast + "gen_ai_token_type=input,}",
        "gen_ai_client_token_usage_count{" + genai_chat_fast + "gen_ai_token_type=output,}",
        "gen_ai_client_tokens_total{" + genai_chat_fast + "gen_ai_token_type=input,}",
        "gen_ai_client_tokens_total{" + genai_chat_fast + "gen_ai_token_type=output,}",
        "gen_ai_client_tokens_total{" + genai_chat_fast + "gen_ai_token_type=cached,}",
        "gen_ai_client_operation_duration_seconds_count{" + genai_chat_fast + "}",
        "ogp_proxy_overhead_seconds_count{gen_ai_operation_name=chat,}",
    };
    CHECK(changed == expected);

    const auto f = scrape(m);
    const label_pairs input{{"gen_ai_token_type", "input"}};
    CHECK(ogp::test::value(f, "gen_ai_client_tokens_total", input) == 100);
    CHECK(ogp::test::value(f, "gen_ai_client_tokens_total", {{"gen_ai_token_type", "cached"}}) ==
          20);
    CHECK(ogp::test::value(f, "gen_ai_client_token_usage_sum", input) == 100);
    CHECK(ogp::test::value(f, "gen_ai_client_token_usage_bucket",
                           {{"gen_ai_token_type", "output"}, {"le", "64"}}) == 1);
    CHECK(ogp::test::value(f, "gen_ai_client_token_usage_bucket",
                           {{"gen_ai_token_type", "output"}, {"le", "16"}}) == 0);
    // Success: no error_type label at all.
    CHECK(ogp::test::value(f, "gen_ai_client_operation_duration_seconds_count",
                           {{"gen_ai_request_model", "fast"}, {"error_type", ""}}) == 1);
    CHECK(ogp::test::value(f, "gen_ai_client_operation_duration_seconds_sum") == 1.5);
    CHECK(ogp::test::value(f, "gen_ai_client_operation_duration_seconds_bucket",
                           {{"le", "1.28"}}) == 0);
    CHECK(ogp::test::value(f, "gen_ai_client_operation_duration_seconds_bucket",
                           {{"le", "2.56"}}) == 1);
    // Overhead: 1.5 s - 1.4 s upstream = 0.1 s, in the (inclusive) 0.1 bucket.
    CHECK(ogp::test::value(f, "ogp_proxy_overhead_seconds_sum") == Approx(0.1));
    CHECK(ogp::test::value(f, "ogp_proxy_overhead_seconds_bucket", {{"le", "0.1"}}) == 1);
    CHECK(ogp::test::value(f, "ogp_proxy_overhead_seconds_bucket", {{"le", "0.05"}}) == 0);
    CHECK(ogp::test::find(f, "gen_ai_server_time_to_first_token_seconds_count").empty());
}

TEST_CASE("observe of a stream records its time to first token", "[proxy_metrics]")
{
    proxy_metrics m;
    auto s = chat_sample();
    s.stream = true;
    s.ttft = 250ms;
    s.output_tokens = 5;
    s.client = {};
    const auto changed = observe_and_diff(m, s);
    const std::set<std::string> expected{
        "ogp_http_requests_total{code=200,route=chat_completions,}",
        "gen_ai_client_token_usage_count{" + genai_chat_fast + "gen_ai_token_type=output,}",
        "gen_ai_client_tokens_total{" + genai_chat_fast + "gen_ai_token_type=output,}",
        "gen_ai_client_operation_duration_seconds_count{" + genai_chat_fast + "}",
        "gen_ai_server_time_to_first_token_seconds_count{" + genai_chat_fast + "}",
        "ogp_proxy_overhead_seconds_count{gen_ai_operation_name=chat,}",
    };
    CHECK(changed == expected);
    const auto f = scrape(m);
    CHECK(ogp::test::value(f, "gen_ai_server_time_to_first_token_seconds_sum") == 0.25);
    CHECK(ogp::test::value(f, "gen_ai_server_time_to_first_token_seconds_bucket",
                           {{"le", "0.25"}}) == 1);
    CHECK(ogp::test::value(f, "gen_ai_server_time_to_first_token_seconds_bucket",
                           {{"le", "0.1"}}) == 0);

    // A stream without a first content event (ttft -1) and a buffered answer with a ttft
    // value do not move the TTFT histogram.
    auto no_content = s;
    no_content.ttft = -1us;
    CHECK(observe_and_diff(m, no_content)
              .count("gen_ai_server_time_to_first_token_seconds_count{" + genai_chat_fast + "}") ==
          0);
    auto buffered = s;
    buffered.stream = false;
    CHECK(observe_and_diff(m, buffered)
              .count("gen_ai_server_time_to_first_token_seconds_count{" + genai_chat_fast + "}") ==
          0);
}

TEST_CASE("observe of a failed operation labels its duration with error_type", "[proxy_metrics]")
{
    proxy_metrics m;
    auto s = chat_sample();
    s.status = 504;
    s.error_type = "timeout";
    s.response_model = {};
    s.upstream = 2000ms;  // longer than the duration: the overhead is clamped to 0
    const std::string genai =
        "gen_ai_operation_name=chat,gen_ai_provider_name=oci,"
        "gen_ai_request_model=fast,";
    const auto changed = observe_and_diff(m, s);
    const std::set<std::string> expected{
        "ogp_http_requests_total{code=504,route=chat_completions,}",
        "ogp_client_requests_total{client=team-a,}",
        "gen_ai_client_operation_duration_seconds_count{error_type=timeout," + genai + "}",
        "ogp_proxy_overhead_seconds_count{gen_ai_operation_name=chat,}",
    };
    CHECK(changed == expected);
    CHECK(ogp::test::value(scrape(m), "ogp_proxy_overhead_seconds_sum") == 0);

    // No reason known: the status code is the error type.
    auto plain = s;
    plain.status = 500;
    plain.error_type = {};
    CHECK(observe_and_diff(m, plain).count(
              "gen_ai_client_operation_duration_seconds_count{error_type=500," + genai + "}") == 1);
}

TEST_CASE("observe of a rejected request counts its reason only", "[proxy_metrics]")
{
    proxy_metrics m;
    request_sample s;
    s.route = "chat_completions";
    s.method = "POST";
    s.status = 413;
    s.duration = 2ms;
    s.reject_reason = "body_too_large";
    const auto changed = observe_and_diff(m, s);
    const std::set<std::string> expected{
        "ogp_http_requests_total{code=413,route=chat_completions,}",
        "ogp_requests_rejected_total{reason=body_too_large,}",
    };
    CHECK(changed == expected);
    CHECK(ogp::test::value(scrape(m), "ogp_requests_rejected_total",
                           {{"reason", "body_too_large"}}) == 1);
}

TEST_CASE("the runtime snapshot is pulled at scrape time", "[proxy_metrics]")
{
    proxy_metrics m;
    // Without a callback the runtime families are left out.
    CHECK(ogp::test::find(scrape(m), "ogp_http_requests_in_flight").empty());
    int calls = 0;
    m.set_runtime([&calls] {
        ++calls;
        runtime_snapshot r;
        r.connections_open = 3;
        r.connections_accepted = 40;
        r.connections_refused = 2;
        r.requests_in_flight = 5;
        r.streams_in_flight = 1;
        r.tls_handshakes = 9;
        r.tls_handshake_failures = 1;
        r.pools = {{"inference", 4, 2, 6, 5}, {"control", 1, 1, 1, 0}, {"openai", {}, 3, 2, 1}};
        r.upstream_requests = 77;
        r.retries_429 = 7;
        r.retries_stale = 2;
        r.credential = {"instance_principal", 12, 1, 3600.5};
        r.reloads = {2, 1, 1764530000.25};
        r.pools[1].name = "contr\"ol";  // escaped like any label value
        return r;
    });
    const auto f = scrape(m);
    CHECK(calls == 1);
    CHECK(ogp::test::value(f, "ogp_http_connections_open") == 3);
    CHECK(ogp::test::value(f, "ogp_http_connections_accepted_total") == 40);
    CHECK(ogp::test::value(f, "ogp_http_connections_refused_total") == 2);
    CHECK(ogp::test::value(f, "ogp_http_requests_in_flight") == 5);
    CHECK(ogp::test::value(f, "ogp_http_streams_in_flight") == 1);
    CHECK(ogp::test::value(f, "ogp_tls_handshakes_total") == 9);
    CHECK(ogp::test::value(f, "ogp_tls_handshake_failures_total") == 1);
    CHECK(ogp::test::value(f, "ogp_upstream_requests_total") == 77);
    CHECK(ogp::test::value(f, "ogp_upstream_retries_total", {{"reason", "429"}}) == 7);
    CHECK(ogp::test::value(f, "ogp_upstream_retries_total", {{"reason", "stale"}}) == 2);
    CHECK(ogp::test::value(f, "ogp_upstream_retries_total", {{"reason", "401"}}) == 0);
    CHECK(ogp::test::value(f, "ogp_upstream_connections_open", {{"pool", "inference"}}) == 4);
    CHECK(ogp::test::value(f, "ogp_upstream_connections_idle", {{"pool", "contr\"ol"}}) == 1);
    CHECK(ogp::test::value(f, "ogp_upstream_tls_handshakes_total", {{"pool", "inference"}}) == 6);
    CHECK(ogp::test::value(f, "ogp_upstream_tls_resumed_total", {{"pool", "inference"}}) == 5);
    // A pool that does not count its open connections has no open series, the others do.
    CHECK(ogp::test::find(f, "ogp_upstream_connections_open", {{"pool", "openai"}}).empty());
    CHECK(ogp::test::value(f, "ogp_upstream_connections_idle", {{"pool", "openai"}}) == 3);
    CHECK(ogp::test::value(f, "ogp_credential_renewals_total",
                           {{"provider", "instance_principal"}}) == 12);
    CHECK(ogp::test::value(f, "ogp_credential_renewal_failures_total") == 1);
    CHECK(ogp::test::value(f, "ogp_credential_expiry_seconds") == 3600.5);
    CHECK(ogp::test::value(f, "ogp_config_reloads_total", {{"result", "success"}}) == 2);
    CHECK(ogp::test::value(f, "ogp_config_reloads_total", {{"result", "failure"}}) == 1);
    CHECK(ogp::test::value(f, "ogp_config_last_reload_success_timestamp_seconds") == 1764530000.25);
    // Replaced callbacks take effect; optional figures are left out when unknown.
    m.set_runtime([] { return runtime_snapshot{}; });
    const auto g = scrape(m);
    CHECK(ogp::test::value(g, "ogp_http_connections_open") == 0);
    CHECK(ogp::test::find(g, "ogp_credential_expiry_seconds").empty());
    CHECK(ogp::test::find(g, "ogp_config_last_reload_success_timestamp_seconds").empty());
    CHECK(ogp::test::find(g, "ogp_upstream_connections_open").empty());
}

TEST_CASE("a whole scrape carries build info and start time in both formats", "[proxy_metrics]")
{
    proxy_metrics m;
    auto s = chat_sample();
    s.input_tokens = 1;
    s.stream = true;
    s.ttft = 10ms;
    m.observe(s);
    m.set_runtime([] {
        runtime_snapshot r;
        r.pools = {{"inference", 1, 1, 1, 1}};
        r.credential.seconds_to_expiry = 10;
        return r;
    });
    const auto now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const auto fmt : {exposition::text_0_0_4, exposition::openmetrics_1_0_0}) {
        const auto f = scrape(m, fmt);
        CHECK(ogp::test::value(f, "ogp_build_info", {{"version", OGP_VERSION}}) == 1);
        const auto start = ogp::test::value(f, "process_start_time_seconds");
        REQUIRE(start);
        CHECK(*start <= now);
        CHECK(*start > now - 600);
        CHECK(ogp::test::value(f, "ogp_http_requests_total", {{"code", "200"}}) == 1);
    }
    std::string om;
    m.write(om, exposition::openmetrics_1_0_0);
    CHECK(om.ends_with("# EOF\n"));
    CHECK(om.find("# TYPE gen_ai_client_tokens counter\n") != std::string::npos);
    CHECK(om.find("# TYPE ogp_build info\n") != std::string::npos);
    std::string text;
    m.write(text, exposition::text_0_0_4);
    CHECK(text.find("# TYPE gen_ai_client_tokens_total counter\n") != std::string::npos);
    CHECK(text.find("# EOF") == std::string::npos);
    // write() appends: an existing prefix is kept.
    std::string appended = "prefix";
    m.write(appended, exposition::text_0_0_4);
    CHECK(appended.starts_with("prefix# HELP"));
}

TEST_CASE("label sets beyond the cap go to the overflow series and are counted", "[proxy_metrics]")
{
    proxy_metrics m(2);
    for (const auto* client : {"a", "b", "c", "d"}) {
        request_sample s;
        s.route = "models";
        s.status = 200;
        s.client = client;
        m.observe(s);
    }
    const auto f = scrape(m);
    CHECK(ogp::test::value(f, "ogp_client_requests_total", {{"client", "a"}}) == 1);
    CHECK(ogp::test::value(f, "ogp_client_requests_total", {{"client", "overflow"}}) == 2);
    CHECK(ogp::test::find(f, "ogp_client_requests_total").size() == 3);
    CHECK(ogp::test::value(f, "ogp_metrics_label_overflow_total",
                           {{"metric", "ogp_client_requests_total"}}) == 2);
}

TEST_CASE("observe from two threads counts every exchange", "[proxy_metrics]")
{
    proxy_metrics m;
    constexpr int per_thread = 20000;
    auto work = [&m](const char* model) {
        for (int i = 0; i < per_thread; ++i) {
            auto s = chat_sample();
            s.request_model = model;
            s.input_tokens = 2;
            s.status = i % 10 == 0 ? 429 : 200;
            s.error_type = i % 10 == 0 ? "rate_limited" : "";
            m.observe(s);
        }
    };
    std::thread a(work, "m1");
    std::thread b(work, "m2");
    std::string during;
    m.write(during, exposition::text_0_0_4);  // a scrape racing the updates stays valid
    a.join();
    b.join();
    const auto r = ogp::test::parse_exposition(during);
    INFO(r.describe());
    CHECK(r.ok());
    const auto f = scrape(m);
    CHECK(ogp::test::sum(f, "ogp_http_requests_total") == 2 * per_thread);
    CHECK(ogp::test::value(f, "ogp_http_requests_total", {{"code", "429"}}) == per_thread / 5);
    CHECK(ogp::test::sum(f, "gen_ai_client_tokens_total") == 4 * per_thread);
    CHECK(ogp::test::sum(f, "gen_ai_client_operation_duration_seconds_count",
                         {{"error_type", "rate_limited"}}) == per_thread / 5);
    CHECK(ogp::test::value(f, "ogp_client_requests_total") == 2 * per_thread);
}

TEST_CASE("GenAI label sets beyond the cap stay bounded and every exchange counts",
          "[proxy_metrics]")
{
    proxy_metrics m(2);
    const char* models[] = {"m1", "m2", "m3", "m4", "m5"};
    for (const auto* model : models) {
        for (int i = 0; i < 3; ++i) {
            auto s = chat_sample();
            s.request_model = model;
            s.input_tokens = 10;
            m.observe(s);
        }
    }
    const auto f = scrape(m);
    CHECK(ogp::test::sum(f, "gen_ai_client_operation_duration_seconds_count") == 15);
    CHECK(ogp::test::sum(f, "gen_ai_client_tokens_total") == 150);
    CHECK(ogp::test::find(f, "gen_ai_client_operation_duration_seconds_count").size() <= 3);
    CHECK(ogp::test::value(f, "gen_ai_client_operation_duration_seconds_count",
                           {{"gen_ai_request_model", "m1"}}) == 3);
    CHECK(ogp::test::value(f, "gen_ai_client_operation_duration_seconds_count",
                           {{"gen_ai_request_model", "overflow"}}) == 9);
}

TEST_CASE("observe counts a client's tokens and its rate-limit refusals", "[proxy_metrics]")
{
    proxy_metrics m;
    auto s = chat_sample();
    s.input_tokens = 100;
    s.output_tokens = 7;
    m.observe(s);
    s.input_tokens = 20;
    s.output_tokens = -1;  // unknown: the output series does not move
    m.observe(s);
    auto f = scrape(m);
    CHECK(ogp::test::value(f, "ogp_client_tokens_total",
                           {{"client", "team-a"}, {"type", "input"}}) == 120);
    CHECK(ogp::test::value(f, "ogp_client_tokens_total",
                           {{"client", "team-a"}, {"type", "output"}}) == 7);
    CHECK(ogp::test::find(f, "ogp_client_rate_limited_total").empty());

    // An anonymous request's tokens count in the GenAI figures only.
    auto anon = chat_sample();
    anon.client = {};
    anon.input_tokens = 5;
    const auto anon_moved = observe_and_diff(m, anon);
    for (const auto& k : anon_moved) {
        CHECK_FALSE(k.starts_with("ogp_client_"));
    }
    CHECK(anon_moved.count("gen_ai_client_tokens_total{" + genai_chat_fast +
                           "gen_ai_token_type=input,}") == 1);

    // A refusal by the key's own limits: the limit that refused, nothing else of the policy.
    request_sample refused;
    refused.route = "chat_completions";
    refused.status = 429;
    refused.client = "team-a";
    refused.rate_limited = "tokens";
    const auto changed = observe_and_diff(m, refused);
    const std::set<std::string> expected{
        "ogp_http_requests_total{code=429,route=chat_completions,}",
        "ogp_client_requests_total{client=team-a,}",
        "ogp_client_rate_limited_total{client=team-a,limit=tokens,}",
    };
    CHECK(changed == expected);
    refused.rate_limited = "concurrency";
    m.observe(refused);
    m.observe(refused);
    f = scrape(m);
    CHECK(ogp::test::value(f, "ogp_client_rate_limited_total",
                           {{"client", "team-a"}, {"limit", "concurrency"}}) == 2);
    CHECK(ogp::test::value(f, "ogp_client_rate_limited_total",
                           {{"client", "team-a"}, {"limit", "tokens"}}) == 1);
}

TEST_CASE("observe counts failovers and fallbacks", "[proxy_metrics]")
{
    proxy_metrics m;
    // The failover counter exists from the start.
    CHECK(ogp::test::value(scrape(m), "ogp_upstream_failovers_total") == 0);
    auto s = chat_sample();
    s.client = {};
    s.failovers = 3;
    s.fallback = "small";
    s.region = "eu-frankfurt-1";
    const auto changed = observe_and_diff(m, s);
    CHECK(changed.count("ogp_upstream_failovers_total{}") == 1);
    CHECK(changed.count("ogp_fallbacks_total{fallback=small,gen_ai_request_model=fast,}") == 1);
    s.fallback = {};
    s.failovers = 1;
    m.observe(s);
    s.failovers = 0;
    m.observe(s);
    const auto f = scrape(m);
    CHECK(ogp::test::value(f, "ogp_upstream_failovers_total") == 4);
    CHECK(ogp::test::sum(f, "ogp_fallbacks_total") == 1);
    // The region is not a label anywhere.
    for (const auto& fam : f) {
        for (const auto& sample : fam.samples) {
            CHECK_FALSE(sample.label("region"));
        }
    }
}

TEST_CASE("the runtime snapshot carries client limits and the store and circuits",
          "[proxy_metrics]")
{
    proxy_metrics m;
    m.set_runtime([] {
        runtime_snapshot r;
        r.client_limits = {{"team-a", 60, 100000, 4, 0},
                           {"batch", 0, 0, 0, 2},
                           {"free", 0, 0, 0, 0},
                           {"team-a", 1, 1, 1, 0}};  // a repeated key: the first one wins
        r.limits_store = {"redis", 3, 2, 1};
        r.circuits = {
            {"us-chicago-1", "inference.generativeai.us-chicago-1.oci.oraclecloud.com", 2, 5},
            {"eu-frankfurt-1", "inference.generativeai.eu-frankfurt-1.oci.oraclecloud.com", 0, 0},
            {"x", "h", 1, 1}};
        return r;
    });
    for (const auto fmt : {exposition::text_0_0_4, exposition::openmetrics_1_0_0}) {
        const auto f = scrape(m, fmt);
        CHECK(ogp::test::value(f, "ogp_client_limit",
                               {{"client", "team-a"}, {"limit", "requests"}}) == 60);
        CHECK(ogp::test::value(f, "ogp_client_limit",
                               {{"client", "team-a"}, {"limit", "tokens"}}) == 100000);
        CHECK(ogp::test::value(f, "ogp_client_limit",
                               {{"client", "team-a"}, {"limit", "concurrency"}}) == 4);
        CHECK(ogp::test::value(f, "ogp_client_limit",
                               {{"client", "batch"}, {"limit", "streams"}}) == 2);
        // Only the limits that are set; a key without any has no series.
        CHECK(ogp::test::find(f, "ogp_client_limit").size() == 4);
        CHECK(ogp::test::find(f, "ogp_client_limit", {{"client", "free"}}).empty());
        CHECK(ogp::test::value(f, "ogp_limits_store_info", {{"kind", "redis"}}) == 1);
        CHECK(ogp::test::value(f, "ogp_limits_store_errors_total") == 3);
        CHECK(ogp::test::value(f, "ogp_limits_store_fallbacks_total") == 2);
        CHECK(ogp::test::value(f, "ogp_limits_store_refusals_total") == 1);
        CHECK(ogp::test::value(
                  f, "ogp_upstream_circuit_state",
                  {{"upstream", "us-chicago-1"},
                   {"host", "inference.generativeai.us-chicago-1.oci.oraclecloud.com"}}) == 2);
        CHECK(ogp::test::value(f, "ogp_upstream_circuit_state", {{"upstream", "eu-frankfurt-1"}}) ==
              0);
        CHECK(ogp::test::value(f, "ogp_upstream_circuit_state", {{"upstream", "x"}}) == 1);
        CHECK(ogp::test::value(f, "ogp_upstream_circuit_opened_total",
                               {{"upstream", "us-chicago-1"}}) == 5);
        CHECK(ogp::test::find(f, "ogp_upstream_circuit_opened_total").size() == 3);
    }
    std::string om;
    m.write(om, exposition::openmetrics_1_0_0);
    CHECK(om.find("# TYPE ogp_limits_store info\n") != std::string::npos);
    CHECK(om.find("# TYPE ogp_upstream_circuit_opened counter\n") != std::string::npos);

    // No limiter: no store families; no keys or circuits: empty families.
    m.set_runtime([] { return runtime_snapshot{}; });
    const auto g = scrape(m);
    CHECK(ogp::test::find(g, "ogp_limits_store_info").empty());
    CHECK(ogp::test::find(g, "ogp_limits_store_errors_total").empty());
    CHECK(ogp::test::find(g, "ogp_client_limit").empty());
    CHECK(ogp::test::find(g, "ogp_upstream_circuit_state").empty());
}

TEST_CASE("runtime policy series stay within the cap", "[proxy_metrics]")
{
    proxy_metrics m(3);
    m.set_runtime([] {
        runtime_snapshot r;
        for (int i = 0; i < 10; ++i) {
            r.client_limits.push_back({"k" + std::to_string(i), 1, 0, 0, 0});
            r.circuits.push_back({"u" + std::to_string(i), "h", 2, 1});
        }
        return r;
    });
    const auto f = scrape(m);
    CHECK(ogp::test::find(f, "ogp_client_limit").size() == 3);
    CHECK(ogp::test::find(f, "ogp_upstream_circuit_state").size() == 3);
    CHECK(ogp::test::find(f, "ogp_upstream_circuit_opened_total").size() == 3);
}
