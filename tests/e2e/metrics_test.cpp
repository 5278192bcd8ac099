// Metrics, overhead headers and the access log end to end: the real daemon against the mock,
// scraped over HTTP like Prometheus would. Counters are compared before and after the requests
// a test makes (never absolute: the stack's own readiness probes count too), and every scrape
// body also goes through the strict exposition parser.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "support/exposition.hpp"
#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/scrape.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";
constexpr std::string_view text_type = "text/plain; version=0.0.4";
constexpr std::string_view openmetrics_accept =
    "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const std::string long_prompt =
    "please answer with a long text so that the stream is split into many separate writes, "
    "then some more words, and still more words to make it longer";

// Aliases the metrics tests use besides the stack's defaults.
std::string extra_aliases()
{
    return "  - name: throttled\n    id: meta.mock-429-1\n"
           "  - name: slow\n    id: meta.mock-slow-1\n";
}

daemon_options metrics_options(std::string extra = {})
{
    daemon_options o;
    o.models = extra_aliases();
    o.extra = std::move(extra);
    return o;
}

// The strict check of a scrape body (support/exposition.hpp); the failure names the problem.
void check_exposition(const std::string& body, bool openmetrics = false)
{
    INFO(printable(body, 4000));
    auto parsed = parse_exposition(
        body, openmetrics ? expo_format::openmetrics_1_0_0 : expo_format::text_0_0_4);
    INFO(parsed.describe());
    CHECK(parsed.ok());
    CHECK(!parsed.families.empty());
}

// A scrape with the test key that must succeed and pass the strict parser.
metric_set scrape(std::uint16_t port)
{
    auto r = get_metrics(port);
    REQUIRE(r.status == 200);
    check_exposition(r.body);
    return metric_set(r.body);
}

double chat_requests(const metric_set& s, std::string_view code)
{
    return s.sum("ogp_http_requests_total", {{"route", "chat_completions"}, {"code", code}});
}

// `name;dur=<ms>` of a Server-Timing header, or nullopt.
std::optional<double> timing_of(const std::string& header, std::string_view name)
{
    const std::string want = std::string(name) + ";dur=";
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t end = header.find(',', pos);
        std::string part = header.substr(pos, end == std::string::npos ? end : end - pos);
        part.erase(0, part.find_first_not_of(' '));
        if (part.starts_with(want)) {
            const std::string num = part.substr(want.size());
            char* stop = nullptr;
            double v = std::strtod(num.c_str(), &stop);
            if (!num.empty() && stop == num.c_str() + num.size()) {
                return v;
            }
            return std::nullopt;
        }
        pos = end == std::string::npos ? header.size() : end + 1;
    }
    return std::nullopt;
}

std::optional<double> number_header(const http_response& r, std::string_view name)
{
    auto h = r.header(name);
    if (!h || h->empty()) {
        return std::nullopt;
    }
    char* stop = nullptr;
    double v = std::strtod(h->c_str(), &stop);
    return stop == h->c_str() + h->size() ? std::optional<double>(v) : std::nullopt;
}

// The overhead headers of a proxied answer: Server-Timing with the three parts (numbers, at
// most `total_ms` each), x-ogp-upstream-ms and x-ogp-proxy-ms matching them, and the OCI
// request id relayed from the mock (`mock-<n>`).
void check_overhead_headers(const http_response& r, double total_ms)
{
    auto st = r.header("server-timing");
    REQUIRE(st);
    INFO("Server-Timing: " << *st);
    auto upstream = timing_of(*st, "upstream");
    auto sign = timing_of(*st, "sign");
    auto proxy_ms = timing_of(*st, "proxy");
    REQUIRE(upstream);
    REQUIRE(sign);
    REQUIRE(proxy_ms);
    CHECK(*upstream > 0);
    CHECK(*sign >= 0);
    CHECK(*proxy_ms >= 0);
    CHECK(*upstream <= total_ms);
    CHECK(*proxy_ms <= total_ms);
    // Three decimals: `dur=1.234`.
    CHECK(std::regex_search(*st, std::regex(R"(upstream;dur=\d+\.\d{3}(,|$))")));
    auto up_header = number_header(r, "x-ogp-upstream-ms");
    auto proxy_header = number_header(r, "x-ogp-proxy-ms");
    REQUIRE(up_header);
    REQUIRE(proxy_header);
    CHECK(*up_header == Approx(*upstream).margin(0.01));
    CHECK(*proxy_header == Approx(*proxy_ms).margin(0.01));
    auto oci_id = r.header("x-oci-request-id");
    REQUIRE(oci_id);
    CHECK(oci_id->starts_with("mock-"));
    // Where OCI's own header is relayed as well, both name the same request.
    if (auto opc = r.header("opc-request-id")) {
        CHECK(*opc == *oci_id);
    }
}

