#include "ogp/config/config.hpp"

#include <arpa/inet.h>
#include <openssl/x509_vfy.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

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

std::string upper(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

std::string trim(std::string_view s)
{
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) {
        return {};
    }
    auto e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

// True when `s` has no control characters and no whitespace (safe in URLs, headers, logs).
bool is_token_like(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

bool is_http_url(std::string_view s)
{
    if (!is_token_like(s)) {
        return false;
    }
    std::string_view rest;
    if (s.starts_with("https://")) {
        rest = s.substr(8);
    } else if (s.starts_with("http://")) {
        rest = s.substr(7);
    } else {
        return false;
    }
    return !rest.empty() && rest.front() != '/';
}

bool readable_file(const std::string& path)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        return false;
    }
    std::ifstream f(path);
    return f.good();
}

// Collects every problem while walking the YAML tree, each prefixed with the source name.
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

    std::vector<std::string>& errors() { return errors_; }
    const std::string& source() const { return source_; }

    // Reports keys of a mapping that are not in `known` (typo protection).
    bool check_map(const YAML::Node& node, const std::string& prefix,
                   std::initializer_list<std::string_view> known)
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

    std::optional<std::string> string_at(const YAML::Node& n, const std::string& key)
    {
        if (!n.IsScalar()) {
            error(key, "must be a string");
            return std::nullopt;
        }
        return n.Scalar();
    }

    std::optional<bool> bool_at(const YAML::Node& n, const std::string& key)
    {
        bool v = false;
        if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
            error(key, "must be true or false");
            return std::nullopt;
        }
        return v;
    }

    std::optional<double> number_at(const YAML::Node& n, const std::string& key)
    {
        if (!n.IsScalar()) {
            error(key, "must be a number");
            return std::nullopt;
        }
        const std::string& s = n.Scalar();
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
            error(key, "must be a number, got '" + s + "'");
            return std::nullopt;
        }
        return v;
    }

    std::optional<long long> integer_at(const YAML::Node& n, const std::string& key, long long lo,
                                        long long hi)
    {
        if (!n.IsScalar()) {
            error(key, "must be an integer");
            return std::nullopt;
        }
        const std::string& s = n.Scalar();
        long long v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size()) {
            error(key, "must be an integer, got '" + s + "'");
            return std::nullopt;
        }
        if (v < lo || v > hi) {
            error(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                           ", got " + s);
            return std::nullopt;
        }
        return v;
    }

    // A size: an integer number of bytes, or with a unit (`16KiB`, `32MiB`, `1GiB`, `64KB`).
    std::optional<std::size_t> size_at(const YAML::Node& n, const std::string& key)
    {
        if (!n.IsScalar()) {
            error(key, "must be a size in bytes");
            return std::nullopt;
        }
        std::string s = trim(n.Scalar());
        std::size_t i = 0;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            ++i;
        }
        unsigned long long v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
        std::string unit = upper(trim(std::string_view(s).substr(i)));
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
            error(key,
                  "must be a positive size such as 4096, 64KiB or 32MiB, got '" + n.Scalar() + "'");
            return std::nullopt;
        }
        return static_cast<std::size_t>(v * mul);
    }

    std::optional<std::chrono::milliseconds> duration_at(const YAML::Node& n,
                                                         const std::string& key)
    {
        std::optional<std::chrono::milliseconds> d;
        if (n.IsScalar()) {
            d = parse_duration(n.Scalar());
        }
        if (!d || d->count() <= 0) {
            error(key, "must be a positive duration such as 10, 0.5, 500ms, 30s or 2m");
            return std::nullopt;
        }
        return d;
    }

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

bool parse_listen(std::string_view s, std::string& host, std::uint16_t& port)
{
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    std::string_view h = s.substr(0, colon);
    std::string_view p = s.substr(colon + 1);
    // IPv6 literals are bracketed: [::1]:8080.
    if (h.starts_with('[')) {
        if (!h.ends_with(']')) {
            return false;
        }
        h = h.substr(1, h.size() - 2);
    }
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v > 65535) {
        return false;
    }
    host = h.empty() ? "0.0.0.0" : std::string(h);
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    port = static_cast<std::uint16_t>(v);
    // The listener binds an address, not a name.
    in6_addr a6{};
    in_addr a4{};
    return inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
           inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

