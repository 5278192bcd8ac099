#include "ogp/server/client_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstdint>
#include <optional>
#include <stdexcept>

namespace ogp::server {
namespace {

// SHA-256 of `s`; nullopt only if OpenSSL fails (callers then fail closed).
std::optional<std::array<unsigned char, 32>> digest(std::string_view s)
{
    // Fetched once: SHA256() would look the algorithm up again on every call (OpenSSL 3).
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    std::array<unsigned char, 32> d{};
    unsigned int len = 0;
    if (md == nullptr || EVP_Digest(s.data(), s.size(), d.data(), &len, md, nullptr) != 1) {
        return std::nullopt;
    }
    return d;
}

// `key-` and the first 8 hex digits of the digest: enough to tell keys apart in logs and
// metrics, far too little to recover or guess a key from.
std::string hash_name(const std::array<unsigned char, 32>& d)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "key-";
    for (std::size_t i = 0; i < 4; ++i) {
        out += hex[d[i] >> 4];
        out += hex[d[i] & 15];
    }
    return out;
}

// 64 hex digits (either case) to 32 bytes; nullopt when malformed.
std::optional<std::array<unsigned char, 32>> parse_digest(std::string_view hex)
{
    if (hex.size() != 64) {
        return std::nullopt;
    }
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    std::array<unsigned char, 32> d{};
    for (std::size_t i = 0; i < d.size(); ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        d[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return d;
}

}  // namespace

client_authenticator::client_authenticator(const std::vector<std::string>& keys,
                                           bool allow_anonymous)
    : anonymous_(allow_anonymous && keys.empty())
{
    for (const auto& k : keys) {
        add(k, {});
    }
}

client_authenticator client_authenticator::named(const std::vector<named_client_key>& keys,
                                                 bool allow_anonymous)
{
    client_authenticator a(allow_anonymous && keys.empty());
    for (const auto& k : keys) {
        if (!k.key.empty() || k.sha256_hex.empty()) {
            a.add(k.key, k.name);
            continue;
        }
        auto d = parse_digest(k.sha256_hex);
        if (!d) {
            // Names only: never the digest.
            throw std::invalid_argument("client key '" + k.name +
                                        "': key_sha256 must be 64 hex digits");
        }
        a.add_digest(*d, k.name);
    }
    return a;
}

client_authenticator client_authenticator::from_config(const clients_config& clients)
{
    std::vector<named_client_key> keys;
    keys.reserve(clients.keys.size() + clients.api_keys.size());
    for (const auto& k : clients.keys) {
        keys.push_back({k.key, k.name, k.key_sha256});
    }
    for (const auto& k : clients.api_keys) {
        keys.push_back({k, {}, {}});
    }
    return named(keys, clients.allow_anonymous);
}

void client_authenticator::add_digest(const std::array<unsigned char, 32>& d, std::string name)
{
    digests_.push_back(d);
    names_.push_back(name.empty() ? hash_name(d) : std::move(name));
}

void client_authenticator::add(std::string_view key, std::string name)
{
    auto d = digest(key);
    if (!d) {
        throw std::runtime_error("clients.api_keys: SHA-256 is not available");
    }
    add_digest(*d, std::move(name));
}

client_authenticator::result client_authenticator::authenticate(
    std::optional<std::string_view> authorization) const
{
    if (anonymous_) {
        return {};
    }
    if (!authorization || authorization->empty()) {
        return {invalid_api_key("You didn't provide an API key. Send it in the Authorization "
                                "header as 'Authorization: Bearer YOUR_KEY'."),
                std::nullopt};
    }
    // The scheme is case-insensitive; exactly one space before the key.
    std::string_view v = *authorization;
    constexpr std::string_view scheme = "bearer ";
    bool scheme_ok = v.size() > scheme.size();
    for (std::size_t i = 0; scheme_ok && i < scheme.size(); ++i) {
        scheme_ok = std::tolower(static_cast<unsigned char>(v[i])) == scheme[i];
    }
    if (!scheme_ok) {
        return {invalid_api_key("The Authorization header must use the Bearer scheme."),
                std::nullopt};
    }
    auto presented = digest(v.substr(scheme.size()));
    if (!presented) {
        return {invalid_api_key("Incorrect API key provided."), std::nullopt};
    }
    // Compare against every key without an early exit or a branch on the outcome: the index
    // is selected with masks (one past the match; 0 = none).
    std::size_t found = 0;
    for (std::size_t i = 0; i < digests_.size(); ++i) {
        const auto eq = static_cast<std::size_t>(
            CRYPTO_memcmp(digests_[i].data(), presented->data(), presented->size()) == 0);
        const std::size_t mask = std::size_t{0} - eq;
        found = (found & ~mask) | ((i + 1) & mask);
    }
    if (found == 0) {
        return {invalid_api_key("Incorrect API key provided."), std::nullopt};
    }
    return {std::nullopt, found - 1};
}

}  // namespace ogp::server