// The access-log line of request `id` (the whole line), or empty. Other lines may name the
// request too (an upstream warning, say).
std::string access_line(const std::string& log, std::string_view id)
{
    const std::string want = "request_id=" + std::string(id) + " ";
    std::size_t pos = 0;
    while (pos < log.size()) {
        auto end = log.find('\n', pos);
        std::string line = log.substr(pos, end == std::string::npos ? end : end - pos);
        pos = end == std::string::npos ? log.size() : end + 1;
        if (line.find("access method=") != std::string::npos &&
            line.find(want) != std::string::npos) {
            return line;
        }
    }
    return {};
}

// `key=value` of a text access-log line (up to the next space), or nullopt.
std::optional<std::string> field_of(const std::string& line, std::string_view key)
{
    const std::string want = " " + std::string(key) + "=";
    auto at = line.find(want);
    if (at == std::string::npos) {
        return std::nullopt;
    }
    at += want.size();
    return line.substr(
        at, line.find(' ', at) == std::string::npos ? std::string::npos : line.find(' ', at) - at);
}

}  // namespace

// ---- the endpoint ------------------------------------------------------------------------------

TEST_CASE_METHOD(e2e_stack, "metrics: /metrics on the main listener needs a client key",
                 "[e2e][metrics]")
{
    auto anonymous = get_metrics(d.port(), false);
    INFO(printable(anonymous.body));
    CHECK(anonymous.status == 401);
    CHECK(is_openai_error(anonymous.body));

    http_client wrong(d.port());
    auto bad = wrong.request("GET", "/metrics", {}, 5s, false, "Authorization: Bearer nope\r\n");
    CHECK(bad.status == 401);

    auto r = get_metrics(d.port());
    INFO(printable(r.body, 3000));
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").value_or("").starts_with(text_type));
    check_exposition(r.body);
    metric_set s(r.body);
    CHECK(s.sum("ogp_build_info") == 1);
    REQUIRE(s.has("ogp_build_info"));
    CHECK(!s.find("ogp_build_info").front()->label("version").value_or("").empty());
    CHECK(s.sum("process_start_time_seconds") > 1.7e9);
    // The key never appears, not even in a label.
    CHECK(r.body.find(test_key) == std::string::npos);
}

TEST_CASE_METHOD(e2e_stack, "metrics: OpenMetrics when the Accept header asks for it and HEAD",
                 "[e2e][metrics]")
{
    auto r = get_metrics(d.port(), true, openmetrics_accept);
    INFO(printable(r.body, 3000));
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type")
              .value_or("")
              .starts_with("application/openmetrics-text; version=1.0.0"));
    CHECK(r.body.ends_with("# EOF\n"));
    check_exposition(r.body, true);
    // Anything else stays text 0.0.4.
    auto plain = get_metrics(d.port(), true, "application/json");
    REQUIRE(plain.status == 200);
    CHECK(plain.header("content-type").value_or("").starts_with(text_type));
    CHECK(!plain.body.ends_with("# EOF\n"));

    raw_client raw(d.port());
    REQUIRE(raw.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     std::string(test_key) + "\r\n\r\n"));
    auto head = raw.read_response(3s, true);
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(head->body.empty());
}

// ---- counters and histograms -------------------------------------------------------------------

