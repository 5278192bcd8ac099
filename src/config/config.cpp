#include "ogp/config/config.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include "keys.hpp"
#include "ogp/config/region.hpp"

namespace ogp {

std::string_view to_string(auth_mode m)
{
    switch (m) {
        case auth_mode::instance_principal:
            return "instance_principal";
        case auth_mode::api_key:
            return "api_key";
        case auth_mode::session_token:
            return "session_token";
        case auth_mode::resource_principal:
            return "resource_principal";
        case auth_mode::genai_api_key:
            return "genai_api_key";
    }
    return "instance_principal";
}

std::string_view to_string(api_format f)
{
    switch (f) {
        case api_format::generic:
            return "GENERIC";
        case api_format::cohere:
            return "COHERE";
        case api_format::coherev2:
            return "COHEREV2";
    }
    return "GENERIC";
}

const model_alias* config::find_model(std::string_view name) const
{
    for (const auto& m : models) {
        if (m.name == name) {
            return &m;
        }
    }
    return nullptr;
}

env_lookup process_env()
{
    return [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (v == nullptr) {
            return std::nullopt;
        }
        return std::string(v);
    };
}

namespace {

using namespace config_detail;

// Collects every problem, each prefixed with where it came from.
class loader
{
public:
    loader(std::string source, const env_lookup& env) : source_(std::move(source)), env_(env) {}

    void error(const std::string& key, const std::string& what)
    {
        if (key.empty()) {
            errors_.push_back(source_ + ": " + what);
        } else {
            errors_.push_back(source_ + ": " + key + ": " + what);
        }
    }

    // Environment problems name the variable, not the key.
    void env_error(std::string_view var, const std::string& what)
    {
        errors_.push_back("environment: " + std::string(var) + ": " + what);
    }

    std::vector<std::string>& errors() { return errors_; }
    const std::string& source() const { return source_; }

    // Reports keys of a mapping that are not in `known` (typo protection).
    bool check_map(const YAML::Node& node, const std::string& prefix,
                   const std::vector<std::string_view>& known)
    {
        if (!node.IsMap()) {
            error(prefix.empty() ? std::string("(top level)") : prefix, "must be a mapping");
            return false;
        }
        for (const auto& kv : node) {
            std::string key = kv.first.Scalar();
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                error("", "unknown key '" + (prefix.empty() ? key : prefix + "." + key) + "'");
            }
        }
        return true;
    }

    // An empty variable counts as unset.
    std::optional<std::string> env(std::string_view name) const
    {
        auto v = env_(name);
        if (v && v->empty()) {
            return std::nullopt;
        }
        return v;
    }

private:
    std::string source_;
    const env_lookup& env_;
    std::vector<std::string> errors_;
};

// Splits a comma- or newline-separated list of keys, dropping blanks and `#` comment lines.
std::vector<std::string> split_keys(std::string_view text, bool comments)
{
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        std::string k(ogp::text::trim(cur));
        cur.clear();
        if (!k.empty() && !(comments && k.front() == '#')) {
            out.push_back(k);
        }
    };
    for (char c : text) {
        if (c == '\n' || (!comments && c == ',')) {
            flush();
        } else {
            cur.push_back(c);
        }
    }
    flush();
    return out;
}

// A size: an integer number of bytes, or with a unit (`16KiB`, `32MiB`, `1GiB`, `64KB`).
std::optional<std::size_t> parse_size(std::string_view text)
{
    std::string s(ogp::text::trim(text));
    std::size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        ++i;
    }
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
    std::string unit = ogp::text::to_upper(ogp::text::trim(std::string_view(s).substr(i)));
    unsigned long long mul = 0;
    if (unit.empty() || unit == "B") {
        mul = 1;
    } else if (unit == "KIB" || unit == "K") {
        mul = 1024;
    } else if (unit == "MIB" || unit == "M") {
        mul = 1024ull * 1024;
    } else if (unit == "GIB" || unit == "G") {
        mul = 1024ull * 1024 * 1024;
    } else if (unit == "KB") {
        mul = 1000;
    } else if (unit == "MB") {
        mul = 1000ull * 1000;
    } else if (unit == "GB") {
        mul = 1000ull * 1000 * 1000;
    }
    if (i == 0 || ec != std::errc() || p != s.data() + i || mul == 0 || v == 0 ||
        v > (1ull << 40) / mul) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(v * mul);
}

// YAML booleans in the file (yaml-cpp's spellings); `true`/`1`/`yes` and their opposites in
// the environment, as the daemon has always accepted.
std::optional<bool> parse_flag(const std::string& text, origin from)
{
    bool v = false;
    if (from == origin::file) {
        if (YAML::convert<bool>::decode(YAML::Node(text), v)) {
            return v;
        }
        return std::nullopt;
    }
    if (text == "true" || text == "1" || text == "yes") {
        return true;
    }
    if (text == "false" || text == "0" || text == "no") {
        return false;
    }
    return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d);

constexpr std::string_view duration_message =
    "must be a positive duration such as 10, 0.5, 500ms, 30s or 2m";

const std::string& models_shape()
{
    static const std::string shape = [] {
        std::string s = "list of {";
        for (const auto& f : model_fields()) {
            s += std::string(s.back() == '{' ? "" : ", ") + std::string(f.name) +
                 (f.required ? "" : "?");
        }
        return s + "}";
    }();
    return shape;
}

const std::string& client_keys_shape()
{
    static const std::string shape = [] {
        std::string s = "list of {";
        for (const auto& f : client_key_fields()) {
            s += std::string(s.back() == '{' ? "" : ", ") + std::string(f.name) +
                 (f.required ? "" : "?");
        }
        return s + "} (one of key and key_sha256)";
    }();
    return shape;
}

