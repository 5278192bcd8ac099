#pragma once
// The proxy's metrics (issue 15): OpenTelemetry GenAI metrics in Prometheus spelling plus the
// daemon's own, fed by one call per finished exchange (`observe`) and by a snapshot of figures
// owned elsewhere pulled at scrape time (`set_runtime`), written as Prometheus text 0.0.4 or
// OpenMetrics 1.0.0 (`write`).

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/metrics/registry.hpp"

namespace ogp::metrics {

struct genai_series;  // the GenAI series of one label set (proxy_metrics.cpp)

/// One finished exchange, as the server's observer hands it over. Plain values; the views are
/// valid during observe() only (observe copies a label value the first time it sees it).
struct request_sample
{
    std::string_view route;   ///< the server's route name (`chat_completions`, `metrics`, ...)
    std::string_view method;  ///< not a label (kept for completeness)
    unsigned status = 0;      ///< the HTTP status sent
    std::chrono::nanoseconds duration{0};  ///< first request byte to the last response byte
    bool stream = false;
    /// A fixed token when the server refused the request itself (`body_too_large`, ...).
    std::string_view reject_reason;
    std::string_view client;  ///< the client key's name or hash prefix; empty: anonymous

    // GenAI fields copied from server::exchange_record; `operation` empty: not a GenAI call.
    std::string_view operation;       ///< `chat`, `responses`, `embeddings`
    std::string_view request_model;   ///< the configured alias (bounded by configuration)
    std::string_view response_model;  ///< the model OCI's answer named
    /// `timeout`, `rate_limited`, ...; empty with status >= 400: the status code is used.
    std::string_view error_type;
    std::int64_t input_tokens = -1;  ///< -1: unknown (also for the three below)
    std::int64_t output_tokens = -1;
    std::int64_t cached_tokens = -1;
    std::int64_t reasoning_tokens = -1;
    std::chrono::microseconds ttft{-1};     ///< streams: to the first content event; -1: none
    std::chrono::microseconds upstream{0};  ///< time inside upstream exchanges (all attempts)
    unsigned retries = 0;

    // Traffic policy, copied from server::exchange_record (issue 16).
    /// Refused by the client key's own limits: `requests`, `tokens`, `concurrency`, `streams`,
    /// `store` (static strings); empty: not refused by them.
    std::string_view rate_limited;
    /// The fallback alias (models[].fallbacks) that answered; empty: the requested one did.
    std::string_view fallback;
    /// Upstream regions given up on before the answer (across the alias and its fallbacks).
    unsigned failovers = 0;
    /// The region whose endpoint answered; not a label of any series (kept for completeness).
    std::string_view region;
};

/// Figures owned by other parts, pulled at scrape time by the callback the app sets.
struct runtime_snapshot
{
    // The HTTP server (server::stats(); the app sums its listeners).
    std::uint64_t connections_open = 0;
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_refused = 0;  ///< at the connection cap
    std::uint64_t requests_in_flight = 0;
    std::uint64_t streams_in_flight = 0;
    std::uint64_t tls_handshakes = 0;
    std::uint64_t tls_handshake_failures = 0;

    /// One upstream connection pool (`inference`, `control`, `openai`).
    struct pool
    {
        std::string name;
        std::optional<std::uint64_t> open;  ///< none: not counted (the series is left out)
        std::uint64_t idle = 0;
        std::uint64_t handshakes = 0;
        std::uint64_t resumed = 0;  ///< TLS sessions resumed
    };
    std::vector<pool> pools;
    std::uint64_t upstream_requests = 0;
    // Upstream retries by reason: labels reason="401" | "429" | "503" | "stale".
    std::uint64_t retries_401 = 0;
    std::uint64_t retries_429 = 0;
    std::uint64_t retries_503 = 0;
    std::uint64_t retries_stale = 0;

    struct credential_stats
    {
        std::string provider;  ///< `api_key`, `instance_principal`, ... (label `provider`)
        std::uint64_t renewals = 0;
        std::uint64_t failures = 0;
        std::optional<double> seconds_to_expiry;  ///< none: no expiring credential
    } credential;

    struct reload_stats
    {
        std::uint64_t ok = 0;          ///< result="success"
        std::uint64_t failed = 0;      ///< result="failure"
        double last_success_unix = 0;  ///< 0: never reloaded (the gauge is then omitted)
    } reloads;

