#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/config/config.hpp"
#include "ogp/openai/error.hpp"

namespace ogp::server {

/// A client key and the name it appears under in logs and metrics. An empty name defaults to
/// `key-` and the first 8 hex digits of the key's SHA-256. The key is given as itself (`key`)
/// or, when `key` is empty, as its SHA-256 (`sha256_hex`, 64 hex digits, either case).
struct named_client_key
{
    std::string key;
    std::string name;
    std::string sha256_hex;
};

/// Checks `Authorization: Bearer <key>` against the configured client keys. Keys are held only
/// as SHA-256 digests and compared in constant time (every digest, every byte), so neither a
/// key nor its length leaks through timing, nor which key matched. Immutable after
/// construction; thread-safe.
class client_authenticator
{
public:
    /// The outcome of authenticate(): refused with the 401 to answer, or admitted, with the
    /// index of the key that matched (nullopt: anonymous access, no key configured).
    struct result
    {
        std::optional<api_error> denied;
        std::optional<std::size_t> key;
    };

    /// `keys` may be empty only when `allow_anonymous` (then every request passes).
    client_authenticator(const std::vector<std::string>& keys, bool allow_anonymous);
    /// The same with a name per key (an empty name: the hash-prefix default). Throws
    /// std::invalid_argument for a key given by a malformed digest (start-up only).
    static client_authenticator named(const std::vector<named_client_key>& keys,
                                      bool allow_anonymous);
    /// Every `clients.keys` entry under its name (key or key_sha256), then every
    /// `clients.api_keys` key under its default name; anonymous access only when
    /// `allow_anonymous` and no key at all is configured. `clients` is validated (load_config).
    static client_authenticator from_config(const clients_config& clients);

    /// Checks the raw `Authorization` value (nullopt when absent). Never echoes the presented
    /// key.
    result authenticate(std::optional<std::string_view> authorization) const;

    /// nullopt when the request may pass, else the 401 to answer.
    std::optional<api_error> check(std::optional<std::string_view> authorization) const
    {
        return authenticate(authorization).denied;
    }

    /// The name of key `index` (as authenticate() reports it): safe to log, never the key.
    const std::string& name(std::size_t index) const { return names_.at(index); }
    /// Number of configured keys.
    std::size_t size() const { return digests_.size(); }

private:
    explicit client_authenticator(bool anonymous) : anonymous_(anonymous) {}
    void add(std::string_view key, std::string name);
    void add_digest(const std::array<unsigned char, 32>& digest, std::string name);

    std::vector<std::array<unsigned char, 32>> digests_;
    std::vector<std::string> names_;  ///< parallel to digests_
    bool anonymous_;
};

}  // namespace ogp::server