// The member type behind a field_ref alternative (void for monostate).
template <class F>
struct field_type
{
    using type = void;
};
template <class T>
struct field_type<key_field<T>>
{
    using type = T;
};

template <class T>
T& member(const key_entry& e, config& c)
{
    return std::get<key_field<T>>(e.field).ref(c);
}

template <class T>
const T& member(const key_entry& e, const config& c)
{
    return std::get<key_field<T>>(e.field).cref(c);
}

// Reads `text` into the entry's member of `c` (a list appends); the message when refused.
std::optional<std::string> set_value(const key_entry& e, config& c, const std::string& text,
                                     origin from)
{
    switch (e.kind) {
        case key_kind::text:
            member<std::string>(e, c) = text;
            return std::nullopt;
        case key_kind::flag:
            if (auto v = parse_flag(text, from)) {
                if (std::holds_alternative<key_field<std::optional<bool>>>(e.field)) {
                    member<std::optional<bool>>(e, c) = *v;
                } else {
                    member<bool>(e, c) = *v;
                }
                return std::nullopt;
            }
            return "must be true or false";
        case key_kind::integer: {
            long long v = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || p != text.data() + text.size()) {
                return "must be an integer, got '" + text + "'";
            }
            const auto lo = static_cast<long long>(e.lo);
            const auto hi = static_cast<long long>(e.hi);
            if (v < lo || v > hi) {
                return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       ", got " + text;
            }
            std::visit(
                [&](const auto& f) {
                    using T = typename field_type<std::decay_t<decltype(f)>>::type;
                    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                        f.ref(c) = static_cast<T>(v);
                    } else if constexpr (std::is_same_v<T, std::optional<int>>) {
                        f.ref(c) = static_cast<int>(v);
                    }
                },
                e.field);
            return std::nullopt;
        }
        case key_kind::number: {
            double v = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) {
                return "must be a number, got '" + text + "'";
            }
            if (v < e.lo || v > e.hi) {
                std::ostringstream msg;
                msg << "must be between " << e.lo << " and " << e.hi << ", got " << v;
                return msg.str();
            }
            if (std::holds_alternative<key_field<std::optional<double>>>(e.field)) {
                member<std::optional<double>>(e, c) = v;
            } else {
                member<double>(e, c) = v;
            }
            return std::nullopt;
        }
        case key_kind::size: {
            auto v = parse_size(text);
            if (!v) {
                return "must be a positive size such as 4096, 64KiB or 32MiB, got '" + text + "'";
            }
            if (static_cast<double>(*v) < e.lo) {
                return "must be at least " + std::to_string(static_cast<long long>(e.lo));
            }
            member<std::size_t>(e, c) = *v;
            return std::nullopt;
        }
        case key_kind::duration: {
            auto d = parse_duration(text);
            if (!d || d->count() <= 0) {
                return std::string(duration_message);
            }
            if (e.hi > 0 && (static_cast<double>(d->count()) < e.lo ||
                             static_cast<double>(d->count()) > e.hi)) {
                return "must be between " +
                       format_duration(std::chrono::milliseconds(static_cast<long long>(e.lo))) +
                       " and " +
                       format_duration(std::chrono::milliseconds(static_cast<long long>(e.hi))) +
                       ", got '" + text + "'";
            }
            member<std::chrono::milliseconds>(e, c) = *d;
            return std::nullopt;
        }
        case key_kind::text_list:
            for (auto& k : split_keys(text, false)) {
                member<std::vector<std::string>>(e, c).push_back(std::move(k));
            }
            return std::nullopt;
        case key_kind::custom:
            return e.set(c, text);
        case key_kind::endpoints: {
            // `region=url,...`: replaces the file's map (checked in validation).
            c.oci.endpoints.clear();
            for (const auto& pair : split_keys(text, false)) {
                auto eq = pair.find('=');
                if (eq == std::string::npos || eq == 0) {
                    return "must be region=url pairs separated by commas, got '" + pair + "'";
                }
                c.oci.endpoints[std::string(ogp::text::trim(pair.substr(0, eq)))] =
                    std::string(ogp::text::trim(pair.substr(eq + 1)));
            }
            return std::nullopt;
        }
        case key_kind::client_keys:
            return "must be a " + client_keys_shape();  // YAML only: read_client_keys()
        case key_kind::models:
            break;  // YAML only: read_models()
    }
    return "must be a " + models_shape();
}

// What a YAML value that is not a scalar gets told.
std::string not_scalar_message(key_kind k)
{
    switch (k) {
        case key_kind::flag:
            return "must be true or false";
        case key_kind::integer:
            return "must be an integer";
        case key_kind::number:
            return "must be a number";
        case key_kind::size:
            return "must be a size in bytes";
        case key_kind::duration:
            return std::string(duration_message);
        case key_kind::text_list:
            return "must be a list of strings";
        case key_kind::models:
            return "must be a " + models_shape();
        case key_kind::client_keys:
            return "must be a " + client_keys_shape();
        case key_kind::endpoints:
            return "must be a mapping of region: URL";
        case key_kind::text:
        case key_kind::custom:
            break;
    }
    return "must be a string";
}

