#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ogp/api/circuit_breaker.hpp"
#include "ogp/api/model_catalog.hpp"
#include "ogp/api/resilience.hpp"
#include "ogp/config/config.hpp"
#include "ogp/limits/limiter.hpp"
#include "ogp/server/handler.hpp"

namespace ogp::auth {
class credential_cache;
}
namespace ogp::transform {
struct chat_plan;
struct responses_plan;
struct model_field;
}  // namespace ogp::transform
namespace ogp::upstream {
class pool;
struct pool_options;
}  // namespace ogp::upstream

namespace ogp::api {

namespace net = boost::asio;

/// Figures of one upstream connection pool, read at the time of stats().
struct pool_stats
{
    std::string_view name;  ///< "inference" | "control" | "openai" (static strings)
    /// Connections that exist (connecting, in use or idle): pool::open_count().
    std::optional<std::uint64_t> open;
    std::uint64_t idle = 0;        ///< pooled idle connections (pool::idle_count())
    std::uint64_t handshakes = 0;  ///< TLS handshakes (or plain connects) so far
    std::uint64_t resumed = 0;     ///< of those, resumed TLS sessions
};

/// Counters for tests, benchmarks, diagnostics and the metrics. The retry and request counters
/// are this service's (one configuration generation); the pool figures are the pools' (shared
/// with other generations through upstream_pools).
struct service_stats
{
    std::uint64_t upstream_requests = 0;  ///< exchanges started with OCI
    std::uint64_t retries = 0;            ///< 401/429/503 retries (not the stale ones)
    std::uint64_t retries_401 = 0;        ///< retried with renewed credentials after a 401
    std::uint64_t retries_429 = 0;        ///< retried after a 429 (Retry-After waited)
    std::uint64_t retries_503 = 0;        ///< retried after a 503 (Retry-After waited)
    /// A pooled connection the upstream had closed, retried transparently on a fresh one.
    std::uint64_t retries_stale = 0;
    std::uint64_t handshakes = 0;  ///< TLS handshakes of the inference pool
    /// The pools opened so far, in the order inference, control, openai (absent ones omitted).
    std::vector<pool_stats> pools;
};

/// The upstream connection pools, keyed by role and base URL, shared by the services of successive
/// configuration generations so that a reload keeps warm TLS connections and sessions. A pool
/// is made by the first service that asks for its URL, with that service's TLS context and
/// pool options (timeouts); later generations reuse it as it is (a changed upstream timeout
/// applies to pools made afterwards, i.e. after a restart or for a new URL). Holds no
/// reference to any configuration. Thread-safe.
class upstream_pools
{
public:
    /// `now`: the clock of the circuit breakers (tests inject a fake one).
    explicit upstream_pools(steady_clock_fn now = {}) : breakers_(std::move(now)) {}
    /// The pool of `role` ("inference", "control", "openai": kept apart even when two roles
    /// share a URL, so that their figures stay apart) for `base_url` and the deadlines of
    /// `options` (a reload that changes them gets a new pool), made with `tls` and `options`
    /// when there is none; null when the URL does not parse.
    std::shared_ptr<upstream::pool> get(std::string_view role, const std::string& base_url,
                                        const std::shared_ptr<net::ssl::context>& tls,
                                        const upstream::pool_options& options);
    /// Closes every idle connection of every pool (shutdown; their io_contexts must be alive).
    void close_idle();
    std::size_t size() const;
    /// The circuit breakers of the upstream hosts (shared by generations like the pools).
    circuit_breakers& breakers() { return breakers_; }
    const circuit_breakers& breakers() const { return breakers_; }

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<upstream::pool>, std::less<>> pools_;
    circuit_breakers breakers_;
};

/// How service::call() builds an upstream request beyond the signature: the content type
/// signed and sent, the `accept` value (empty: by the call's `stream`), and headers added as
/// they are. Views must outlive the call.
struct call_options
{
    std::string_view content_type = "application/json";
    std::string_view accept;
    const std::vector<std::pair<std::string, std::string>>* extra = nullptr;
    /// A spooled upload to send instead of the in-memory body: read from its file in pieces,
    /// signed with the hash computed while it was spooled.
    const server::spooled_body* spooled = nullptr;
    /// When set, the deadline of the whole exchange (a fallback alias' call keeps the first
    /// call's); else timeouts.upstream_total from the call.
    std::chrono::steady_clock::time_point deadline{};
};

/// The OpenAI API handlers: translate, sign, send to OCI over the pooled TLS client, and map
/// the answer back (streaming through the transcoder with backpressure). The in-flight cap and
/// the retries (401 once with newer credentials, 429/503 before the first byte within a budget)
/// follow resilience; the `/v1/models` discovery is cached by model_catalog. Aborts the
/// upstream exchange when the client disconnects. Thread-safe; handlers run on
/// their connection's strand. `cfg` and `creds` must outlive the service; the io_contexts of the
/// connections must outlive its idle upstream connections (close_idle()).
///
/// Every chat, responses and embeddings exchange fills `req.record` (exchange_record) and every
/// answer of chat/responses/embeddings and of the forwarded stateful paths carries
/// `Server-Timing: upstream;dur=.., sign;dur=.., proxy;dur=..`, `x-ogp-upstream-ms`,
/// `x-ogp-proxy-ms` (milliseconds, 3 decimals; also on the proxy's own errors, with upstream 0)
/// and `x-oci-request-id` when OCI sent an `opc-request-id`.
///
/// Region failover and fallbacks: an alias with `regions` goes to those regions' endpoints in
/// order (else to the default endpoint); a region whose circuit is open is skipped; a 429, a
/// 500/502/503/504 head or a connect/TLS/timeout failure moves on to the next region at once,
/// and on the last one the resilience rules apply. When the alias' regions are exhausted that
/// way (or all their circuits are open: 503 `upstream_unavailable` with Retry-After until the
/// next probe) and nothing reached the client, each of its `fallbacks` is served in turn with
/// the body's `model` rewritten (`x-ogp-fallback: <alias>` in req.answer_headers), within
/// timeouts.upstream_total of the first call. Nothing is retried once a byte reached the client.
/// record.region, failovers and fallback tell what happened. Circuit outcomes: 2xx and 4xx
/// other than 429 succeed, 429 is neutral, 500/502/503/504 and connect/TLS/timeout failures
/// fail.
///
/// Several services (one per configuration generation) may run at once sharing one
/// credential_cache and one upstream_pools (with its circuit breakers); each keeps a reference
/// to its own config only.
class service
{
public:
    service(const config& cfg, auth::credential_cache& creds,
            std::shared_ptr<net::ssl::context> tls);
    /// As above, taking pools from `shared` (null: a registry of its own) and rate limits from
    /// `limiter` (shared by generations so that a reload keeps the buckets; null: an in-process
    /// limiter of its own).
    service(const config& cfg, auth::credential_cache& creds,
            std::shared_ptr<net::ssl::context> tls, std::shared_ptr<upstream_pools> shared,
            std::shared_ptr<limits::limiter> limiter = nullptr);
    ~service();

