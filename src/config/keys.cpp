// The configuration key table: every key, its environment variables, kind, bounds, checks and
// description, written once. The reading machinery is in config.cpp.
#include "keys.hpp"

#include <arpa/inet.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>

namespace ogp::config_detail {

bool is_token_like(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

bool is_project_ocid(std::string_view s)
{
    return s.starts_with("ocid1.generativeaiproject.") && is_token_like(s) && s.size() <= 255;
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

std::optional<std::string> check_spool_dir(const std::string& v)
{
    limits_config l;
    l.spool_dir = v;
    const std::string dir = l.spool_directory();
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return "'" + dir + "' is not a directory" +
               (v.empty() ? std::string(" (from $TMPDIR, else /var/tmp)") : std::string());
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        return "'" + dir + "' is not writable" +
               (v.empty() ? std::string(" (from $TMPDIR, else /var/tmp)") : std::string());
    }
    return std::nullopt;
}

std::optional<std::string> check_readable_file(const std::string& path)
{
    if (path.empty() || readable_file(path)) {
        return std::nullopt;
    }
    return "cannot read file '" + path + "'";
}

std::optional<listen_address> parse_listen_address(std::string_view s, unsigned min_port)
{
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view h = s.substr(0, colon);
    std::string_view p = s.substr(colon + 1);
    // IPv6 literals are bracketed: [::1]:8080.
    if (h.starts_with('[')) {
        if (!h.ends_with(']')) {
            return std::nullopt;
        }
        h = h.substr(1, h.size() - 2);
    }
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || port > 65535 ||
        port < min_port) {
        return std::nullopt;
    }
    std::string host = h.empty() ? "0.0.0.0" : std::string(h);
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    // The listener binds an address, not a name.
    in6_addr a6{};
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1 && inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
        return std::nullopt;
    }
    return listen_address{std::move(host), static_cast<std::uint16_t>(port)};
}

std::string format_listen_address(const std::string& host, std::uint16_t port)
{
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool listen_conflict(const std::string& host_a, std::uint16_t port_a, const std::string& host_b,
                     std::uint16_t port_b)
{
    // Port 0 is an ephemeral port: never the same as another listener's.
    if (port_a != port_b || port_a == 0) {
        return false;
    }
    // A wildcard takes the port on every address (`::` on IPv4 too, as Linux binds it dual-stack).
    auto wildcard = [](const std::string& h) {
        in6_addr a6{};
        in_addr a4{};
        if (inet_pton(AF_INET, h.c_str(), &a4) == 1) {
            return a4.s_addr == htonl(INADDR_ANY);
        }
        return inet_pton(AF_INET6, h.c_str(), &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
    };
    return host_a == host_b || wildcard(host_a) || wildcard(host_b);
}

bool is_key_name(std::string_view s)
{
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-';
    });
}

bool is_default_key_name(std::string_view s)
{
    return s.size() == 12 && s.starts_with("key-") &&
           std::all_of(s.begin() + 4, s.end(), [](unsigned char c) { return std::isxdigit(c); });
}

