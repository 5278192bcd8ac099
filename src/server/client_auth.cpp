#include "ogp/server/client_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

namespace ogp::server {
namespace {

std::array<unsigned char, 32> digest(std::string_view s)
{
    std::array<unsigned char, 32> d{};
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
    return d;
}

}  // namespace

client_authenticator::client_authenticator(const std::vector<std::string>& keys,
                                           bool allow_anonymous)
    : anonymous_(allow_anonymous && keys.empty())
{
    for (const auto& k : keys) {
        digests_.push_back(digest(k));
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
        match |= CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0 ? 1 : 0;
    }
    if (match == 0) {
        return invalid_api_key("Incorrect API key provided.");
    }
    return std::nullopt;
}

}  // namespace ogp::server
