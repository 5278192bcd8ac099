// Instance principal: IMDS v2 certificates + X.509 federation -> security token (reference §4).

#include "ogp/auth/provider.hpp"
#include "ogp/config/region.hpp"
#include "ogp/upstream/http_client.hpp"
#include "ogp/upstream/url.hpp"
#include "ogp/util/json.hpp"
#include "ogp/util/text.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace ogp::auth {
namespace {

std::string strip_trailing_slash(std::string s)
{
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

// A short, printable excerpt of an error body (OCI answers `{"code":..,"message":..}`).
std::string error_excerpt(std::string_view body)
{
    rapidjson::Document doc;
    std::string out;
    if (json::parse_bounded(body, json::upstream_max_depth, doc) && doc.IsObject()) {
        for (const char* field : {"code", "message"}) {
            auto it = doc.FindMember(field);
            if (it != doc.MemberEnd() && it->value.IsString()) {
                out += out.empty() ? "" : ": ";
                out += it->value.GetString();
            }
        }
    }
    if (out.empty()) {
        out = std::string(body.substr(0, 200));
    }
    if (out.size() > 200) {
        out.resize(200);
    }
    std::replace_if(
        out.begin(), out.end(), [](unsigned char c) { return c < 0x20; }, ' ');
    return out;
}

class instance_principal_provider final : public credential_provider
{
public:
    explicit instance_principal_provider(instance_principal_options o)
        : opt_(std::move(o)),
          imds_({.timeout = opt_.timeout}),
          federation_({.ca_file = opt_.ca_file, .timeout = opt_.timeout})
    {
        opt_.metadata_url = strip_trailing_slash(opt_.metadata_url);
        opt_.federation_url = strip_trailing_slash(opt_.federation_url);
    }

    std::string_view name() const override { return "instance_principal"; }

    net::awaitable<result<snapshot_ptr>> fetch() override
    {
        // 1. Region (once): IMDS tells; short codes are mapped to ids.
        if (!region_) {
            auto raw = co_await imds_get("/instance/region");
            if (!raw) {
                co_return raw.error();
            }
            auto region = resolve_region(text::to_lower(text::trim(*raw)), opt_.default_domain);
            if (!region) {
                co_return error{errc::bad_response,
                                "IMDS " + opt_.metadata_url +
                                    "/instance/region returned an unknown region `" +
                                    text::to_lower(text::trim(raw->substr(0, 64))) + "`"};
            }
            region_ = *region;
        }

        // 2. Leaf certificate, its key, and the intermediate (re-fetched on every renewal).
        auto cert_pem = co_await imds_get("/identity/cert.pem");
        if (!cert_pem) {
            co_return cert_pem.error();
        }
        auto key_pem = co_await imds_get("/identity/key.pem");
        if (!key_pem) {
            co_return key_pem.error();
        }
        auto intermediate_pem = co_await imds_get("/identity/intermediate.pem");
        if (!intermediate_pem) {
            co_return intermediate_pem.error();
        }
        auto leaf = load_cert_pem(*cert_pem, "IMDS /identity/cert.pem");
        if (!leaf) {
            co_return leaf.error();
        }
        auto leaf_key = load_private_key_pem(*key_pem, std::nullopt, "IMDS /identity/key.pem");
        std::fill(key_pem->begin(), key_pem->end(), '\0');
        if (!leaf_key) {
            co_return leaf_key.error();
        }
        auto leaf_der = cert_der(leaf->get());
        if (!leaf_der) {
            co_return leaf_der.error();
        }
        auto intermediate = load_cert_pem(*intermediate_pem, "IMDS /identity/intermediate.pem");
        if (!intermediate) {
            co_return intermediate.error();
        }

        // 3. Tenancy from the leaf subject; it must never change.
        auto tenancy = tenancy_from_cert(leaf->get());
        if (!tenancy || tenancy->empty()) {
            co_return error{
                errc::bad_response,
                "the IMDS leaf certificate has no opc-tenant: or opc-identity: subject attribute"};
        }
        if (!tenancy_.empty() && *tenancy != tenancy_) {
            co_return error{
                errc::tenancy_changed,
                "the instance certificate's tenancy changed from " + tenancy_ + " to " + *tenancy};
        }

        // 4. A fresh RSA-2048 session key for this token.
        auto session_key = generate_rsa_key(2048);
        if (!session_key) {
            co_return session_key.error();
        }
        auto session_pub = public_key_der(session_key->get());
        if (!session_pub) {
            co_return session_pub.error();
        }

        // 5. Federation body (Go SDK field order).
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        w.StartObject();
        w.Key("certificate");
        w.String(pem_body(*cert_pem));
        w.Key("publicKey");
        w.String(base64_encode(*session_pub));
        w.Key("intermediateCertificates");
        w.StartArray();
        w.String(pem_body(*intermediate_pem));
        w.EndArray();
        w.Key("fingerprintAlgorithm");
        w.String("SHA256");
        w.EndObject();
        std::string body(sb.GetString(), sb.GetSize());

        // 6. Sign with the leaf key: keyId <tenancy>/fed-x509-sha256/<fp>, no `host` header.
        std::string url = federation_base() + "/v1/x509";
        auto parts = upstream::parse_url(url);
        if (!parts) {
            co_return error{errc::config, "invalid federation URL " + url};
        }
        auto fed_creds = credential_snapshot::create(
            {.key_id = *tenancy + "/fed-x509-sha256/" + colon_hex(sha256(*leaf_der)),
             .key = *leaf_key,
             .sign_host = false});
        if (!fed_creds) {
            co_return fed_creds.error();
        }
        std::string date = format_http_date(std::chrono::system_clock::now());
        auto signed_h = sign_request(**fed_creds, {.method = "POST",
                                                   .host = parts->authority(),
                                                   .target = parts->target(),
                                                   .body = body,
                                                   .date = date});
        if (!signed_h) {
            co_return signed_h.error();
        }

        // 7. POST /v1/x509 -> {"token": "<JWT>"}.
        upstream::small_request req;
        req.method = "POST";
        req.url = url;
        req.headers = {{"date", signed_h->date},
                       {"content-type", signed_h->content_type},
                       {"x-content-sha256", signed_h->x_content_sha256},
                       {"authorization", signed_h->authorization},
                       {"accept", "application/json"}};
        req.body = std::move(body);
        spdlog::debug("auth: requesting a security token from {}", url);
        auto res = co_await federation_.fetch(std::move(req));
        if (!res) {
            co_return error{errc::network,
                            "federation POST " + url + " failed: " + res.error().message()};
        }
        if (res->status != 200) {
            bool client_error = res->status >= 400 && res->status < 500;
            co_return error{client_error ? errc::rejected : errc::http_status,
                            "federation POST " + url + " returned HTTP " +
                                std::to_string(res->status) + ": " + error_excerpt(res->body)};
        }
        rapidjson::Document doc;
        const bool parsed = json::parse_bounded(res->body, json::upstream_max_depth, doc);
        auto tok = !parsed || !doc.IsObject() ? doc.MemberEnd() : doc.FindMember("token");
        if (!parsed || !doc.IsObject() || tok == doc.MemberEnd() || !tok->value.IsString()) {
            co_return error{errc::bad_response, "federation POST " + url + " returned no `token`"};
        }
        std::string token(tok->value.GetString(), tok->value.GetStringLength());
        auto claims = decode_jwt(token);
        if (!claims) {
            co_return error{
                errc::bad_response,
                "federation POST " + url + " returned a bad token: " + claims.error().message};
        }

        // 8. The snapshot: session key paired with its token, atomically.
        tenancy_ = *tenancy;
        co_return credential_snapshot::create({.key_id = "ST$" + token,
                                               .key = *session_key,
                                               .expiry = claims->exp,
                                               .issued = std::chrono::system_clock::now(),
                                               .tenancy = *tenancy,
                                               .region = region_->id});
    }

private:
    std::string federation_base() const
    {
        return opt_.federation_url.empty() ? auth_endpoint(*region_) : opt_.federation_url;
    }

    // GET {metadata_url}{path} with `Authorization: Bearer Oracle`; non-200 is an error.
    net::awaitable<result<std::string>> imds_get(std::string path)
    {
        std::string url = opt_.metadata_url + path;
        upstream::small_request req;
        req.url = url;
        req.headers.emplace_back("authorization", "Bearer Oracle");
        auto res = co_await imds_.fetch(std::move(req));
        if (!res) {
            co_return error{errc::network, "IMDS GET " + url + " failed: " + res.error().message()};
        }
        if (res->status != 200) {
            co_return error{errc::http_status,
                            "IMDS GET " + url + " returned HTTP " + std::to_string(res->status)};
        }
        co_return std::move(res->body);
    }

    instance_principal_options opt_;
    upstream::small_client imds_;
    upstream::small_client federation_;
    std::optional<region_info> region_;
    std::string tenancy_;
};

}  // namespace

std::unique_ptr<credential_provider> make_instance_principal_provider(
    instance_principal_options options)
{
    return std::make_unique<instance_principal_provider>(std::move(options));
}

}  // namespace ogp::auth
