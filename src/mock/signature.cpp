#include "signature.hpp"

#include "ogp/auth/crypto.hpp"

namespace ogp::mock {

signature_params parse_signature_params(std::string_view v)
{
    signature_params out;
    if (!v.starts_with("Signature ")) {
        return out;
    }
    v.remove_prefix(10);
    while (!v.empty()) {
        auto eq = v.find('=');
        if (eq == std::string_view::npos || eq + 1 >= v.size() || v[eq + 1] != '"') {
            break;
        }
        std::string key(v.substr(0, eq));
        auto close = v.find('"', eq + 2);
        if (close == std::string_view::npos) {
            break;
        }
        out[key] = std::string(v.substr(eq + 2, close - eq - 2));
        v.remove_prefix(close + 1);
        if (!v.empty() && v.front() == ',') {
            v.remove_prefix(1);
        }
    }
    return out;
}

bool signature_well_formed(const signature_params& p)
{
    auto get = [&](const char* k) {
        auto it = p.find(k);
        return it == p.end() ? std::string_view{} : std::string_view(it->second);
    };
    return get("version") == "1" && get("algorithm") == "rsa-sha256" && !get("keyId").empty() &&
           !get("headers").empty() && !get("signature").empty();
}

std::optional<std::string> signing_string(
    std::string_view header_list, std::string_view request_target,
    const std::function<std::optional<std::string>(const std::string&)>& lookup,
    std::string& missing)
{
    std::string signing;
    while (!header_list.empty()) {
        auto sp = header_list.find(' ');
        std::string name(header_list.substr(0, sp));
        header_list =
            sp == std::string_view::npos ? std::string_view{} : header_list.substr(sp + 1);
        if (name.empty()) {
            continue;  // repeated spaces
        }
        if (!signing.empty()) {
            signing += '\n';
        }
        if (name == "(request-target)") {
            signing += "(request-target): ";
            signing += request_target;
            continue;
        }
        auto value = lookup(name);
        if (!value) {
            missing = name;
            return std::nullopt;
        }
        signing += name + ": " + *value;
    }
    return signing;
}

bool signature_verifies(EVP_PKEY* key, std::string_view signing, std::string_view signature)
{
    auto sig = auth::base64_decode(signature);
    return key != nullptr && sig && auth::rsa_sha256_verify(key, signing, *sig);
}

}  // namespace ogp::mock
