#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ogp {

/// How the daemon proves its identity to OCI (`oci.auth`). All but `genai_api_key` sign
/// requests with an OCI IAM signature; `genai_api_key` sends a GenAI API key as a Bearer token
/// and works only on the `openai` route.
enum class auth_mode {
    instance_principal,
    api_key,
    session_token,
    resource_principal,
    genai_api_key
};

/// Where an alias' requests go (`models[].route`): `native` translates to OCI's own chat API
/// (`/20231130/actions/chat`), `openai` forwards the OpenAI request to OCI's OpenAI-compatible
/// endpoint (`<endpoint>/openai/v1/...`) with only `model` rewritten.
enum class model_route { native, openai };

/// OCI chat request format (`chatRequest.apiFormat`).
enum class api_format { generic, cohere, coherev2 };

/// Returns the config spelling of `m` (`instance_principal`, ...).
std::string_view to_string(auth_mode m);
/// Returns OCI's spelling of `f` (`GENERIC`, `COHERE`, `COHEREV2`).
std::string_view to_string(api_format f);

/// One entry of `models`: a client-visible name mapped to an OCI model id or a dedicated
/// endpoint OCID, with optional per-alias overrides. Plain value type.
struct model_alias
{
    std::string name;                  ///< what clients send as `model`
    std::string id;                    ///< OCI model id or `ocid1.generativeaiendpoint...`
    std::optional<api_format> format;  ///< overrides the vendor-prefix detection
    std::string compartment_id;        ///< empty: `oci.compartment_id`
    std::string input_type;  ///< embeddings default (`SEARCH_DOCUMENT`, ...); may be empty
    /// Output length when the client sends none; wins over `defaults.max_tokens` and the
    /// model family's maximum. >= 1.
    std::optional<int> max_tokens;
    /// GENERIC: send the length as `maxCompletionTokens` (true) or `maxTokens` (false). Unset:
    /// decided by the model family of `id`; false for a dedicated endpoint.
    std::optional<bool> max_completion_tokens;
    model_route route = model_route::native;
    /// GenAI project OCID sent as `OpenAI-Project` on the `openai` route; empty:
    /// `oci.project_id`.
    std::string project_id;
    /// `models[].regions`: OCI regions serving this model, tried in order (canonical region ids,
    /// short codes resolved at load; each must resolve or be a key of `oci.endpoints`). Empty:
    /// the daemon's own region only (`oci.endpoint`, else derived from `oci.region`/IMDS).
    std::vector<std::string> regions;
    /// `models[].fallbacks`: other aliases (names of `models` entries, not this one, no repeats)
    /// tried in order once this alias' regions failed before any byte reached the client. Only
    /// the listed aliases are tried: their own fallbacks are not followed.
    std::vector<std::string> fallbacks;
};

/// Generation defaults applied when a request omits a value (`defaults.*`). Each is unset
/// unless configured: an unset sampling value is not sent (the model's own default applies),
/// an unset max_tokens falls back to the model family's maximum output. A value present in a
/// request always wins.
struct generation_defaults
{
    std::optional<int> max_tokens;            ///< >= 1
    std::optional<double> temperature;        ///< 0..2
    std::optional<double> top_p;              ///< 0..1
    std::optional<double> frequency_penalty;  ///< -2..2; 0 is not sent
    std::optional<double> presence_penalty;   ///< -2..2; 0 is not sent
    std::optional<int> top_k;                 ///< >= 0; 0 (disabled) is not sent
    /// Embeddings `truncate` when a request has none: `none` (OpenAI's behaviour: a too-long
    /// input is a 400), `start` or `end`.
    std::string embeddings_truncate = "none";
};

