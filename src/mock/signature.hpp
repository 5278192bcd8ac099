#pragma once
// oci-genai-mock: reading an OCI request signature (`Authorization: Signature ...`), shared by
// the fake federation endpoint and the inference server so both check it the same way.

#include <openssl/evp.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ogp::mock {

/// The parameters of `Signature k="v",...` (version, algorithm, keyId, headers, signature);
/// empty when the header is not a Signature header.
using signature_params = std::map<std::string, std::string>;

/// Parses `Signature k="v",...` into its parameters; stops at the first malformed pair.
signature_params parse_signature_params(std::string_view authorization);

/// True when `p` has version 1, algorithm rsa-sha256, and a keyId, header list and signature.
bool signature_well_formed(const signature_params& p);

/// The signing string OCI builds for the space-separated `header_list`: one line
/// `(request-target): <request_target>` or `<name>: <value>` per entry, values from `lookup`.
/// nullopt when `lookup` has no value for an entry; `missing` then names it.
std::optional<std::string> signing_string(
    std::string_view header_list, std::string_view request_target,
    const std::function<std::optional<std::string>(const std::string&)>& lookup,
    std::string& missing);

/// True when the base64 `signature` is `key`'s RSA-SHA256 signature of `signing`.
bool signature_verifies(EVP_PKEY* key, std::string_view signing, std::string_view signature);

}  // namespace ogp::mock
