// The traffic policy of named client keys (clients.keys): model allow-lists and rate limits.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ogp/api/service.hpp"
#include "ogp/limits/limiter.hpp"
#include "ogp/transform/passthrough.hpp"

namespace ogp::api {

namespace {

// Longest model name echoed in a 404 (like the other model_not_found answers).
constexpr std::size_t max_echoed_model = 256;

api_error model_refused(std::string_view model)
{
    const bool echo =
        !model.empty() && model.size() <= max_echoed_model &&
        std::all_of(model.begin(), model.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    const std::string name =
        echo ? "The model '" + std::string(model) + "'" : std::string("This model");
    return make_error(404, name + " does not exist or you do not have access to it.",
                      error_codes::model_not_found, "model");
}

std::string_view limit_name(limits::verdict v)
{
    switch (v) {
        case limits::verdict::over_requests:
            return "requests";
        case limits::verdict::over_tokens:
            return "tokens";
        case limits::verdict::over_concurrency:
            return "concurrency";
        case limits::verdict::over_streams:
            return "streams";
        case limits::verdict::admitted:
            break;
    }
    return "store";  // refused without a verdict: the shared store failed closed
}

}  // namespace

void service::init_policy()
{
    for (const auto& k : cfg_.clients.keys) {
        limits::key_limits l;
        l.name = k.name;
        l.rpm = k.rpm;
        l.tpm = k.tpm;
        l.max_concurrent = k.max_concurrent;
        l.max_streams = k.max_streams;
        key_limits_.emplace(k.name, std::move(l));
        policies_.emplace(k.name, &k);
    }
    if (!limiter_) {
        limiter_ = std::make_shared<limits::limiter>(nullptr, limits::limiter_options{});
    }
}

const client_key_config* service::client_policy(const server::http_request& req) const
{
    if (req.record.client.empty() || policies_.empty()) {
        return nullptr;
    }
    const auto it = policies_.find(req.record.client);
    return it == policies_.end() ? nullptr : it->second;
}

net::awaitable<std::optional<server::http_response>> service::admit(server::http_request& req,
                                                                    limits::limiter::lease& hold)
{
    const client_key_config* policy = client_policy(req);
    // Fast path: anonymous keys and keys without a policy never look at the body.
    if (policy == nullptr || (policy->models.empty() && !policy->limited())) {
        co_return std::nullopt;
    }
    // A body that does not parse goes on: the handler answers its 400 (it still counts
    // against rpm below, so that garbage is not a free way around the limits).
    auto located = transform::locate_model(req.body, cfg_.limits.max_json_depth);
    const bool stream = located.ok() && located.value().stream;
    if (located.ok() && !limits::model_allowed(policy->models, located.value().value)) {
        co_return server::error_response(model_refused(located.value().value));
    }
    const auto it = key_limits_.find(policy->name);
    if (it == key_limits_.end() || !it->second.any() || !limiter_) {
        co_return std::nullopt;
    }
    limits::limiter::admission adm = co_await limiter_->admit(it->second, stream);
    if (adm.refused) {
        server::http_response r = server::error_response(*adm.refused);
        for (auto& h : adm.headers) {
            r.headers.push_back(std::move(h));
        }
        req.record.rate_limited = limit_name(adm.what);
        req.record.error_type = "rate_limited";
        co_return r;
    }
    hold = std::move(adm.hold);
    for (auto& h : adm.headers) {
        req.answer_headers.push_back(std::move(h));
    }
    co_return std::nullopt;
}

void service::settle(const server::http_request& req, limits::limiter::lease& hold)
{
    if (!hold) {
        return;
    }
    const auto input = std::max<std::int64_t>(0, req.record.input_tokens);
    const auto output = std::max<std::int64_t>(0, req.record.output_tokens);
    // Charged when the lease ends (the end of the handler, after a stream's last byte).
    hold.add_tokens(static_cast<std::uint64_t>(input) + static_cast<std::uint64_t>(output));
}

bool service::model_visible(const server::http_request& req, std::string_view model) const
{
    const client_key_config* policy = client_policy(req);
    return policy == nullptr || limits::model_allowed(policy->models, model);
}

}  // namespace ogp::api
