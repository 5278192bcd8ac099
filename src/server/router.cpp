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

constexpr std::array<route_row, 5> routes{{
    {"/v1/chat/completions", "POST", route::chat_completions, true},
    {"/v1/embeddings", "POST", route::embeddings, true},
    {"/v1/models", "GET", route::models, true},
    {"/healthz", "GET", route::healthz, false},
    {"/readyz", "GET", route::readyz, false},
}};

}  // namespace

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
            return route_match{r.target, {}, r.auth};
        }
        return route_match{route::method_not_allowed, r.method == "GET" ? "GET, HEAD" : r.method,
                           false};
    }
    return route_match{route::not_found, {}, false};
}

}  // namespace ogp::server