namespace {

// A DNS name: dot-separated labels of letters, digits and inner hyphens, 1..63 each.
bool is_dns_name(std::string_view s)
{
    if (s.empty() || s.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (start <= s.size()) {
        auto dot = s.find('.', start);
        auto label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        for (unsigned char c : label) {
            if (!std::isalnum(c) && c != '-') {
                return false;
            }
        }
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    return true;
}

// %XX decoding of a URL password; nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        unsigned v = 0;
        if (i + 2 >= s.size()) {
            return std::nullopt;
        }
        auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
        if (ec != std::errc() || p != s.data() + i + 3) {
            return std::nullopt;
        }
        out += static_cast<char>(v);
        i += 2;
    }
    return out;
}

// The detail of what is wrong, without the value.
std::optional<std::string> parse_store(limits_config& l, std::string_view s)
{
    l.store.clear();
    l.store_host.clear();
    l.store_port = 0;
    l.store_db = 0;
    l.store_password.clear();
    if (s.empty()) {
        return std::nullopt;
    }
    // No message below repeats the value: it may hold the password.
    constexpr std::string_view scheme = "redis://";
    if (!s.starts_with(scheme)) {
        return "only redis:// is supported (no rediss://, unix sockets or other schemes)";
    }
    std::string_view rest = s.substr(scheme.size());
    std::string password;
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view user_info = rest.substr(0, at);
        rest = rest.substr(at + 1);
        if (!user_info.starts_with(':')) {
            return "a password goes after a colon "
                   "(redis://:password@host), user names are not supported";
        }
        auto p = percent_decode(user_info.substr(1));
        if (!p || p->empty() || p->size() > 512 || !is_token_like(*p)) {
            return "the password must be 1 to 512 printable characters without spaces "
                   "(%XX escapes allowed; not shown)";
        }
        password = std::move(*p);
    }
    if (!is_token_like(rest)) {
        return "no spaces or control characters";
    }
    std::string_view authority = rest.substr(0, rest.find('/'));
    std::string_view path =
        authority.size() < rest.size() ? rest.substr(authority.size() + 1) : std::string_view();
    std::string_view host = authority;
    std::string_view port_text;
    std::string host_name;
    if (authority.starts_with('[')) {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return "an IPv6 host must be in brackets: redis://[::1]:6379";
        }
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty() && !after.starts_with(':')) {
            return "only a port may follow the host";
        }
        port_text = after.empty() ? after : after.substr(1);
        in6_addr a6{};
        host_name = std::string(host);
        if (inet_pton(AF_INET6, host_name.c_str(), &a6) != 1) {
            return "the host in brackets is not an IPv6 address";
        }
    } else {
        auto colon = authority.find(':');
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) {
                return "the port after ':' is missing";
            }
        }
        host_name = std::string(host);
        const bool numeric = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
        });
        in_addr a4{};
        if (numeric ? inet_pton(AF_INET, host_name.c_str(), &a4) != 1 : !is_dns_name(host)) {
            return "the host must be an IP address, [IPv6 address] or DNS name";
        }
    }
    unsigned port = 6379;
    if (!port_text.empty()) {
        auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || p != port_text.data() + port_text.size() || port < 1 ||
            port > 65535) {
            return "the port must be 1 to 65535";
        }
    }
    unsigned db = 0;
    if (!path.empty()) {
        auto [p, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
        if (ec != std::errc() || p != path.data() + path.size() || db > 15) {
            return "the database (after '/') must be 0 to 15";
        }
    }
    l.store_host = std::move(host_name);
    l.store_port = static_cast<std::uint16_t>(port);
    l.store_db = db;
    l.store_password = std::move(password);
    l.store =
        "redis://" + format_listen_address(l.store_host, l.store_port) + "/" + std::to_string(db);
    return std::nullopt;
}

}  // namespace

std::optional<std::string> set_limits_store(limits_config& l, std::string_view s)
{
    auto why = parse_store(l, s);
    if (!why) {
        return std::nullopt;
    }
    set_limits_store(l, "");  // nothing half-parsed stays
    return "must be redis://[:password@]host[:port][/db]: " + *why;
}

