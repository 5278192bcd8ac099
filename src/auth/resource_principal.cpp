// Resource principal v2.2 (OCI_RESOURCE_PRINCIPAL_*), and the provider factory.

#include "ogp/auth/oci_config_file.hpp"
#include "ogp/auth/provider.hpp"
#include "ogp/config/region.hpp"
#include "ogp/util/text.hpp"

#include <cctype>

namespace ogp::auth {
namespace {

class resource_principal_provider final : public credential_provider
{
public:
    explicit resource_principal_provider(env_lookup env) : env_(std::move(env)) {}

    std::string_view name() const override { return "resource_principal"; }

    net::awaitable<result<snapshot_ptr>> fetch() override { co_return load(); }

private:
    // The variable's value, or the content of the file it names when it is an absolute path.
    result<std::string> value_or_file(std::string_view var, bool required) const
    {
        auto v = env_ ? env_(var) : std::nullopt;
        if (!v || v->empty()) {
            if (required) {
                return error{errc::config,
                             "resource principal: " + std::string(var) + " is not set"};
            }
            return std::string{};
        }
        if (v->front() != '/') {
            return *v;
        }
        auto content = read_small_file(*v, var);
        if (!content) {
            return error{errc::config, "resource principal: " + content.error().message};
        }
        return std::move(*content);
    }

    result<snapshot_ptr> load() const
    {
        // Only v2.2 is supported.
        auto version = env_ ? env_("OCI_RESOURCE_PRINCIPAL_VERSION") : std::nullopt;
        if (!version || text::trim(*version) != "2.2") {
            return error{errc::config,
                         "resource principal: OCI_RESOURCE_PRINCIPAL_VERSION must be 2.2 (is " +
                             (version ? "`" + *version + "`" : std::string("unset")) + ")"};
        }
        auto rpst = value_or_file("OCI_RESOURCE_PRINCIPAL_RPST", true);
        if (!rpst) {
            return rpst.error();
        }
        auto pem = value_or_file("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", true);
        if (!pem) {
            return pem.error();
        }
        auto pass = value_or_file("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE", false);
        if (!pass) {
            return pass.error();
        }
        // The token and its claims.
        std::string token = std::string(text::trim(*rpst));
        auto claims = decode_jwt(token);
        if (!claims) {
            return error{errc::token, "resource principal: OCI_RESOURCE_PRINCIPAL_RPST: " +
                                          claims.error().message};
        }
        if (claims->exp <= std::chrono::system_clock::now()) {
            return error{errc::token, "resource principal: the RPST expired at " +
                                          format_http_date(claims->exp)};
        }
        std::optional<std::string> passphrase;
        if (!pass->empty()) {
            passphrase = std::string(text::trim(*pass));
        }
        auto key = load_private_key_pem(*pem, passphrase,
                                        "resource principal: OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM");
        if (!key) {
            return key.error();
        }
        // Region: id or short code.
        std::string region;
        if (auto r = env_("OCI_RESOURCE_PRINCIPAL_REGION")) {
            auto resolved = resolve_region(text::trim(*r));
            region = resolved ? resolved->id : std::string(text::trim(*r));
        }
        std::string tenancy;
        if (auto it = claims->strings.find("res_tenant"); it != claims->strings.end()) {
            tenancy = it->second;
        }
        return credential_snapshot::create({.key_id = "ST$" + token,
                                            .key = *key,
                                            .expiry = claims->exp,
                                            .issued = std::chrono::system_clock::now(),
                                            .tenancy = tenancy,
                                            .region = region});
    }

    env_lookup env_;
};

}  // namespace

std::unique_ptr<credential_provider> make_resource_principal_provider(env_lookup env)
{
    return std::make_unique<resource_principal_provider>(std::move(env));
}

std::unique_ptr<credential_provider> make_provider(const config& cfg, const env_lookup& env)
{
    // Config-file modes: `oci.config_file`, else OCI_CONFIG_FILE, else ~/.oci/config.
    auto config_file = [&] {
        if (!cfg.oci.config_file.empty()) {
            return cfg.oci.config_file;
        }
        if (auto v = env ? env("OCI_CONFIG_FILE") : std::nullopt; v && !v->empty()) {
            return *v;
        }
        return std::string("~/.oci/config");
    };
    std::string profile = cfg.oci.profile.empty() ? "DEFAULT" : cfg.oci.profile;
    switch (cfg.oci.auth) {
        case auth_mode::api_key:
            return make_api_key_provider(config_file(), profile, env);
        case auth_mode::session_token:
            return make_session_token_provider(config_file(), profile, env);
        case auth_mode::resource_principal:
            return make_resource_principal_provider(env);
        case auth_mode::genai_api_key:
            return make_genai_api_key_provider(cfg.oci.genai_api_key, cfg.oci.region);
        case auth_mode::instance_principal:
            break;
    }
    // Instance principal: IMDS and federation endpoints, config first, then the SDK variables.
    instance_principal_options o;
    auto pick = [&](const std::string& configured, std::string_view var) -> std::string {
        if (!configured.empty()) {
            return configured;
        }
        auto v = env ? env(var) : std::nullopt;
        return v ? std::string(text::trim(*v)) : std::string{};
    };
    if (auto m = pick(cfg.oci.metadata_url, "OCI_METADATA_BASE_URL"); !m.empty()) {
        o.metadata_url = m;
    }
    o.federation_url = pick(cfg.oci.federation_url, "OCI_SDK_AUTH_CLIENT_REGION_URL");
    o.ca_file = cfg.oci.ca_file;
    if (auto realm = env ? env("OCI_DEFAULT_REALM") : std::nullopt) {
        o.default_domain = *realm;
    }
    return make_instance_principal_provider(std::move(o));
}

std::optional<std::string> inference_base_url(const oci_config& oci,
                                              std::string_view credentials_region,
                                              std::string_view default_domain)
{
    // An explicit endpoint wins; trailing slashes are dropped.
    if (!oci.endpoint.empty()) {
        std::string e = oci.endpoint;
        while (e.size() > 1 && e.back() == '/') {
            e.pop_back();
        }
        return e;
    }
    std::string_view region = oci.region.empty() ? credentials_region : oci.region;
    if (region.empty()) {
        return std::nullopt;
    }
    auto r = resolve_region(region, default_domain);
    if (!r) {
        return std::nullopt;
    }
    return inference_endpoint(*r);
}

}  // namespace ogp::auth