TEST_CASE("metrics: chat requests move the request counter and the GenAI histograms",
          "[e2e][metrics]")
{
    e2e_stack st(metrics_options());
    const auto port = st.d.port();
    const metric_set before = scrape(port);
    constexpr int n = 3;
    long long prompt = 0;
    long long completion = 0;
    for (int i = 0; i < n; ++i) {
        auto r = st.c.request("POST", chat_path, chat_body("gpt-4o-mini", "count me please"));
        INFO(printable(r.body));
        REQUIRE(r.status == 200);
        prompt += json_int(r.body, "/usage/prompt_tokens");
        completion += json_int(r.body, "/usage/completion_tokens");
    }
    REQUIRE(prompt > 0);
    REQUIRE(completion > 0);
    const metric_set after = scrape_until(port, [&](const metric_set& s) {
        return chat_requests(s, "200") >= chat_requests(before, "200") + n;
    });
    auto delta = [&](std::string_view name, const label_match& labels) {
        return after.sum(name, labels) - before.sum(name, labels);
    };
    CHECK(delta("ogp_http_requests_total", {{"route", "chat_completions"}, {"code", "200"}}) == n);
    const label_match chat = {{"gen_ai_operation_name", "chat"},
                              {"gen_ai_request_model", "gpt-4o-mini"}};
    CHECK(delta("gen_ai_client_operation_duration_seconds_count", chat) == n);
    // Every bucket series ends at +Inf = _count.
    CHECK(delta("gen_ai_client_operation_duration_seconds_bucket",
                {{"gen_ai_operation_name", "chat"},
                 {"gen_ai_request_model", "gpt-4o-mini"},
                 {"le", "+Inf"}}) == n);
    CHECK(delta("gen_ai_client_operation_duration_seconds_sum", chat) > 0);
    const auto series = after.find("gen_ai_client_operation_duration_seconds_count", chat);
    REQUIRE(!series.empty());
    CHECK(series.front()->label("gen_ai_provider_name") == "oci");
    CHECK(series.front()->label("gen_ai_response_model").value_or("") != "");
    CHECK(!series.front()->label("error_type"));  // only on failures

    CHECK(delta("gen_ai_client_token_usage_sum",
                {{"gen_ai_token_type", "input"}, {"gen_ai_request_model", "gpt-4o-mini"}}) ==
          prompt);
    CHECK(delta("gen_ai_client_token_usage_sum",
                {{"gen_ai_token_type", "output"}, {"gen_ai_request_model", "gpt-4o-mini"}}) ==
          completion);
    CHECK(delta("gen_ai_client_token_usage_count",
                {{"gen_ai_token_type", "input"}, {"gen_ai_request_model", "gpt-4o-mini"}}) == n);
    CHECK(delta("gen_ai_client_tokens_total", {{"gen_ai_token_type", "input"},
                                               {"gen_ai_request_model", "gpt-4o-mini"}}) == prompt);
    CHECK(delta("ogp_proxy_overhead_seconds_count", {{"gen_ai_operation_name", "chat"}}) == n);
    CHECK(delta("ogp_upstream_requests_total", {}) >= n);
    // The client by a hash prefix, never the key.
    bool client_seen = false;
    for (const auto* m : after.find("ogp_client_requests_total")) {
        const auto client = m->label("client").value_or("");
        INFO("client=" << client);
        CHECK(std::regex_match(client, std::regex("key-[0-9a-f]{8}")));
        client_seen = client_seen || m->value >= n;
    }
    CHECK(client_seen);
    CHECK(after.sum("ogp_http_connections_accepted_total") >= 2);
    CHECK(after.sum("ogp_http_connections_open") >= 1);
    // The upstream pool's figures.
    CHECK(after.has("ogp_upstream_connections_idle", {{"pool", "inference"}}));
    CHECK(after.sum("ogp_upstream_connections_open", {{"pool", "inference"}}) >= 1);
    CHECK(after.sum("ogp_upstream_tls_handshakes_total", {{"pool", "inference"}}) >= 1);
}

