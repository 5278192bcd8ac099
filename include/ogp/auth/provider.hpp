#pragma once

#include "ogp/auth/signer.hpp"
#include "ogp/config/config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ogp::auth {

namespace net = boost::asio;

/// A source of OCI credentials (one per `oci.auth` mode). fetch() produces a complete, fresh
/// snapshot or an error; the credential_cache decides when to call it and never calls it
/// concurrently (single flight), always from the same strand.
class credential_provider
{
public:
    virtual ~credential_provider() = default;

    /// `instance_principal`, `api_key`, ... (for logs and readiness messages).
    virtual std::string_view name() const = 0;

    /// Obtains fresh credentials. Never throws; errors carry one line naming the cause (file,
    /// field, URL, status), never secrets.
    virtual net::awaitable<result<snapshot_ptr>> fetch() = 0;

    /// How often to call fetch() again while the credentials are still valid (used to notice a
    /// changed token file); nullopt: only when the snapshot approaches its expiry.
    virtual std::optional<std::chrono::milliseconds> recheck_interval() const
    {
        return std::nullopt;
    }

    /// True when fetch() always returns the same never-expiring snapshot (a key fixed at
    /// start-up): renewing after a rejection cannot give anything newer.
    virtual bool fixed() const { return false; }
};

/// Settings of the instance-principal provider (defaults applied by make_provider()).
struct instance_principal_options
{
    std::string metadata_url = "http://169.254.169.254/opc/v2";  ///< IMDS v2 base, no trailing /
    std::string federation_url;  ///< `https://auth.<region>.<domain>`; empty: from the IMDS region
    std::string ca_file;         ///< extra trust anchors for the federation TLS connection
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};  ///< per HTTP exchange
    std::string default_domain;  ///< realm domain for regions missing from the table
};

/// API-key provider: `profile` of the config file at `path` (`~` allowed), keyId
/// `tenancy/user/fingerprint`; the fingerprint is checked against the key.
std::unique_ptr<credential_provider> make_api_key_provider(std::string path, std::string profile,
                                                           env_lookup env);

/// Session-token provider: a profile with `security_token_file`; keyId `ST$<token>`; expiry from
/// the token; the file is re-read every `recheck` to pick up `oci session refresh`.
std::unique_ptr<credential_provider> make_session_token_provider(
    std::string path, std::string profile, env_lookup env,
    std::chrono::milliseconds recheck = std::chrono::seconds(10));

/// Instance-principal provider: IMDS v2 certificates, a fresh RSA-2048 session key per renewal,
/// X.509 federation for a security token. I/O runs on the calling coroutine's executor. Throws
/// std::runtime_error when `options.ca_file` cannot be loaded.
std::unique_ptr<credential_provider> make_instance_principal_provider(
    instance_principal_options options);

/// Resource-principal v2.2 provider reading `OCI_RESOURCE_PRINCIPAL_*` through `env` (each a
/// value or an absolute path, re-read on every fetch).
std::unique_ptr<credential_provider> make_resource_principal_provider(env_lookup env);

/// GenAI API key provider (`oci.auth: genai_api_key`): every fetch() returns the same snapshot
/// with `bearer` = `key`, `region` = `region` (resolved to its id when known; may be empty when
/// only `oci.endpoint` is set), no private key and no expiry. fixed() is true. The key is never
/// logged or put in an error message.
std::unique_ptr<credential_provider> make_genai_api_key_provider(std::string key,
                                                                 std::string region);

/// Builds the provider chosen by `cfg.oci.auth`, applying the final defaults: `~/.oci/config`,
/// IMDS `http://169.254.169.254/opc/v2`, federation `https://auth.<region>.<domain>`. Does no
/// network I/O; throws std::runtime_error only when `oci.ca_file` cannot be loaded (start-up).
std::unique_ptr<credential_provider> make_provider(const config& cfg, const env_lookup& env);

/// The GenAI inference base URL: `oci.endpoint` when set, else
/// `https://inference.generativeai.<region>.oci.<domain>` for `oci.region`, or for the region the
/// credentials reported (credential_cache::region()) when `oci.region` is empty. nullopt when no
/// region is known yet or it cannot be resolved. `default_domain`: `OCI_DEFAULT_REALM`.
std::optional<std::string> inference_base_url(const oci_config& oci,
                                              std::string_view credentials_region,
                                              std::string_view default_domain = {});

}  // namespace ogp::auth
