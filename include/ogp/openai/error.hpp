#pragma once

#include <string>
#include <string_view>

// The OpenAI error vocabulary: the one place that says which HTTP status goes with which
// OpenAI error `type`, and which `code` strings the proxy itself sends. A leaf part: every
// other part that answers a client (transform, server, api) depends down on it.

namespace ogp {

/// OpenAI's error `type` field, as this proxy sends it. The status decides the type
/// (type_for_status), so the same status never carries two types; api_error stores no type.
enum class error_type {
    invalid_request,      ///< "invalid_request_error": 4xx other than 403 and 429
    permission,           ///< "permission_error": 403
    rate_limit,           ///< "rate_limit_error": 429
    api,                  ///< "api_error": 500, 502, 504 and other 5xx
    not_implemented,      ///< "not_implemented_error": 501
    service_unavailable,  ///< "service_unavailable_error": 503
};

/// The wire spelling of `t`.
std::string_view to_string(error_type t);
/// The type that goes with an HTTP status.
error_type type_for_status(unsigned status);

/// The `code` strings the proxy writes itself (OCI's own codes may be passed through for
/// client errors it reports).
namespace error_codes {
inline constexpr std::string_view invalid_api_key = "invalid_api_key";
inline constexpr std::string_view not_found = "not_found";
inline constexpr std::string_view model_not_found = "model_not_found";
inline constexpr std::string_view method_not_allowed = "method_not_allowed";
inline constexpr std::string_view not_implemented = "not_implemented";
inline constexpr std::string_view service_unavailable = "service_unavailable";
inline constexpr std::string_view rate_limit_exceeded = "rate_limit_exceeded";
inline constexpr std::string_view permission_denied = "permission_denied";
inline constexpr std::string_view signing_failed = "signing_failed";
inline constexpr std::string_view misconfigured_model = "misconfigured_model";
inline constexpr std::string_view misconfigured_compartment = "misconfigured_compartment";
inline constexpr std::string_view bad_upstream_response = "bad_upstream_response";
inline constexpr std::string_view upstream_event_too_large = "upstream_event_too_large";
inline constexpr std::string_view upstream_response_too_large = "upstream_response_too_large";
inline constexpr std::string_view upstream_incomplete = "upstream_incomplete";
inline constexpr std::string_view upstream_error = "upstream_error";
inline constexpr std::string_view upstream_timeout = "upstream_timeout";
inline constexpr std::string_view upstream_unavailable = "upstream_unavailable";
inline constexpr std::string_view upstream_generation_error = "upstream_generation_error";
inline constexpr std::string_view upstream_authentication_failed = "upstream_authentication_failed";
}  // namespace error_codes

/// An error to return to an OpenAI client: HTTP status plus the fields of OpenAI's error body
/// `{"error":{"message","type","param","code"}}`. Empty `param`/`code` serialise as null.
/// Plain value type; messages must never contain secrets or request bodies.
struct api_error
{
    unsigned status = 500;
    std::string message;
    std::string param;
    std::string code;
    std::string retry_after;  ///< seconds for a `Retry-After` header; empty = none
    /// What the upstream said (its error text, sanitised): for the log at `warn` only, never
    /// sent to the client, since OCI's messages name OCIDs, internal hosts and addresses.
    std::string log_detail;
    /// Overrides the status' type where OpenAI itself is more specific: its own rate limits
    /// answer 429 with type `requests` or `tokens` (the limit that was hit). A static string;
    /// empty: the status decides.
    std::string_view type_name;

    /// OpenAI's `type`, which follows from the status.
    error_type type() const { return type_for_status(status); }
    /// The JSON body `{"error":{...}}`.
    std::string body() const;
};

/// Any error: the type follows from `status`.
api_error make_error(unsigned status, std::string message, std::string_view code = {},
                     std::string param = {});
/// 400 `invalid_request_error`, naming the offending parameter when there is one.
api_error invalid_request(std::string message, std::string param = {}, std::string code = {});
/// 401 `invalid_api_key` (missing or wrong client key).
api_error invalid_api_key(std::string message);
/// 404 for an unknown path.
api_error not_found(std::string message, std::string_view code = error_codes::not_found);
/// 405; the caller adds `Allow`.
api_error method_not_allowed(std::string message);
/// 501: a documented feature that this build does not implement yet (never a faked success).
api_error not_implemented(std::string message, std::string param = {});
/// 503 with `Retry-After`.
api_error service_unavailable(std::string message, std::string retry_after = "1",
                              std::string_view code = error_codes::service_unavailable);

/// Serialises one JSON string literal (with quotes), escaping as RFC 8259 requires.
std::string json_quote(std::string_view s);

}  // namespace ogp