TEST_CASE("metrics: a stream counts its time to first token and its usage", "[e2e][metrics]")
{
    e2e_stack st(metrics_options());
    const auto port = st.d.port();
    const metric_set before = scrape(port);
    auto r = st.c.request(
        "POST", chat_path,
        chat_body("gpt-4o-mini", "stream me", true, R"("stream_options":{"include_usage":true})"),
        20s);
    INFO(printable(r.body, 2000));
    REQUIRE(r.status == 200);
    REQUIRE(r.complete);
    auto events = r.sse_data();
    REQUIRE(events.size() >= 2);
    const std::string usage = events[events.size() - 2];
    const long long completion = json_int(usage, "/usage/completion_tokens");
    const long long prompt = json_int(usage, "/usage/prompt_tokens");
    REQUIRE(completion > 0);
    const label_match model = {{"gen_ai_request_model", "gpt-4o-mini"}};
    const metric_set after = scrape_until(port, [&](const metric_set& s) {
        return s.sum("gen_ai_server_time_to_first_token_seconds_count", model) >=
               before.sum("gen_ai_server_time_to_first_token_seconds_count", model) + 1;
    });
    auto delta = [&](std::string_view name, const label_match& labels) {
        return after.sum(name, labels) - before.sum(name, labels);
    };
    CHECK(delta("gen_ai_server_time_to_first_token_seconds_count", model) == 1);
    CHECK(delta("gen_ai_server_time_to_first_token_seconds_sum", model) > 0);
    CHECK(delta("ogp_http_requests_total", {{"route", "chat_completions"}, {"code", "200"}}) == 1);
    CHECK(delta("gen_ai_client_operation_duration_seconds_count",
                {{"gen_ai_operation_name", "chat"}, {"gen_ai_request_model", "gpt-4o-mini"}}) == 1);
    CHECK(delta("gen_ai_client_token_usage_sum",
                {{"gen_ai_token_type", "output"}, {"gen_ai_request_model", "gpt-4o-mini"}}) ==
          completion);
    CHECK(delta("gen_ai_client_token_usage_sum",
                {{"gen_ai_token_type", "input"}, {"gen_ai_request_model", "gpt-4o-mini"}}) ==
          prompt);
}

TEST_CASE("metrics: embeddings and responses are GenAI operations of their own", "[e2e][metrics]")
{
    e2e_stack st(metrics_options());
    const auto port = st.d.port();
    const metric_set before = scrape(port);
    auto e = st.c.request("POST", "/v1/embeddings",
                          R"({"model":"text-embedding-3-small","input":["count me","and me"]})");
    INFO(printable(e.body));
    REQUIRE(e.status == 200);
    const long long embedded = json_int(e.body, "/usage/prompt_tokens");
    REQUIRE(embedded > 0);
    auto r = st.c.request("POST", "/v1/responses",
                          R"({"model":"gpt-4o-mini","input":"count me as a response"})");
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    const long long response_in = json_int(r.body, "/usage/input_tokens");
    const long long response_out = json_int(r.body, "/usage/output_tokens");
    REQUIRE(response_out > 0);

    const label_match embeddings = {{"gen_ai_operation_name", "embeddings"},
                                    {"gen_ai_request_model", "text-embedding-3-small"}};
    const label_match responses = {{"gen_ai_operation_name", "responses"},
                                   {"gen_ai_request_model", "gpt-4o-mini"}};
    const metric_set after = scrape_until(port, [&](const metric_set& s) {
        return s.sum("gen_ai_client_operation_duration_seconds_count", embeddings) >= 1 &&
               s.sum("gen_ai_client_operation_duration_seconds_count", responses) >= 1;
    });
    auto delta = [&](std::string_view name, const label_match& labels) {
        return after.sum(name, labels) - before.sum(name, labels);
    };
    CHECK(delta("gen_ai_client_operation_duration_seconds_count", embeddings) == 1);
    CHECK(delta("gen_ai_client_operation_duration_seconds_count", responses) == 1);
    auto with = [](label_match m, std::string_view type) {
        m.emplace_back("gen_ai_token_type", type);
        return m;
    };
    CHECK(delta("gen_ai_client_token_usage_sum", with(embeddings, "input")) == embedded);
    CHECK(delta("gen_ai_client_token_usage_sum", with(responses, "input")) == response_in);
    CHECK(delta("gen_ai_client_token_usage_sum", with(responses, "output")) == response_out);
    CHECK(delta("ogp_http_requests_total", {{"route", "embeddings"}, {"code", "200"}}) == 1);
    CHECK(delta("ogp_http_requests_total", {{"route", "responses"}, {"code", "200"}}) == 1);
    // No chat was made.
    CHECK(delta("gen_ai_client_operation_duration_seconds_count",
                {{"gen_ai_operation_name", "chat"}}) == 0);
}

