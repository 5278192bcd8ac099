// The exchange's bookkeeping, apart from its I/O: routing and client authentication on the
// head, the built-in routes (probes), the access log and the observer.

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

#include "session.hpp"

namespace ogp::server {

namespace {

// `/readyz` repeats an unchanged reason in the log at most this often.
constexpr std::chrono::seconds readiness_log_interval{60};

// Logs why `/readyz` fails (the probe is unauthenticated, so clients are told only "not
// ready"): a new reason at once, an unchanged one once a minute, and the return to ready.
void log_readiness(const state_ptr& st, const std::optional<std::string>& reason)
{
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(st->readiness_mutex);
    if (!reason) {
        if (!st->readiness_logged.empty()) {
            st->readiness_logged.clear();
            spdlog::info("ready");
        }
        return;
    }
    const std::string text = reason->empty() ? "no reason given" : *reason;
    if (text == st->readiness_logged && now - st->readiness_logged_at < readiness_log_interval) {
        return;
    }
    st->readiness_logged = text;
    st->readiness_logged_at = now;
    spdlog::warn("not ready: {}", text);
}

// The 200 of a ready `/readyz`, with the application's detail when it gives a JSON array.
http_response ready_response(const state_ptr& st)
{
    http_response r{200, "application/json", {}, R"({"status":"ready"})"};
    if (!st->readiness_detail) {
        return r;
    }
    const std::string detail = st->readiness_detail();
    const auto first = detail.find_first_not_of(" \t\r\n");
    const auto last = detail.find_last_not_of(" \t\r\n");
    if (first == std::string::npos || detail[first] != '[' || detail[last] != ']') {
        return r;
    }
    r.body.clear();
    r.body.reserve(detail.size() + 32);
    r.body += R"({"status":"ready","upstreams":)";
    r.body.append(detail, first, last - first + 1);
    r.body += '}';
    return r;
}

// Counts the request as in flight for as long as its handler (or probe) runs.
class in_flight
{
public:
    explicit in_flight(std::atomic<std::uint64_t>& n) : n_(n)
    {
        n_.fetch_add(1, std::memory_order_relaxed);
    }
    ~in_flight() { n_.fetch_sub(1, std::memory_order_relaxed); }
    in_flight(const in_flight&) = delete;
    in_flight& operator=(const in_flight&) = delete;

private:
    std::atomic<std::uint64_t>& n_;
};

// The session's sink as the handler sees it: forwards everything, and counts the stream as in
// flight from begin_stream() until the handler returns. Forwards the awaitables themselves
// (no coroutine frame of its own per write).
class counting_sink final : public response_sink
{
public:
    counting_sink(response_sink& inner, std::atomic<std::uint64_t>& streams)
        : inner_(inner), streams_(streams)
    {
    }
    ~counting_sink() override
    {
        if (counted_) {
            streams_.fetch_sub(1, std::memory_order_relaxed);
        }
    }
    counting_sink(const counting_sink&) = delete;
    counting_sink& operator=(const counting_sink&) = delete;

