#pragma once

#include "ogp/auth/error.hpp"
#include "ogp/config/config.hpp"

#include <map>
#include <string>
#include <string_view>

namespace ogp::auth {

/// One profile of an OCI SDK/CLI config file (`~/.oci/config`), with the keys of `[DEFAULT]`
/// inherited (as the Python and TypeScript SDKs do). Keys are lower-case. Plain value type.
struct oci_profile
{
    std::string source;  ///< file name, for messages
    std::string name;    ///< profile name
    std::map<std::string, std::string, std::less<>> values;

    /// The value of `key`, or nullptr when absent or empty.
    const std::string* find(std::string_view key) const;
    /// `<source> [<name>]`, the prefix of every message about this profile.
    std::string where() const;
};

/// Parses config-file text and extracts `profile`. Lines are `key=value` (split at the first
/// `=`, both sides trimmed), `[section]`, blank, or comments (`#`, `;`). Fails on a missing
/// profile or a malformed line, naming the file and line.
result<oci_profile> parse_oci_config(std::string_view text, std::string_view profile,
                                     std::string_view source);

/// Reads `path` (with `~` expanded) and extracts `profile`.
result<oci_profile> read_oci_config(const std::string& path, std::string_view profile,
                                    const env_lookup& env);

/// Expands a leading `~` or `~/` with `HOME` from `env`; other paths are returned unchanged.
std::string expand_user_path(std::string_view path, const env_lookup& env);

/// Reads a whole (small, <= 1 MiB) file; the error names `what` and the path.
result<std::string> read_small_file(const std::string& path, std::string_view what);

}  // namespace ogp::auth
