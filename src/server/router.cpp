#include "ogp/server/router.hpp"

#include <array>

namespace ogp::server {
namespace {

struct route_row
{
    std::string_view path;
    std::string_view method;
    route target;
    bool auth;
};

constexpr std::array<route_row, 7> routes{{
    {"/v1/chat/completions", "POST", route::chat_completions, true},
    {"/v1/responses", "POST", route::responses, true},
    {"/v1/embeddings", "POST", route::embeddings, true},
    {"/v1/models", "GET", route::models, true},
    {"/healthz", "GET", route::healthz, false},
    {"/readyz", "GET", route::readyz, false},
    // Its key requirement depends on the listener and metrics.require_key: set by the server.
    {"/metrics", "GET", route::metrics, false},
}};

// What follows `/v1/responses/`: `{id}`, `{id}/cancel` or `{id}/input_items`; the method each
// takes. Empty `allow`: not a stored-response path.
struct stored_path
{
    std::string_view allow;
    bool matches = false;
};

stored_path match_stored_response(std::string_view method, std::string_view rest)
{
    std::size_t slash = rest.find('/');
    std::string_view id = rest.substr(0, slash);
    if (id.empty()) {
        return {};
    }
    std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (action.empty()) {
        return {"GET, HEAD, DELETE", method == "GET" || method == "HEAD" || method == "DELETE"};
    }
    if (action == "cancel") {
        return {"POST", method == "POST"};
    }
    if (action == "input_items") {
        return {"GET, HEAD", method == "GET" || method == "HEAD"};
    }
    return {};
}

// The families whose state lives at OCI: the collection's methods and those of any path below
// it (`{id}`, `{id}/content`, `{id}/items/{item}`, ...: OpenAI's own API answers 404 for the
// ones it does not have, and so does OCI).
struct state_family
{
    std::string_view prefix;  ///< without trailing slash
    std::string_view collection_allow;
    std::string_view member_allow;
};

constexpr std::array<state_family, 3> state_families{{
    {"/v1/conversations", "POST", "GET, HEAD, POST, DELETE"},
    {"/v1/files", "GET, HEAD, POST", "GET, HEAD, DELETE"},
    {"/v1/vector_stores", "GET, HEAD, POST", "GET, HEAD, POST, DELETE"},
}};

// True when `method` is one of the comma-separated `allow` list.
bool allows(std::string_view allow, std::string_view method)
{
    while (!allow.empty()) {
        std::size_t comma = allow.find(',');
        std::string_view one = allow.substr(0, comma);
        if (one == method) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        allow.remove_prefix(comma + 1);
        while (!allow.empty() && allow.front() == ' ') {
            allow.remove_prefix(1);
        }
    }
    return false;
}

route_match state_route(std::string_view method, std::string_view allow)
{
    if (allows(allow, method)) {
        return route_match{route::openai_state, {}, true, method == "POST"};
    }
    return route_match{route::method_not_allowed, allow, false};
}

}  // namespace

std::string_view route_name(route r)
{
    switch (r) {
        case route::chat_completions:
            return "chat_completions";
        case route::embeddings:
            return "embeddings";
        case route::responses:
            return "responses";
        case route::stored_response:
            return "stored_response";
        case route::openai_state:
            return "openai_state";
        case route::models:
            return "models";
        case route::model:
            return "model";
        case route::healthz:
            return "healthz";
        case route::readyz:
            return "readyz";
        case route::metrics:
            return "metrics";
        case route::not_found:
            return "not_found";
        case route::method_not_allowed:
            return "method_not_allowed";
    }
    return "unknown";
}

route_match match_route(std::string_view method, std::string_view path)
{
    // Tolerate one trailing slash, as OpenAI's own API does.
    if (path.size() > 1 && path.back() == '/') {
        path.remove_suffix(1);
    }
    for (const auto& r : routes) {
        if (r.path != path) {
            continue;
        }
        // HEAD is GET without a body.
        if (r.method == method || (r.method == "GET" && method == "HEAD")) {
            return route_match{r.target, {}, r.auth, r.method == "POST"};
        }
        return route_match{route::method_not_allowed, r.method == "GET" ? "GET, HEAD" : r.method,
                           false};
    }
    // One model: any id after the prefix (ids may hold `/` and `:`).
    constexpr std::string_view model_prefix = "/v1/models/";
    if (path.starts_with(model_prefix)) {
        if (method == "GET" || method == "HEAD") {
            return route_match{route::model, {}, true};
        }
        return route_match{route::method_not_allowed, "GET, HEAD", false};
    }
    // The stored-response family: this route keeps no state, the handler explains.
    constexpr std::string_view stored_prefix = "/v1/responses/";
    if (path.starts_with(stored_prefix)) {
        stored_path sp = match_stored_response(method, path.substr(stored_prefix.size()));
        if (sp.matches) {
            return route_match{route::stored_response, {}, true, method == "POST"};
        }
        if (!sp.allow.empty()) {
            return route_match{route::method_not_allowed, sp.allow, false};
        }
    }
    for (const auto& f : state_families) {
        if (!path.starts_with(f.prefix)) {
            continue;
        }
        std::string_view rest = path.substr(f.prefix.size());
        if (rest.empty()) {
            auto m = state_route(method, f.collection_allow);
            // Uploads: streamed to disk, never held whole in memory.
            m.spools_body = m.takes_body && f.prefix == "/v1/files";
            return m;
        }
        // `/v1/files/x`, never `/v1/filesx` or `/v1/files//x` (an empty segment).
        if (rest.size() > 1 && rest[0] == '/' && rest[1] != '/') {
            return state_route(method, f.member_allow);
        }
    }
    return route_match{route::not_found, {}, false};
}

std::optional<std::string> model_id_of(std::string_view path)
{
    constexpr std::string_view model_prefix = "/v1/models/";
    if (path.size() > model_prefix.size() + 1 && path.back() == '/') {
        path.remove_suffix(1);
    }
    if (!path.starts_with(model_prefix) || path.size() == model_prefix.size()) {
        return std::nullopt;
    }
    path.remove_prefix(model_prefix.size());
    auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
    };
    std::string id;
    id.reserve(path.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (c == '%') {
            if (i + 2 >= path.size()) {
                return std::nullopt;
            }
            int hi = hex(path[i + 1]);
            int lo = hex(path[i + 2]);
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return std::nullopt;
        }
        id.push_back(c);
    }
    return id;
}

}  // namespace ogp::server
