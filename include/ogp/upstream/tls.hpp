#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <mutex>
#include <string>

namespace ogp::upstream {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

/// Builds the client TLS context of every upstream connection (inference, control plane, IMDS,
/// federation): TLS 1.2 or newer, no compression, peer verification always on, against the
/// system store plus `ca_file` (PEM, may be empty); new sessions go to the connection's
/// session_cache (if it has one). The host name/IP check and SNI are per connection
/// (prepare_client_tls). Start-up only: throws boost::system::system_error when `ca_file`
/// cannot be loaded; the second overload reports that in `ec` and returns nullptr.
std::shared_ptr<ssl::context> make_client_tls_context(const std::string& ca_file);
std::shared_ptr<ssl::context> make_client_tls_context(const std::string& ca_file, error_code& ec);

/// Prepares one client connection of `host` (a DNS name, or an IP literal without brackets)
/// before its handshake: SNI for a name (never for an IP literal), and the peer's certificate
/// must name `host` (DNS name, or IP address for a literal), on top of the chain check. Fails
/// only when OpenSSL cannot store the name.
error_code prepare_client_tls(SSL* ssl, const std::string& host);

/// The most recent resumable TLS session of one host. New connections offer it, so only the
/// first connection to a host pays a full handshake with certificate verification. Filled by
/// the context's new-session callback on connections attach()ed to it (TLS 1.3 tickets arrive
/// after the handshake). Thread-safe.
class session_cache
{
public:
    session_cache() = default;
    ~session_cache();
    session_cache(const session_cache&) = delete;
    session_cache& operator=(const session_cache&) = delete;

    /// Makes `ssl`'s new sessions land here; the cache must outlive `ssl`.
    void attach(SSL* ssl);
    /// Offers the stored session on `ssl` (no-op when there is none).
    void offer(SSL* ssl);
    /// Keeps a copy of `s` (nullptr: forget).
    void put_copy(const SSL_SESSION* s);
    void clear();

private:
    void put(SSL_SESSION* s);

    std::mutex mutex_;
    SSL_SESSION* session_ = nullptr;
};

}  // namespace ogp::upstream
