#pragma once

#include "ogp/auth/crypto.hpp"
#include "ogp/auth/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ogp::auth {

/// Immutable credentials used to sign OCI requests: keyId, private key, expiry, plus what the
/// credentials revealed (tenancy, region). Everything a request signature needs that does not
/// depend on the request (key, prepared OpenSSL signing context, the `Authorization` prefixes
/// with keyId and header lists) is built once in create(). Shared read-only between threads as
/// `std::shared_ptr<const credential_snapshot>`: a key is never paired with another token.
class credential_snapshot
{
public:
    using clock = std::chrono::system_clock;

    /// Inputs of create().
    struct params
    {
        std::string key_id;                                   ///< `tenancy/user/fp` or `ST$<token>`
        pkey_ptr key;                                         ///< RSA private key
        clock::time_point expiry = clock::time_point::max();  ///< max: never expires
        clock::time_point issued = clock::now();              ///< when obtained (refresh planning)
        std::string tenancy;                                  ///< tenancy OCID if known
        std::string region;                                   ///< region id if the source told it
        bool sign_host = true;  ///< include `host` in the signed headers (false: federation)
        /// A GenAI API key (`oci.auth: genai_api_key`): requests carry `Authorization: Bearer
        /// <bearer>` instead of a signature, and `key` may be null.
        std::string bearer;
    };

    /// Builds a snapshot; fails when the key is missing or not usable for RSA-SHA256 signing.
    /// With a non-empty `bearer` the key may be null (then the snapshot cannot sign); fails
    /// when the bearer has characters not allowed in a header or is longer than 4096 bytes.
    static result<std::shared_ptr<const credential_snapshot>> create(params p);

    ~credential_snapshot();
    credential_snapshot(const credential_snapshot&) = delete;
    credential_snapshot& operator=(const credential_snapshot&) = delete;

    const std::string& key_id() const { return p_.key_id; }
    EVP_PKEY* key() const { return p_.key.get(); }
    const pkey_ptr& shared_key() const { return p_.key; }
    clock::time_point expiry() const { return p_.expiry; }
    clock::time_point issued() const { return p_.issued; }
    const std::string& tenancy() const { return p_.tenancy; }
    const std::string& region() const { return p_.region; }
    bool sign_host() const { return p_.sign_host; }
    /// Non-empty for a GenAI API key: send `Authorization: Bearer <bearer>`, do not sign.
    const std::string& bearer() const { return p_.bearer; }

    /// True when `now` is before the expiry.
    bool valid_at(clock::time_point now) const { return now < p_.expiry; }

    /// RSASSA-PKCS1-v1_5/SHA-256 signature of `data`, standard Base64. One private-key
    /// operation; thread-safe.
    result<std::string> sign_base64(std::string_view data) const;

    /// `Signature version="1",headers="...",keyId="...",algorithm="rsa-sha256",signature="`
    /// for a request with or without a body; append the signature and `"`.
    const std::string& authorization_prefix(bool with_body) const
    {
        return with_body ? prefix_body_ : prefix_no_body_;
    }

private:
    struct md_ctx_deleter
    {
        void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
    };
    explicit credential_snapshot(params p) : p_(std::move(p)) {}

    params p_;
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> template_ctx_;  // initialised for signing
    std::string prefix_no_body_;
    std::string prefix_body_;
};

/// Shared handle to a snapshot.
using snapshot_ptr = std::shared_ptr<const credential_snapshot>;

/// A body that is not held in memory (a spooled upload): its length and the base64 of its
/// SHA-256, computed while it was written.
struct body_digest
{
    std::uint64_t length = 0;
    std::string_view sha256_base64;
};

/// The request parts a signature covers. Views must stay valid during sign_request().
struct request_to_sign
{
    std::string_view method;  ///< any case; POST/PUT/PATCH sign the body headers
    std::string_view host;    ///< URL authority as sent: `host[:port]`
    std::string_view target;  ///< path and query exactly as sent, e.g. `/20231130/actions/chat`
    std::string_view body;
    std::string_view date;  ///< the `Date` header value to send (format_http_date)
    std::string_view content_type = "application/json";
    /// When set, the body headers are signed from it and `body` is ignored.
    std::optional<body_digest> digest;
};

/// The header values to send with a signed request (lower-case names in comments). The content
/// fields are empty for methods without a body.
struct signed_headers
{
    std::string date;              ///< date
    std::string host;              ///< host
    std::string content_length;    ///< content-length
    std::string content_type;      ///< content-type
    std::string x_content_sha256;  ///< x-content-sha256
    std::string authorization;     ///< authorization
    bool has_body = false;
};

/// True for POST, PUT and PATCH (any case): the methods whose body headers are signed.
bool method_signs_body(std::string_view method);

/// The draft-cavage signing string for `req`: lines `name: value` joined by '\n', names
/// `date (request-target) [host] [content-length content-type x-content-sha256]`.
std::string signing_string(const request_to_sign& req, bool with_host = true);

/// Signs `req` with `creds` (OCI signature version 1). One SHA-256 of the body, one RSA
/// private-key operation. Fails on CR/LF in any value, on bearer-only credentials (no key) or
/// an OpenSSL error. Pure, thread-safe.
result<signed_headers> sign_request(const credential_snapshot& creds, const request_to_sign& req);

/// Stateless facade over sign_request() for callers that prefer positional arguments.
struct signer
{
    /// Signs one request; see sign_request(). `target` is path plus query as sent.
    static result<signed_headers> sign(const credential_snapshot& creds, std::string_view method,
                                       std::string_view host, std::string_view target,
                                       std::string_view body, std::string_view date,
                                       std::string_view content_type = "application/json")
    {
        return sign_request(creds, {.method = method,
                                    .host = host,
                                    .target = target,
                                    .body = body,
                                    .date = date,
                                    .content_type = content_type});
    }
};

/// RFC 7231 IMF-fixdate in GMT, e.g. `Thu, 05 Jan 2014 21:31:40 GMT`. Locale-independent.
std::string format_http_date(std::chrono::system_clock::time_point t);

}  // namespace ogp::auth