namespace {

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

// --- custom keys ---------------------------------------------------------------------------

std::optional<std::string> set_listen(config& c, std::string_view s)
{
    auto a = parse_listen_address(s, 0);
    if (!a) {
        return "must be address:port with an IP address (e.g. 127.0.0.1:8080, 0.0.0.0:8080, "
               "[::]:8080), got '" +
               std::string(s) + "'";
    }
    c.listen_host = std::move(a->host);
    c.listen_port = a->port;
    return std::nullopt;
}

std::string get_listen(const config& c)
{
    return format_listen_address(c.listen_host, c.listen_port);
}

// Empty: `/metrics` on the main listener. Port 0 is refused: scrapers need a known port.
std::optional<std::string> set_metrics_listen(config& c, std::string_view s)
{
    if (s.empty()) {
        c.metrics.listen.clear();
        c.metrics.listen_host.clear();
        c.metrics.listen_port = 0;
        return std::nullopt;
    }
    auto a = parse_listen_address(s, 1);
    if (!a) {
        return "must be address:port with an IP address and a port 1-65535 (e.g. "
               "127.0.0.1:9464, [::1]:9464), got '" +
               std::string(s) + "'";
    }
    c.metrics.listen = format_listen_address(a->host, a->port);
    c.metrics.listen_host = std::move(a->host);
    c.metrics.listen_port = a->port;
    return std::nullopt;
}

std::string get_metrics_listen(const config& c)
{
    return c.metrics.listen.empty() ? std::string("\"\"") : c.metrics.listen;
}

std::optional<std::string> set_auth(config& c, std::string_view s)
{
    for (auto m : {auth_mode::instance_principal, auth_mode::api_key, auth_mode::session_token,
                   auth_mode::resource_principal, auth_mode::genai_api_key}) {
        if (to_string(m) == s) {
            c.oci.auth = m;
            return std::nullopt;
        }
    }
    return "must be one of instance_principal, api_key, session_token, resource_principal, "
           "genai_api_key, got '" +
           std::string(s) + "'";
}

std::string get_auth(const config& c)
{
    return std::string(to_string(c.oci.auth));
}

std::optional<std::string> set_log_format(config& c, std::string_view s)
{
    if (s != "json" && s != "text") {
        return "must be text or json, got '" + std::string(s) + "'";
    }
    c.log.json = s == "json";
    return std::nullopt;
}

std::string get_log_format(const config& c)
{
    return c.log.json ? "json" : "text";
}

// --- checks after merging ------------------------------------------------------------------

std::optional<std::string> check_compartment(const std::string& v)
{
    if (!v.starts_with("ocid1.") || !is_token_like(v) || v.size() > 255) {
        return "must be an OCID (ocid1.<type>.<realm>..., e.g. ocid1.compartment.oc1..aaaa)";
    }
    return std::nullopt;
}

std::optional<std::string> check_project(const std::string& v)
{
    if (!v.empty() && !is_project_ocid(v)) {
        return std::string(project_ocid_message);
    }
    return std::nullopt;
}

std::optional<std::string> check_url(const std::string& v)
{
    if (!v.empty() && !is_http_url(v)) {
        return "must be an http(s):// URL";
    }
    return std::nullopt;
}

std::optional<std::string> check_ca_file(const std::string& v)
{
    if (v.empty()) {
        return std::nullopt;
    }
    if (!readable_file(v)) {
        return "cannot read file '" + v + "'";
    }
    // The same check the TLS context makes at start: PEM certificates OpenSSL accepts.
    X509_STORE* store = X509_STORE_new();
    bool ok = store != nullptr && X509_STORE_load_file(store, v.c_str()) == 1;
    X509_STORE_free(store);
    if (!ok) {
        return "'" + v + "' holds no PEM certificate OpenSSL accepts";
    }
    return std::nullopt;
}

std::optional<std::string> check_profile(const std::string& v)
{
    if (v.empty() || !is_token_like(v)) {
        return "must be a profile name";
    }
    return std::nullopt;
}

std::optional<std::string> check_truncate(const std::string& v)
{
    if (v != "none" && v != "start" && v != "end") {
        return "must be none, start or end";
    }
    return std::nullopt;
}

std::optional<std::string> check_log_level(const std::string& v)
{
    static const std::set<std::string_view> levels{"trace", "debug",    "info", "warn",
                                                   "error", "critical", "off"};
    if (levels.count(v) == 0) {
        return "must be one of trace, debug, info, warn, error, critical, off, got '" + v + "'";
    }
    return std::nullopt;
}

// --- model fields --------------------------------------------------------------------------

std::optional<std::string> set_model_name(model_alias& m, const std::string& v)
{
    m.name = v;
    return std::nullopt;
}

std::optional<std::string> set_model_id(model_alias& m, const std::string& v)
{
    m.id = v;
    return std::nullopt;
}

std::optional<std::string> set_model_format(model_alias& m, const std::string& v)
{
    const std::string u = text::to_upper(v);
    for (auto f : {api_format::generic, api_format::cohere, api_format::coherev2}) {
        if (to_string(f) == u) {
            m.format = f;
            return std::nullopt;
        }
    }
    return "must be GENERIC, COHERE or COHEREV2, got '" + v + "'";
}

std::optional<std::string> set_model_compartment(model_alias& m, const std::string& v)
{
    m.compartment_id = v;
    return std::nullopt;
}

std::optional<std::string> set_model_input_type(model_alias& m, const std::string& v)
{
    static const std::set<std::string> types{"SEARCH_DOCUMENT", "SEARCH_QUERY", "CLASSIFICATION",
                                             "CLUSTERING", "IMAGE"};
    m.input_type = text::to_upper(v);
    if (types.count(m.input_type) == 0) {
        return "must be SEARCH_DOCUMENT, SEARCH_QUERY, CLASSIFICATION, CLUSTERING or IMAGE";
    }
    return std::nullopt;
}

std::optional<std::string> set_model_max_tokens(model_alias& m, const std::string& v)
{
    // The same bounds as defaults.max_tokens.
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || n < 1 || n > 1000000) {
        return "must be an integer between 1 and 1000000, got '" + v + "'";
    }
    m.max_tokens = n;
    return std::nullopt;
}

