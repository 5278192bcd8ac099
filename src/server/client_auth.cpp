#include "ogp/server/client_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
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

}  // namespace

client_authenticator::client_authenticator(const std::vector<std::string>& keys,
                                           bool allow_anonymous)
    : anonymous_(allow_anonymous && keys.empty())
{
    for (const auto& k : keys) {
        auto d = digest(k);
        if (!d) {
            throw std::runtime_error("clients.api_keys: SHA-256 is not available");
        }
        digests_.push_back(*d);
    }
}

std::optional<api_error> client_authenticator::check(
    std::optional<std::string_view> authorization) const
{
    if (anonymous_) {
        return std::nullopt;
    }
    if (!authorization || authorization->empty()) {
        return invalid_api_key(
            "You didn't provide an API key. Send it in the Authorization header as "
            "'Authorization: Bearer YOUR_KEY'.");
    }
    // The scheme is case-insensitive; exactly one space before the key.
    std::string_view v = *authorization;
    constexpr std::string_view scheme = "bearer ";
    bool scheme_ok = v.size() > scheme.size();
    for (std::size_t i = 0; scheme_ok && i < scheme.size(); ++i) {
        scheme_ok = std::tolower(static_cast<unsigned char>(v[i])) == scheme[i];
    }
    if (!scheme_ok) {
        return invalid_api_key("The Authorization header must use the Bearer scheme.");
    }
    auto presented = digest(v.substr(scheme.size()));
    // Compare against every key without an early exit.
    int match = 0;
    for (const auto& d : digests_) {
        match |= presented && CRYPTO_memcmp(d.data(), presented->data(), d.size()) == 0 ? 1 : 0;
    }
    if (match == 0) {
        return invalid_api_key("Incorrect API key provided.");
    }
    return std::nullopt;
}

}  // namespace ogp::server
