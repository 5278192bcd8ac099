#pragma once

#include <string>
#include <string_view>

namespace ogp {

/// An error to return to an OpenAI client: HTTP status plus the fields of OpenAI's error body
/// `{"error":{"message","type","param","code"}}`. Empty `param`/`code` serialise as null.
/// Plain value type; messages must never contain secrets or request bodies.
struct api_error
{
    unsigned status = 500;
    std::string message;
    std::string type = "api_error";
    std::string param;
    std::string code;
    std::string retry_after;  ///< seconds for a `Retry-After` header; empty = none
    /// What the upstream said (its error text, sanitised): for the log at `warn` only, never
    /// sent to the client, since OCI's messages name OCIDs, internal hosts and addresses.
    std::string log_detail;

    /// The JSON body `{"error":{...}}`.
    std::string body() const;
};

/// 400 `invalid_request_error`, naming the offending parameter when there is one.
api_error invalid_request(std::string message, std::string param = {}, std::string code = {});
/// 401 `invalid_api_key` (missing or wrong client key).
api_error invalid_api_key(std::string message);
/// 404 for an unknown path.
api_error not_found(std::string message, std::string code = "not_found");
/// 405; the caller adds `Allow`.
api_error method_not_allowed(std::string message);
/// 501: a documented feature that this build does not implement yet (never a faked success).
api_error not_implemented(std::string message, std::string param = {});
/// 503 with `Retry-After`.
api_error service_unavailable(std::string message, std::string retry_after = "1",
                              std::string code = "service_unavailable");

/// Serialises one JSON string literal (with quotes), escaping as RFC 8259 requires.
std::string json_quote(std::string_view s);

}  // namespace ogp