    net::awaitable<server::http_response> chat(server::http_request& req,
                                               server::response_sink& sink);
    /// POST /v1/responses: the Responses API translated onto OCI's native chat.
    net::awaitable<server::http_response> responses(server::http_request& req,
                                                    server::response_sink& sink);
    /// GET/DELETE /v1/responses/{id} and friends: forwarded to OCI's OpenAI-compatible
    /// endpoint with `oci.project_id`; without one 404 (the native route stores nothing).
    net::awaitable<server::http_response> stored_response(server::http_request& req,
                                                          server::response_sink& sink);
    /// `/v1/conversations...`, `/v1/files...`, `/v1/vector_stores...`: forwarded like
    /// stored_response; 404 naming `oci.project_id` without one.
    net::awaitable<server::http_response> openai_state(server::http_request& req,
                                                       server::response_sink& sink);
    net::awaitable<server::http_response> embeddings(server::http_request& req,
                                                     server::response_sink& sink);
    /// GET /v1/models: the aliases, then (with `models_discovery`) OCI's usable models.
    net::awaitable<server::http_response> models(server::http_request& req,
                                                 server::response_sink& sink);
    /// GET /v1/models/{id}: one model object of that list (or a listed model's OCID), else 404
    /// `model_not_found`.
    net::awaitable<server::http_response> model(server::http_request& req,
                                                server::response_sink& sink);

    /// nullopt when requests can be served, else why not (for /readyz).
    std::optional<std::string> readiness() const;
    service_stats stats() const;
    /// Closes every idle connection of the pools this service uses (shutdown; the io_context
    /// must be alive). With shared pools this affects every service using them (harmless:
    /// the next request opens a new connection); call it at shutdown, not on reload.
    void close_idle();
    /// The pool registry (to hand to the next generation's service).
    std::shared_ptr<upstream_pools> pools() const { return pools_; }
    /// The limiter (to hand to the next generation's service).
    std::shared_ptr<limits::limiter> limiter() const { return limiter_; }
    /// The circuit of every upstream host this service has used or may use (its aliases'
    /// regions), for the metrics and `/readyz`.
    std::vector<circuit_status> circuits() const;

