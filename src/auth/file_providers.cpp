// API-key and session-token providers: credentials read from an OCI config file profile.

#include "ogp/auth/oci_config_file.hpp"
#include "ogp/auth/provider.hpp"
#include "ogp/config/region.hpp"
#include "ogp/util/text.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <cctype>

namespace ogp::auth {
namespace {

// The value of a required key, or an error naming the key and the profile.
result<std::string> required(const oci_profile& p, std::string_view key)
{
    if (const std::string* v = p.find(key)) {
        return *v;
    }
    return error{errc::config, p.where() + ": missing required field `" + std::string(key) + "`"};
}

// Loads `key_file` (with `~`), decrypting it with `pass_phrase` (or `passphrase`) when needed.
result<pkey_ptr> load_profile_key(const oci_profile& p, const env_lookup& env)
{
    auto key_file = required(p, "key_file");
    if (!key_file) {
        return key_file.error();
    }
    std::string path = expand_user_path(*key_file, env);
    auto pem = read_small_file(path, "key_file");
    if (!pem) {
        return error{errc::key, p.where() + ": " + pem.error().message};
    }
    std::optional<std::string> pass;
    if (const std::string* v = p.find("pass_phrase")) {
        pass = *v;
    } else if (const std::string* w = p.find("passphrase")) {
        pass = *w;
    }
    auto key = load_private_key_pem(*pem, pass, p.where() + " key_file " + path);
    std::fill(pem->begin(), pem->end(), '\0');
    return key;
}

// Canonical region id when the value is known, the raw value otherwise.
std::string region_of(const oci_profile& p, const env_lookup& env)
{
    std::string raw;
    if (const std::string* v = p.find("region")) {
        raw = *v;
    } else if (auto e = env ? env("OCI_REGION") : std::nullopt) {
        raw = *e;
    }
    if (auto r = resolve_region(raw)) {
        return r->id;
    }
    return raw;
}

// A provider whose credentials come from one profile of an OCI config file, re-read on each
// fetch.
class profile_provider : public credential_provider
{
public:
    profile_provider(std::string path, std::string profile, env_lookup env)
        : path_(std::move(path)), profile_(std::move(profile)), env_(std::move(env))
    {
    }

    net::awaitable<result<snapshot_ptr>> fetch() final
    {
        auto p = read_oci_config(path_, profile_, env_);
        if (!p) {
            co_return p.error();
        }
        co_return load(*p);
    }

protected:
    const env_lookup& env() const { return env_; }

private:
    // The credentials from the profile just read.
    virtual result<snapshot_ptr> load(const oci_profile& p) const = 0;

    std::string path_;
    std::string profile_;
    env_lookup env_;
};

// API key: keyId `tenancy/user/fingerprint`, never expires.
class api_key_provider final : public profile_provider
{
public:
    using profile_provider::profile_provider;

    std::string_view name() const override { return "api_key"; }

private:
    result<snapshot_ptr> load(const oci_profile& p) const override
    {
        // Required fields, each named when missing.
        auto user = required(p, "user");
        auto fingerprint = required(p, "fingerprint");
        auto tenancy = required(p, "tenancy");
        for (auto* r : {&user, &fingerprint, &tenancy}) {
            if (!*r) {
                return r->error();
            }
        }
        auto key = load_profile_key(p, env());
        if (!key) {
            return key.error();
        }
        // The configured fingerprint must be the key's (MD5 of the public key DER).
        auto der = public_key_der(key->get());
        if (!der) {
            return der.error();
        }
        std::string actual = colon_hex(md5(*der));
        std::string configured = std::string(text::trim(*fingerprint));
        std::transform(configured.begin(), configured.end(), configured.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (configured != actual) {
            return error{errc::fingerprint_mismatch,
                         p.where() + ": fingerprint " + configured +
                             " does not match the private key in key_file (its fingerprint is " +
                             actual + ")"};
        }
        return credential_snapshot::create({.key_id = *tenancy + "/" + *user + "/" + actual,
                                            .key = *key,
                                            .tenancy = *tenancy,
                                            .region = region_of(p, env())});
    }
};

// Session token: keyId `ST$<token>`, expiry from the token, file re-read on each fetch.
class session_token_provider final : public profile_provider
{
public:
    session_token_provider(std::string path, std::string profile, env_lookup env,
                           std::chrono::milliseconds recheck)
        : profile_provider(std::move(path), std::move(profile), std::move(env)), recheck_(recheck)
    {
    }

    std::string_view name() const override { return "session_token"; }

    std::optional<std::chrono::milliseconds> recheck_interval() const override { return recheck_; }

private:
    result<snapshot_ptr> load(const oci_profile& p) const override
    {
        auto token_file = required(p, "security_token_file");
        if (!token_file) {
            return token_file.error();
        }
        // The token: whole file, surrounding whitespace removed.
        std::string token_path = expand_user_path(*token_file, env());
        auto raw = read_small_file(token_path, "security_token_file");
        if (!raw) {
            return error{errc::config, p.where() + ": " + raw.error().message};
        }
        std::string token = std::string(text::trim(*raw));
        if (token.empty()) {
            return error{errc::token,
                         p.where() + ": security_token_file " + token_path + " is empty"};
        }
        auto claims = decode_jwt(token);
        if (!claims) {
            return error{errc::token, p.where() + ": security_token_file " + token_path + ": " +
                                          claims.error().message};
        }
        if (claims->exp <= std::chrono::system_clock::now()) {
            return error{errc::token,
                         p.where() + ": the session token in " + token_path + " expired at " +
                             format_http_date(claims->exp) +
                             " (run `oci session refresh` or `oci session authenticate`)"};
        }
        auto key = load_profile_key(p, env());
        if (!key) {
            return key.error();
        }
        std::string tenancy;
        if (const std::string* t = p.find("tenancy")) {
            tenancy = *t;
        }
        return credential_snapshot::create({.key_id = "ST$" + token,
                                            .key = *key,
                                            .expiry = claims->exp,
                                            .issued = std::chrono::system_clock::now(),
                                            .tenancy = tenancy,
                                            .region = region_of(p, env())});
    }

    std::chrono::milliseconds recheck_;
};

}  // namespace

std::unique_ptr<credential_provider> make_api_key_provider(std::string path, std::string profile,
                                                           env_lookup env)
{
    return std::make_unique<api_key_provider>(std::move(path), std::move(profile), std::move(env));
}

std::unique_ptr<credential_provider> make_session_token_provider(std::string path,
                                                                 std::string profile,
                                                                 env_lookup env,
                                                                 std::chrono::milliseconds recheck)
{
    return std::make_unique<session_token_provider>(std::move(path), std::move(profile),
                                                    std::move(env), recheck);
}

}  // namespace ogp::auth