std::string_view section_of(std::string_view path)
{
    auto dot = path.find('.');
    return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string leaf_of(std::string_view path)
{
    auto dot = path.find('.');
    return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

// The key names a mapping may hold: the top level's ("") or a section's.
std::vector<std::string_view> names_in(std::string_view section)
{
    std::vector<std::string_view> out;
    for (const auto& e : key_table()) {
        std::string_view name;
        if (section.empty()) {
            name = e.path.substr(0, e.path.find('.'));
        } else if (section_of(e.path) == section) {
            name = e.path.substr(section.size() + 1);
        } else {
            continue;
        }
        if (std::find(out.begin(), out.end(), name) == out.end()) {
            out.push_back(name);
        }
    }
    return out;
}

// Reads the fields of one list entry (a `models` or `clients.keys` item) into `out`: scalars
// through `set`, lists of scalars through `add`.
template <class Field, class T>
void read_fields(loader& l, const YAML::Node& m, const std::string& prefix,
                 std::span<const Field> fields, T& out)
{
    for (const auto& f : fields) {
        const std::string key = prefix + "." + std::string(f.name);
        const YAML::Node v = m[std::string(f.name)];
        if (!v) {
            if (f.required) {
                l.error(key, "is required");
            }
        } else if (f.add != nullptr) {
            if (!v.IsSequence()) {
                l.error(key, "must be a list of strings");
                continue;
            }
            for (std::size_t j = 0; j < v.size(); ++j) {
                const std::string item = key + "[" + std::to_string(j) + "]";
                if (!v[j].IsScalar()) {
                    l.error(item, "must be a string");
                } else if (auto err = f.add(out, v[j].Scalar())) {
                    l.error(item, *err);
                }
            }
        } else if (!v.IsScalar()) {
            l.error(key, "must be a string");
        } else if (auto err = f.set(out, v.Scalar())) {
            l.error(key, *err);
        }
    }
}

void read_models(loader& l, const YAML::Node& n, config& c)
{
    if (!n.IsSequence()) {
        l.error("models", "must be a " + models_shape());
        return;
    }
    std::vector<std::string_view> names;
    for (const auto& f : model_fields()) {
        names.push_back(f.name);
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string prefix = "models[" + std::to_string(i) + "]";
        const YAML::Node m = n[i];
        if (!l.check_map(m, prefix, names)) {
            continue;
        }
        model_alias a;
        read_fields(l, m, prefix, model_fields(), a);
        c.models.push_back(std::move(a));
    }
}

void read_client_keys(loader& l, const YAML::Node& n, config& c)
{
    if (!n.IsSequence()) {
        l.error("clients.keys", "must be a " + client_keys_shape());
        return;
    }
    std::vector<std::string_view> names;
    for (const auto& f : client_key_fields()) {
        names.push_back(f.name);
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string prefix = "clients.keys[" + std::to_string(i) + "]";
        const YAML::Node m = n[i];
        if (!l.check_map(m, prefix, names)) {
            continue;
        }
        client_key_config k;
        read_fields(l, m, prefix, client_key_fields(), k);
        c.clients.keys.push_back(std::move(k));
    }
}

// `oci.endpoints`: region -> URL, kept raw (resolved and checked in validation).
void read_endpoints(loader& l, const YAML::Node& n, config& c)
{
    if (!n.IsMap()) {
        l.error("oci.endpoints", "must be a mapping of region: URL");
        return;
    }
    c.oci.endpoints.clear();
    for (const auto& kv : n) {
        const std::string region = kv.first.Scalar();
        if (!kv.second.IsScalar()) {
            l.error("oci.endpoints." + region, "must be an http(s):// URL");
            continue;
        }
        c.oci.endpoints[region] = kv.second.Scalar();
    }
}

// Reads one key's YAML value, if the mapping `parent` has it.
void read_key(loader& l, const key_entry& e, const YAML::Node& parent, config& c)
{
    const YAML::Node n = parent[leaf_of(e.path)];
    if (!n) {
        return;
    }
    const std::string path(e.path);
    if (e.derived) {
        // A secret that must not sit in a config file (its value is not echoed). The only
        // derived key is the GenAI API key.
        l.error(path,
                "is not read from the config file; put the key in a file named by "
                "oci.genai_api_key_file, or in $" +
                    std::string(e.sdk_env));
    } else if (e.kind == key_kind::models) {
        read_models(l, n, c);
    } else if (e.kind == key_kind::client_keys) {
        read_client_keys(l, n, c);
    } else if (e.kind == key_kind::endpoints) {
        read_endpoints(l, n, c);
    } else if (e.kind == key_kind::text_list) {
        if (!n.IsSequence()) {
            l.error(path, not_scalar_message(e.kind));
            return;
        }
        for (std::size_t i = 0; i < n.size(); ++i) {
            if (!n[i].IsScalar()) {
                l.error(path + "[" + std::to_string(i) + "]", "must be a string");
            } else {
                member<std::vector<std::string>>(e, c).push_back(n[i].Scalar());
            }
        }
    } else if (!n.IsScalar()) {
        l.error(path, not_scalar_message(e.kind));
    } else if (auto err = set_value(e, c, n.Scalar(), origin::file)) {
        l.error(path, *err);
    }
}

// Reads the YAML tree into `c`, key by key of the table, reporting problems through `l`.
void read_tree(loader& l, const YAML::Node& root, config& c)
{
    if (!root || root.IsNull()) {
        return;  // an empty file: defaults and environment only
    }
    if (!l.check_map(root, "", names_in(""))) {
        return;
    }
    // A section's keys are contiguous in the table: its names are checked once.
    auto keys = key_table();
    for (std::size_t i = 0; i < keys.size();) {
        const std::string_view section = section_of(keys[i].path);
        std::size_t end = i + 1;
        while (end < keys.size() && section_of(keys[end].path) == section) {
            ++end;
        }
        auto group = keys.subspan(i, end - i);
        i = end;
        if (section.empty()) {
            for (const auto& e : group) {
                read_key(l, e, root, c);
            }
            continue;
        }
        const YAML::Node node = root[std::string(section)];
        if (!node || !l.check_map(node, std::string(section), names_in(section))) {
            continue;
        }
        for (const auto& e : group) {
            read_key(l, e, node, c);
        }
    }
}

// OGP_* variables override the file; OCI_* SDK conventions fill what the file leaves empty.
void read_environment(loader& l, config& c)
{
    for (const auto& e : key_table()) {
        if (e.env.empty()) {
            continue;
        }
        if (auto v = l.env(e.env)) {
            if (auto err = set_value(e, c, *v, origin::environment)) {
                l.env_error(e.env, *err);
            }
        }
    }
    // Only after every OGP_* variable: neither the file nor OGP_* said anything.
    for (const auto& e : key_table()) {
        if (e.sdk_env.empty()) {
            continue;
        }
        auto& out = member<std::string>(e, c);
        if (out.empty()) {
            if (auto v = l.env(e.sdk_env)) {
                out = *v;
            }
        }
    }
}

// Longest GenAI API key accepted, and largest file it may come from.
constexpr std::size_t max_genai_key = 4096;
constexpr std::uintmax_t max_genai_key_file = 64 * 1024;

// `oci.auth: genai_api_key`: the key from oci.genai_api_key_file, else $OCI_GENAI_API_KEY
// (already in c.oci.genai_api_key, see read_environment()). No message contains the key.
void load_genai_key(loader& l, config& c)
{
    std::string& key = c.oci.genai_api_key;
    const std::string& path = c.oci.genai_api_key_file;
    constexpr std::string_view file_key = "oci.genai_api_key_file";
    if (!path.empty()) {
        key.clear();  // the file wins over the variable
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        std::ifstream in(path, std::ios::binary);
        if (!readable_file(path) || !in || ec) {
            l.error(std::string(file_key), "cannot read file '" + path + "'");
            return;
        }
        if (size > max_genai_key_file) {
            l.error(std::string(file_key), "file '" + path + "' is larger than 64 KiB");
            return;
        }
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto k = ogp::text::trim(text);
        if (k.empty()) {
            l.error(std::string(file_key), "file '" + path + "' holds no key");
        } else if (!is_token_like(k)) {
            l.error(std::string(file_key), "the key in '" + path +
                                               "' contains whitespace or control characters (one "
                                               "key on one line expected)");
        } else if (k.size() > max_genai_key) {
            l.error(std::string(file_key), "the key in '" + path + "' is longer than " +
                                               std::to_string(max_genai_key) + " characters");
        } else {
            key = std::string(k);
        }
        std::fill(text.begin(), text.end(), '\0');
        return;
    }
    key = std::string(ogp::text::trim(key));
    if (key.empty()) {
        l.error(std::string(file_key),
                "oci.auth: genai_api_key needs a GenAI API key: set oci.genai_api_key_file (or "
                "OGP_GENAI_API_KEY_FILE) or $OCI_GENAI_API_KEY");
    } else if (!is_token_like(key) || key.size() > max_genai_key) {
        key.clear();
        l.env_error("OCI_GENAI_API_KEY", "must be 1 to " + std::to_string(max_genai_key) +
                                             " printable characters without spaces (not shown)");
    }
}

// Routes, projects and the GenAI API key mode: what each alias' route needs from OCI.
void validate_routes(loader& l, config& c)
{
    const bool bearer = c.oci.auth == auth_mode::genai_api_key;
    for (std::size_t i = 0; i < c.models.size(); ++i) {
        const auto& m = c.models[i];
        const std::string prefix = "models[" + std::to_string(i) + "]";
        if (m.route == model_route::native) {
            if (bearer) {
                l.error(prefix + ".route",
                        "alias '" + m.name +
                            "' is on route: native; GenAI API keys (oci.auth: genai_api_key) work "
                            "only with route: openai");
            }
            continue;
        }
        const bool cohere =
            m.format ? *m.format != api_format::generic : m.id.starts_with("cohere.");
        if (cohere) {
            l.error(prefix + ".route",
                    "Cohere models are not served by OCI's OpenAI-compatible API; use route: "
                    "native");
        }
        // The client's body is forwarded as is: nothing of the native translation applies.
        for (auto [set, field] :
             {std::pair{!m.input_type.empty(), "input_type"},
              std::pair{m.max_tokens.has_value(), "max_tokens"},
              std::pair{m.max_completion_tokens.has_value(), "max_completion_tokens"}}) {
            if (set) {
                l.error(prefix + "." + field,
                        "does not apply to route: openai (the client's request body is "
                        "forwarded unchanged)");
            }
        }
        if (!bearer && m.project_id.empty() && c.oci.project_id.empty()) {
            l.error(prefix + ".project_id",
                    "is required for route: openai under oci.auth: " +
                        std::string(to_string(c.oci.auth)) +
                        " (sent as OpenAI-Project); set it or oci.project_id");
        }
    }
    if (!bearer) {
        c.oci.genai_api_key.clear();  // not used: not kept
        return;
    }
    load_genai_key(l, c);
    if (c.oci.models_discovery) {
        l.error("models_discovery",
                "cannot be used with oci.auth: genai_api_key (listing OCI's models needs an IAM "
                "signature)");
    }
    if (c.oci.region.empty() && c.oci.endpoint.empty()) {
        l.error("oci.region",
                "is required with oci.auth: genai_api_key unless oci.endpoint is set (a GenAI "
                "API key belongs to one region; there is no instance metadata to ask)");
    }
}

// The metrics listener and HTTPS: relations between keys (each file was checked by the table).
void validate_listeners(loader& l, const config& c)
{
    const auto& m = c.metrics;
    if (m.enabled && !m.listen.empty() &&
        listen_conflict(m.listen_host, m.listen_port, c.listen_host, c.listen_port)) {
        l.error("metrics.listen", "'" + m.listen + "' must differ from listen (" +
                                      format_listen_address(c.listen_host, c.listen_port) +
                                      "): leave it empty to serve /metrics there");
    }
    const auto& t = c.tls;
    if (!t.cert_file.empty() && t.key_file.empty()) {
        l.error("tls.key_file", "is required with tls.cert_file ('" + t.cert_file + "')");
    }
    if (t.cert_file.empty() && !t.key_file.empty()) {
        l.error("tls.cert_file", "is required with tls.key_file ('" + t.key_file + "')");
    }
    if (t.cert_file.empty() && !t.client_ca_file.empty()) {
        l.error("tls.client_ca_file", "('" + t.client_ca_file +
                                          "') needs tls.cert_file and tls.key_file: client "
                                          "certificates are checked on the HTTPS listener only");
    }
}

// SHA-256 of `s` as 64 lower-case hex digits; empty if OpenSSL fails (then no duplicate is
// found, nothing worse: the authenticator refuses to start without SHA-256).
std::string sha256_hex(std::string_view s)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(s.data(), s.size(), d, &len, EVP_sha256(), nullptr) != 1 || len != 32) {
        return {};
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[d[i] >> 4];
        out += hex[d[i] & 15];
    }
    return out;
}