    /// The configured limits of one client key (`clients.keys[]`): gauge
    /// `ogp_client_limit{client,limit}`, one series per limit that is set (non-zero), `limit`
    /// named as in `ogp_client_rate_limited_total`: `requests` (rpm), `tokens` (tpm),
    /// `concurrency` (max_concurrent), `streams` (max_streams).
    struct client_limit
    {
        std::string client;  ///< the key's name
        std::uint64_t rpm = 0;
        std::uint64_t tpm = 0;
        std::uint64_t max_concurrent = 0;
        std::uint64_t max_streams = 0;
    };
    std::vector<client_limit> client_limits;

    /// The limits store (`limits.store`). `kind` empty: no limiter, the families are left out.
    struct store_stats
    {
        std::string kind;             ///< `memory` | `redis` (ogp_limits_store_info{kind})
        std::uint64_t errors = 0;     ///< store admissions that failed or timed out
        std::uint64_t fallbacks = 0;  ///< ... answered by the in-process store (fail open)
        std::uint64_t refusals = 0;   ///< ... refused with 503 (fail closed)
    } limits_store;

    /// The circuit breaker of one upstream host (api::circuit_status):
    /// `ogp_upstream_circuit_state{upstream,host}` and `ogp_upstream_circuit_opened_total`.
    struct circuit
    {
        std::string upstream;      ///< the region (or upstream name) the host serves
        std::string host;          ///< the endpoint authority
        int state = 0;             ///< 0 closed, 1 half_open, 2 open
        std::uint64_t opened = 0;  ///< times it opened
    };
    std::vector<circuit> circuits;
};

/// The proxy's metric set. observe() is safe from any thread and lock-free after a thread's
/// first use of a label set; write() may run concurrently with observe() (values are read one
/// by one, each histogram consistent with its own `_count`).
class proxy_metrics
{
public:
    /// OTel's advised bucket boundaries (semantic conventions for GenAI metrics).
    static const std::vector<double> token_usage_buckets;
    static const std::vector<double> operation_duration_buckets;
    static const std::vector<double> ttft_buckets;
    /// Ours: the proxy's own overhead is sub-millisecond to tens of milliseconds.
    static const std::vector<double> proxy_overhead_buckets;

    /// `series_cap`: label sets per family before the `overflow` series.
    explicit proxy_metrics(std::size_t series_cap = default_series_cap);
    ~proxy_metrics();
    proxy_metrics(const proxy_metrics&) = delete;
    proxy_metrics& operator=(const proxy_metrics&) = delete;

    /// Records one finished exchange.
    void observe(const request_sample& s) noexcept;

    /// The callback a scrape calls for the runtime figures (may be replaced at any time; empty:
    /// those families are left out).
    void set_runtime(std::function<runtime_snapshot()> fn);

    /// Appends a whole scrape (`# EOF` included for OpenMetrics) to `out`.
    void write(std::string& out, exposition fmt) const;

    const registry& families() const { return reg_; }

private:
    void write_runtime(text_writer& w, const runtime_snapshot& r) const;
    // The traffic-policy part of the snapshot (client limits, limits store, circuits).
    void write_policy(text_writer& w, const runtime_snapshot& r) const;

    registry reg_;
    counter_family& http_requests_;
    counter_family& rejected_;
    counter_family& client_requests_;
    histogram_family& token_usage_;
    counter_family& tokens_;
    histogram_family& duration_;
    histogram_family& ttft_;
    histogram_family& overhead_;
    counter_family& client_tokens_;
    counter_family& client_rate_limited_;
    counter_family& failovers_;
    counter_family& fallbacks_;
    // (operation, request model, response model, error type) -> its GenAI series: one lookup
    // per exchange instead of one per series.
    std::unique_ptr<label_memo<genai_series>> genai_;
    const double start_time_;  // Unix seconds at construction (process start for the app)
    const std::size_t cap_;    // series per runtime family, like the registry's families
    mutable std::mutex runtime_mu_;
    std::function<runtime_snapshot()> runtime_;
    mutable std::atomic<std::size_t> size_hint_{0};  // the last scrape's size, to reserve
};

}  // namespace ogp::metrics