std::optional<std::string> set_model_max_completion_tokens(model_alias& m, const std::string& v)
{
    bool b = false;
    if (!YAML::convert<bool>::decode(YAML::Node(v), b)) {
        return "must be true or false, got '" + v + "'";
    }
    m.max_completion_tokens = b;
    return std::nullopt;
}

std::optional<std::string> set_model_route(model_alias& m, const std::string& v)
{
    if (v == "native") {
        m.route = model_route::native;
    } else if (v == "openai") {
        m.route = model_route::openai;
    } else {
        return "must be native or openai, got '" + v + "'";
    }
    return std::nullopt;
}

std::optional<std::string> set_model_project(model_alias& m, const std::string& v)
{
    m.project_id = v;  // kept when refused: "is required" would only repeat the problem
    if (!is_project_ocid(v)) {
        return std::string(project_ocid_message);
    }
    return std::nullopt;
}

// Kept raw: resolved to canonical ids (and checked) once oci.endpoints is known.
std::optional<std::string> add_model_region(model_alias& m, const std::string& v)
{
    m.regions.push_back(v);
    return std::nullopt;
}

// Checked once every alias is known.
std::optional<std::string> add_model_fallback(model_alias& m, const std::string& v)
{
    m.fallbacks.push_back(v);
    return std::nullopt;
}

constexpr model_field model_field_table[] = {
    {"name", true, set_model_name},
    {"id", true, set_model_id},
    {"format", false, set_model_format},
    {"compartment_id", false, set_model_compartment},
    {"input_type", false, set_model_input_type},
    {"max_tokens", false, set_model_max_tokens},
    {"max_completion_tokens", false, set_model_max_completion_tokens},
    {"route", false, set_model_route},
    {"project_id", false, set_model_project},
    {"regions", false, nullptr, add_model_region},
    {"fallbacks", false, nullptr, add_model_fallback},
};

// --- clients.keys fields -------------------------------------------------------------------
// Read as is; names, keys and model lists are checked together in validation (uniqueness,
// aliases). No message here contains a key.

std::optional<std::string> set_key_name(client_key_config& k, const std::string& v)
{
    k.name = v;
    if (v.empty()) {
        return "must be 1 to 64 of A-Z a-z 0-9 . _ -, got ''";  // else validation says it
    }
    return std::nullopt;
}

std::optional<std::string> set_key_key(client_key_config& k, const std::string& v)
{
    k.key = v;
    return std::nullopt;
}

std::optional<std::string> set_key_sha256(client_key_config& k, const std::string& v)
{
    k.key_sha256 = v;
    return std::nullopt;
}

std::optional<std::string> add_key_model(client_key_config& k, const std::string& v)
{
    k.models.push_back(v);
    return std::nullopt;
}

constexpr std::uint64_t max_key_limit = 1000000000;

std::optional<std::string> parse_limit(std::uint64_t& out, const std::string& v)
{
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n > max_key_limit) {
        return "must be an integer between 0 and " + std::to_string(max_key_limit) +
               " (0: unlimited), got '" + v + "'";
    }
    out = n;
    return std::nullopt;
}

std::optional<std::string> set_key_rpm(client_key_config& k, const std::string& v)
{
    return parse_limit(k.rpm, v);
}

std::optional<std::string> set_key_tpm(client_key_config& k, const std::string& v)
{
    return parse_limit(k.tpm, v);
}

std::optional<std::string> set_key_concurrent(client_key_config& k, const std::string& v)
{
    return parse_limit(k.max_concurrent, v);
}

