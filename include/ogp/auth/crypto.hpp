#pragma once

#include "ogp/auth/error.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ogp::auth {

/// Shared ownership of an OpenSSL key (EVP_PKEY_free on the last release). OpenSSL keys are safe
/// to use for signing from several threads at once.
using pkey_ptr = std::shared_ptr<EVP_PKEY>;

/// Deleter for unique_ptr<X509>.
struct x509_deleter
{
    void operator()(X509* p) const noexcept { X509_free(p); }
};
/// Owned X.509 certificate.
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

/// Takes ownership of `raw` (may be null).
pkey_ptr adopt_pkey(EVP_PKEY* raw);

/// Parses a PEM private key: PKCS#1 (`RSA PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`) or encrypted
/// (`ENCRYPTED PRIVATE KEY`, legacy `Proc-Type: 4,ENCRYPTED`). `passphrase` is used only when the
/// key is encrypted; an encrypted key without one is an error. `what` names the source in errors.
result<pkey_ptr> load_private_key_pem(std::string_view pem,
                                      const std::optional<std::string>& passphrase,
                                      std::string_view what);

/// Generates a fresh RSA key pair (`bits`, exponent 65537).
result<pkey_ptr> generate_rsa_key(unsigned bits = 2048);

/// DER SubjectPublicKeyInfo of the public half of `key`.
result<std::string> public_key_der(EVP_PKEY* key);

/// PEM `PUBLIC KEY` text of the public half of `key` (for tests and cross-checks).
result<std::string> public_key_pem(EVP_PKEY* key);

/// Digest helpers. `colon_hex` is lower-case hex bytes joined by ':' (OCI fingerprint format).
std::string md5(std::string_view data);
std::string sha256(std::string_view data);
std::string colon_hex(std::string_view bytes);

/// Standard Base64 with padding.
std::string base64_encode(std::string_view bytes);
/// Standard Base64 (padding optional, whitespace not allowed); nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);
/// Base64url without padding (JWT); nullopt when malformed.
std::optional<std::string> base64url_decode(std::string_view text);
/// Base64url without padding.
std::string base64url_encode(std::string_view bytes);

/// RSASSA-PKCS1-v1_5 with SHA-256 over `data` with `key`, raw signature bytes.
result<std::string> rsa_sha256_sign(EVP_PKEY* key, std::string_view data);
/// Verifies an RSASSA-PKCS1-v1_5/SHA-256 signature (raw bytes) with the public half of `key`.
bool rsa_sha256_verify(EVP_PKEY* key, std::string_view data, std::string_view signature);

/// Parses one PEM certificate.
result<x509_ptr> load_cert_pem(std::string_view pem, std::string_view what);
/// Parses one DER certificate.
result<x509_ptr> load_cert_der(std::string_view der, std::string_view what);
/// DER encoding of `cert`.
result<std::string> cert_der(X509* cert);
/// The tenancy OCID in the subject of an OCI instance certificate: the value of the attribute
/// starting with `opc-tenant:` (preferred) or `opc-identity:`, prefix removed; nullopt if absent.
std::optional<std::string> tenancy_from_cert(X509* cert);

/// The Base64 body of a PEM block: BEGIN/END lines and all line breaks removed.
std::string pem_body(std::string_view pem);

/// Claims of a JWT read without verifying its signature (as the OCI SDKs do): `exp` (required),
/// `iat` (optional) and every top-level string claim.
struct jwt_claims
{
    std::chrono::system_clock::time_point exp;
    std::optional<std::chrono::system_clock::time_point> iat;
    std::map<std::string, std::string> strings;
};

/// Decodes the payload of `token` (`header.payload.signature`). Errors never echo the token.
result<jwt_claims> decode_jwt(std::string_view token);

}  // namespace ogp::auth