constexpr std::string_view region_hint =
    "use a region id such as us-chicago-1 or a short code such as ord";

// `oci.endpoints`: keys resolved to canonical region ids, URLs checked like oci.endpoint.
void validate_endpoints(loader& l, config& c, const std::string& default_realm)
{
    std::map<std::string, std::string, std::less<>> out;
    std::map<std::string, std::string> named_as;  // canonical id -> the key that named it
    for (const auto& [raw, url] : c.oci.endpoints) {
        const std::string key = "oci.endpoints." + raw;
        auto r = resolve_region(raw, default_realm);
        if (!r) {
            l.error(key, "unknown region '" + raw + "' (" + std::string(region_hint) + ")");
            continue;
        }
        if (url.empty() || !http_url(url)) {
            l.error(key, "must be an http(s):// URL");
            continue;
        }
        auto [it, fresh] = named_as.emplace(r->id, raw);
        if (!fresh) {
            l.error(key, "names region " + r->id + " again (also as '" + it->second + "')");
            continue;
        }
        std::string u = url;
        while (u.size() > 1 && u.back() == '/') {
            u.pop_back();
        }
        out[r->id] = std::move(u);
    }
    c.oci.endpoints = std::move(out);
}

// `models[].regions` (canonical ids, no repeats) and `models[].fallbacks` (other aliases).
void validate_failover(loader& l, config& c, const std::string& default_realm)
{
    for (std::size_t i = 0; i < c.models.size(); ++i) {
        auto& m = c.models[i];
        const std::string prefix = "models[" + std::to_string(i) + "]";
        std::vector<std::string> regions;
        for (std::size_t j = 0; j < m.regions.size(); ++j) {
            const std::string& raw = m.regions[j];
            const std::string item = prefix + ".regions[" + std::to_string(j) + "]";
            std::string id;
            if (c.oci.endpoints.count(raw) != 0) {
                id = raw;
            } else if (auto r = resolve_region(raw, default_realm)) {
                id = r->id;
            } else {
                l.error(item, "unknown region '" + raw + "' (" + std::string(region_hint) + ")");
                continue;
            }
            if (std::find(regions.begin(), regions.end(), id) != regions.end()) {
                l.error(item, "region " + id + " is listed twice");
                continue;
            }
            regions.push_back(std::move(id));
        }
        m.regions = std::move(regions);
        std::vector<std::string> seen;
        for (std::size_t j = 0; j < m.fallbacks.size(); ++j) {
            const std::string& f = m.fallbacks[j];
            const std::string item = prefix + ".fallbacks[" + std::to_string(j) + "]";
            if (f == m.name) {
                l.error(item, "'" + f + "' is the alias itself");
            } else if (c.find_model(f) == nullptr) {
                l.error(item, "no model alias named '" + f + "'");
            } else if (std::find(seen.begin(), seen.end(), f) != seen.end()) {
                l.error(item, "'" + f + "' is listed twice");
            } else {
                seen.push_back(f);
            }
        }
    }
}

