#pragma once
// Helpers shared by the configuration unit tests: the smallest valid file, an injected
// environment, error lookup and describe_config() lines.
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "ogp/config/config.hpp"

namespace ogp::test {

/// The smallest configuration that loads.
constexpr std::string_view minimal = R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
clients:
  api_keys: [sk-1]
)";

/// An environment of exactly `vars` (nothing inherited from the test's own).
inline env_lookup env_of(std::map<std::string, std::string> vars)
{
    return [vars](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

/// True when one of r.errors contains `needle`.
inline bool has_error(const config_result& r, std::string_view needle)
{
    for (const auto& e : r.errors) {
        if (e.find(needle) != std::string::npos) {
            return true;
        }
    }
    return false;
}

/// The `path: value` line of describe_config() for `path`, or "(missing)".
inline std::string described(const config& c, std::string_view path)
{
    std::istringstream in(describe_config(c));
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(std::string(path) + ": ")) {
            return line;
        }
    }
    return "(missing)";
}

}  // namespace ogp::test