std::optional<std::string> set_key_streams(client_key_config& k, const std::string& v)
{
    return parse_limit(k.max_streams, v);
}

constexpr client_key_field client_key_field_table[] = {
    {"name", true, set_key_name},
    {"key", false, set_key_key},
    {"key_sha256", false, set_key_sha256},
    {"models", false, nullptr, add_key_model},
    {"rpm", false, set_key_rpm},
    {"tpm", false, set_key_tpm},
    {"max_concurrent", false, set_key_concurrent},
    {"max_streams", false, set_key_streams},
};

// --- limits.store --------------------------------------------------------------------------

std::optional<std::string> set_store(config& c, std::string_view s)
{
    return set_limits_store(c.limits, s);
}

std::string get_store(const config& c)
{
    if (c.limits.store.empty()) {
        return "\"\" (in-process)";
    }
    return c.limits.store + (c.limits.store_password.empty() ? "" : " password (set)");
}

std::optional<std::string> set_store_failure(config& c, std::string_view s)
{
    if (s == "open") {
        c.limits.store_fail_open = true;
    } else if (s == "closed") {
        c.limits.store_fail_open = false;
    } else {
        return "must be open or closed, got '" + std::string(s) + "'";
    }
    return std::nullopt;
}

std::string get_store_failure(const config& c)
{
    return c.limits.store_fail_open ? "open" : "closed";
}

// --- the table -----------------------------------------------------------------------------

// Binds an entry to a member of `config`, for reading and for writing.
// clang-format off
#define OGP_FIELD(member)                                       \
    key_field{+[](config& c) -> auto& { return c.member; },     \
              +[](const config& c) -> auto& { return c.member; }}
// clang-format on

// One builder per common shape, so that most keys take a line or two; the few unusual keys
// use designated initializers.
constexpr key_entry text_key(std::string_view path, field_ref f, std::string_view env,
                             std::string_view help, value_check check = nullptr)
{
    return {
        .path = path, .kind = key_kind::text, .help = help, .field = f, .env = env, .check = check};
}

constexpr key_entry flag_key(std::string_view path, field_ref f, std::string_view env,
                             std::string_view help)
{
    return {.path = path, .kind = key_kind::flag, .help = help, .field = f, .env = env};
}

constexpr key_entry integer_key(std::string_view path, field_ref f, double lo, double hi,
                                std::string_view help)
{
    return {.path = path, .kind = key_kind::integer, .help = help, .field = f, .lo = lo, .hi = hi};
}

constexpr key_entry number_key(std::string_view path, field_ref f, double lo, double hi,
                               std::string_view help)
{
    return {.path = path, .kind = key_kind::number, .help = help, .field = f, .lo = lo, .hi = hi};
}

constexpr key_entry size_key(std::string_view path, field_ref f, std::string_view help,
                             double min = 0)
{
    return {.path = path, .kind = key_kind::size, .help = help, .field = f, .lo = min};
}

constexpr key_entry duration_key(std::string_view path, field_ref f, std::string_view help)
{
    return {.path = path, .kind = key_kind::duration, .help = help, .field = f};
}

constexpr key_entry custom_key(std::string_view path, std::string_view kind_name, custom_set set,
                               custom_get get, std::string_view env, std::string_view help)
{
    return {.path = path,
            .kind = key_kind::custom,
            .help = help,
            .env = env,
            .set = set,
            .get = get,
            .kind_name = kind_name};
}

// With an OCI SDK variable as the last resort.
constexpr key_entry with_sdk_env(key_entry e, std::string_view sdk_env)
{
    e.sdk_env = sdk_env;
    return e;
}