TEST_CASE("metrics: in-flight requests and streams are gauges", "[e2e][metrics]")
{
    e2e_stack st(metrics_options());
    const auto port = st.d.port();
    // A slow stream (the mock paces its writes 100 ms apart) held open while we scrape.
    http_client streaming(port);
    streaming.send_request("POST", chat_path, chat_body("slow", long_prompt, true));
    auto head = streaming.read_head_and_chunks(1, 10s);
    REQUIRE(head.status == 200);
    const metric_set during = scrape_until(
        port, [](const metric_set& s) { return s.sum("ogp_http_streams_in_flight") >= 1; });
    CHECK(during.sum("ogp_http_streams_in_flight") == 1);
    CHECK(during.sum("ogp_http_requests_in_flight") >= 1);
    streaming.close();
    // Once the client is gone the stream ends and the gauges fall back.
    const metric_set after = scrape_until(
        port, [](const metric_set& s) { return s.sum("ogp_http_streams_in_flight") == 0; }, 5s);
    CHECK(after.sum("ogp_http_streams_in_flight") == 0);
}

TEST_CASE("metrics: upstream 429s are counted as retries then as a 429 answer",
          "[e2e][metrics][errors]")
{
    e2e_stack st(metrics_options());
    const auto port = st.d.port();
    const metric_set before = scrape(port);
    // The mock answers 429 with Retry-After: 1; the daemon retries twice, then passes it on.
    const auto start = steady::now();
    auto r = st.c.request("POST", chat_path, chat_body("throttled", "x"), 20s, true,
                          "X-Request-Id: throttled-1\r\n");
    const double took_ms = seconds_since(start) * 1000;
    INFO(printable(r.body));
    REQUIRE(r.status == 429);
    // Upstream errors carry the overhead headers too.
    check_overhead_headers(r, took_ms);
    const metric_set after =
        scrape_until(port, [&](const metric_set& s) { return chat_requests(s, "429") >= 1; });
    auto delta = [&](std::string_view name, const label_match& labels) {
        return after.sum(name, labels) - before.sum(name, labels);
    };
    CHECK(delta("ogp_upstream_retries_total", {{"reason", "429"}}) == 2);
    CHECK(delta("ogp_http_requests_total", {{"route", "chat_completions"}, {"code", "429"}}) == 1);
    const label_match throttled = {{"gen_ai_operation_name", "chat"},
                                   {"gen_ai_request_model", "throttled"}};
    CHECK(delta("gen_ai_client_operation_duration_seconds_count", throttled) == 1);
    const auto series = after.find("gen_ai_client_operation_duration_seconds_count", throttled);
    REQUIRE(series.size() == 1);
    CHECK(!series.front()->label("error_type").value_or("").empty());
    CHECK(delta("ogp_upstream_requests_total", {}) >= 3);
    // The access log tells the same story.
    REQUIRE(st.d.wait_for_log("request_id=throttled-1"));
    const std::string line = access_line(st.d.captured_stderr(), "throttled-1");
    INFO(line);
    CHECK(field_of(line, "status") == "429");
    CHECK(field_of(line, "upstream_status") == "429");
    CHECK(field_of(line, "retries") == "2");
    CHECK(field_of(line, "model") == "throttled");
}

