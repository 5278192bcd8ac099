// Fuzzes the configuration reader: YAML text, environment overrides and validation.
//
// Input: the YAML text, optionally followed by a part (see part_separator) of `NAME=value`
// lines that form the environment. `FUZZTMP` in either stands for a private temporary directory
// holding a keys file, a non-certificate `ca.pem` and the config file itself, so seeds can name
// files portably.
//
// The reader opens the files a config names (api_keys_file, ca_file): inputs naming anything
// outside that directory (an absolute path elsewhere, `..`) are skipped, so that no run reads
// a device, a FIFO or a huge file. The real environment is never read or changed, and the only
// file written is the config file inside the temporary directory.
//
// Properties: no crash, sanitizer report, uncaught exception or timeout; a result is either a
// config or errors, never both; the same from text as from a file; an accepted config has what
// validation promises (a compartment, client keys or anonymous access, unique model names).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using ogp_fuzz::check;
namespace fs = std::filesystem;

constexpr std::string_view tmp_token = "FUZZTMP";

// The private directory, made on first use and removed at exit (never destroyed itself: the
// exit handler still needs it).
const std::string& temp_dir()
{
    static const std::string& dir = *new std::string([] {
        std::string pattern = (fs::temp_directory_path() / "ogp-fuzz-config-XXXXXX").string();
        check(::mkdtemp(pattern.data()) != nullptr, "a temporary directory");
        std::ofstream(pattern + "/keys.txt") << "sk-fuzz-1\n# comment\n\nsk-fuzz-2\n";
        std::ofstream(pattern + "/ca.pem")
            << "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        fs::create_directory(pattern + "/sub");
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(temp_dir(), ec);
        });
        return pattern;
    }());
    return dir;
}

std::string substitute(std::string_view in)
{
    std::string out;
    for (std::size_t at; (at = in.find(tmp_token)) != std::string_view::npos;) {
        out.append(in.substr(0, at));
        out.append(temp_dir());
        in.remove_prefix(at + tmp_token.size());
    }
    out.append(in);
    return out;
}

// True when `s` cannot name a file outside the temporary directory (relative names stay in the
// working directory, which holds only regular files and directories of the build).
bool safe_value(std::string_view s)
{
    if (s.find("..") != std::string_view::npos || s.find('\0') != std::string_view::npos) {
        return false;
    }
    return !s.starts_with('/') || s.starts_with(temp_dir() + "/");
}

// Every scalar of the tree is safe; false too when the walk gets too long (aliases can make a
// small text a huge tree; the reader itself still sees such inputs through other paths).
bool safe_tree(const YAML::Node& n, std::size_t& budget)
{
    if (budget == 0) {
        return false;
    }
    --budget;
    switch (n.Type()) {
        case YAML::NodeType::Scalar:
            return safe_value(n.Scalar());
        case YAML::NodeType::Sequence:
            for (const auto& e : n) {
                if (!safe_tree(e, budget)) {
                    return false;
                }
            }
            return true;
        case YAML::NodeType::Map:
            for (const auto& kv : n) {
                if (!safe_tree(kv.first, budget) || !safe_tree(kv.second, budget)) {
                    return false;
                }
            }
            return true;
        default:
            return true;
    }
}

// An accepted config keeps validation's promises.
void check_config(const ogp::config& c)
{
    check(!c.oci.compartment_id.empty(), "an accepted config has a compartment");
    check(!c.clients.api_keys.empty() || !c.clients.keys.empty() || c.clients.allow_anonymous,
          "an accepted config has client keys or allows anonymous access");
    for (const auto& k : c.clients.api_keys) {
        check(!k.empty(), "client keys are not empty");
    }
    std::set<std::string> key_names;
    for (const auto& k : c.clients.keys) {
        check(!k.name.empty() && k.name.size() <= 64 && key_names.insert(k.name).second,
              "named keys have unique names of 1 to 64 characters");
        check(k.key.empty() != k.key_sha256.empty(), "a named key has a key or a digest");
        check(k.key_sha256.empty() ||
                  (k.key_sha256.size() == 64 &&
                   k.key_sha256.find_first_not_of("0123456789abcdef") == std::string::npos),
              "a key digest is 64 lower-case hex digits");
    }
    std::set<std::string> names;
    for (const auto& m : c.models) {
        check(m.name.empty() || names.insert(m.name).second, "model names are unique");
    }
    for (const auto& m : c.models) {
        for (const auto& r : m.regions) {
            check(!ogp::region_endpoint(c, r).empty(), "every alias region has an endpoint");
        }
        for (const auto& f : m.fallbacks) {
            check(f != m.name && c.find_model(f) != nullptr, "fallbacks are other aliases");
        }
    }
    if (!c.limits.store.empty()) {
        check(c.limits.store.find('@') == std::string::npos, "limits.store holds no password");
        check(!c.limits.store_host.empty() && c.limits.store_port != 0 && c.limits.store_db <= 15,
              "a limits store has a host, a port and a database 0-15");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    auto parts = ogp_fuzz::split_parts(std::string_view(reinterpret_cast<const char*>(data), size));
    for (auto p : parts) {
        if (auto d = ogp::parse_duration(p)) {
            check(d->count() >= 0, "durations are not negative");
        }
    }
    std::string yaml = substitute(parts[0]);
    // The environment: NAME=value lines of the second part.
    std::map<std::string, std::string, std::less<>> env;
    if (parts.size() > 1) {
        std::string text = substitute(parts[1]);
        std::string_view rest(text);
        while (!rest.empty()) {
            std::size_t nl = rest.find('\n');
            std::string_view line = rest.substr(0, nl);
            rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
            std::size_t eq = line.find('=');
            if (eq != std::string_view::npos) {
                if (!safe_value(line.substr(eq + 1))) {
                    return 0;
                }
                env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
            }
        }
    }
    // Skip inputs that name files outside the temporary directory (see the top).
    try {
        std::size_t budget = 100000;
        if (!safe_tree(YAML::Load(yaml), budget)) {
            return 0;
        }
    } catch (const YAML::Exception&) {
        // Not YAML: the reader reports it without opening anything.
    }
    ogp::env_lookup lookup = [&env](std::string_view name) -> std::optional<std::string> {
        auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };

    ogp::config_result text = ogp::load_config_text(yaml, "fuzz.yaml", lookup);
    check(text.value.has_value() == text.errors.empty(), "a config or errors, never both");
    if (text.value) {
        check_config(*text.value);
        check(text.value->source == "fuzz.yaml", "the config names its source");
    }
    // The same through a file.
    std::string path = temp_dir() + "/config.yaml";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << yaml;
    ogp::config_result file = ogp::load_config(path, lookup);
    check(file.value.has_value() == text.value.has_value() &&
              file.errors.size() == text.errors.size(),
          "the same result from a file as from text");
    return 0;
}
