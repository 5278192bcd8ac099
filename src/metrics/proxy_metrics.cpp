// proxy_metrics: the metric names and labels of the proxy (OTel GenAI in Prometheus spelling and
// the daemon's own), the mapping of one exchange onto them, and a whole scrape.
#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "ogp/metrics/metrics.hpp"

#ifndef OGP_VERSION
#define OGP_VERSION "unknown"
#endif

namespace ogp::metrics {

namespace {

constexpr std::string_view provider_oci = "oci";

const std::vector<std::string> genai_labels{"gen_ai_operation_name", "gen_ai_provider_name",
                                            "gen_ai_request_model", "gen_ai_response_model"};

std::vector<std::string> genai_labels_and(std::string extra)
{
    auto labels = genai_labels;
    labels.push_back(std::move(extra));
    return labels;
}

double seconds(std::chrono::nanoseconds d)
{
    return std::chrono::duration<double>(d).count();
}

double unix_now()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

/// The GenAI series of one (operation, request model, response model, error type), each
/// looked up in its family on first use (lazily: a series appears only once it moves).
struct genai_series
{
    std::string op, req, resp, error;  // the (cut) label values
    std::atomic<histogram*> usage_input{nullptr}, usage_output{nullptr};
    std::atomic<counter*> tokens_input{nullptr}, tokens_output{nullptr}, tokens_cached{nullptr},
        tokens_reasoning{nullptr};
    std::atomic<histogram*> duration{nullptr}, ttft{nullptr}, overhead{nullptr};

