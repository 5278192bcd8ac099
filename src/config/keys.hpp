#pragma once
// Internal to the config part: the one table of configuration keys. Each key is written once,
// here; the YAML reader, the environment reader, validation and describe_config() walk it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ogp/config/config.hpp"
#include "ogp/util/text.hpp"

namespace ogp::config_detail {

/// How a key's text is read. The kind fixes the parser, its error messages and its printing.
enum class key_kind {
    text,         ///< a string, taken as is
    flag,         ///< true or false
    integer,      ///< an integer within [lo, hi]
    number,       ///< a finite number within [lo, hi]
    size,         ///< bytes, with an optional unit (`64KiB`); at least lo when lo > 0
    duration,     ///< positive; see parse_duration()
    text_list,    ///< YAML: a list of strings; environment: comma-separated, appended
    custom,       ///< parsed and printed by the entry's own functions
    models,       ///< the `models` list of aliases (YAML only; fields in model_fields())
    client_keys,  ///< `clients.keys`: a list of named keys (YAML only; client_key_fields())
    endpoints,    ///< `oci.endpoints`: region -> URL; environment: `region=url,...` replaces
};

/// Where a value came from. Only flags differ: YAML booleans vs `true`/`1`/`yes` in the
/// environment, as the daemon always accepted.
enum class origin { file, environment };

/// Read and write access to one member of `config`, for a table entry.
template <class T>
struct key_field
{
    T& (*ref)(config&);
    const T& (*cref)(const config&);
};

// Spelled out because clang before 17 has no class template argument deduction for aggregates
// (the fuzz build uses clang 14).
template <class T>
key_field(T& (*)(config&), const T& (*)(const config&)) -> key_field<T>;

/// The member a table entry reads into; monostate for custom and models kinds. An optional
/// flag, integer or number is unset until configured (described as `(not set)`).
using field_ref = std::variant<std::monostate, key_field<std::string>, key_field<bool>,
                               key_field<int>, key_field<unsigned>, key_field<std::size_t>,
                               key_field<double>, key_field<std::chrono::milliseconds>,
                               key_field<std::vector<std::string>>, key_field<std::optional<int>>,
                               key_field<std::optional<double>>, key_field<std::optional<bool>>>;

/// Parses `text` into `c`; an error message (without key or source) when it is refused.
using custom_set = std::optional<std::string> (*)(config& c, std::string_view text);
/// Prints the value a custom key has in `c`.
using custom_get = std::string (*)(const config& c);
/// Checks a text value once file and environment are merged; an error message when refused.
using value_check = std::optional<std::string> (*)(const std::string& value);

/// One configuration key. `path` is `section.key` or a top-level `key`; sections are one
/// level deep. `env` overrides the file; `sdk_env` (OCI SDK convention, text keys only) is
/// used only when file and `env` left the value empty.
struct key_entry
{
    std::string_view path;
    key_kind kind;
    std::string_view help;  ///< one line, for config_keys()
    field_ref field{};
    std::string_view env{};
    std::string_view sdk_env{};
    double lo = 0;  ///< integer, number: bounds; size: minimum (0: none); duration: ms bounds
    double hi = 0;  ///< duration: 0 means no upper bound (and lo none)
    custom_set set = nullptr;
    custom_get get = nullptr;
    std::string_view kind_name{};  ///< custom keys: what config_keys() calls their kind
    value_check check = nullptr;   ///< text keys, after merging; also called on ""
    bool required = false;         ///< text keys: empty after merging is an error
    bool secret = false;           ///< described by count (or set/not set), never by value
    /// Not read from the YAML file (naming it there is an error): filled from `sdk_env` and by
    /// validation only. For secrets that must not sit in a config file.
    bool derived = false;
};

/// The key table, in reading order (which is also the order of errors and of printing).
std::span<const key_entry> key_table();

/// One field of a `models` entry: a scalar (`set`) or a list of scalars (`add`, once per item).
struct model_field
{
    std::string_view name;
    bool required;
    std::optional<std::string> (*set)(model_alias& m, const std::string& text);
    std::optional<std::string> (*add)(model_alias& m, const std::string& item) = nullptr;
};

/// The fields of a `models` entry, in reading order.
std::span<const model_field> model_fields();

/// One field of a `clients.keys` entry, like model_field.
struct client_key_field
{
    std::string_view name;
    bool required;
    std::optional<std::string> (*set)(client_key_config& k, const std::string& text);
    std::optional<std::string> (*add)(client_key_config& k, const std::string& item) = nullptr;
};

/// The fields of a `clients.keys` entry, in reading order.
std::span<const client_key_field> client_key_fields();

/// Parses a `limits.store` URL (`redis://[:password@]host[:port][/db]`) into the store_* fields
/// of `l` (`store` keeps the URL without its password); "" turns the store off. The message
/// when refused never contains the text (it may hold a password).
std::optional<std::string> set_limits_store(limits_config& l, std::string_view text);

/// True for an `http(s)://host...` URL without spaces (the `oci.endpoint` rule).
bool http_url(std::string_view s);
/// True for a client key name: 1..64 of `[A-Za-z0-9._-]`.
bool is_key_name(std::string_view s);
/// True for `key-` + 8 hex digits (the default name of anonymous keys).
bool is_default_key_name(std::string_view s);

// Text helpers shared by the table and the loader.
/// True when `s` has no control characters and no whitespace (safe in URLs, headers, logs).
bool is_token_like(std::string_view s);
bool readable_file(const std::string& path);
/// Why `limits.spool_dir` (empty: $TMPDIR, else /var/tmp) cannot take spooled uploads, or nullopt.
std::optional<std::string> check_spool_dir(const std::string& v);
/// Why a file a key names cannot be used (missing, not a regular file, unreadable), or
/// nullopt; "" is fine (the key is off).
std::optional<std::string> check_readable_file(const std::string& path);
/// An `address:port` listen value: `host` (an IP literal; `localhost` means 127.0.0.1, empty
/// means 0.0.0.0) and `port` within [min_port, 65535]; nullopt when refused.
struct listen_address
{
    std::string host;
    std::uint16_t port = 0;
};
std::optional<listen_address> parse_listen_address(std::string_view text, unsigned min_port);
/// `host:port`, IPv6 hosts in brackets (how listen values are printed).
std::string format_listen_address(const std::string& host, std::uint16_t port);
/// True when two listeners cannot both bind: the same port on the same host, or on a wildcard.
bool listen_conflict(const std::string& host_a, std::uint16_t port_a, const std::string& host_b,
                     std::uint16_t port_b);
/// True for a GenAI project OCID (`ocid1.generativeaiproject.<realm>...`), header-safe.
bool is_project_ocid(std::string_view s);
inline constexpr std::string_view project_ocid_message =
    "must be a GenAI project OCID (ocid1.generativeaiproject.<realm>...)";

}  // namespace ogp::config_detail
