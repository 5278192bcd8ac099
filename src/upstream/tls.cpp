// The one client TLS setup of the upstream clients.

#include "ogp/upstream/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/system/system_error.hpp>
#include <utility>

#include "ogp/upstream/url.hpp"

namespace ogp::upstream {

namespace {

// SSL ex_data slot pointing at the connection's session_cache (Asio keeps its verify callback
// in the app data, so that one is taken).
int session_cache_index()
{
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// OpenSSL's new-session callback: keeps a copy in the connection's cache. Returns 0: the
// reference OpenSSL passed stays OpenSSL's.
int on_new_session(SSL* ssl, SSL_SESSION* session)
{
    auto* cache = static_cast<session_cache*>(SSL_get_ex_data(ssl, session_cache_index()));
    if (cache != nullptr) {
        cache->put_copy(session);
    }
    return 0;
}

error_code last_ssl_error()
{
    return error_code(static_cast<int>(::ERR_get_error()), boost::asio::error::get_ssl_category());
}

}  // namespace

std::shared_ptr<ssl::context> make_client_tls_context(const std::string& ca_file, error_code& ec)
{
    ec = {};
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    // TLS 1.2 or newer only, peer verification always on.
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression, ec);
    // Resumption: sessions go to the connection's cache through the callback, never to
    // OpenSSL's internal cache (which clients do not look up anyway).
    SSL_CTX_set_session_cache_mode(native,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, on_new_session);
    // Record buffers only while a record is in flight: an idle stream holds none.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    if (!ec) {
        ctx->set_verify_mode(ssl::verify_peer, ec);
    }
    if (!ec) {
        ctx->set_default_verify_paths(ec);
    }
    if (!ec && !ca_file.empty()) {
        ctx->load_verify_file(ca_file, ec);
    }
    return ec ? nullptr : ctx;
}

std::shared_ptr<ssl::context> make_client_tls_context(const std::string& ca_file)
{
    error_code ec;
    auto ctx = make_client_tls_context(ca_file, ec);
    if (ec) {
        throw boost::system::system_error(ec);
    }
    return ctx;
}

error_code prepare_client_tls(SSL* ssl, const std::string& host)
{
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    if (is_ip_literal(host)) {
        // No SNI for addresses (RFC 6066); the certificate must list the address.
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
            return last_ssl_error();
        }
        return {};
    }
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || SSL_set1_host(ssl, host.c_str()) != 1) {
        return last_ssl_error();
    }
    return {};
}

session_cache::~session_cache()
{
    if (session_ != nullptr) {
        SSL_SESSION_free(session_);
    }
}

void session_cache::attach(SSL* ssl)
{
    SSL_set_ex_data(ssl, session_cache_index(), this);
}

// Copies on the way in and out: OpenSSL marks the session a connection uses as not resumable
// when that connection is freed without a TLS shutdown, which is how every stream ends (OCI
// never finishes a streamed body).
void session_cache::put_copy(const SSL_SESSION* s)
{
    put(s == nullptr ? nullptr : SSL_SESSION_dup(s));
}

void session_cache::put(SSL_SESSION* s)
{
    SSL_SESSION* old = nullptr;
    {
        std::lock_guard lock(mutex_);
        old = std::exchange(session_, s);
    }
    if (old != nullptr) {
        SSL_SESSION_free(old);
    }
}

void session_cache::offer(SSL* ssl)
{
    SSL_SESSION* copy = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (session_ != nullptr && SSL_SESSION_is_resumable(session_) == 1) {
            copy = SSL_SESSION_dup(session_);
        }
    }
    if (copy != nullptr) {
        SSL_set_session(ssl, copy);  // takes its own reference
        SSL_SESSION_free(copy);
    }
}

void session_cache::clear()
{
    put(nullptr);
}

}  // namespace ogp::upstream