TEST_CASE("metrics: requests the server refuses are counted by reason", "[e2e][metrics]")
{
    daemon_options o = metrics_options();
    o.limits = "  max_body_bytes: 16KiB\n";
    e2e_stack st(o);
    const auto port = st.d.port();
    const metric_set before = scrape(port);
    auto rejected = [&](const metric_set& s, std::string_view reason) {
        return s.sum("ogp_requests_rejected_total", {{"reason", reason}});
    };

    http_client bad_key(port);
    auto r = bad_key.request("POST", chat_path, chat_body("gpt-4o-mini", "x"), 5s, false,
                             "Authorization: Bearer not-a-key\r\n");
    CHECK(r.status == 401);
    http_client no_key(port);
    CHECK(no_key.request("GET", "/v1/models", {}, 5s, false).status == 401);

    http_client big(port);
    const std::string body = chat_body("gpt-4o-mini", std::string(32 * 1024, 'a'));
    auto too_big = big.request("POST", chat_path, body, 10s);
    CHECK(too_big.status == 413);

    http_client lost(port);
    CHECK(lost.request("GET", "/v1/nothing-here", {}, 5s).status == 404);

    const metric_set after = scrape_until(port, [&](const metric_set& s) {
        return rejected(s, "unauthorized") >= rejected(before, "unauthorized") + 2 &&
               rejected(s, "body_too_large") >= rejected(before, "body_too_large") + 1 &&
               rejected(s, "not_found") >= rejected(before, "not_found") + 1;
    });
    CHECK(rejected(after, "unauthorized") - rejected(before, "unauthorized") == 2);
    CHECK(rejected(after, "body_too_large") - rejected(before, "body_too_large") == 1);
    CHECK(rejected(after, "not_found") - rejected(before, "not_found") == 1);
    CHECK(chat_requests(after, "401") - chat_requests(before, "401") == 1);
    CHECK(chat_requests(after, "413") - chat_requests(before, "413") == 1);
}

TEST_CASE("metrics: credential renewals and the time to expiry", "[e2e][metrics][credentials]")
{
    // 4 s session tokens: the daemon renews them at half life.
    mock m({"--token-lifetime", "4"});
    proxy d(m);
    const metric_set first = scrape(d.port());
    INFO(printable(get_metrics(d.port()).body, 4000));
    CHECK(first.sum("ogp_credential_renewals_total") >= 1);
    CHECK(first.sum("ogp_credential_renewal_failures_total") == 0);
    const double expiry = first.sum("ogp_credential_expiry_seconds");
    CHECK(expiry > 0);
    CHECK(expiry <= 4.5);
    const metric_set later = scrape_until(
        d.port(),
        [&](const metric_set& s) {
            return s.sum("ogp_credential_renewals_total") >=
                   first.sum("ogp_credential_renewals_total") + 1;
        },
        8s);
    CHECK(later.sum("ogp_credential_renewals_total") >=
          first.sum("ogp_credential_renewals_total") + 1);
    CHECK(later.sum("ogp_credential_expiry_seconds") > 0);
}

// ---- where /metrics is served ------------------------------------------------------------------

namespace {

// The port of `metrics listening on 127.0.0.1:<port>` in the log, if logged within `timeout`.
std::optional<std::uint16_t> logged_metrics_port(const daemon_process& d, ms timeout)
{
    constexpr std::string_view marker = "metrics listening on 127.0.0.1:";
    if (!d.wait_for_log(marker, timeout)) {
        return std::nullopt;
    }
    const std::string log = d.captured_stderr();
    auto at = log.find(marker) + marker.size();
    auto end = log.find_first_not_of("0123456789", at);
    if (end == at) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(std::stoul(log.substr(at, end - at)));
}

}  // namespace

TEST_CASE("metrics: metrics.listen serves /metrics without a key and nothing else",
          "[e2e][metrics]")
{
    const std::uint16_t chosen = free_loopback_port();
    e2e_stack st(metrics_options("metrics:\n  listen: 127.0.0.1:" + std::to_string(chosen) + "\n"));
    const auto logged = logged_metrics_port(st.d, 3s);
    CHECK(logged == chosen);
    const std::uint16_t mport = logged.value_or(chosen);
    REQUIRE(mport != st.d.port());

    auto r = get_metrics(mport, false);
    INFO(printable(r.body, 2000));
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").value_or("").starts_with(text_type));
    check_exposition(r.body);
    CHECK(metric_set(r.body).sum("ogp_build_info") == 1);

    // Nothing else there (each on its own connection: a 404 may close it).
    auto status_there = [&](std::string_view method, std::string_view path,
                            std::string_view body = {}) {
        http_client other(mport);
        return other.request(method, path, body, 5s).status;
    };
    CHECK(status_there("GET", "/v1/models") == 404);
    CHECK(status_there("POST", chat_path, chat_body("gpt-4o-mini", "x")) == 404);
    CHECK(status_there("GET", "/healthz") == 200);
    CHECK(status_there("GET", "/readyz") == 200);

    // The main listener still has it, behind a key (metrics.require_key unset: true there).
    CHECK(get_metrics(st.d.port(), false).status == 401);
    CHECK(get_metrics(st.d.port(), true).status == 200);
    // And the API is where it was.
    CHECK(st.c.request("POST", chat_path, chat_body("gpt-4o-mini", "x")).status == 200);
}

