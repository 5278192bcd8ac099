#pragma once
// Local OCI API-key credentials for the daemon (`oci.auth: api_key`) and the mock
// (`--api-key`): no real tenancy is ever named.

#include <string>
#include <vector>

#include "support/temp_dir.hpp"

namespace ogp::test {

/// OCI API-key credentials written into a directory: one RSA key per user (generated once and
/// cached in $TMPDIR, since every ctest test is a process of its own), its public key, and an
/// OCI config file (region us-chicago-1) whose fingerprint matches.
struct api_key_credentials
{
    std::string config_file;      ///< for `oci.config_file`
    std::string public_key_file;  ///< PEM, for oci-genai-mock --api-key
    std::string key_id;           ///< tenancy/user/fingerprint
    /// The mock argument `--api-key <key_id>=<public_key_file>`.
    std::vector<std::string> mock_args() const;
};

/// Writes the key, its public key and the OCI config file into `dir`.
api_key_credentials write_api_key_credentials(const temp_dir& dir);

}  // namespace ogp::test