/// Resource limits (`limits.*`). All safe by default: nobody tunes a proxy.
struct limits_config
{
    std::size_t max_body_bytes = 32u * 1024 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_header_count = 100;
    std::size_t max_uri_bytes = 8 * 1024;
    std::size_t max_connections = 1024;
    std::size_t max_requests_per_connection = 1000;
    std::size_t max_inflight_upstream = 256;
    std::size_t max_json_depth = 64;
    std::size_t max_messages = 4096;          ///< chat `messages` items
    std::size_t max_tools = 128;              ///< chat `tools` items (OpenAI's own limit)
    std::size_t max_schema_nodes = 100000;    ///< all JSON-schema nodes of a request, $refs inlined
    std::size_t max_embedding_inputs = 2048;  ///< embeddings `input` items (OpenAI's own limit)
    /// Largest `POST /v1/files` body: uploads are spooled to disk, not held in memory, so they
    /// may exceed max_body_bytes (OpenAI allows 512 MB files).
    std::size_t max_upload_bytes = 512u * 1024 * 1024;
    /// Directory for spooled uploads (unlinked temporary files); empty: `$TMPDIR`, else
    /// `/var/tmp`. See spool_directory().
    std::string spool_dir;
    /// `limits.store`: where the per-key rate limits and concurrency counters live. Empty:
    /// in-process (per daemon). `redis://[:password@]host:port[/db]` (`OGP_LIMITS_STORE`):
    /// shared by every replica using that Redis. Parsed into the store_* fields below; the
    /// password is a secret (described as `(set)`, never logged). Once loaded, `store` holds
    /// the URL without the password (`redis://host:port/db`): safe to log.
    std::string store;
    std::string store_host;
    std::uint16_t store_port = 0;
    unsigned store_db = 0;  ///< 0..15
    std::string store_password;
    /// `limits.store_failure`: when the store cannot answer in time, `open` (default: count with
    /// the in-process buckets instead, logged and counted) or `closed` (refuse with 503).
    bool store_fail_open = true;
    /// `limits.store_timeout`: one store round trip (connect included), default 250 ms.
    std::chrono::milliseconds store_timeout{250};

    /// The spool directory in effect: `spool_dir`, else a non-empty `$TMPDIR`, else `/var/tmp`.
    std::string spool_directory() const
    {
        if (!spool_dir.empty()) {
            return spool_dir;
        }
        const char* tmp = std::getenv("TMPDIR");
        return tmp != nullptr && *tmp != '\0' ? std::string(tmp) : std::string("/var/tmp");
    }
};

/// Deadlines (`timeouts.*`). In YAML a number is seconds; strings take `ms`, `s` or `m`.
struct timeouts_config
{
    using duration = std::chrono::milliseconds;
    duration request_header{std::chrono::seconds(10)};   ///< total, first byte to end of head
    duration request_body{std::chrono::seconds(30)};     ///< total body read
    duration keepalive_idle{std::chrono::seconds(75)};   ///< between requests on one connection
    duration drain{std::chrono::seconds(30)};            ///< graceful shutdown budget
    duration write_stall{std::chrono::seconds(30)};      ///< one downstream write
    duration upstream_connect{std::chrono::seconds(5)};  ///< TCP connect + TLS handshake
    duration upstream_first_byte{std::chrono::seconds(120)};
    duration upstream_stream_idle{std::chrono::seconds(60)};
    duration upstream_total{std::chrono::seconds(600)};  ///< a whole non-streamed answer
};