TEST_CASE("metrics: metrics.require_key applies to the listener that serves /metrics",
          "[e2e][metrics]")
{
    SECTION("true on the separate listener")
    {
        const std::uint16_t chosen = free_loopback_port();
        e2e_stack st(metrics_options("metrics:\n  listen: 127.0.0.1:" + std::to_string(chosen) +
                                     "\n  require_key: true\n"));
        const std::uint16_t mport = logged_metrics_port(st.d, 3s).value_or(chosen);
        CHECK(get_metrics(mport, false).status == 401);
        CHECK(get_metrics(mport, true).status == 200);
    }
    SECTION("false on the main listener")
    {
        e2e_stack st(metrics_options("metrics:\n  require_key: false\n"));
        auto r = get_metrics(st.d.port(), false);
        CHECK(r.status == 200);
        check_exposition(r.body);
        // The API itself still needs a key.
        CHECK(st.c.request("GET", "/v1/models", {}, 5s, false).status == 401);
    }
}

TEST_CASE("metrics: metrics.enabled false answers /metrics 404", "[e2e][metrics]")
{
    e2e_stack st(metrics_options("metrics:\n  enabled: false\n"));
    auto r = get_metrics(st.d.port(), true);
    CHECK(r.status == 404);
    CHECK(is_openai_error(r.body));
    CHECK(st.c.request("POST", chat_path, chat_body("gpt-4o-mini", "x")).status == 200);
}

// ---- headers -----------------------------------------------------------------------------------

TEST_CASE_METHOD(e2e_stack, "headers: Server-Timing and the x-ogp figures on proxied answers",
                 "[e2e][metrics][headers]")
{
    SECTION("non-stream")
    {
        const auto start = steady::now();
        auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "time me"));
        const double took_ms = seconds_since(start) * 1000;
        REQUIRE(r.status == 200);
        check_overhead_headers(r, took_ms);
    }
    SECTION("stream")
    {
        const auto start = steady::now();
        auto r = c.request("POST", chat_path, chat_body("gpt-4o-mini", "time me", true));
        const double took_ms = seconds_since(start) * 1000;
        REQUIRE(r.status == 200);
        CHECK(r.complete);
        check_overhead_headers(r, took_ms);
    }
    SECTION("embeddings")
    {
        const auto start = steady::now();
        auto r = c.request("POST", "/v1/embeddings",
                           R"({"model":"text-embedding-3-small","input":"time me"})");
        const double took_ms = seconds_since(start) * 1000;
        REQUIRE(r.status == 200);
        check_overhead_headers(r, took_ms);
    }
    SECTION("not on answers the proxy makes itself")
    {
        auto r = c.request("GET", "/v1/models");
        REQUIRE(r.status == 200);
        CHECK(!r.header("x-oci-request-id"));
        CHECK(!r.header("x-ogp-upstream-ms"));
    }
}

TEST_CASE("headers: the openai route relays opc-request-id as x-oci-request-id too",
          "[e2e][metrics][headers]")
{
    daemon_options o;
    o.project_id = "ocid1.generativeaiproject.oc1.us-chicago-1.e2eproject";
    o.models = openai_alias("gpt-oss", "openai.gpt-oss-120b");
    e2e_stack st(o);
    const auto start = steady::now();
    auto r = st.c.request("POST", chat_path, chat_body("gpt-oss", "time me"));
    const double took_ms = seconds_since(start) * 1000;
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    check_overhead_headers(r, took_ms);
    CHECK(r.header("opc-request-id") == r.header("x-oci-request-id"));
    // Its access-log line names the route.
    auto id = r.header("x-request-id").value_or("");
    REQUIRE(!id.empty());
    REQUIRE(st.d.wait_for_log("request_id=" + id));
    const std::string line = access_line(st.d.captured_stderr(), id);
    INFO(line);
    CHECK(field_of(line, "route") == "openai");
    CHECK(field_of(line, "model") == "gpt-oss");
    CHECK(field_of(line, "oci_model") == "openai.gpt-oss-120b");
    CHECK(field_of(line, "upstream_status") == "200");
}