    net::awaitable<bool> begin_stream(
        unsigned status, std::string content_type,
        std::vector<std::pair<std::string, std::string>> headers) override
    {
        if (!counted_) {
            counted_ = true;
            streams_.fetch_add(1, std::memory_order_relaxed);
        }
        return inner_.begin_stream(status, std::move(content_type), std::move(headers));
    }
    net::awaitable<bool> write(std::string_view data) override { return inner_.write(data); }
    net::awaitable<bool> end_stream() override { return inner_.end_stream(); }
    bool streaming() const override { return inner_.streaming(); }
    bool client_gone() const override { return inner_.client_gone(); }
    bool cut() const override { return inner_.cut(); }
    void on_disconnect(std::function<void()> fn) override { inner_.on_disconnect(std::move(fn)); }

private:
    response_sink& inner_;
    std::atomic<std::uint64_t>& streams_;
    bool counted_ = false;
};

// Whether the route exists on this listener with this configuration: `/metrics` only with
// metrics.enabled; the metrics listener offers nothing but `/metrics` and the probes.
bool offered(route target, const config& cfg, bool metrics_listener)
{
    if (target == route::metrics) {
        return cfg.metrics.enabled;
    }
    return !metrics_listener || target == route::healthz || target == route::readyz;
}

// The fixed reject token of an exchange the server answered itself (contract in
// server.hpp's exchange_summary); empty when a handler answered. A guard refusal arrives
// through reply_and_close with ` reason="<text>"` in `extra`; a refusal from routing or
// authentication has `x.answered`.
std::string_view reject_reason(const exchange& x, unsigned status, std::string_view extra)
{
    if (status == 499) {
        return "client_closed";
    }
    const bool guard = extra.starts_with(" reason=\"");
    if (!guard && !x.answered) {
        return {};
    }
    switch (status) {
        case 400:
        case 417:
            return "bad_request";
        case 401:
            return "unauthorized";
        case 404:
            return "not_found";
        case 405:
            return "method_not_allowed";
        case 408:
            return extra.find("body") != std::string_view::npos ? "body_timeout" : "header_timeout";
        case 413:
            return "body_too_large";
        case 414:
            return "uri_too_long";
        case 431:
            return extra.find("too many") != std::string_view::npos ? "too_many_headers"
                                                                    : "header_too_large";
        default:
            return {};  // the server failed (an upload it cannot store): not a refusal
    }
}

// Longest value a record field adds to the log line.
constexpr std::size_t max_log_value = 128;

// Appends ` key=value` with the value made safe for a `key=value` line: printable ASCII
// except space, `"`, `\` and `=` kept, anything else (control characters, UTF-8, spaces from
// an upstream's model name) replaced by `_`; cut at max_log_value.
void append_field(fmt::memory_buffer& out, std::string_view key, std::string_view value)
{
    if (value.empty()) {
        return;
    }
    out.push_back(' ');
    out.append(key);
    out.push_back('=');
    const auto n = std::min(value.size(), max_log_value);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        const bool safe = c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
        out.push_back(safe ? static_cast<char>(c) : '_');
    }
}

// What the record knows, as ` key=value` pairs (README: Access log).
void append_record(fmt::memory_buffer& out, const exchange_record& r)
{
    append_field(out, "model", r.model);
    append_field(out, "oci_model", r.oci_model);
    append_field(out, "route", r.route);
    auto it = std::back_inserter(out);
    if (r.input_tokens >= 0) {
        fmt::format_to(it, " prompt_tokens={}", r.input_tokens);
    }
    if (r.output_tokens >= 0) {
        fmt::format_to(it, " completion_tokens={}", r.output_tokens);
    }
    if (r.ttft.count() >= 0) {
        fmt::format_to(it, " ttft_ms={:.3f}", static_cast<double>(r.ttft.count()) / 1000.0);
    }
    // An upstream call makes its status, time and retry count known.
    const bool upstream = r.upstream_status != 0 || r.upstream.count() > 0 || r.retries > 0;
    if (r.upstream_status != 0) {
        fmt::format_to(it, " upstream_status={}", r.upstream_status);
    }
    if (upstream) {
        fmt::format_to(it, " upstream_ms={:.3f} retries={}",
                       static_cast<double>(r.upstream.count()) / 1000.0, r.retries);
    }
    // Traffic policy: where the answer came from, and a refusal by the key's own limits.
    append_field(out, "region", r.region);
    append_field(out, "fallback", r.fallback);
    if (r.failovers > 0) {
        fmt::format_to(it, " failovers={}", r.failovers);
    }
    append_field(out, "rate_limited", r.rate_limited);
    append_field(out, "client", r.client);
}

}  // namespace

net::awaitable<http_response> dispatch(state_ptr st, http_request& req, response_sink& sink)
{
    in_flight counted(st->requests_in_flight);
    switch (req.target) {
        case route::healthz:
            co_return http_response{200, "application/json", {}, R"({"status":"ok"})"};
        case route::readyz: {
            std::optional<std::string> reason;
            if (st->draining) {
                reason = "shutting down";
            } else if (st->readiness) {
                reason = st->readiness();
            }
            log_readiness(st, reason);
            if (reason) {
                // The reason (URLs, error texts) is for the log only.
                http_response r =
                    error_response(service_unavailable("not ready", "5", "not_ready"));
                co_return r;
            }
            co_return ready_response(st);
        }
        default:
            break;
    }
    auto it = st->handlers.find(req.target);
    if (it == st->handlers.end() || !it->second) {
        co_return error_response(not_implemented("this endpoint is not implemented"));
    }
    counting_sink counting(sink, st->streams_in_flight);
    co_return co_await it->second(req, counting);
}