/// `oci.*`: where and as whom the daemon talks to OCI.
struct oci_config
{
    std::string region;          ///< region id or short code; may be empty (IMDS tells)
    std::string compartment_id;  ///< required
    auth_mode auth = auth_mode::instance_principal;
    std::string config_file;  ///< api_key / session_token; `OCI_CONFIG_FILE`, `~/.oci/config`
    std::string profile = "DEFAULT";
    std::string endpoint;           ///< inference base URL; empty = derived from region
    std::string ca_file;            ///< extra trust anchors for upstream TLS
    std::string metadata_url;       ///< IMDS base; `OCI_METADATA_BASE_URL`, default below
    std::string federation_url;     ///< `OCI_SDK_AUTH_CLIENT_REGION_URL`, default from region
    bool models_discovery = false;  ///< merge OCI's model list into /v1/models
    /// GenAI project OCID (`ocid1.generativeaiproject...`): `OpenAI-Project` on the `openai`
    /// route, and where stateful resources (stored responses, files, ...) live. May be empty.
    std::string project_id;
    std::string genai_api_key_file;  ///< `oci.auth: genai_api_key`: file holding the key
    /// The GenAI API key (from genai_api_key_file, else `$OCI_GENAI_API_KEY`; never from the
    /// YAML file): a secret, sent only as `Authorization: Bearer` to OCI; never logged, never
    /// in an error, described only as `(set)`. Empty unless `oci.auth` is `genai_api_key`.
    std::string genai_api_key;
    /// `oci.endpoints`: inference base URL per region (canonical region id -> `https://...`,
    /// no trailing slash): private endpoints, test doubles. A region not listed derives its
    /// endpoint (`oci.endpoint` stays the override for `oci.region` itself). See
    /// region_endpoint().
    std::map<std::string, std::string, std::less<>> endpoints;
};

/// One entry of `clients.keys`: a named client key, the models it may use and its limits.
/// Exactly one of key and key_sha256 is set. Every limit 0 means unlimited.
struct client_key_config
{
    /// Safe to log and a metrics label: 1..64 of `[A-Za-z0-9._-]`, unique among keys, and not
    /// of the form `key-` + 8 hex digits (the default name of anonymous keys).
    std::string name;
    std::string key;         ///< the secret itself (never logged; described as `(set)`)
    std::string key_sha256;  ///< or its SHA-256, 64 hex digits (normalized to lower case)
    /// Aliases or glob patterns (`*` any run, `?` one character) over the `model` a client
    /// sends. Empty: every model. Another model answers 404 `model_not_found`.
    std::vector<std::string> models;
    std::uint64_t rpm = 0;             ///< requests per minute (token bucket, burst = rpm)
    std::uint64_t tpm = 0;             ///< tokens per minute, charged from OCI's usage
    std::uint64_t max_concurrent = 0;  ///< requests in flight at once
    std::uint64_t max_streams = 0;     ///< streamed requests in flight at once

    bool limited() const { return rpm != 0 || tpm != 0 || max_concurrent != 0 || max_streams != 0; }
};

/// `clients.*`: who may call the daemon.
struct clients_config
{
    std::vector<std::string> api_keys;  ///< merged from `api_keys`, the file and `OGP_API_KEYS`
    std::string api_keys_file;
    bool allow_anonymous = false;
    /// `clients.keys`: named keys with model allow-lists and limits (besides api_keys, whose
    /// keys are anonymous: named `key-<8 hex of SHA-256>`, unlimited, every model).
    std::vector<client_key_config> keys;

    /// The named key called `name`, or nullptr.
    const client_key_config* find_key(std::string_view name) const
    {
        for (const auto& k : keys) {
            if (k.name == name) {
                return &k;
            }
        }
        return nullptr;
    }
};

/// `circuit_breaker.*`: per upstream host (region endpoint). After `failures` consecutive
/// failures (connect/TLS error, timeout, 500/502/503/504 before the answer's body) the host
/// is skipped for `cooldown`; then one probe request at a time decides (success closes,
/// failure opens again). 429 neither trips nor resets it. failures 0: no breaker.
struct circuit_breaker_config
{
    unsigned failures = 5;
    std::chrono::milliseconds cooldown{std::chrono::seconds(30)};
};

/// `log.*`.
struct log_config
{
    std::string level = "info";  ///< trace, debug, info, warn, error, critical, off
    bool json = false;           ///< `format: json`
    bool access_log = true;
};

/// `metrics.*`: the Prometheus endpoint `GET /metrics`.
struct metrics_config
{
    bool enabled = true;
    /// Separate `host:port` for scrapers (e.g. `127.0.0.1:9464`); empty: `/metrics` is served on
    /// the main listener. Parsed into listen_host/listen_port.
    std::string listen;
    std::string listen_host;
    std::uint16_t listen_port = 0;
    /// A client key is needed for `/metrics`. Unset: true on the main listener, false on the
    /// separate one. See requires_key().
    std::optional<bool> require_key;