// ---- access log --------------------------------------------------------------------------------

TEST_CASE("access log: model, tokens, upstream status and client name, never the key",
          "[e2e][metrics][log]")
{
    // A key that is easy to find in the log if it ever leaked.
    const std::string key = "e2e-secret-client-key-0123456789";
    daemon_options o = metrics_options();
    o.api_keys = {key};
    e2e_stack st(o);
    const std::string auth = "Authorization: Bearer " + key + "\r\n";

    auto r = st.c.request("POST", chat_path, chat_body("gpt-4o-mini", "log me"), 10s, false,
                          auth + "X-Request-Id: alog-chat-1\r\n");
    REQUIRE(r.status == 200);
    auto s = st.c.request(
        "POST", chat_path,
        chat_body("gpt-4o-mini", "log me", true, R"("stream_options":{"include_usage":true})"), 10s,
        false, auth + "X-Request-Id: alog-stream-1\r\n");
    REQUIRE(s.status == 200);
    auto bad =
        st.c.request("GET", "/v1/models", {}, 5s, false,
                     "Authorization: Bearer " + key + "-wrong\r\nX-Request-Id: alog-401\r\n");
    CHECK(bad.status == 401);

    REQUIRE(st.d.wait_for_log("request_id=alog-chat-1"));
    REQUIRE(st.d.wait_for_log("request_id=alog-stream-1"));
    REQUIRE(st.d.wait_for_log("request_id=alog-401"));
    const std::string log = st.d.captured_stderr();

    const std::string line = access_line(log, "alog-chat-1");
    INFO(line);
    CHECK(field_of(line, "model") == "gpt-4o-mini");
    CHECK(field_of(line, "oci_model") == "meta.llama-3.3-70b-instruct");
    CHECK(field_of(line, "route") == "native");
    CHECK(field_of(line, "upstream_status") == "200");
    CHECK(field_of(line, "prompt_tokens") ==
          std::to_string(json_int(r.body, "/usage/prompt_tokens")));
    CHECK(field_of(line, "completion_tokens") ==
          std::to_string(json_int(r.body, "/usage/completion_tokens")));
    CHECK(field_of(line, "upstream_ms").has_value());
    CHECK(std::regex_search(line, std::regex(" client=key-[0-9a-f]{8}( |$)")));
    CHECK(!field_of(line, "ttft_ms"));  // streams only

    const std::string stream_line = access_line(log, "alog-stream-1");
    INFO(stream_line);
    CHECK(field_of(stream_line, "model") == "gpt-4o-mini");
    CHECK(field_of(stream_line, "ttft_ms").has_value());
    CHECK(field_of(stream_line, "completion_tokens").has_value());
    CHECK(field_of(stream_line, "client") == field_of(line, "client"));

    // A refused key is logged without a client name and without the key it tried.
    const std::string refused = access_line(log, "alog-401");
    INFO(refused);
    CHECK(field_of(refused, "status") == "401");

    // Never the key, in any line.
    CHECK(log.find(key) == std::string::npos);
}

TEST_CASE("access log: log.format json carries the same fields", "[e2e][metrics][log]")
{
    daemon_options o = metrics_options();
    o.log_format = "json";
    e2e_stack st(o);
    auto r = st.c.request("POST", chat_path, chat_body("gpt-4o-mini", "log me"), 10s, true,
                          "X-Request-Id: alog-json-1\r\n");
    REQUIRE(r.status == 200);
    REQUIRE(st.d.wait_for_log("alog-json-1"));
    const std::string line = access_line(st.d.captured_stderr(), "alog-json-1");
    INFO(line);
    CHECK(json_ok(line));
    // Either JSON fields of their own, or the text fields inside the message.
    const bool own_fields = json_string(line, "/model") == "gpt-4o-mini";
    const bool in_message =
        json_string(line, "/msg").find("model=gpt-4o-mini") != std::string::npos;
    CHECK((own_fields || in_message));
    CHECK(line.find("upstream_status") != std::string::npos);
    CHECK(line.find("prompt_tokens") != std::string::npos);
    CHECK(line.find(test_key) == std::string::npos);
}