// A key name as an error may show it: only a plausible one is repeated.
std::string shown_name(const std::string& name)
{
    return is_token_like(name) && name.size() <= 100 ? "'" + name + "'" : "(not shown)";
}

// `clients.keys`: names, keys (never shown: messages name the entries), model lists.
void validate_client_keys(loader& l, config& c)
{
    // Digest -> the entry that holds the key: the same key twice (under two names, or named
    // and anonymous) would make the name a request gets arbitrary.
    std::map<std::string, std::string> holders;
    for (std::size_t i = 0; i < c.clients.api_keys.size(); ++i) {
        holders.emplace(sha256_hex(c.clients.api_keys[i]),
                        "clients.api_keys key #" + std::to_string(i + 1));
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.clients.keys.size(); ++i) {
        auto& k = c.clients.keys[i];
        const std::string prefix = "clients.keys[" + std::to_string(i) + "]";
        std::string who = prefix;
        if (k.name.empty()) {
            // Missing or empty: reported while reading.
        } else if (!is_key_name(k.name)) {
            l.error(prefix + ".name",
                    "must be 1 to 64 of A-Z a-z 0-9 . _ -, got " + shown_name(k.name));
        } else if (is_default_key_name(k.name)) {
            l.error(prefix + ".name", "'" + k.name +
                                          "': key- and 8 hex digits is how anonymous keys "
                                          "(clients.api_keys) are named; choose another name");
        } else if (!names.insert(k.name).second) {
            l.error(prefix + ".name", "duplicate key name '" + k.name + "'");
        } else {
            who += " ('" + k.name + "')";
        }
        const bool has_key = !k.key.empty();
        const bool has_digest = !k.key_sha256.empty();
        std::string digest;
        if (has_key && has_digest) {
            l.error(prefix, "set key or key_sha256, not both");
        } else if (!has_key && !has_digest) {
            l.error(prefix, "needs key or key_sha256");
        } else if (has_key) {
            if (!is_token_like(k.key) || k.key.size() > 512) {
                l.error(prefix + ".key",
                        "must be 1 to 512 printable characters without spaces (not shown)");
            } else {
                digest = sha256_hex(k.key);
            }
        } else {
            std::string& d = k.key_sha256;
            if (d.size() != 64 || !std::all_of(d.begin(), d.end(), [](unsigned char ch) {
                    return std::isxdigit(ch) != 0;
                })) {
                l.error(prefix + ".key_sha256",
                        "must be 64 hex digits: the SHA-256 of the key (printf %s KEY | "
                        "sha256sum)");
            } else {
                std::transform(d.begin(), d.end(), d.begin(), [](unsigned char ch) {
                    return static_cast<char>(std::tolower(ch));
                });
                digest = d;
            }
        }
        if (!digest.empty()) {
            auto [it, fresh] = holders.emplace(digest, who);
            if (!fresh) {
                l.error(prefix + (has_key ? ".key" : ".key_sha256"),
                        "is the same key as " + it->second + " (not shown)");
            }
        }
        for (std::size_t j = 0; j < k.models.size(); ++j) {
            const std::string& m = k.models[j];
            const std::string item = prefix + ".models[" + std::to_string(j) + "]";
            if (m.empty() || m.size() > 256 || !is_token_like(m)) {
                l.error(item, "must be 1 to 256 printable characters without spaces");
            } else if (m.find_first_of("*?") == std::string::npos && c.find_model(m) == nullptr &&
                       m.find('.') == std::string::npos) {
                l.error(item, "'" + m +
                                  "' is neither a model alias (models[].name) nor an OCI model "
                                  "id (those contain a '.'); globs use * and ?");
            }
        }
    }
}