void session::route(exchange& x)
{
    auto& req = x.req;
    const auto& cfg = *x.settings->cfg;
    const bool metrics_listener = st_->kind == listener_kind::metrics;
    x.match = match_route(req.head.method, x.path);
    if (x.match.target == route::metrics) {
        x.match.requires_client_auth = cfg.metrics.requires_key(metrics_listener);
    }
    // A path this listener does not offer is unknown here, whatever the method (a 405 names the
    // route its path has for GET).
    const ogp::server::route offered_target = x.match.target == route::method_not_allowed
                                                  ? match_route("GET", x.path).target
                                                  : x.match.target;
    if (!offered(offered_target, cfg, metrics_listener)) {
        x.match = route_match{};
    }
    req.target = x.match.target;
    // Only the POST routes take a body (the router says which); the others never buffer one.
    x.takes_body = x.match.takes_body;
    x.keep_alive = req.head.keep_alive && !st_->draining && !c_->evicting &&
                   served_ < cfg.limits.max_requests_per_connection;
    x.answered = true;
    const auto& limits = cfg.limits;
    if (!x.match.spools_body && !req.head.chunked &&
        req.head.content_length > limits.max_body_bytes) {
        // As the head guard would have refused it, before routing (only uploads go further).
        api_error e = make_error(413, "request body exceeds the limit of " +
                                          std::to_string(limits.max_body_bytes) + " bytes");
        e.code = "payload_too_large";
        x.res = error_response(e);
    } else if (x.match.target == route::not_found && metrics_listener) {
        x.res = error_response(not_found("Unknown request URL: " + req.head.method + " " +
                                         std::string(x.path) +
                                         ". This listener serves only GET /metrics, "
                                         "GET /healthz and GET /readyz."));
    } else if (x.match.target == route::not_found) {
        x.res = error_response(not_found("Unknown request URL: " + req.head.method + " " +
                                         std::string(x.path) +
                                         ". Supported: POST /v1/chat/completions, POST "
                                         "/v1/responses, POST /v1/embeddings, GET /v1/models, "
                                         "and with oci.project_id /v1/responses/{id}, "
                                         "/v1/conversations, /v1/files, /v1/vector_stores."));
    } else if (x.match.target == route::method_not_allowed) {
        x.res = error_response(method_not_allowed(
            "Method " + req.head.method + " is not allowed for " + std::string(x.path) + "."));
        x.res.headers.emplace_back("Allow", std::string(x.match.allow));
    } else if (!x.match.requires_client_auth) {
        x.answered = false;
    } else if (auto a = x.settings->auth.authenticate(req.head.find("authorization")); a.denied) {
        x.res = error_response(*a.denied);
        x.res.headers.emplace_back("WWW-Authenticate", "Bearer");
    } else {
        x.answered = false;
        c_->authenticated = true;
        // The key's name (never the key) for the access log and the metrics.
        if (a.key) {
            req.record.client = x.settings->auth.name(*a.key);
        }
    }
    // A refused request's body was not read: the connection cannot be reused.
    if (x.answered && req.head.has_body()) {
        x.keep_alive = false;
    }
}

void log_access(const state_ptr& st, const exchange& x, unsigned status, std::size_t bytes,
                std::string_view extra)
{
    const auto now = std::chrono::steady_clock::now();
    const auto& method = x.req.head.method;
    if (st->observer) {
        exchange_summary sum;
        sum.target = x.req.target;
        sum.method = method;
        sum.status = status;
        sum.bytes = bytes;
        sum.duration = now - x.started;
        sum.stream = x.streamed;
        sum.metrics_listener = st->kind == listener_kind::metrics;
        sum.reject_reason = reject_reason(x, status, extra);
        sum.record = &x.req.record;
        st->observer(sum);
    }
    if (!x.settings || !x.settings->cfg->log.access_log) {
        return;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - x.started).count();
    fmt::memory_buffer line;
    fmt::format_to(std::back_inserter(line),
                   "access method={} path={} status={} bytes={} duration_ms={:.3f} request_id={} "
                   "remote={}",
                   method.empty() ? "-" : method, x.path.empty() ? "-" : x.path, status, bytes,
                   us / 1000.0, x.req.request_id, x.req.remote.empty() ? "-" : x.req.remote);
    append_record(line, x.req.record);
    line.append(extra);
    spdlog::info("{}", std::string_view(line.data(), line.size()));
}

void server::set_observer(exchange_observer o)
{
    state_->observer = std::move(o);
}

server_stats server::stats() const
{
    const auto& st = *state_;
    constexpr auto relaxed = std::memory_order_relaxed;
    server_stats s;
    s.connections_open = st.active.load(relaxed);
    s.connections_accepted = st.accepted.load(relaxed);
    s.connections_refused = st.refused.load(relaxed);
    s.requests_in_flight = st.requests_in_flight.load(relaxed);
    s.streams_in_flight = st.streams_in_flight.load(relaxed);
    s.tls_handshakes = st.tls_handshakes.load(relaxed);
    s.tls_handshake_failures = st.tls_handshake_failures.load(relaxed);
    return s;
}

}  // namespace ogp::server
