#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ogp {

/// A resolved OCI region: canonical id, realm key and the realm's second-level domain.
struct region_info
{
    std::string id;      ///< `us-chicago-1`
    std::string realm;   ///< `oc1`
    std::string domain;  ///< `oraclecloud.com`
};

/// Resolves a region id (`us-chicago-1`) or short code (`ord`, case-insensitive) through the
/// built-in table of the OCI SDKs. An unknown but well-formed id (`xx-name-1`) maps to
/// `default_domain` (the `OCI_DEFAULT_REALM` convention; empty = `oraclecloud.com`, realm oc1).
/// Returns nullopt for anything else. Pure and thread-safe.
std::optional<region_info> resolve_region(std::string_view id_or_code,
                                          std::string_view default_domain = {});

/// `https://inference.generativeai.<region>.oci.<domain>` (no trailing slash).
std::string inference_endpoint(const region_info& r);

/// `https://auth.<region>.<domain>` (federation host, no `oci.`).
std::string auth_endpoint(const region_info& r);

}  // namespace ogp