    /// The series in `slot`, from `family` on first use (a race stores the same pointer).
    template <class S, class F>
    static S& get(std::atomic<S*>& slot, F& family, std::initializer_list<std::string_view> v)
    {
        S* p = slot.load(std::memory_order_acquire);
        if (p == nullptr) {
            p = &family.with(v);
            slot.store(p, std::memory_order_release);
        }
        return *p;
    }
};

const std::vector<double> proxy_metrics::token_usage_buckets{
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
const std::vector<double> proxy_metrics::operation_duration_buckets{
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
const std::vector<double> proxy_metrics::ttft_buckets{
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0};
const std::vector<double> proxy_metrics::proxy_overhead_buckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25};

proxy_metrics::proxy_metrics(std::size_t cap)
    : http_requests_(reg_.add_counter("ogp_http_requests_total",
                                      "HTTP requests answered, by route and status code.",
                                      {"route", "code"}, cap)),
      rejected_(reg_.add_counter("ogp_requests_rejected_total",
                                 "Requests the server refused itself, by guard reason.", {"reason"},
                                 cap)),
      client_requests_(reg_.add_counter("ogp_client_requests_total",
                                        "Requests by client key (its name or a hash prefix).",
                                        {"client"}, cap)),
      token_usage_(reg_.add_histogram(
          "gen_ai_client_token_usage", "Tokens used per GenAI operation (input and output).",
          genai_labels_and("gen_ai_token_type"), token_usage_buckets, cap)),
      tokens_(reg_.add_counter(
          "gen_ai_client_tokens_total",
          "Tokens used by GenAI operations, by type (input, output, cached, reasoning).",
          genai_labels_and("gen_ai_token_type"), cap)),
      duration_(reg_.add_histogram("gen_ai_client_operation_duration_seconds",
                                   "Duration of GenAI operations as the client sees them.",
                                   genai_labels_and("error_type"), operation_duration_buckets,
                                   cap)),
      ttft_(reg_.add_histogram("gen_ai_server_time_to_first_token_seconds",
                               "Time to the first content event of streamed GenAI operations.",
                               genai_labels, ttft_buckets, cap)),
      overhead_(reg_.add_histogram(
          "ogp_proxy_overhead_seconds",
          "Time a GenAI operation spent in the proxy outside upstream exchanges.",
          {"gen_ai_operation_name"}, proxy_overhead_buckets, cap)),
      client_tokens_(reg_.add_counter(
          "ogp_client_tokens_total",
          "Tokens used by client key (its name or a hash prefix), by type (input, output).",
          {"client", "type"}, cap)),
      client_rate_limited_(reg_.add_counter(
          "ogp_client_rate_limited_total",
          "Requests refused by the client key's own limits, by limit (requests, tokens, "
          "concurrency, streams; store: the shared limits store failed closed).",
          {"client", "limit"}, cap)),
      failovers_(reg_.add_counter("ogp_upstream_failovers_total",
                                  "Upstream regions given up on before an answer (a failure or "
                                  "an open circuit moved the request to the next region).",
                                  {}, cap)),
      fallbacks_(reg_.add_counter(
          "ogp_fallbacks_total",
          "Requests answered by a fallback alias instead of the requested model, by both.",
          {"gen_ai_request_model", "fallback"}, cap)),
      genai_(std::make_unique<label_memo<genai_series>>(
          "genai_series",
          std::vector<std::string>{"op", "request_model", "response_model", "error_type"},
          [](std::span<const std::string_view> v) {
              auto g = std::make_unique<genai_series>();
              g->op = v[0];
              g->req = v[1];
              g->resp = v[2];
              g->error = v[3];
              return g;
          },
          cap)),
      start_time_(unix_now()),
      cap_(cap)
{
    failovers_.with({});  // a single series: present (0) from the start
}

proxy_metrics::~proxy_metrics() = default;

void proxy_metrics::observe(const request_sample& s) noexcept
{
    char code_buf[16];
    const auto code_end = std::to_chars(code_buf, code_buf + sizeof code_buf, s.status).ptr;
    const std::string_view code(code_buf, static_cast<std::size_t>(code_end - code_buf));

    http_requests_.with({s.route, code}).inc();
    if (!s.reject_reason.empty()) {
        rejected_.with({s.reject_reason}).inc();
    }
    if (!s.client.empty()) {
        client_requests_.with({s.client}).inc();
        if (s.input_tokens >= 0) {
            client_tokens_.with({s.client, "input"})
                .inc(static_cast<std::uint64_t>(s.input_tokens));
        }
        if (s.output_tokens >= 0) {
            client_tokens_.with({s.client, "output"})
                .inc(static_cast<std::uint64_t>(s.output_tokens));
        }
    }
    if (!s.rate_limited.empty()) {
        client_rate_limited_.with({s.client, s.rate_limited}).inc();
    }
    if (s.failovers > 0) {
        failovers_.with({}).inc(s.failovers);
    }
    if (!s.fallback.empty()) {
        fallbacks_.with({s.request_model, s.fallback}).inc();
    }
    if (s.operation.empty()) {
        return;
    }
    // OTel: error.type only on failed operations; the status code when no reason is known.
    const bool failed = !s.error_type.empty() || s.status >= 400;
    const auto error = !failed ? std::string_view() : !s.error_type.empty() ? s.error_type : code;
    auto& g = genai_->with({s.operation, s.request_model, s.response_model, error});
    const std::string_view op = g.op, req = g.req, resp = g.resp;

    using G = genai_series;
    if (s.input_tokens >= 0) {
        const auto n = static_cast<std::uint64_t>(s.input_tokens);
        G::get(g.usage_input, token_usage_, {op, provider_oci, req, resp, "input"})
            .observe(static_cast<double>(n));
        G::get(g.tokens_input, tokens_, {op, provider_oci, req, resp, "input"}).inc(n);
    }
    if (s.output_tokens >= 0) {
        const auto n = static_cast<std::uint64_t>(s.output_tokens);
        G::get(g.usage_output, token_usage_, {op, provider_oci, req, resp, "output"})
            .observe(static_cast<double>(n));
        G::get(g.tokens_output, tokens_, {op, provider_oci, req, resp, "output"}).inc(n);
    }
    if (s.cached_tokens >= 0) {
        G::get(g.tokens_cached, tokens_, {op, provider_oci, req, resp, "cached"})
            .inc(static_cast<std::uint64_t>(s.cached_tokens));
    }
    if (s.reasoning_tokens >= 0) {
        G::get(g.tokens_reasoning, tokens_, {op, provider_oci, req, resp, "reasoning"})
            .inc(static_cast<std::uint64_t>(s.reasoning_tokens));
    }
    G::get(g.duration, duration_, {op, provider_oci, req, resp, g.error})
        .observe(seconds(s.duration));
    if (s.stream && s.ttft.count() >= 0) {
        G::get(g.ttft, ttft_, {op, provider_oci, req, resp}).observe(seconds(s.ttft));
    }
    const auto outside =
        std::max(s.duration - std::chrono::nanoseconds(s.upstream), std::chrono::nanoseconds(0));
    G::get(g.overhead, overhead_, {op}).observe(seconds(outside));
}

void proxy_metrics::set_runtime(std::function<runtime_snapshot()> fn)
{
    std::lock_guard lock(runtime_mu_);
    runtime_ = std::move(fn);
}

void proxy_metrics::write_runtime(text_writer& w, const runtime_snapshot& r) const
{
    const auto one = [&w](std::string_view name, metric_kind kind, std::string_view help,
                          std::uint64_t v) {
        w.header(name, kind, help);
        w.sample(name, {}, v);
    };
    one("ogp_http_requests_in_flight", metric_kind::gauge, "Requests being answered.",
        r.requests_in_flight);
    one("ogp_http_streams_in_flight", metric_kind::gauge, "Streamed answers in progress.",
        r.streams_in_flight);
    one("ogp_http_connections_open", metric_kind::gauge, "Client connections open.",
        r.connections_open);
    one("ogp_http_connections_accepted_total", metric_kind::counter, "Client connections accepted.",
        r.connections_accepted);
    one("ogp_http_connections_refused_total", metric_kind::counter,
        "Client connections refused at the connection cap.", r.connections_refused);
    one("ogp_tls_handshakes_total", metric_kind::counter, "TLS handshakes completed with clients.",
        r.tls_handshakes);
    one("ogp_tls_handshake_failures_total", metric_kind::counter,
        "TLS handshakes with clients that failed (plaintext on the TLS port included).",
        r.tls_handshake_failures);
    one("ogp_upstream_requests_total", metric_kind::counter, "Requests sent to OCI (each attempt).",
        r.upstream_requests);

    w.header("ogp_upstream_retries_total", metric_kind::counter,
             "Upstream attempts repeated, by reason.");
    const std::pair<std::string_view, std::uint64_t> retries[] = {
        {"reason=\"401\"", r.retries_401},
        {"reason=\"429\"", r.retries_429},
        {"reason=\"503\"", r.retries_503},
        {"reason=\"stale\"", r.retries_stale}};
    for (const auto& [labels, v] : retries) {
        w.sample("ogp_upstream_retries_total", labels, v);
    }

    // Pools: four families over the same label sets.
    std::string labels;
    const auto per_pool = [&](std::string_view name, metric_kind kind, std::string_view help,
                              std::uint64_t runtime_snapshot::pool::*field) {
        w.header(name, kind, help);
        for (const auto& p : r.pools) {
            labels.clear();
            append_label(labels, "pool", p.name);
            w.sample(name, labels, p.*field);
        }
    };
    w.header("ogp_upstream_connections_open", metric_kind::gauge,
             "Upstream connections open, by pool (where the pool counts them).");
    for (const auto& p : r.pools) {
        if (p.open) {
            labels.clear();
            append_label(labels, "pool", p.name);
            w.sample("ogp_upstream_connections_open", labels, *p.open);
        }
    }
    per_pool("ogp_upstream_connections_idle", metric_kind::gauge,
             "Upstream connections idle in the pool.", &runtime_snapshot::pool::idle);
    per_pool("ogp_upstream_tls_handshakes_total", metric_kind::counter,
             "Upstream TLS handshakes, by pool.", &runtime_snapshot::pool::handshakes);
    per_pool("ogp_upstream_tls_resumed_total", metric_kind::counter,
             "Upstream TLS handshakes that resumed a session, by pool.",
             &runtime_snapshot::pool::resumed);

    labels.clear();
    append_label(labels, "provider", r.credential.provider);
    w.header("ogp_credential_renewals_total", metric_kind::counter,
             "OCI credential renewals that succeeded.");
    w.sample("ogp_credential_renewals_total", labels, r.credential.renewals);
    w.header("ogp_credential_renewal_failures_total", metric_kind::counter,
             "OCI credential renewals that failed.");
    w.sample("ogp_credential_renewal_failures_total", labels, r.credential.failures);
    if (r.credential.seconds_to_expiry) {
        w.header("ogp_credential_expiry_seconds", metric_kind::gauge,
                 "Seconds until the current OCI credential expires.");
        w.sample("ogp_credential_expiry_seconds", labels, *r.credential.seconds_to_expiry);
    }

    write_policy(w, r);

    w.header("ogp_config_reloads_total", metric_kind::counter,
             "Configuration reloads (SIGHUP), by result.");
    w.sample("ogp_config_reloads_total", "result=\"success\"", r.reloads.ok);
    w.sample("ogp_config_reloads_total", "result=\"failure\"", r.reloads.failed);
    if (r.reloads.last_success_unix > 0) {
        w.header("ogp_config_last_reload_success_timestamp_seconds", metric_kind::gauge,
                 "Unix time of the last successful configuration reload.");
        w.sample("ogp_config_last_reload_success_timestamp_seconds", {},
                 r.reloads.last_success_unix);
    }
}

void proxy_metrics::write_policy(text_writer& w, const runtime_snapshot& r) const
{
    // Label sets come from the configuration, but are capped and kept unique all the same: a
    // repeated set would make the scrape invalid.
    std::unordered_set<std::string> seen;
    std::string labels;
    const auto unique = [&](std::string_view family) {
        return seen.size() < cap_ && seen.insert(std::string(family) + '\n' + labels).second;
    };

    w.header("ogp_client_limit", metric_kind::gauge,
             "Configured limits of client keys, by limit: requests (per minute), tokens (per "
             "minute), concurrency (requests at once), streams (streams at once); set ones only.");
    for (const auto& c : r.client_limits) {
        const std::pair<std::string_view, std::uint64_t> limits[] = {
            {"requests", c.rpm},
            {"tokens", c.tpm},
            {"concurrency", c.max_concurrent},
            {"streams", c.max_streams}};
        for (const auto& [limit, v] : limits) {
            if (v == 0) {
                continue;
            }
            labels.clear();
            append_label(labels, "client", c.client);
            append_label(labels, "limit", limit);
            if (unique("limit")) {
                w.sample("ogp_client_limit", labels, v);
            }
        }
    }

    if (!r.limits_store.kind.empty()) {
        const auto& st = r.limits_store;
        w.header("ogp_limits_store_info", metric_kind::info,
                 "The limits store in use (kind: memory or redis).");
        labels.clear();
        append_label(labels, "kind", st.kind);
        w.sample("ogp_limits_store_info", labels, std::uint64_t{1});
        w.header("ogp_limits_store_errors_total", metric_kind::counter,
                 "Admissions the limits store failed to answer (error or timeout).");
        w.sample("ogp_limits_store_errors_total", {}, st.errors);
        w.header("ogp_limits_store_fallbacks_total", metric_kind::counter,
                 "Admissions decided by the in-process store after a store failure (fail open).");
        w.sample("ogp_limits_store_fallbacks_total", {}, st.fallbacks);
        w.header("ogp_limits_store_refusals_total", metric_kind::counter,
                 "Requests refused with 503 after a store failure (fail closed).");
        w.sample("ogp_limits_store_refusals_total", {}, st.refusals);
    }

    seen.clear();
    w.header("ogp_upstream_circuit_state", metric_kind::gauge,
             "Circuit breaker state of an upstream host: 0 closed, 1 half_open, 2 open.");
    for (const auto& c : r.circuits) {
        labels.clear();
        append_label(labels, "upstream", c.upstream);
        append_label(labels, "host", c.host);
        if (unique("state")) {
            w.sample("ogp_upstream_circuit_state", labels,
                     static_cast<std::uint64_t>(std::clamp(c.state, 0, 2)));
        }
    }
    seen.clear();
    w.header("ogp_upstream_circuit_opened_total", metric_kind::counter,
             "Times the circuit breaker of an upstream host opened.");
    for (const auto& c : r.circuits) {
        labels.clear();
        append_label(labels, "upstream", c.upstream);
        append_label(labels, "host", c.host);
        if (unique("opened")) {
            w.sample("ogp_upstream_circuit_opened_total", labels, c.opened);
        }
    }
}

void proxy_metrics::write(std::string& out, exposition fmt) const
{
    const auto hint = size_hint_.load(std::memory_order_relaxed);
    out.reserve(out.size() + hint + hint / 8 + 4096);
    const auto start = out.size();
    text_writer w(out, fmt);
    reg_.write(w);

    std::function<runtime_snapshot()> runtime;
    {
        std::lock_guard lock(runtime_mu_);
        runtime = runtime_;
    }
    if (runtime) {
        write_runtime(w, runtime());
    }

    // Label sets refused by a family's cap (only once any was).
    bool header = false;
    std::string labels;
    for (const auto& f : reg_.families()) {
        if (const auto n = f->overflowed(); n > 0) {
            if (!header) {
                w.header("ogp_metrics_label_overflow_total", metric_kind::counter,
                         "New label sets sent to a family's overflow series (cardinality cap).");
                header = true;
            }
            labels.clear();
            append_label(labels, "metric", f->name());
            w.sample("ogp_metrics_label_overflow_total", labels, n);
        }
    }

    w.header("ogp_build_info", metric_kind::info, "Build information of oci-genai-proxy.");
    labels.clear();
    append_label(labels, "version", OGP_VERSION);
    w.sample("ogp_build_info", labels, std::uint64_t{1});
    w.header("process_start_time_seconds", metric_kind::gauge,
             "Start time of the process since the Unix epoch in seconds.");
    w.sample("process_start_time_seconds", {}, start_time_);
    w.finish();
    size_hint_.store(out.size() - start, std::memory_order_relaxed);
}

}  // namespace ogp::metrics
