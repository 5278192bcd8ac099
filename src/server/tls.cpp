// The HTTPS listener's TLS context (see ogp/server/tls.hpp).

#include "ogp/server/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ogp::server {

namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites: forward secrecy and AEAD only (Mozilla "intermediate" without DHE).
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The session id context: with client verification on, OpenSSL refuses to resume a session
// without one.
constexpr unsigned char session_context[] = "ogp-https";

// The first OpenSSL error of the queue, which is emptied: the root cause ("No such file or
// directory", "no start line"); later ones only wrap it ("system lib", "PEM lib").
unsigned long first_error()
{
    const unsigned long first = ERR_get_error();
    ERR_clear_error();
    return first;
}

std::string openssl_reason(unsigned long e = first_error())
{
    if (e == 0) {
        return "unknown error";
    }
    if (ERR_SYSTEM_ERROR(e) || ERR_GET_LIB(e) == ERR_LIB_SYS) {
        return std::strerror(ERR_GET_REASON(e));
    }
    if (const char* r = ERR_reason_error_string(e)) {
        return r;
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

[[noreturn]] void fail(std::string_view key, const std::string& path, const std::string& why)
{
    throw std::runtime_error(std::string(key) + ": cannot load '" + path + "': " + why);
}

// An encrypted key must not make OpenSSL prompt on the terminal: no passphrase is given.
int no_passphrase(char*, int, int, void*)
{
    return 0;
}

// ALPN: only HTTP/1.1 is spoken here.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*)
{
    static constexpr std::string_view http11 = "http/1.1";
    // `in` is a list of length-prefixed protocol names.
    for (unsigned int i = 0; i < inlen;) {
        const unsigned int len = in[i];
        if (i + 1 + len > inlen) {
            break;
        }
        if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == http11) {
            *out = in + i + 1;
            *outlen = static_cast<unsigned char>(len);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const tls_config& cfg)
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* h = ctx->native_handle();
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
    SSL_CTX_set_options(
        h, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(h, tls12_ciphers) != 1) {
        throw std::runtime_error("tls: cannot set the cipher list: " + openssl_reason());
    }
    SSL_CTX_set_session_id_context(h, session_context, sizeof session_context - 1);
    SSL_CTX_set_default_passwd_cb(h, no_passphrase);
    SSL_CTX_set_alpn_select_cb(h, select_alpn, nullptr);

    if (SSL_CTX_use_certificate_chain_file(h, cfg.cert_file.c_str()) != 1) {
        fail("tls.cert_file", cfg.cert_file, openssl_reason());
    }
    // OpenSSL checks here already that the key is the certificate's.
    const bool key_loaded =
        SSL_CTX_use_PrivateKey_file(h, cfg.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
    const unsigned long key_error = key_loaded ? 0 : first_error();
    const bool mismatch = ERR_GET_LIB(key_error) == ERR_LIB_X509 &&
                          ERR_GET_REASON(key_error) == X509_R_KEY_VALUES_MISMATCH;
    if (!key_loaded && !mismatch) {
        fail("tls.key_file", cfg.key_file,
             openssl_reason(key_error) + " (expected: a PEM private key without a passphrase)");
    }
    if (!key_loaded || SSL_CTX_check_private_key(h) != 1) {
        ERR_clear_error();
        throw std::runtime_error("tls.key_file: '" + cfg.key_file +
                                 "' does not match the certificate in '" + cfg.cert_file + "'");
    }
    if (!cfg.client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(h, cfg.client_ca_file.c_str(), nullptr) != 1) {
            fail("tls.client_ca_file", cfg.client_ca_file, openssl_reason());
        }
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca_file.c_str());
        if (names == nullptr) {
            fail("tls.client_ca_file", cfg.client_ca_file, "no CA certificate in it");
        }
        SSL_CTX_set_client_CA_list(h, names);  // takes ownership
        SSL_CTX_set_verify(h, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    ERR_clear_error();
    return ctx;
}

}  // namespace ogp::server