// Checks once file and environment are merged: single keys by the table, then relations.
void validate(loader& l, config& c)
{
    for (const auto& e : key_table()) {
        if (e.kind != key_kind::text) {
            continue;
        }
        const std::string& v = member<std::string>(e, std::as_const(c));
        if (e.required && v.empty()) {
            l.error(std::string(e.path), e.env.empty()
                                             ? "is required"
                                             : "is required (or set " + std::string(e.env) + ")");
        } else if (e.check) {
            if (auto err = e.check(v)) {
                l.error(std::string(e.path), *err);
            }
        }
    }
    // Region: a known id or short code, or a well-formed new region id.
    std::optional<region_info> region;
    if (!c.oci.region.empty()) {
        auto default_realm = l.env("OCI_DEFAULT_REALM");
        region = resolve_region(c.oci.region, default_realm ? *default_realm : std::string());
        if (!region) {
            l.error("oci.region",
                    "unknown region '" + c.oci.region +
                        "' (use a region id such as us-chicago-1 or a short code such as ord)");
        } else {
            c.oci.region = region->id;
        }
    }
    // Endpoint: explicit URL (checked above), or derived from the region.
    if (!c.oci.endpoint.empty()) {
        while (c.oci.endpoint.size() > 1 && c.oci.endpoint.back() == '/') {
            c.oci.endpoint.pop_back();
        }
    } else if (region) {
        c.oci.endpoint = inference_endpoint(*region);
    }
    if (c.limits.max_uri_bytes >= c.limits.max_header_bytes) {
        l.error("limits.max_uri_bytes", "must be smaller than limits.max_header_bytes");
    }
    // Client keys: file merged into the list; each key printable, no whitespace.
    if (!c.clients.api_keys_file.empty()) {
        std::ifstream in(c.clients.api_keys_file);
        if (!readable_file(c.clients.api_keys_file) || !in) {
            l.error("clients.api_keys_file", "cannot read file '" + c.clients.api_keys_file + "'");
        } else {
            std::stringstream ss;
            ss << in.rdbuf();
            for (auto& k : split_keys(ss.str(), true)) {
                c.clients.api_keys.push_back(std::move(k));
            }
        }
    }
    for (std::size_t i = 0; i < c.clients.api_keys.size(); ++i) {
        const auto& k = c.clients.api_keys[i];
        if (k.empty() || !is_token_like(k) || k.size() > 512) {
            // Never echo the key itself.
            l.error("clients.api_keys",
                    "key #" + std::to_string(i + 1) +
                        " must be 1 to 512 printable characters without spaces");
        }
    }
    if (c.clients.api_keys.empty() && c.clients.keys.empty() && !c.clients.allow_anonymous) {
        l.error("clients",
                "no client API keys configured (clients.keys, clients.api_keys, "
                "clients.api_keys_file or OGP_API_KEYS); set clients.allow_anonymous: true to run "
                "without client authentication");
    }
    // Models: unique names, safe ids.
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.models.size(); ++i) {
        const auto& m = c.models[i];
        std::string prefix = "models[" + std::to_string(i) + "]";
        if (!m.name.empty() && !names.insert(m.name).second) {
            l.error(prefix + ".name", "duplicate model name '" + m.name + "'");
        }
        if (!m.name.empty() && (!is_token_like(m.name) || m.name.size() > 256)) {
            l.error(prefix + ".name", "must be printable without spaces");
        }
        if (!m.id.empty() && (!is_token_like(m.id) || m.id.size() > 512)) {
            l.error(prefix + ".id", "must be printable without spaces");
        }
        if (!m.compartment_id.empty() &&
            (!m.compartment_id.starts_with("ocid1.") || !is_token_like(m.compartment_id))) {
            l.error(prefix + ".compartment_id", "must be an OCID");
        }
        // The key names a GENERIC field: a Cohere alias cannot use it.
        const bool cohere =
            m.format ? *m.format != api_format::generic : m.id.starts_with("cohere.");
        if (m.max_completion_tokens.value_or(false) && cohere) {
            l.error(prefix + ".max_completion_tokens",
                    "applies to GENERIC models only (this alias uses a Cohere format)");
        }
    }
    {
        auto default_realm = l.env("OCI_DEFAULT_REALM");
        const std::string realm = default_realm ? *default_realm : std::string();
        validate_endpoints(l, c, realm);
        validate_failover(l, c, realm);
    }
    validate_client_keys(l, c);
    validate_routes(l, c);
    validate_listeners(l, c);
    // The spool directory must take files now (an upload is the wrong time to learn), but only
    // where uploads are forwarded: with a GenAI project. A read-only container without one
    // needs no writable temporary directory.
    if (!c.oci.project_id.empty()) {
        if (auto why = check_spool_dir(c.limits.spool_dir)) {
            l.error("limits.spool_dir", *why);
        }
    }
}

