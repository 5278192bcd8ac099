#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ogp::server {

/// The daemon's endpoints.
enum class route {
    chat_completions,  ///< POST /v1/chat/completions
    embeddings,        ///< POST /v1/embeddings
    responses,         ///< POST /v1/responses
    stored_response,   ///< GET/DELETE /v1/responses/{id}, POST .../cancel, GET .../input_items
    /// `/v1/conversations[/...]`, `/v1/files[/...]`, `/v1/vector_stores[/...]`: state kept by
    /// OCI's OpenAI-compatible endpoint, forwarded there (with `oci.project_id`).
    openai_state,
    models,   ///< GET  /v1/models
    model,    ///< GET  /v1/models/{id}
    healthz,  ///< GET  /healthz (liveness)
    readyz,   ///< GET  /readyz (readiness)
    /// GET /metrics (Prometheus). The router matches the path; whether it needs a client key
    /// (`metrics.require_key`) and whether it exists at all (`metrics.enabled`) the server
    /// decides from its configuration and listener kind.
    metrics,
    not_found,          ///< unknown path -> 404
    method_not_allowed  ///< known path, wrong method -> 405 with `allow`
};

/// Outcome of routing: the route, and for 405 the methods the path accepts.
struct route_match
{
    route target = route::not_found;
    std::string_view allow;             ///< e.g. "POST"; empty unless method_not_allowed
    bool requires_client_auth = false;  ///< the /v1 API; health probes are open
    /// The handler needs the request body (the POST API routes); other bodies are dropped.
    bool takes_body = false;
    /// The body goes to a spool file, not memory (`POST /v1/files`: uploads up to
    /// `limits.max_upload_bytes`); see http_request::spooled.
    bool spools_body = false;
};

/// The route's stable name for logs and metric labels (`chat_completions`, `metrics`, ...):
/// the enumerator's name. A static string.
std::string_view route_name(route r);

/// Maps (method, path) to a route. `path` excludes the query; a trailing slash is tolerated
/// (`/v1/models/`). HEAD is accepted wherever GET is. Pure, thread-safe.
route_match match_route(std::string_view method, std::string_view path);

/// The model id of a `/v1/models/{id}` path: everything after `/v1/models/` (a trailing slash
/// dropped), percent-decoded, so ids with `/` or `:` arrive whether or not the client encoded
/// them. nullopt for another path, a bad escape, or an id that decodes to a control character.
std::optional<std::string> model_id_of(std::string_view path);

}  // namespace ogp::server