    struct call_result;

private:
    // Traffic policy (src/api/admission.cpp).
    /// Called by the constructors: builds key_limits_ from cfg_.clients.keys and makes an
    /// in-process limiter when none was given.
    void init_policy();
    /// The named key (clients.keys) the request authenticated with, or nullptr (anonymous
    /// keys and anonymous access: every model, no limits).
    const client_key_config* client_policy(const server::http_request& req) const;
    /// Admits a chat/responses/embeddings request under its key's policy: a model outside the
    /// key's `models` is a 404 `model_not_found`; over a limit, a 429 (503 when the shared
    /// store failed closed). Returns the refusal to answer, or nullopt with `hold` set (when
    /// the key has limits) and the x-ratelimit-* headers in req.answer_headers. Sets
    /// req.record.rate_limited on a 429/503.
    net::awaitable<std::optional<server::http_response>> admit(server::http_request& req,
                                                               limits::limiter::lease& hold);
    /// After the exchange: charges the record's tokens (input + output) to `hold`.
    static void settle(const server::http_request& req, limits::limiter::lease& hold);
    /// Whether the request's key may see/use `model` (true without a policy).
    bool model_visible(const server::http_request& req, std::string_view model) const;

    /// One upstream endpoint a request may go to: a region of its alias (`region`: the
    /// configured id, a view into cfg_) or the default endpoint (`region` empty).
    struct candidate
    {
        std::string_view region;
        std::shared_ptr<upstream::pool> pool;
    };
    /// One client request across its alias and the alias' fallbacks.
    struct route_state
    {
        /// Set for a fallback's attempt: the first call's timeouts.upstream_total deadline.
        std::chrono::steady_clock::time_point deadline{};
        /// The attempt ended with a fail-over-able outcome (a 429/500/502/503/504 head, an
        /// upstream failure before the head, every circuit open) and nothing reached the
        /// client: a fallback alias may be tried.
        bool exhausted = false;
        /// `exhausted` by a region that was tried (not skipped): given up on when a fallback
        /// follows (record.failovers).
        bool last_failed = false;
    };
    enum class operation { chat, responses, embeddings };

