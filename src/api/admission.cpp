// The traffic policy of named client keys (clients.keys): model allow-lists and rate limits.
#include "ogp/api/service.hpp"

namespace ogp::api {

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
    }
}

}  // namespace ogp::api