    /// Whether `/metrics` on the main (`separate == false`) or the separate listener needs a key.
    bool requires_key(bool separate) const { return require_key.value_or(!separate); }
};

/// `tls.*`: HTTPS on the main listener (and the metrics listener). Disabled when cert_file is
/// empty. PEM files; the certificate file may hold the chain.
struct tls_config
{
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;  ///< set: mutual TLS (a client certificate is required)

    bool enabled() const { return !cert_file.empty(); }
};

/// The validated, immutable daemon configuration. Built once at start-up by load_config();
/// shared read-only by every thread afterwards.
struct config
{
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    unsigned threads = 0;  ///< 0 = hardware threads
    oci_config oci;
    clients_config clients;
    std::vector<model_alias> models;
    generation_defaults defaults;
    limits_config limits;
    timeouts_config timeouts;
    log_config log;
    metrics_config metrics;
    tls_config tls;
    circuit_breaker_config circuit_breaker;
    std::string source;  ///< file it came from, or "(environment)"

    /// Finds an alias by client-visible name; nullptr when none.
    const model_alias* find_model(std::string_view name) const;
};

/// The inference base URL of `region` (a canonical id, as in model_alias::regions):
/// `oci.endpoints[region]`, else `oci.endpoint` when `region` is `oci.region`'s canonical id,
/// else derived (`https://inference.generativeai.<region>.oci.<domain>`); empty when the region
/// does not resolve. Pure.
std::string region_endpoint(const config& c, std::string_view region);

/// Reads an environment variable; injectable so tests need not touch the real environment.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment.
env_lookup process_env();

/// Outcome of load_config(): a config, or every problem found (each names the key and file).
struct config_result
{
    std::optional<config> value;
    std::vector<std::string> errors;
};

/// Loads `path` (empty: no file, environment and defaults only), applies environment overrides
/// (`OGP_*` over the file; `OCI_*` SDK conventions where the file is silent), and validates.
/// Never throws; a missing or unreadable file is an error naming the file.
config_result load_config(const std::string& path, const env_lookup& env);

/// Same, from YAML text (tests, fuzzing). `source_name` is used in messages.
config_result load_config_text(std::string_view yaml, std::string_view source_name,
                               const env_lookup& env);

/// One configuration key, as the loader's key table defines it (for documentation, tests and
/// printing). Views into static storage: valid for the life of the process.
struct config_key_info
{
    std::string_view path;     ///< YAML path: `listen`, `timeouts.drain`
    std::string_view env;      ///< `OGP_*` variable that overrides the file; may be empty
    std::string_view sdk_env;  ///< OCI SDK fallback when file and `env` are silent; may be empty
    std::string_view kind;     ///< `string`, `bool`, `integer`, `size`, `duration`, ...
    std::string_view help;     ///< one line
};

/// Every configuration key, in the order the loader reads (and reports) them.
std::vector<config_key_info> config_keys();

/// The effective value of every key of config_keys(), one `path: value` line each, in the same
/// order. Client API keys are counted, never shown; named keys by name and limits (no key
/// material, not even a digest); the limits store's password as `(set)`.
std::string describe_config(const config& c);

/// What a reload from `old_cfg` to `new_cfg` means: keys whose new value takes effect only after a
/// restart (`listen`, `threads`, `metrics.listen`, ...; the running value stays; `tls.cert_file`
/// when HTTPS is turned on or off, not when only the files change), and whether the credential
/// provider must be rebuilt (`oci.auth`, `oci.profile`, `oci.config_file`, ... changed).
struct reload_plan
{
    std::vector<std::string> restart_needed;  ///< YAML paths, in config_keys() order
    bool credentials_changed = false;
};

/// Compares two validated configurations for a reload (see reload_plan).
reload_plan plan_reload(const config& old_cfg, const config& new_cfg);

/// Parses a duration: a number of seconds (`2`, `0.5`) or a string with unit (`500ms`, `10s`,
/// `2m`).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace ogp