    net::awaitable<server::http_response> chat_impl(server::http_request& req,
                                                    server::response_sink& sink);
    net::awaitable<server::http_response> responses_impl(server::http_request& req,
                                                         server::response_sink& sink);
    net::awaitable<server::http_response> embeddings_impl(server::http_request& req,
                                                          server::response_sink& sink);
    /// Serves `what` for the body's model, then, when that alias has fallbacks and its
    /// candidates were exhausted before any byte reached the client, for each fallback alias in
    /// turn (the body's `model` rewritten; `x-ogp-fallback` on the answer).
    net::awaitable<server::http_response> serve_with_fallbacks(server::http_request& req,
                                                               server::response_sink& sink,
                                                               operation what);
    /// Serves `what` once for the body's model (native plan or openai route).
    net::awaitable<server::http_response> serve_once(server::http_request& req,
                                                     server::response_sink& sink, operation what,
                                                     route_state& route);
    net::awaitable<server::http_response> embed(server::http_request& req,
                                                server::response_sink& sink, route_state& route);
    /// The endpoints `alias` may go to in order: its regions' (those whose endpoint is known),
    /// else the default one. `openai`: the OpenAI-compatible endpoints (`<base>/openai/v1`).
    std::vector<candidate> candidates_for(const model_alias* alias, bool openai);
    /// The pool of `region`'s endpoint (role inference or openai), made once per service.
    std::shared_ptr<upstream::pool> region_pool(const std::string& region, bool openai);
    std::shared_ptr<upstream::pool> make_pool(std::string_view role, const std::string& base_url);
    std::string inference_base() const;
    std::shared_ptr<upstream::pool> inference_pool();
    std::shared_ptr<upstream::pool> control_pool();
    /// `<inference base>/openai/v1`: OCI's OpenAI-compatible endpoint (the `openai` route).
    std::shared_ptr<upstream::pool> openai_pool();
    /// call_endpoints() with the one endpoint of `pool` (null: the default inference pool).
    net::awaitable<call_result> call(std::string method, std::string path, std::string body,
                                     bool stream, server::http_request& req,
                                     server::response_sink& sink,
                                     std::shared_ptr<upstream::pool> pool = nullptr,
                                     call_options options = {});
    /// Sends the request to the first of `endpoints` whose circuit lets it through; a
    /// fail-over-able outcome (429, 500/502/503/504, connect/TLS/timeout failure) moves on to
    /// the next at once while one is left; on the last one the resilience rules apply. Returns
    /// before any byte reaches the client.
    net::awaitable<call_result> call_endpoints(std::string method, std::string path,
                                               std::string body, bool stream,
                                               server::http_request& req,
                                               server::response_sink& sink,
                                               const std::vector<candidate>& endpoints,
                                               call_options options);
    /// The `openai`-route alias named by the body's `model` (located without a DOM), or null
    /// (`at` is then its place); only called when some alias is on that route.
    const model_alias* openai_alias(const server::http_request& req,
                                    transform::model_field& at) const;
    /// POST /v1/chat/completions or /v1/responses for an `openai`-route alias: the body with
    /// only `model` rewritten to the alias' id, forwarded to `<base>/openai/v1<path>`.
    net::awaitable<server::http_response> forward_model(server::http_request& req,
                                                        server::response_sink& sink,
                                                        const model_alias& alias,
                                                        const transform::model_field& at,
                                                        std::string_view path, route_state& route);
    /// Forwards `method` `/v1<rest>` with `body` to the OpenAI-compatible endpoint and relays
    /// the answer (SSE as it arrives, anything else whole; decoded; errors kept or mapped).
    net::awaitable<server::http_response> forward(
        server::http_request& req, server::response_sink& sink, std::string method,
        std::string rest, std::string body, std::string_view project, std::string_view compartment,
        const model_alias* alias = nullptr, route_state* route = nullptr);
    /// A stateful path (`/v1/responses/{id}`, files, ...): forwarded with `oci.project_id`.
    net::awaitable<server::http_response> forward_state(server::http_request& req,
                                                        server::response_sink& sink);
    net::awaitable<server::http_response> converse(server::http_request& req,
                                                   server::response_sink& sink,
                                                   transform::chat_plan& plan,
                                                   const transform::responses_plan* responses,
                                                   route_state& route);
    /// OCI's model list when the request body may name a model OCID and `models_discovery` is
    /// on (its names decide the OCID's format), else null.
    net::awaitable<model_list> models_named_in(server::http_request& req,
                                               server::response_sink& sink);
    /// OCI's model list (cached), or an empty one without `models_discovery`.
    net::awaitable<model_list> discover_models(server::http_request& req,
                                               server::response_sink& sink);
    net::awaitable<model_page> fetch_models_page(std::shared_ptr<upstream::pool> pool,
                                                 std::string page, server::http_request& req,
                                                 server::response_sink& sink);

    const config& cfg_;
    auth::credential_cache& creds_;
    std::shared_ptr<net::ssl::context> tls_;
    std::shared_ptr<upstream_pools> pools_;
    mutable std::mutex mutex_;
    std::shared_ptr<upstream::pool> pool_;
    std::shared_ptr<upstream::pool> control_pool_;
    std::shared_ptr<upstream::pool> openai_pool_;
    /// The pools of the aliases' regions ("i <region>" / "o <region>"; configured names only).
    std::map<std::string, std::shared_ptr<upstream::pool>, std::less<>> region_pools_;
    /// Some alias is on the `openai` route: only then do chat/responses locate `model` first.
    bool any_openai_route_ = false;
    /// Some alias has fallbacks: only then is the body's model located before serving.
    bool any_fallbacks_ = false;
    resilience resilience_;
    model_catalog models_;  ///< discovered OCI models
    std::shared_ptr<limits::limiter> limiter_;
    /// clients.keys by name -> their limits (built once per generation).
    std::map<std::string, limits::key_limits, std::less<>> key_limits_;
    /// clients.keys by name (views into cfg_): one hash lookup per request, not a scan.
    std::unordered_map<std::string_view, const client_key_config*> policies_;
    std::atomic<std::uint64_t> upstream_requests_{0};
    std::atomic<std::uint64_t> retries_401_{0};
    std::atomic<std::uint64_t> retries_429_{0};
    std::atomic<std::uint64_t> retries_503_{0};
    std::atomic<std::uint64_t> retries_stale_{0};
    std::int64_t started_unix_;
};

}  // namespace ogp::api