// clang-format off
// Reading order, which is also the order of errors and of describe_config(). Each section's
// keys stay together: the reader checks a section's key names once, on its first key.
constexpr key_entry table[] = {
    custom_key("listen", "address:port", set_listen, get_listen, "OGP_LISTEN",
               "address and port to listen on; IPv6 in brackets, localhost means 127.0.0.1"),
    {.path = "threads", .kind = key_kind::integer, .help = "I/O threads; 0: one per hardware thread",
     .field = OGP_FIELD(threads), .env = "OGP_THREADS", .lo = 0, .hi = 256},
    // `env` in the builders below: OGP_* variable that overrides the file.
    text_key("oci.region", OGP_FIELD(oci.region), "OGP_REGION",
             "region id or short code; empty: learnt from the instance metadata"),
    {.path = "oci.compartment_id", .kind = key_kind::text,
     .help = "compartment OCID requests are billed to", .field = OGP_FIELD(oci.compartment_id),
     .env = "OGP_COMPARTMENT_ID", .check = check_compartment, .required = true},
    with_sdk_env(text_key("oci.config_file", OGP_FIELD(oci.config_file), "OGP_OCI_CONFIG_FILE",
                          "OCI CLI config file (api_key, session_token); default ~/.oci/config"),
                 "OCI_CONFIG_FILE"),
    text_key("oci.profile", OGP_FIELD(oci.profile), "OGP_OCI_PROFILE",
             "profile in the OCI config file", check_profile),
    text_key("oci.endpoint", OGP_FIELD(oci.endpoint), "OGP_ENDPOINT",
             "inference base URL; empty: derived from the region", check_url),
    text_key("oci.ca_file", OGP_FIELD(oci.ca_file), "OGP_CA_FILE",
             "extra PEM trust anchors for upstream TLS", check_ca_file),
    with_sdk_env(text_key("oci.metadata_url", OGP_FIELD(oci.metadata_url), "OGP_METADATA_URL",
                          "instance metadata (IMDS) base URL", check_url),
                 "OCI_METADATA_BASE_URL"),
    with_sdk_env(text_key("oci.federation_url", OGP_FIELD(oci.federation_url), "OGP_FEDERATION_URL",
                          "instance principal federation URL; empty: derived from the region",
                          check_url),
                 "OCI_SDK_AUTH_CLIENT_REGION_URL"),
    custom_key("oci.auth",
               "instance_principal|api_key|session_token|resource_principal|genai_api_key",
               set_auth, get_auth, "OGP_AUTH",
               "how the daemon authenticates to OCI; genai_api_key: a GenAI API key as Bearer "
               "token (route: openai aliases only)"),
    text_key("oci.project_id", OGP_FIELD(oci.project_id), "OGP_OCI_PROJECT_ID",
             "GenAI project OCID (ocid1.generativeaiproject...): OpenAI-Project on route: openai "
             "and where stored responses, files, ... live", check_project),
    {.path = "oci.endpoints", .kind = key_kind::endpoints,
     .help = "inference base URL per region (region id or short code: URL), for models[].regions; "
             "environment: region=url,...",
     .env = "OGP_OCI_ENDPOINTS"},
    text_key("oci.genai_api_key_file", OGP_FIELD(oci.genai_api_key_file),
             "OGP_GENAI_API_KEY_FILE",
             "oci.auth: genai_api_key: file holding the GenAI API key; else $OCI_GENAI_API_KEY"),
    // The key itself never comes from the config file: described as (set) or (not set).
    {.path = "oci.genai_api_key", .kind = key_kind::text,
     .help = "the GenAI API key in use, from oci.genai_api_key_file or the variable; never shown",
     .field = OGP_FIELD(oci.genai_api_key), .sdk_env = "OCI_GENAI_API_KEY", .secret = true,
     .derived = true},

    {.path = "clients.api_keys", .kind = key_kind::text_list,
     .help = "client API keys (Bearer tokens); the environment's are added",
     .field = OGP_FIELD(clients.api_keys), .env = "OGP_API_KEYS", .secret = true},
    text_key("clients.api_keys_file", OGP_FIELD(clients.api_keys_file), "OGP_API_KEYS_FILE",
             "file of client API keys, one a line, # comments"),
    flag_key("clients.allow_anonymous", OGP_FIELD(clients.allow_anonymous), "OGP_ALLOW_ANONYMOUS",
             "accept clients without an API key"),
    {.path = "clients.keys", .kind = key_kind::client_keys,
     .help = "named client keys: name, key or key_sha256, models (aliases or globs; empty: all), "
             "rpm, tpm, max_concurrent, max_streams (0: unlimited)"},

    {.path = "models", .kind = key_kind::models,
     .help = "model aliases: client-visible name to OCI model id or endpoint; route: native "
             "(default, OCI's chat API) or openai (OCI's OpenAI-compatible API, with project_id "
             "or oci.project_id under IAM auth)"},
    flag_key("models_discovery", OGP_FIELD(oci.models_discovery), "OGP_MODELS_DISCOVERY",
             "merge OCI's model list into /v1/models"),

    // Unset by default: the model family's maximum output, and no sampling value sent.
    integer_key("defaults.max_tokens", OGP_FIELD(defaults.max_tokens), 1, 1000000,
                "max_tokens when neither the request nor the alias has one; unset: the model "
                "family's maximum output"),
    integer_key("defaults.top_k", OGP_FIELD(defaults.top_k), 0, 500,
                "top_k when a request has none; unset or 0: not sent (at most 500: Cohere's limit)"),
    number_key("defaults.temperature", OGP_FIELD(defaults.temperature), 0, 2,
               "temperature when a request has none; unset: not sent"),
    number_key("defaults.top_p", OGP_FIELD(defaults.top_p), 0, 1,
               "top_p when a request has none; unset: not sent"),
    number_key("defaults.frequency_penalty", OGP_FIELD(defaults.frequency_penalty), -2, 2,
               "frequency_penalty when a request has none; unset or 0: not sent"),
    number_key("defaults.presence_penalty", OGP_FIELD(defaults.presence_penalty), -2, 2,
               "presence_penalty when a request has none; unset or 0: not sent"),
    text_key("defaults.embeddings_truncate", OGP_FIELD(defaults.embeddings_truncate), "",
             "embeddings truncate when a request has none: none (a too-long input is a 400, as "
             "with OpenAI), start or end", check_truncate),

    size_key("limits.max_body_bytes", OGP_FIELD(limits.max_body_bytes), "largest request body"),
    size_key("limits.max_upload_bytes", OGP_FIELD(limits.max_upload_bytes),
             "largest POST /v1/files upload (spooled to limits.spool_dir, not held in memory)"),
    text_key("limits.spool_dir", OGP_FIELD(limits.spool_dir), "OGP_SPOOL_DIR",
             "writable directory for spooled uploads (unlinked files); empty: $TMPDIR, else "
             "/var/tmp; checked at start-up when oci.project_id is set (uploads are forwarded only "
             "then)"),
    size_key("limits.max_header_bytes", OGP_FIELD(limits.max_header_bytes), "largest request head",
             256),
    size_key("limits.max_uri_bytes", OGP_FIELD(limits.max_uri_bytes),
             "longest request target; below limits.max_header_bytes"),
    integer_key("limits.max_header_count", OGP_FIELD(limits.max_header_count), 1, 10000,
                "most header fields in a request"),
    integer_key("limits.max_connections", OGP_FIELD(limits.max_connections), 1, 1000000,
                "most client connections at once"),
    integer_key("limits.max_requests_per_connection",
                OGP_FIELD(limits.max_requests_per_connection), 1, 100000000,
                "requests served on one connection before it is closed"),
    integer_key("limits.max_inflight_upstream", OGP_FIELD(limits.max_inflight_upstream), 1, 1000000,
                "most upstream requests at once"),
    integer_key("limits.max_json_depth", OGP_FIELD(limits.max_json_depth), 2, 1000,
                "deepest JSON nesting in a request"),
    integer_key("limits.max_messages", OGP_FIELD(limits.max_messages), 1, 1000000,
                "most chat messages in a request"),
    integer_key("limits.max_tools", OGP_FIELD(limits.max_tools), 1, 100000,
                "most chat tools in a request"),
    integer_key("limits.max_schema_nodes", OGP_FIELD(limits.max_schema_nodes), 16, 100000000,
                "most JSON-schema nodes in a request, $refs inlined"),
    integer_key("limits.max_embedding_inputs", OGP_FIELD(limits.max_embedding_inputs), 1, 1000000,
                "most embeddings inputs in a request"),
    custom_key("limits.store", "redis://[:password@]host[:port][/db]", set_store, get_store,
               "OGP_LIMITS_STORE",
               "where client key limits are counted: empty: in-process; redis://...: shared by "
               "every replica using that Redis"),
    custom_key("limits.store_failure", "open|closed", set_store_failure, get_store_failure,
               "OGP_LIMITS_STORE_FAILURE",
               "when limits.store does not answer: open (count in-process) or closed (503)"),
    {.path = "limits.store_timeout", .kind = key_kind::duration,
     .help = "one limits.store round trip, connect included (1ms to 10s)",
     .field = OGP_FIELD(limits.store_timeout), .env = "OGP_LIMITS_STORE_TIMEOUT", .lo = 1,
     .hi = 10000},

    duration_key("timeouts.request_header", OGP_FIELD(timeouts.request_header),
                 "reading a request head, first byte to end"),
    duration_key("timeouts.request_body", OGP_FIELD(timeouts.request_body),
                 "reading a request body"),
    duration_key("timeouts.keepalive_idle", OGP_FIELD(timeouts.keepalive_idle),
                 "idle time between requests on one connection"),
    duration_key("timeouts.drain", OGP_FIELD(timeouts.drain), "graceful shutdown budget"),
    duration_key("timeouts.write_stall", OGP_FIELD(timeouts.write_stall), "one write to a client"),
    duration_key("timeouts.upstream_connect", OGP_FIELD(timeouts.upstream_connect),
                 "TCP connect and TLS handshake to OCI"),
    duration_key("timeouts.upstream_first_byte", OGP_FIELD(timeouts.upstream_first_byte),
                 "from sending a request to OCI's first byte"),
    duration_key("timeouts.upstream_stream_idle", OGP_FIELD(timeouts.upstream_stream_idle),
                 "silence within a streamed answer"),
    duration_key("timeouts.upstream_total", OGP_FIELD(timeouts.upstream_total),
                 "a whole non-streamed answer"),

    text_key("log.level", OGP_FIELD(log.level), "OGP_LOG_LEVEL",
             "trace, debug, info, warn, error, critical or off", check_log_level),
    custom_key("log.format", "text|json", set_log_format, get_log_format, "OGP_LOG_FORMAT",
               "log line format"),
    flag_key("log.access_log", OGP_FIELD(log.access_log), "", "one log line per request"),

    flag_key("metrics.enabled", OGP_FIELD(metrics.enabled), "OGP_METRICS_ENABLED",
             "serve Prometheus metrics at GET /metrics"),
    custom_key("metrics.listen", "host:port", set_metrics_listen, get_metrics_listen,
               "OGP_METRICS_LISTEN",
               "separate address:port for /metrics (e.g. 127.0.0.1:9464); empty: the main "
               "listener"),
    flag_key("metrics.require_key", OGP_FIELD(metrics.require_key), "OGP_METRICS_REQUIRE_KEY",
             "/metrics needs a client API key; unset: yes on the main listener, no on "
             "metrics.listen"),

    text_key("tls.cert_file", OGP_FIELD(tls.cert_file), "OGP_TLS_CERT_FILE",
             "PEM certificate (chain allowed) for HTTPS; empty: plain HTTP", check_readable_file),
    text_key("tls.key_file", OGP_FIELD(tls.key_file), "OGP_TLS_KEY_FILE",
             "PEM private key of tls.cert_file", check_readable_file),
    text_key("tls.client_ca_file", OGP_FIELD(tls.client_ca_file), "OGP_TLS_CLIENT_CA_FILE",
             "PEM CA certificates; set: clients must present a certificate they issued (mutual "
             "TLS)", check_readable_file),

    {.path = "circuit_breaker.failures", .kind = key_kind::integer,
     .help = "consecutive failures of an upstream host that open its circuit; 0: no breaker",
     .field = OGP_FIELD(circuit_breaker.failures), .env = "OGP_CIRCUIT_BREAKER_FAILURES", .lo = 0,
     .hi = 1000},
    {.path = "circuit_breaker.cooldown", .kind = key_kind::duration,
     .help = "how long an open circuit skips its host before a probe (100ms to 1h)",
     .field = OGP_FIELD(circuit_breaker.cooldown), .env = "OGP_CIRCUIT_BREAKER_COOLDOWN", .lo = 100,
     .hi = 3600000},
};
// clang-format on

#undef OGP_FIELD

}  // namespace

std::span<const key_entry> key_table()
{
    return table;
}

std::span<const model_field> model_fields()
{
    return model_field_table;
}

std::span<const client_key_field> client_key_fields()
{
    return client_key_field_table;
}

bool http_url(std::string_view s)
{
    return is_http_url(s);
}

}  // namespace ogp::config_detail