config_result finish(loader& l, config c)
{
    read_environment(l, c);
    validate(l, c);
    config_result r;
    r.errors = std::move(l.errors());
    if (r.errors.empty()) {
        c.source = l.source();
        r.value = std::move(c);
    }
    return r;
}

// Prints a duration so that parse_duration() reads it back.
std::string format_duration(std::chrono::milliseconds d)
{
    if (d.count() % 1000 == 0) {
        return std::to_string(d.count() / 1000) + "s";
    }
    return std::to_string(d.count()) + "ms";
}

// How describe_config() shows an optional key that is not configured.
constexpr std::string_view not_set = "(not set)";

std::string join_list(const std::vector<std::string>& v)
{
    std::string out = "[";
    for (const auto& s : v) {
        out += (out.size() > 1 ? ", " : "") + s;
    }
    return out + "]";
}

std::string describe_value(const key_entry& e, const config& c)
{
    switch (e.kind) {
        case key_kind::text: {
            const auto& v = member<std::string>(e, c);
            if (e.secret) {
                return std::string(v.empty() ? not_set : "(set)");
            }
            return v.empty() ? "\"\"" : v;
        }
        case key_kind::flag:
            if (std::holds_alternative<key_field<std::optional<bool>>>(e.field)) {
                const auto& v = member<std::optional<bool>>(e, c);
                return v ? (*v ? "true" : "false") : std::string(not_set);
            }
            return member<bool>(e, c) ? "true" : "false";
        case key_kind::integer:
            return std::visit(
                [&](const auto& f) -> std::string {
                    using T = typename field_type<std::decay_t<decltype(f)>>::type;
                    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                        return std::to_string(f.cref(c));
                    } else if constexpr (std::is_same_v<T, std::optional<int>>) {
                        const auto& v = f.cref(c);
                        return v ? std::to_string(*v) : std::string(not_set);
                    } else {
                        return {};
                    }
                },
                e.field);
        case key_kind::number: {
            std::optional<double> v;
            if (std::holds_alternative<key_field<std::optional<double>>>(e.field)) {
                v = member<std::optional<double>>(e, c);
            } else {
                v = member<double>(e, c);
            }
            if (!v) {
                return std::string(not_set);
            }
            std::ostringstream out;
            out << *v;
            return out.str();
        }
        case key_kind::size:
            return std::to_string(member<std::size_t>(e, c));
        case key_kind::duration:
            return format_duration(member<std::chrono::milliseconds>(e, c));
        case key_kind::text_list: {
            const auto& v = member<std::vector<std::string>>(e, c);
            if (e.secret) {
                return "(" + std::to_string(v.size()) + " set, not shown)";
            }
            std::string out = "[";
            for (const auto& s : v) {
                out += (out.size() > 1 ? ", " : "") + s;
            }
            return out + "]";
        }
        case key_kind::custom:
            return e.get(c);
        case key_kind::models: {
            std::string out = "[";
            for (const auto& m : c.models) {
                out += (out.size() > 1 ? ", " : "") + m.name + " = " + m.id;
                if (m.max_tokens) {
                    out += " max_tokens " + std::to_string(*m.max_tokens);
                }
                if (m.max_completion_tokens) {
                    out += std::string(" max_completion_tokens ") +
                           (*m.max_completion_tokens ? "true" : "false");
                }
                if (m.route == model_route::openai) {
                    out += " route openai";
                }
                if (!m.project_id.empty()) {
                    out += " project " + m.project_id;
                }
                if (!m.regions.empty()) {
                    out += " regions " + join_list(m.regions);
                }
                if (!m.fallbacks.empty()) {
                    out += " fallbacks " + join_list(m.fallbacks);
                }
            }
            return out + "]";
        }
        case key_kind::client_keys: {
            // Names and limits; key material never, not even the digest.
            std::string out = "[";
            for (const auto& k : c.clients.keys) {
                out += (out.size() > 1 ? "; " : "") + k.name +
                       (k.key.empty() ? ": key_sha256 (set)" : ": key (set)");
                if (!k.models.empty()) {
                    out += " models " + join_list(k.models);
                }
                for (auto [v, label] : {std::pair{k.rpm, "rpm"}, std::pair{k.tpm, "tpm"},
                                        std::pair{k.max_concurrent, "max_concurrent"},
                                        std::pair{k.max_streams, "max_streams"}}) {
                    if (v != 0) {
                        out += " " + std::string(label) + " " + std::to_string(v);
                    }
                }
            }
            return out + "]";
        }
        case key_kind::endpoints: {
            std::string out = "{";
            for (const auto& [region, url] : c.oci.endpoints) {
                out += (out.size() > 1 ? ", " : "") + region + ": " + url;
            }
            return out + "}";
        }
    }
    return {};
}

