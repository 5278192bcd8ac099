#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "ogp/config/config.hpp"

namespace ogp::server {

/// The server side of the HTTPS listener, built from `tls.*`: the PEM certificate chain
/// (`tls.cert_file`, leaf first) and its private key (`tls.key_file`, unencrypted: a daemon has
/// nobody to type a passphrase), TLS 1.2 or later, ECDHE with AES-GCM or ChaCha20-Poly1305 only
/// for TLS 1.2 (TLS 1.3 suites are all AEAD), the server's cipher order, no compression, no
/// renegotiation, session tickets, and ALPN that selects `http/1.1` (a client that offers
/// ALPN without `http/1.1`, e.g. h2 only, is refused with the `no_application_protocol`
/// alert, as RFC 7301 §3.2 asks; a client that offers no ALPN is served). With
/// `tls.client_ca_file` (mutual TLS) a client certificate signed by one of its CAs is required;
/// their names are sent to clients as the acceptable issuers.
/// Start-up/reload only: throws std::runtime_error whose message starts with the key, e.g.
/// `tls.cert_file: cannot load '/etc/x.pem': no start line`. Never logs key material.
/// The context is immutable once returned; connections share it (keep the shared_ptr alive
/// while a stream uses it).
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_config& cfg);

}  // namespace ogp::server
