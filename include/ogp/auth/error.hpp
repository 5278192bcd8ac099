#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <iosfwd>
#include <string>

namespace ogp::auth {

/// Broad class of an authentication failure (what went wrong, not where).
enum class errc {
    config,                ///< missing or invalid setting, profile or file
    key,                   ///< a private key or certificate could not be read or used
    fingerprint_mismatch,  ///< the configured fingerprint does not match the key
    network,               ///< connect, TLS, read/write or timeout failure
    http_status,           ///< the remote answered with an unexpected status (5xx, 404, ...)
    rejected,              ///< the remote refused the credentials (4xx from federation)
    bad_response,          ///< unparsable or incomplete response
    token,                 ///< a token is malformed or expired
    tenancy_changed,       ///< the instance certificate names a different tenancy
    crypto,                ///< an OpenSSL operation failed unexpectedly
    not_ready,             ///< no valid credentials exist (yet)
    stopped,               ///< the credential cache was stopped
};

/// An auth failure: its class plus one human-readable line naming the cause (file, field, URL,
/// status). Never contains key material, tokens or signatures.
struct error
{
    errc code;
    std::string message;
};

/// Value-or-error used on every auth code path (no exceptions on the data path).
template <class T>
using result = boost::system::result<T, error>;

/// Hook for result<T, error>::value(): throws std::runtime_error(message). Start-up code only.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

/// Writes the message (test diagnostics, logs).
std::ostream& operator<<(std::ostream& os, const error& e);

}  // namespace ogp::auth