std::string_view kind_name(const key_entry& e)
{
    switch (e.kind) {
        case key_kind::text:
            return "string";
        case key_kind::flag:
            return "bool";
        case key_kind::integer:
            return "integer";
        case key_kind::number:
            return "number";
        case key_kind::size:
            return "size";
        case key_kind::duration:
            return "duration";
        case key_kind::text_list:
            return "list of strings";
        case key_kind::models:
            return models_shape();
        case key_kind::client_keys:
            return client_keys_shape();
        case key_kind::endpoints:
            return "map of region: URL";
        case key_kind::custom:
            break;
    }
    return e.kind_name;
}

}  // namespace

std::vector<config_key_info> config_keys()
{
    std::vector<config_key_info> out;
    for (const auto& e : key_table()) {
        out.push_back({e.path, e.env, e.sdk_env, kind_name(e), e.help});
    }
    return out;
}

std::string describe_config(const config& c)
{
    std::string out;
    for (const auto& e : key_table()) {
        out += std::string(e.path) + ": " + describe_value(e, c) + "\n";
    }
    return out;
}

reload_plan plan_reload(const config& old_cfg, const config& new_cfg)
{
    // Bound once at start-up: the listeners, the io threads, the connection table, the upstream
    // pools' hosts and trust anchors, the log sink.
    static const std::set<std::string_view> restart_keys{
        "listen", "threads", "metrics.listen", "metrics.enabled", "limits.max_connections",
        "limits.spool_dir", "oci.region", "oci.endpoint", "oci.ca_file", "oci.metadata_url",
        "oci.federation_url", "log.format",
        // the limiter is built at start-up
        "limits.store", "limits.store_failure", "limits.store_timeout"};
    reload_plan plan;
    for (const auto& e : key_table()) {
        if (e.path == "tls.cert_file") {
            // A new certificate is reloaded; turning HTTPS on or off changes the listener.
            if (old_cfg.tls.enabled() != new_cfg.tls.enabled()) {
                plan.restart_needed.emplace_back(e.path);
            }
            continue;
        }
        if (e.path == "limits.store") {
            // The description hides the password: a new password is a change too.
            const auto& a = old_cfg.limits;
            const auto& b = new_cfg.limits;
            if (a.store != b.store || a.store_password != b.store_password) {
                plan.restart_needed.emplace_back(e.path);
            }
            continue;
        }
        if (restart_keys.count(e.path) != 0 &&
            describe_value(e, old_cfg) != describe_value(e, new_cfg)) {
            plan.restart_needed.emplace_back(e.path);
        }
    }
    const auto& a = old_cfg.oci;
    const auto& b = new_cfg.oci;
    plan.credentials_changed =
        a.auth != b.auth || a.profile != b.profile || a.config_file != b.config_file ||
        a.genai_api_key_file != b.genai_api_key_file || a.genai_api_key != b.genai_api_key;
    return plan;
}

std::string region_endpoint(const config& c, std::string_view region)
{
    if (auto it = c.oci.endpoints.find(region); it != c.oci.endpoints.end()) {
        return it->second;
    }
    // The daemon's own region: its (validated, possibly derived) oci.endpoint.
    if (!c.oci.region.empty() && region == c.oci.region && !c.oci.endpoint.empty()) {
        return c.oci.endpoint;
    }
    auto r = resolve_region(region, {});
    if (!r) {
        return {};
    }
    if (auto it = c.oci.endpoints.find(r->id); it != c.oci.endpoints.end()) {
        return it->second;
    }
    if (!c.oci.region.empty() && r->id == c.oci.region && !c.oci.endpoint.empty()) {
        return c.oci.endpoint;
    }
    return inference_endpoint(*r);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text)
{
    std::string s(ogp::text::trim(text));
    if (s.empty()) {
        return std::nullopt;
    }
    // Split number and unit.
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
        ++i;
    }
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
    if (i == 0 || ec != std::errc() || p != s.data() + i || !std::isfinite(v)) {
        return std::nullopt;
    }
    std::string unit(ogp::text::trim(std::string_view(s).substr(i)));
    double ms = 0;
    if (unit.empty() || unit == "s") {
        ms = v * 1000.0;
    } else if (unit == "ms") {
        ms = v;
    } else if (unit == "m" || unit == "min") {
        ms = v * 60000.0;
    } else if (unit == "h") {
        ms = v * 3600000.0;
    } else {
        return std::nullopt;
    }
    if (ms > 1e12) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

config_result load_config_text(std::string_view yaml, std::string_view source_name,
                               const env_lookup& env)
{
    loader l(std::string(source_name), env);
    config c;
    // yaml-cpp reports syntax errors by exception: start-up code, caught here.
    try {
        YAML::Node root = YAML::Load(std::string(yaml));
        read_tree(l, root, c);
    } catch (const YAML::Exception& e) {
        l.error("", std::string("invalid YAML: ") + e.what());
        config_result r;
        r.errors = std::move(l.errors());
        return r;
    }
    return finish(l, std::move(c));
}

config_result load_config(const std::string& path, const env_lookup& env)
{
    if (path.empty()) {
        loader l("(environment)", env);
        return finish(l, config{});
    }
    // A directory opens as an empty stream: refuse anything but a regular file.
    std::error_code fs_ec;
    if (!std::filesystem::is_regular_file(path, fs_ec)) {
        config_result r;
        r.errors.push_back(
            path + ": cannot read config file" +
            (std::filesystem::is_directory(path, fs_ec) ? " (it is a directory)" : ""));
        return r;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        config_result r;
        r.errors.push_back(path + ": cannot read config file");
        return r;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return load_config_text(ss.str(), path, env);
}

}  // namespace ogp