std::optional<auth_mode> parse_auth(std::string_view s)
{
    for (auto m : {auth_mode::instance_principal, auth_mode::api_key, auth_mode::session_token,
                   auth_mode::resource_principal}) {
        if (to_string(m) == s) {
            return m;
        }
    }
    return std::nullopt;
}

std::optional<api_format> parse_format(std::string_view s)
{
    std::string u = upper(s);
    if (u == "GENERIC") {
        return api_format::generic;
    }
    if (u == "COHERE") {
        return api_format::cohere;
    }
    if (u == "COHEREV2") {
        return api_format::coherev2;
    }
    return std::nullopt;
}

bool valid_log_level(std::string_view s)
{
    static const std::set<std::string_view> levels{"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};
    return levels.count(s) != 0;
}

// Splits a comma- or newline-separated list of keys, dropping blanks and `#` comment lines.
std::vector<std::string> split_keys(std::string_view text, bool comments)
{
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        std::string k = trim(cur);
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

void load_oci(loader& l, const YAML::Node& n, oci_config& oci)
{
    if (!l.check_map(n, "oci",
                     {"region", "compartment_id", "auth", "config_file", "profile", "endpoint",
                      "ca_file", "metadata_url", "federation_url"})) {
        return;
    }
    auto str = [&](const char* key, std::string& out) {
        if (n[key]) {
            if (auto v = l.string_at(n[key], std::string("oci.") + key)) {
                out = *v;
            }
        }
    };
    str("region", oci.region);
    str("compartment_id", oci.compartment_id);
    str("config_file", oci.config_file);
    str("profile", oci.profile);
    str("endpoint", oci.endpoint);
    str("ca_file", oci.ca_file);
    str("metadata_url", oci.metadata_url);
    str("federation_url", oci.federation_url);
    if (n["auth"]) {
        if (auto v = l.string_at(n["auth"], "oci.auth")) {
            if (auto m = parse_auth(*v)) {
                oci.auth = *m;
            } else {
                l.error("oci.auth",
                        "must be one of instance_principal, api_key, session_token, "
                        "resource_principal, got '" +
                            *v + "'");
            }
        }
    }
}

void load_clients(loader& l, const YAML::Node& n, clients_config& c)
{
    if (!l.check_map(n, "clients", {"api_keys", "api_keys_file", "allow_anonymous"})) {
        return;
    }
    if (n["api_keys"]) {
        if (!n["api_keys"].IsSequence()) {
            l.error("clients.api_keys", "must be a list of strings");
        } else {
            for (std::size_t i = 0; i < n["api_keys"].size(); ++i) {
                std::string key = "clients.api_keys[" + std::to_string(i) + "]";
                if (auto v = l.string_at(n["api_keys"][i], key)) {
                    c.api_keys.push_back(*v);
                }
            }
        }
    }
    if (n["api_keys_file"]) {
        if (auto v = l.string_at(n["api_keys_file"], "clients.api_keys_file")) {
            c.api_keys_file = *v;
        }
    }
    if (n["allow_anonymous"]) {
        if (auto v = l.bool_at(n["allow_anonymous"], "clients.allow_anonymous")) {
            c.allow_anonymous = *v;
        }
    }
}

void load_models(loader& l, const YAML::Node& n, std::vector<model_alias>& models)
{
    if (!n.IsSequence()) {
        l.error("models", "must be a list of {name, id, format?, compartment_id?, input_type?}");
        return;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        std::string prefix = "models[" + std::to_string(i) + "]";
        const YAML::Node& m = n[i];
        if (!l.check_map(m, prefix, {"name", "id", "format", "compartment_id", "input_type"})) {
            continue;
        }
        model_alias a;
        if (!m["name"]) {
            l.error(prefix + ".name", "is required");
        } else if (auto v = l.string_at(m["name"], prefix + ".name")) {
            a.name = *v;
        }
        if (!m["id"]) {
            l.error(prefix + ".id", "is required");
        } else if (auto v = l.string_at(m["id"], prefix + ".id")) {
            a.id = *v;
        }
        if (m["format"]) {
            if (auto v = l.string_at(m["format"], prefix + ".format")) {
                a.format = parse_format(*v);
                if (!a.format) {
                    l.error(prefix + ".format",
                            "must be GENERIC, COHERE or COHEREV2, got '" + *v + "'");
                }
            }
        }
        if (m["compartment_id"]) {
            if (auto v = l.string_at(m["compartment_id"], prefix + ".compartment_id")) {
                a.compartment_id = *v;
            }
        }
        if (m["input_type"]) {
            if (auto v = l.string_at(m["input_type"], prefix + ".input_type")) {
                a.input_type = upper(*v);
                static const std::set<std::string> types{"SEARCH_DOCUMENT", "SEARCH_QUERY",
                                                         "CLASSIFICATION", "CLUSTERING", "IMAGE"};
                if (types.count(a.input_type) == 0) {
                    l.error(prefix + ".input_type",
                            "must be SEARCH_DOCUMENT, SEARCH_QUERY, CLASSIFICATION, CLUSTERING or "
                            "IMAGE");
                }
            }
        }
        models.push_back(std::move(a));
    }
}

void load_defaults(loader& l, const YAML::Node& n, generation_defaults& d)
{
    if (!l.check_map(n, "defaults",
                     {"max_tokens", "temperature", "top_p", "frequency_penalty", "presence_penalty",
                      "top_k"})) {
        return;
    }
    if (n["max_tokens"]) {
        if (auto v = l.integer_at(n["max_tokens"], "defaults.max_tokens", 1, 1000000)) {
            d.max_tokens = static_cast<int>(*v);
        }
    }
    if (n["top_k"]) {
        if (auto v = l.integer_at(n["top_k"], "defaults.top_k", 0, 1000000)) {
            d.top_k = static_cast<int>(*v);
        }
    }
    auto ranged = [&](const char* key, double lo, double hi, double& out) {
        if (!n[key]) {
            return;
        }
        std::string full = std::string("defaults.") + key;
        if (auto v = l.number_at(n[key], full)) {
            if (*v < lo || *v > hi) {
                std::ostringstream msg;
                msg << "must be between " << lo << " and " << hi << ", got " << *v;
                l.error(full, msg.str());
            } else {
                out = *v;
            }
        }
    };
    ranged("temperature", 0.0, 2.0, d.temperature);
    ranged("top_p", 0.0, 1.0, d.top_p);
    ranged("frequency_penalty", -2.0, 2.0, d.frequency_penalty);
    ranged("presence_penalty", -2.0, 2.0, d.presence_penalty);
}

void load_limits(loader& l, const YAML::Node& n, limits_config& lim)
{
    if (!l.check_map(n, "limits",
                     {"max_body_bytes", "max_header_bytes", "max_header_count", "max_uri_bytes",
                      "max_connections", "max_requests_per_connection", "max_inflight_upstream",
                      "max_json_depth", "max_messages", "max_tools", "max_schema_nodes",
                      "max_embedding_inputs"})) {
        return;
    }
    auto size = [&](const char* key, std::size_t& out) {
        if (n[key]) {
            if (auto v = l.size_at(n[key], std::string("limits.") + key)) {
                out = *v;
            }
        }
    };
    auto count = [&](const char* key, long long lo, long long hi, std::size_t& out) {
        if (n[key]) {
            if (auto v = l.integer_at(n[key], std::string("limits.") + key, lo, hi)) {
                out = static_cast<std::size_t>(*v);
            }
        }
    };
    size("max_body_bytes", lim.max_body_bytes);
    size("max_header_bytes", lim.max_header_bytes);
    size("max_uri_bytes", lim.max_uri_bytes);
    count("max_header_count", 1, 10000, lim.max_header_count);
    count("max_connections", 1, 1000000, lim.max_connections);
    count("max_requests_per_connection", 1, 100000000, lim.max_requests_per_connection);
    count("max_inflight_upstream", 1, 1000000, lim.max_inflight_upstream);
    count("max_json_depth", 2, 1000, lim.max_json_depth);
    count("max_messages", 1, 1000000, lim.max_messages);
    count("max_tools", 1, 100000, lim.max_tools);
    count("max_schema_nodes", 16, 100000000, lim.max_schema_nodes);
    count("max_embedding_inputs", 1, 1000000, lim.max_embedding_inputs);
    if (lim.max_header_bytes < 256) {
        l.error("limits.max_header_bytes", "must be at least 256");
    }
    if (lim.max_uri_bytes >= lim.max_header_bytes) {
        l.error("limits.max_uri_bytes", "must be smaller than limits.max_header_bytes");
    }
}

void load_timeouts(loader& l, const YAML::Node& n, timeouts_config& t)
{
    if (!l.check_map(n, "timeouts",
                     {"request_header", "request_body", "keepalive_idle", "drain", "write_stall",
                      "upstream_connect", "upstream_first_byte", "upstream_stream_idle",
                      "upstream_total"})) {
        return;
    }
    auto dur = [&](const char* key, std::chrono::milliseconds& out) {
        if (n[key]) {
            if (auto v = l.duration_at(n[key], std::string("timeouts.") + key)) {
                out = *v;
            }
        }
    };
    dur("request_header", t.request_header);
    dur("request_body", t.request_body);
    dur("keepalive_idle", t.keepalive_idle);
    dur("drain", t.drain);
    dur("write_stall", t.write_stall);
    dur("upstream_connect", t.upstream_connect);
    dur("upstream_first_byte", t.upstream_first_byte);
    dur("upstream_stream_idle", t.upstream_stream_idle);
    dur("upstream_total", t.upstream_total);
}

void load_log(loader& l, const YAML::Node& n, log_config& lg)
{
    if (!l.check_map(n, "log", {"level", "format", "access_log"})) {
        return;
    }
    if (n["level"]) {
        if (auto v = l.string_at(n["level"], "log.level")) {
            lg.level = *v;
        }
    }
    if (n["format"]) {
        if (auto v = l.string_at(n["format"], "log.format")) {
            if (*v == "json") {
                lg.json = true;
            } else if (*v == "text") {
                lg.json = false;
            } else {
                l.error("log.format", "must be text or json, got '" + *v + "'");
            }
        }
    }
    if (n["access_log"]) {
        if (auto v = l.bool_at(n["access_log"], "log.access_log")) {
            lg.access_log = *v;
        }
    }
}

// Reads the YAML tree into `c`, reporting problems through `l`.
void load_tree(loader& l, const YAML::Node& root, config& c)
{
    if (!root || root.IsNull()) {
        return;  // an empty file: defaults and environment only
    }
    if (!l.check_map(root, "",
                     {"listen", "threads", "oci", "clients", "models", "models_discovery",
                      "defaults", "limits", "timeouts", "log"})) {
        return;
    }
    if (root["listen"]) {
        if (auto v = l.string_at(root["listen"], "listen")) {
            if (!parse_listen(*v, c.listen_host, c.listen_port)) {
                l.error("listen",
                        "must be address:port with an IP address (e.g. 127.0.0.1:8080, "
                        "0.0.0.0:8080, [::]:8080), got '" +
                            *v + "'");
            }
        }
    }
    if (root["threads"]) {
        if (auto v = l.integer_at(root["threads"], "threads", 0, 256)) {
            c.threads = static_cast<unsigned>(*v);
        }
    }
    if (root["oci"]) {
        load_oci(l, root["oci"], c.oci);
    }
    if (root["clients"]) {
        load_clients(l, root["clients"], c.clients);
    }
    if (root["models"]) {
        load_models(l, root["models"], c.models);
    }
    if (root["models_discovery"]) {
        if (auto v = l.bool_at(root["models_discovery"], "models_discovery")) {
            c.oci.models_discovery = *v;
        }
    }
    if (root["defaults"]) {
        load_defaults(l, root["defaults"], c.defaults);
    }
    if (root["limits"]) {
        load_limits(l, root["limits"], c.limits);
    }
    if (root["timeouts"]) {
        load_timeouts(l, root["timeouts"], c.timeouts);
    }
    if (root["log"]) {
        load_log(l, root["log"], c.log);
    }
}

// OGP_* variables override the file; OCI_* SDK conventions fill what the file leaves empty.
void apply_env(loader& l, config& c)
{
    const std::string src = "environment";
    auto env_error = [&](const std::string& var, const std::string& what) {
        l.errors().push_back(src + ": " + var + ": " + what);
    };
    if (auto v = l.env("OGP_LISTEN")) {
        if (!parse_listen(*v, c.listen_host, c.listen_port)) {
            env_error("OGP_LISTEN", "must be host:port, got '" + *v + "'");
        }
    }
    if (auto v = l.env("OGP_THREADS")) {
        unsigned n = 0;
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc() || p != v->data() + v->size() || n > 256) {
            env_error("OGP_THREADS", "must be an integer from 0 to 256");
        } else {
            c.threads = n;
        }
    }
    auto str = [&](const char* var, std::string& out) {
        if (auto v = l.env(var)) {
            out = *v;
        }
    };
    str("OGP_REGION", c.oci.region);
    str("OGP_COMPARTMENT_ID", c.oci.compartment_id);
    str("OGP_OCI_CONFIG_FILE", c.oci.config_file);
    str("OGP_OCI_PROFILE", c.oci.profile);
    str("OGP_ENDPOINT", c.oci.endpoint);
    str("OGP_CA_FILE", c.oci.ca_file);
    str("OGP_METADATA_URL", c.oci.metadata_url);
    str("OGP_FEDERATION_URL", c.oci.federation_url);
    str("OGP_API_KEYS_FILE", c.clients.api_keys_file);
    str("OGP_LOG_LEVEL", c.log.level);
    if (auto v = l.env("OGP_AUTH")) {
        if (auto m = parse_auth(*v)) {
            c.oci.auth = *m;
        } else {
            env_error("OGP_AUTH",
                      "must be one of instance_principal, api_key, session_token, "
                      "resource_principal, got '" +
                          *v + "'");
        }
    }
    if (auto v = l.env("OGP_LOG_FORMAT")) {
        if (*v == "json" || *v == "text") {
            c.log.json = *v == "json";
        } else {
            env_error("OGP_LOG_FORMAT", "must be text or json");
        }
    }
    auto flag = [&](const char* var, bool& out) {
        if (auto v = l.env(var)) {
            if (*v == "true" || *v == "1" || *v == "yes") {
                out = true;
            } else if (*v == "false" || *v == "0" || *v == "no") {
                out = false;
            } else {
                env_error(var, "must be true or false");
            }
        }
    };
    flag("OGP_ALLOW_ANONYMOUS", c.clients.allow_anonymous);
    flag("OGP_MODELS_DISCOVERY", c.oci.models_discovery);
    if (auto v = l.env("OGP_API_KEYS")) {
        for (auto& k : split_keys(*v, false)) {
            c.clients.api_keys.push_back(std::move(k));
        }
    }
    // OCI SDK conventions: used only where neither the file nor OGP_* said anything.
    auto fallback = [&](const char* var, std::string& out) {
        if (out.empty()) {
            if (auto v = l.env(var)) {
                out = *v;
            }
        }
    };
    fallback("OCI_METADATA_BASE_URL", c.oci.metadata_url);
    fallback("OCI_SDK_AUTH_CLIENT_REGION_URL", c.oci.federation_url);
    fallback("OCI_CONFIG_FILE", c.oci.config_file);
}

// Cross-field checks once file and environment are merged.
void validate(loader& l, config& c)
{
    const std::string& f = l.source();
    auto err = [&](const std::string& key, const std::string& what) {
        l.errors().push_back(f + ": " + key + ": " + what);
    };
    // Compartment: required, an OCID.
    if (c.oci.compartment_id.empty()) {
        err("oci.compartment_id", "is required (or set OGP_COMPARTMENT_ID)");
    } else if (!c.oci.compartment_id.starts_with("ocid1.") ||
               !is_token_like(c.oci.compartment_id) || c.oci.compartment_id.size() > 255) {
        err("oci.compartment_id",
            "must be an OCID (ocid1.<type>.<realm>..., e.g. ocid1.compartment.oc1..aaaa)");
    }
    // Region: a known id or short code, or a well-formed new region id.
    std::optional<region_info> region;
    if (!c.oci.region.empty()) {
        auto default_realm = l.env("OCI_DEFAULT_REALM");
        region = resolve_region(c.oci.region, default_realm ? *default_realm : std::string());
        if (!region) {
            err("oci.region",
                "unknown region '" + c.oci.region +
                    "' (use a region id such as us-chicago-1 or a short code such as ord)");
        } else {
            c.oci.region = region->id;
        }
    }
    // Endpoint: explicit URL, or derived from the region.
    if (!c.oci.endpoint.empty()) {
        while (c.oci.endpoint.size() > 1 && c.oci.endpoint.back() == '/') {
            c.oci.endpoint.pop_back();
        }
        if (!is_http_url(c.oci.endpoint)) {
            err("oci.endpoint", "must be an http(s):// URL");
        }
    } else if (region) {
        c.oci.endpoint = inference_endpoint(*region);
    }
    for (auto [key, value] :
         {std::pair<const char*, std::string*>{"oci.metadata_url", &c.oci.metadata_url},
          {"oci.federation_url", &c.oci.federation_url}}) {
        if (!value->empty() && !is_http_url(*value)) {
            err(key, "must be an http(s):// URL");
        }
    }
    if (!c.oci.ca_file.empty()) {
        if (!readable_file(c.oci.ca_file)) {
            err("oci.ca_file", "cannot read file '" + c.oci.ca_file + "'");
        } else {
            // The same check the TLS context makes at start: PEM certificates OpenSSL accepts.
            X509_STORE* store = X509_STORE_new();
            bool ok = store != nullptr && X509_STORE_load_file(store, c.oci.ca_file.c_str()) == 1;
            X509_STORE_free(store);
            if (!ok) {
                err("oci.ca_file",
                    "'" + c.oci.ca_file + "' holds no PEM certificate OpenSSL accepts");
            }
        }
    }
    if (c.oci.profile.empty() || !is_token_like(c.oci.profile)) {
        err("oci.profile", "must be a profile name");
    }
    // Client keys: file merged into the list; each key printable, no whitespace.
    if (!c.clients.api_keys_file.empty()) {
        std::ifstream in(c.clients.api_keys_file);
        if (!readable_file(c.clients.api_keys_file) || !in) {
            err("clients.api_keys_file", "cannot read file '" + c.clients.api_keys_file + "'");
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
            err("clients.api_keys", "key #" + std::to_string(i + 1) +
                                        " must be 1 to 512 printable characters without spaces");
        }
    }
    if (c.clients.api_keys.empty() && !c.clients.allow_anonymous) {
        err("clients",
            "no client API keys configured (clients.api_keys, clients.api_keys_file or "
            "OGP_API_KEYS); set clients.allow_anonymous: true to run without client "
            "authentication");
    }
    // Models: unique names, safe ids.
    std::set<std::string> names;
    for (std::size_t i = 0; i < c.models.size(); ++i) {
        const auto& m = c.models[i];
        std::string prefix = "models[" + std::to_string(i) + "]";
        if (!m.name.empty() && !names.insert(m.name).second) {
            err(prefix + ".name", "duplicate model name '" + m.name + "'");
        }
        if (!m.name.empty() && (!is_token_like(m.name) || m.name.size() > 256)) {
            err(prefix + ".name", "must be printable without spaces");
        }
        if (!m.id.empty() && (!is_token_like(m.id) || m.id.size() > 512)) {
            err(prefix + ".id", "must be printable without spaces");
        }
        if (!m.compartment_id.empty() &&
            (!m.compartment_id.starts_with("ocid1.") || !is_token_like(m.compartment_id))) {
            err(prefix + ".compartment_id", "must be an OCID");
        }
    }
    if (!valid_log_level(c.log.level)) {
        err("log.level", "must be one of trace, debug, info, warn, error, critical, off, got '" +
                             c.log.level + "'");
    }
}

config_result finish(loader& l, config c)
{
    apply_env(l, c);
    validate(l, c);
    config_result r;
    r.errors = std::move(l.errors());
    if (r.errors.empty()) {
        c.source = l.source();
        r.value = std::move(c);
    }
    return r;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text)
{
    std::string s = trim(text);
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
    std::string unit = trim(std::string_view(s).substr(i));
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
        load_tree(l, root, c);
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
