#include "ogp/auth/oci_config_file.hpp"
#include "ogp/util/text.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ogp::auth {
const std::string* oci_profile::find(std::string_view key) const
{
    auto it = values.find(key);
    return it == values.end() || it->second.empty() ? nullptr : &it->second;
}

std::string oci_profile::where() const
{
    return source + " [" + name + "]";
}

result<oci_profile> parse_oci_config(std::string_view text, std::string_view profile,
                                     std::string_view source)
{
    // Section name -> its key/values, in file order of appearance.
    std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> sections;
    std::string current;
    bool in_section = false;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) {
            eol = text.size();
        }
        std::string_view line = text::trim(text.substr(pos, eol - pos));
        pos = eol + 1;
        ++line_no;
        // Blank lines and comments.
        if (line.empty() || line.front() == '#' || line.front() == ';') {
            continue;
        }
        // A section header.
        if (line.front() == '[') {
            if (line.back() != ']' || line.size() < 3) {
                return error{errc::config, std::string(source) + ":" + std::to_string(line_no) +
                                               ": malformed section header"};
            }
            current = std::string(text::trim(line.substr(1, line.size() - 2)));
            sections[current];
            in_section = true;
            continue;
        }
        // key=value, split at the first '=' (values may contain '=').
        auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            return error{errc::config, std::string(source) + ":" + std::to_string(line_no) +
                                           ": expected key=value"};
        }
        if (!in_section) {
            return error{errc::config, std::string(source) + ":" + std::to_string(line_no) +
                                           ": key=value before any [profile] header"};
        }
        sections[current][text::to_lower(text::trim(line.substr(0, eq)))] =
            std::string(text::trim(line.substr(eq + 1)));
    }

    // The profile, on top of [DEFAULT].
    auto it = sections.find(profile);
    if (it == sections.end()) {
        return error{errc::config,
                     std::string(source) + ": profile [" + std::string(profile) + "] not found"};
    }
    oci_profile out;
    out.source = std::string(source);
    out.name = std::string(profile);
    if (auto def = sections.find("DEFAULT"); def != sections.end()) {
        out.values = def->second;
    }
    for (auto& [k, v] : it->second) {
        out.values[k] = v;
    }
    return out;
}

std::string expand_user_path(std::string_view path, const env_lookup& env)
{
    if (path == "~" || path.starts_with("~/")) {
        auto home = env ? env("HOME") : std::nullopt;
        if (home && !home->empty()) {
            return *home + std::string(path.substr(1));
        }
    }
    return std::string(path);
}

result<std::string> read_small_file(const std::string& path, std::string_view what)
{
    constexpr std::streamsize max_size = 1 << 20;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return error{errc::config,
                     "cannot read " + std::string(what) + " " + path + ": " + std::strerror(errno)};
    }
    std::string data;
    data.resize(static_cast<std::size_t>(max_size) + 1);
    in.read(data.data(), max_size + 1);
    if (in.bad()) {
        return error{errc::config, "cannot read " + std::string(what) + " " + path};
    }
    if (in.gcount() > max_size) {
        return error{errc::config, std::string(what) + " " + path + " is larger than 1 MiB"};
    }
    data.resize(static_cast<std::size_t>(in.gcount()));
    return data;
}

result<oci_profile> read_oci_config(const std::string& path, std::string_view profile,
                                    const env_lookup& env)
{
    std::string full = expand_user_path(path, env);
    auto text = read_small_file(full, "OCI config file");
    if (!text) {
        return text.error();
    }
    return parse_oci_config(*text, profile, full);
}

}  // namespace ogp::auth
