#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/openai/error.hpp"

namespace ogp::server {

/// Checks `Authorization: Bearer <key>` against the configured client keys. Keys are held only
/// as SHA-256 digests and compared in constant time (every digest, every byte), so neither a
/// key nor its length leaks through timing. Immutable after construction; thread-safe.
class client_authenticator
{
public:
    /// `keys` may be empty only when `allow_anonymous` (then every request passes).
    client_authenticator(const std::vector<std::string>& keys, bool allow_anonymous);

    /// nullopt when the request may pass, else the 401 to answer. `authorization` is the raw
    /// header value (nullopt when absent). Never echoes the presented key.
    std::optional<api_error> check(std::optional<std::string_view> authorization) const;

private:
    std::vector<std::array<unsigned char, 32>> digests_;
    bool anonymous_;
};

}  // namespace ogp::server
