#pragma once
// Test certificates made on the fly with the OpenSSL C API (no openssl CLI, no fixtures that
// expire): a CA, and server or client certificates it signs, all EC P-256, PEM strings.
// Header-only, so that unit tests that do not link the support library can use it too.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace ogp::test {

/// A certificate and its private key, PEM.
struct issued_cert
{
    std::string cert_pem;
    std::string key_pem;
};

namespace certs_detail {

struct pkey_free
{
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free
{
    void operator()(X509* c) const { X509_free(c); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

inline void check(bool ok, const char* what)
{
    if (!ok) {
        throw std::runtime_error(std::string("test certificate: ") + what + " failed");
    }
}

inline pkey_ptr new_key()
{
    pkey_ptr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    check(k != nullptr, "EC key generation");
    return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "an extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

inline std::string pem_of(X509* cert)
{
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
}

inline std::string pem_of(EVP_PKEY* key)
{
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
}

// An unsigned certificate for `key` named `cn`, valid from an hour ago for a day, issued by
// `issuer` (self-issued when null).
inline x509_ptr make_cert(EVP_PKEY* key, const std::string& cn, long serial, X509* issuer)
{
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    return cert;
}

}  // namespace certs_detail

/// A throw-away certificate authority. issue() makes leaf certificates it signs.
class test_ca
{
public:
    explicit test_ca(const std::string& cn = "ogp test CA")
    {
        using namespace certs_detail;
        key_ = new_key();
        cert_ = make_cert(key_.get(), cn, 1, nullptr);
        add_ext(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
        add_ext(cert_.get(), cert_.get(), NID_subject_key_identifier, "hash");
        check(X509_sign(cert_.get(), key_.get(), EVP_sha256()) > 0, "signing the CA");
    }

    std::string cert_pem() const { return certs_detail::pem_of(cert_.get()); }

    /// A server certificate (for 127.0.0.1, ::1 and localhost), or a client one (`server`
    /// false), named `cn` with serial number `serial`.
    issued_cert issue(const std::string& cn, long serial, bool server = true) const
    {
        using namespace certs_detail;
        auto key = new_key();
        auto cert = make_cert(key.get(), cn, serial, cert_.get());
        add_ext(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), cert_.get(), NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), cert_.get(), NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
        add_ext(cert.get(), cert_.get(), NID_subject_key_identifier, "hash");
        add_ext(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always");
        if (server) {
            add_ext(cert.get(), cert_.get(), NID_subject_alt_name,
                    "IP:127.0.0.1,IP:::1,DNS:localhost");
        }
        check(X509_sign(cert.get(), key_.get(), EVP_sha256()) > 0, "signing a certificate");
        return {pem_of(cert.get()), pem_of(key.get())};
    }

private:
    certs_detail::pkey_ptr key_;
    certs_detail::x509_ptr cert_;
};

}  // namespace ogp::test
