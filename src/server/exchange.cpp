// The exchange's bookkeeping, apart from its I/O: routing and client authentication on the
// head, the built-in routes (probes), the access log and the observer.

#include <spdlog/spdlog.h>

#include <algorithm>

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

}  // namespace

net::awaitable<http_response> dispatch(state_ptr st, http_request& req, response_sink& sink)
{
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
            co_return http_response{200, "application/json", {}, R"({"status":"ready"})"};
        }
        default:
            break;
    }
    auto it = st->handlers.find(req.target);
    if (it == st->handlers.end() || !it->second) {
        co_return error_response(not_implemented("this endpoint is not implemented"));
    }
    co_return co_await it->second(req, sink);
}

void session::route(exchange& x)
{
    auto& req = x.req;
    x.match = match_route(req.head.method, x.path);
    req.target = x.match.target;
    // Only the POST routes take a body (the router says which); the others never buffer one.
    x.takes_body = x.match.takes_body;
    x.keep_alive = req.head.keep_alive && !st_->draining && !c_->evicting &&
                   served_ < x.settings->cfg->limits.max_requests_per_connection;
    x.answered = true;
    const auto& limits = x.settings->cfg->limits;
    if (!x.match.spools_body && !req.head.chunked &&
        req.head.content_length > limits.max_body_bytes) {
        // As the head guard would have refused it, before routing (only uploads go further).
        api_error e = make_error(413, "request body exceeds the limit of " +
                                          std::to_string(limits.max_body_bytes) + " bytes");
        e.code = "payload_too_large";
        x.res = error_response(e);
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
    } else if (auto denied = x.match.requires_client_auth
                                 ? x.settings->auth.check(req.head.find("authorization"))
                                 : std::nullopt) {
        x.res = error_response(*denied);
        x.res.headers.emplace_back("WWW-Authenticate", "Bearer");
    } else {
        x.answered = false;
        if (x.match.requires_client_auth) {
            c_->authenticated = true;
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
    (void)st;
    if (!x.settings || !x.settings->cfg->log.access_log) {
        return;
    }
    const auto& method = x.req.head.method;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - x.started)
                  .count();
    spdlog::info(
        "access method={} path={} status={} bytes={} duration_ms={:.3f} request_id={} "
        "remote={}{}",
        method.empty() ? "-" : method, x.path.empty() ? "-" : x.path, status, bytes, us / 1000.0,
        x.req.request_id, x.req.remote.empty() ? "-" : x.req.remote, extra);
}

}  // namespace ogp::server
