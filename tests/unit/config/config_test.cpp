// Unit tests for the configuration loader: keys, defaults, environment, every validation error.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "ogp/config/config.hpp"
#include "unit/config/config_support.hpp"

using namespace ogp;
using namespace ogp::test;

namespace {

config_result load(std::string_view yaml, std::map<std::string, std::string> vars = {})
{
    return load_config_text(yaml, "test.yaml", env_of(std::move(vars)));
}

std::string temp_file(const std::string& name, const std::string& content)
{
    std::string path = "/tmp/ogp_unit_" + std::to_string(::getpid()) + "_" + name;
    std::ofstream(path) << content;
    return path;
}

}  // namespace

TEST_CASE("minimal config gets the documented defaults", "[config]")
{
    auto r = load(minimal);
    REQUIRE(r.errors.empty());
    const config& c = *r.value;
    CHECK(c.listen_host == "127.0.0.1");
    CHECK(c.listen_port == 8080);
    CHECK(c.threads == 0);
    CHECK(c.oci.auth == auth_mode::instance_principal);
    CHECK(c.oci.profile == "DEFAULT");
    // Generation defaults are unset: the family's maximum length, no sampling value sent.
    CHECK_FALSE(c.defaults.max_tokens);
    CHECK_FALSE(c.defaults.temperature);
    CHECK_FALSE(c.defaults.top_p);
    CHECK_FALSE(c.defaults.top_k);
    CHECK_FALSE(c.defaults.frequency_penalty);
    CHECK_FALSE(c.defaults.presence_penalty);
    CHECK(c.limits.max_body_bytes == 32u * 1024 * 1024);
    CHECK(c.limits.max_header_bytes == 16384);
    CHECK(c.limits.max_header_count == 100);
    CHECK(c.limits.max_connections == 1024);
    CHECK(c.limits.max_inflight_upstream == 256);
    CHECK(c.limits.max_messages == 4096);
    CHECK(c.limits.max_tools == 128);
    CHECK(c.limits.max_schema_nodes == 100000);
    CHECK(c.limits.max_embedding_inputs == 2048);
    CHECK(c.timeouts.upstream_total == std::chrono::seconds(600));
    CHECK(c.timeouts.request_header == std::chrono::seconds(10));
    CHECK(c.timeouts.request_body == std::chrono::seconds(30));
    CHECK(c.timeouts.keepalive_idle == std::chrono::seconds(75));
    CHECK(c.timeouts.drain == std::chrono::seconds(30));
    CHECK(c.timeouts.upstream_first_byte == std::chrono::seconds(120));
    CHECK(c.source == "test.yaml");
    CHECK(c.oci.endpoint.empty());  // no region: instance principal learns it from IMDS
}

TEST_CASE("a full config is read key by key", "[config]")
{
    auto r = load(R"(
listen: "0.0.0.0:9090"
threads: 3
oci:
  region: phx
  compartment_id: ocid1.compartment.oc1..bbbb
  auth: api_key
  config_file: /etc/oci/config
  profile: PROD
  metadata_url: http://127.0.0.1:1/opc/v2
  federation_url: https://127.0.0.1:2
clients:
  api_keys: [k1, k2]
models:
  - name: fast
    id: meta.llama-3.3-70b-instruct
  - name: cmd
    id: cohere.command-r-plus
    format: cohere
    compartment_id: ocid1.compartment.oc1..cccc
  - name: embed
    id: cohere.embed-english-v3.0
    input_type: search_query
  - name: gpt5
    id: ocid1.generativeaiendpoint.oc1.us-chicago-1.aaaa
    max_tokens: 12000
    max_completion_tokens: true
models_discovery: true
defaults:
  max_tokens: 1000
  temperature: 0.8
  top_p: 0.9
  frequency_penalty: 0.1
  presence_penalty: -0.1
  top_k: 50
limits:
  max_body_bytes: 4MiB
  max_header_bytes: 8KiB
  max_header_count: 50
  max_uri_bytes: 4096
  max_connections: 10
  max_requests_per_connection: 5
  max_inflight_upstream: 7
  max_messages: 11
  max_tools: 12
  max_schema_nodes: 1300
  max_embedding_inputs: 14
timeouts:
  upstream_total: 90s
  request_header: 500ms
  request_body: 2
  keepalive_idle: 1.5
  drain: 1m
log:
  level: debug
  format: json
  access_log: false
)");
    REQUIRE(r.errors.empty());
    const config& c = *r.value;
    CHECK(c.listen_host == "0.0.0.0");
    CHECK(c.listen_port == 9090);
    CHECK(c.threads == 3);
    CHECK(c.oci.region == "us-phoenix-1");  // short code resolved
    CHECK(c.oci.endpoint == "https://inference.generativeai.us-phoenix-1.oci.oraclecloud.com");
    CHECK(c.oci.auth == auth_mode::api_key);
    CHECK(c.oci.profile == "PROD");
    CHECK(c.oci.models_discovery);
    REQUIRE(c.models.size() == 4);
    CHECK_FALSE(c.models[0].max_tokens);
    CHECK_FALSE(c.models[0].max_completion_tokens);
    CHECK(c.models[3].max_tokens == 12000);
    CHECK(c.models[3].max_completion_tokens == true);
    CHECK(c.models[1].format == api_format::cohere);
    CHECK(c.models[1].compartment_id == "ocid1.compartment.oc1..cccc");
    CHECK(c.models[2].input_type == "SEARCH_QUERY");
    CHECK(c.find_model("embed") == &c.models[2]);
    CHECK(c.find_model("nope") == nullptr);
    CHECK(c.defaults.max_tokens == 1000);
    CHECK(c.defaults.presence_penalty == -0.1);
    CHECK(c.defaults.top_k == 50);
    CHECK(c.limits.max_body_bytes == 4u * 1024 * 1024);
    CHECK(c.limits.max_header_bytes == 8192);
    CHECK(c.limits.max_requests_per_connection == 5);
    CHECK(c.limits.max_messages == 11);
    CHECK(c.limits.max_tools == 12);
    CHECK(c.limits.max_schema_nodes == 1300);
    CHECK(c.limits.max_embedding_inputs == 14);
    CHECK(c.timeouts.upstream_total == std::chrono::seconds(90));
    CHECK(c.timeouts.request_header == std::chrono::milliseconds(500));
    CHECK(c.timeouts.keepalive_idle == std::chrono::milliseconds(1500));
    CHECK(c.timeouts.drain == std::chrono::minutes(1));
    CHECK(c.log.json);
    CHECK_FALSE(c.log.access_log);
    CHECK(c.log.level == "debug");
}

TEST_CASE("unknown keys are errors naming the full key and the file", "[config]")
{
    auto r = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  regoin: us-chicago-1
clients:
  api_keys: [k]
  alow_anonymous: true
timeout:
  drain: 1
models:
  - name: a
    id: b
    fromat: COHERE
)");
    REQUIRE_FALSE(r.value);
    CHECK(has_error(r, "test.yaml: unknown key 'oci.regoin'"));
    CHECK(has_error(r, "test.yaml: unknown key 'clients.alow_anonymous'"));
    CHECK(has_error(r, "test.yaml: unknown key 'timeout'"));
    CHECK(has_error(r, "test.yaml: unknown key 'models[0].fromat'"));
    CHECK(r.errors.size() == 4);
}

TEST_CASE("every validation error is reported at once", "[config]")
{
    auto r = load(R"(
listen: "localhost"
threads: 1000
oci:
  compartment_id: not-an-ocid
  region: mars-1
  auth: password
  endpoint: ftp://x
  ca_file: /nonexistent/ca.pem
  metadata_url: nope
clients:
  api_keys: ["has space"]
  api_keys_file: /nonexistent/keys
models:
  - id: x
  - name: dup
    id: a
  - name: dup
    id: b
    format: OPENAI
    input_type: poetry
    max_tokens: 0
    max_completion_tokens: maybe
  - name: cmd
    id: cohere.command-a-03-2025
    max_completion_tokens: true
defaults:
  max_tokens: 0
  temperature: 2.5
  top_p: -0.1
  frequency_penalty: 3
  presence_penalty: abc
  top_k: -1
limits:
  max_body_bytes: lots
  max_header_count: 0
timeouts:
  request_header: 0
  drain: 5 parsecs
log:
  level: chatty
  format: xml
  access_log: maybe
)");
    REQUIRE_FALSE(r.value);
    for (auto needle : {"listen:",
                        "threads:",
                        "oci.compartment_id:",
                        "oci.region:",
                        "oci.auth:",
                        "oci.endpoint:",
                        "oci.ca_file:",
                        "oci.metadata_url:",
                        "clients.api_keys:",
                        "clients.api_keys_file:",
                        "models[0].name: is required",
                        "models[2].name: duplicate",
                        "models[2].format:",
                        "models[2].input_type:",
                        "models[2].max_tokens: must be an integer between 1 and 1000000",
                        "models[2].max_completion_tokens: must be true or false",
                        "models[3].max_completion_tokens: applies to GENERIC models only",
                        "defaults.max_tokens:",
                        "defaults.temperature:",
                        "defaults.top_p:",
                        "defaults.frequency_penalty:",
                        "defaults.presence_penalty:",
                        "defaults.top_k:",
                        "limits.max_body_bytes:",
                        "limits.max_header_count:",
                        "timeouts.request_header:",
                        "timeouts.drain:",
                        "log.level:",
                        "log.format:",
                        "log.access_log:"}) {
        INFO(needle);
        CHECK(has_error(r, needle));
    }
    // Every message names the file.
    for (const auto& e : r.errors) {
        CHECK(e.rfind("test.yaml: ", 0) == 0);
    }
}

TEST_CASE("client keys: required unless anonymous, never echoed", "[config]")
{
    auto none = load("oci: {compartment_id: ocid1.compartment.oc1..a}\n");
    REQUIRE_FALSE(none.value);
    CHECK(has_error(none, "allow_anonymous"));

    auto anon =
        load("oci: {compartment_id: ocid1.compartment.oc1..a}\nclients: {allow_anonymous: true}\n");
    REQUIRE(anon.value);
    CHECK(anon.value->clients.api_keys.empty());

    auto bad = load(
        "oci: {compartment_id: ocid1.compartment.oc1..a}\nclients: {api_keys: ['secret value']}\n");
    REQUIRE_FALSE(bad.value);
    for (const auto& e : bad.errors) {
        CHECK(e.find("secret value") == std::string::npos);
    }
}

TEST_CASE("api_keys_file merges keys, skipping blanks and comments", "[config]")
{
    auto path = temp_file("keys", "# team A\nkey-a\n\n  key-b  \n# retired: key-c\n");
    auto r = load(std::string(minimal) + "  api_keys_file: " + path + "\n");
    std::remove(path.c_str());
    REQUIRE(r.value);
    CHECK(r.value->clients.api_keys == std::vector<std::string>{"sk-1", "key-a", "key-b"});
}

TEST_CASE("OGP_* environment overrides the file", "[config]")
{
    auto r = load(minimal, {{"OGP_LISTEN", "0.0.0.0:7000"},
                            {"OGP_COMPARTMENT_ID", "ocid1.compartment.oc1..env"},
                            {"OGP_REGION", "iad"},
                            {"OGP_API_KEYS", "e1, e2,,e3"},
                            {"OGP_AUTH", "resource_principal"},
                            {"OGP_LOG_FORMAT", "json"},
                            {"OGP_LOG_LEVEL", "warn"},
                            {"OGP_THREADS", "4"}});
    REQUIRE(r.value);
    const auto& c = *r.value;
    CHECK(c.listen_host == "0.0.0.0");
    CHECK(c.listen_port == 7000);
    CHECK(c.oci.compartment_id == "ocid1.compartment.oc1..env");
    CHECK(c.oci.region == "us-ashburn-1");
    CHECK(c.clients.api_keys == std::vector<std::string>{"sk-1", "e1", "e2", "e3"});
    CHECK(c.oci.auth == auth_mode::resource_principal);
    CHECK(c.log.json);
    CHECK(c.log.level == "warn");
    CHECK(c.threads == 4);

    auto bad = load(minimal, {{"OGP_LISTEN", "nowhere"}, {"OGP_AUTH", "magic"}});
    REQUIRE_FALSE(bad.value);
    CHECK(has_error(bad, "environment: OGP_LISTEN"));
    CHECK(has_error(bad, "environment: OGP_AUTH"));
}

TEST_CASE("OCI_* SDK variables only fill what the file leaves empty", "[config]")
{
    std::map<std::string, std::string> env{
        {"OCI_METADATA_BASE_URL", "http://127.0.0.1:9/opc/v2"},
        {"OCI_SDK_AUTH_CLIENT_REGION_URL", "https://127.0.0.1:10"},
        {"OCI_CONFIG_FILE", "/env/config"}};
    auto from_env = load(minimal, env);
    REQUIRE(from_env.value);
    CHECK(from_env.value->oci.metadata_url == "http://127.0.0.1:9/opc/v2");
    CHECK(from_env.value->oci.federation_url == "https://127.0.0.1:10");
    CHECK(from_env.value->oci.config_file == "/env/config");

    auto from_file = load(std::string(minimal) + "oci_extra: 1\n", env);
    CHECK(has_error(from_file, "unknown key 'oci_extra'"));

    auto file_wins = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  metadata_url: http://127.0.0.1:11/opc/v2
  config_file: /file/config
clients: {api_keys: [k]}
)",
                          env);
    REQUIRE(file_wins.value);
    CHECK(file_wins.value->oci.metadata_url == "http://127.0.0.1:11/opc/v2");
    CHECK(file_wins.value->oci.config_file == "/file/config");
    CHECK(file_wins.value->oci.federation_url == "https://127.0.0.1:10");
}

TEST_CASE("environment-only configuration works without a file", "[config]")
{
    auto r = load_config(
        "", env_of({{"OGP_COMPARTMENT_ID", "ocid1.compartment.oc1..x"}, {"OGP_API_KEYS", "k"}}));
    REQUIRE(r.value);
    CHECK(r.value->source == "(environment)");
    CHECK(r.value->oci.compartment_id == "ocid1.compartment.oc1..x");
}

TEST_CASE("missing file and invalid YAML name the file", "[config]")
{
    auto missing = load_config("/nonexistent/dir/c.yaml", env_of({}));
    REQUIRE_FALSE(missing.value);
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0] == "/nonexistent/dir/c.yaml: cannot read config file");

    auto broken = load("oci: [unclosed\n");
    REQUIRE_FALSE(broken.value);
    CHECK(has_error(broken, "test.yaml: invalid YAML"));

    auto wrong_shape = load("- just\n- a list\n");
    REQUIRE_FALSE(wrong_shape.value);
    CHECK(has_error(wrong_shape, "must be a mapping"));
}

TEST_CASE("endpoint: explicit wins, trailing slash dropped", "[config]")
{
    auto r = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  region: us-chicago-1
  endpoint: https://127.0.0.1:8443/
clients: {api_keys: [k]}
)");
    REQUIRE(r.value);
    CHECK(r.value->oci.endpoint == "https://127.0.0.1:8443");
}

TEST_CASE("parse_duration units", "[config]")
{
    CHECK(parse_duration("10") == std::chrono::milliseconds(10000));
    CHECK(parse_duration("0.25") == std::chrono::milliseconds(250));
    CHECK(parse_duration("750ms") == std::chrono::milliseconds(750));
    CHECK(parse_duration("2m") == std::chrono::milliseconds(120000));
    CHECK(parse_duration("1h") == std::chrono::milliseconds(3600000));
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("-1"));
    CHECK_FALSE(parse_duration("ten"));
    CHECK_FALSE(parse_duration("5 fortnights"));
}

TEST_CASE("listen takes an IP address - localhost means 127.0.0.1", "[config]")
{
    auto local = load(std::string(minimal) + "listen: localhost:9000\n");
    REQUIRE(local.value);
    CHECK(local.value->listen_host == "127.0.0.1");
    auto v6 = load(std::string(minimal) + "listen: \"[::1]:9000\"\n");
    REQUIRE(v6.value);
    CHECK(v6.value->listen_host == "::1");
    auto name = load(std::string(minimal) + "listen: example.com:80\n");
    REQUIRE_FALSE(name.value);
    CHECK(has_error(name, "listen: must be address:port"));
    auto port = load(std::string(minimal) + "listen: 127.0.0.1:70000\n");
    CHECK_FALSE(port.value);
}

TEST_CASE("oci.ca_file must hold PEM certificates", "[config]")
{
    auto junk = temp_file("junk.pem", "not a certificate\n");
    auto with_ca = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  ca_file: )" + junk + R"(
clients: {api_keys: [k]}
)");
    std::remove(junk.c_str());
    REQUIRE_FALSE(with_ca.value);
    CHECK(has_error(with_ca, "oci.ca_file: '" + junk + "' holds no PEM certificate"));
}

TEST_CASE("embedding input types include IMAGE", "[config]")
{
    auto r = load(std::string(minimal) +
                  "models:\n  - {name: e, id: cohere.embed-v4.0, input_type: image}\n");
    REQUIRE(r.value);
    CHECK(r.value->models[0].input_type == "IMAGE");
}

// --- the key table (issue 11): every key is written once, in src/config/keys.cpp ------------

namespace {

// The section of a key path ("" at the top level).
std::string section_of(std::string_view path)
{
    auto dot = path.find('.');
    return dot == std::string_view::npos ? std::string() : std::string(path.substr(0, dot));
}

// YAML with the minimal config's keys, `path` set to the YAML text `value`.
std::string yaml_with(const std::string& path, const std::string& value)
{
    std::map<std::string, std::string> keys{{"oci.compartment_id", "ocid1.compartment.oc1..aaaa"},
                                            {"clients.api_keys", "[sk-1]"}};
    keys[path] = value;
    std::map<std::string, std::string> sections;
    std::string out;
    for (const auto& [p, v] : keys) {
        auto sec = section_of(p);
        if (sec.empty()) {
            out += p + ": " + v + "\n";
        } else {
            sections[sec] += "  " + p.substr(sec.size() + 1) + ": " + v + "\n";
        }
    }
    for (const auto& [sec, body] : sections) {
        out += sec + ":\n" + body;
    }
    return out;
}

// A self-signed certificate in PEM, so that oci.ca_file can be accepted.
std::string temp_pem()
{
    std::string path = "/tmp/ogp_unit_" + std::to_string(::getpid()) + "_ca.pem";
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("ogp-test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    return path;
}

// A value for `key` that differs from the default: {YAML text, environment text}.
std::pair<std::string, std::string> sample_for(const config_key_info& key, const config& base,
                                               const std::string& pem, const std::string& keys_file)
{
    static const std::map<std::string_view, std::pair<std::string, std::string>> by_path{
        {"listen", {"\"0.0.0.0:9999\"", "0.0.0.0:9999"}},
        {"oci.region", {"ord", "ord"}},
        {"oci.compartment_id", {"ocid1.compartment.oc1..sample", "ocid1.compartment.oc1..sample"}},
        {"oci.config_file", {"/etc/sample/config", "/etc/sample/config"}},
        {"oci.profile", {"SAMPLE", "SAMPLE"}},
        {"oci.endpoint", {"https://127.0.0.1:1", "https://127.0.0.1:1"}},
        {"oci.metadata_url", {"http://127.0.0.1:2/opc/v2", "http://127.0.0.1:2/opc/v2"}},
        {"oci.federation_url", {"https://127.0.0.1:3", "https://127.0.0.1:3"}},
        {"oci.auth", {"api_key", "api_key"}},
        {"oci.project_id",
         {"ocid1.generativeaiproject.oc1.us-chicago-1.sample",
          "ocid1.generativeaiproject.oc1.us-chicago-1.sample"}},
        {"oci.genai_api_key_file", {"/etc/sample/genai.key", "/etc/sample/genai.key"}},
        {"clients.api_keys", {"[k1, k2]", "k1,k2"}},
        {"models", {"[{name: s, id: x}]", ""}},
        {"defaults.embeddings_truncate", {"end", "end"}},
        {"log.level", {"debug", "debug"}},
        {"log.format", {"json", "json"}},
        {"limits.spool_dir", {"/tmp", "/tmp"}},
        {"metrics.listen", {"\"127.0.0.1:9464\"", "127.0.0.1:9464"}},
        {"clients.keys", {"[{name: a, key: sk-named}]", ""}},
        {"oci.endpoints", {"{fra: \"https://127.0.0.1:4/\"}", "fra=https://127.0.0.1:4"}},
        {"limits.store", {"\"redis://127.0.0.1:6380/1\"", "redis://127.0.0.1:6380/1"}},
        {"limits.store_failure", {"closed", "closed"}},
    };
    static const std::map<std::string_view, std::string> by_kind{
        {"integer", "20"}, {"number", "0.5"}, {"size", "9KiB"}, {"duration", "7s"}};
    if (key.path == "oci.ca_file") {
        return {pem, pem};
    }
    if (key.path == "clients.api_keys_file") {
        return {keys_file, keys_file};
    }
    if (auto it = by_path.find(key.path); it != by_path.end()) {
        return it->second;
    }
    if (auto it = by_kind.find(key.kind); it != by_kind.end()) {
        return {it->second, it->second};
    }
    if (key.kind == "bool") {
        std::string flipped = described(base, key.path).ends_with("true") ? "false" : "true";
        return {flipped, flipped};
    }
    return {};  // a new key needs a sample above
}

}  // namespace

TEST_CASE("key table: paths and variables are unique and well formed", "[config][keys]")
{
    auto keys = config_keys();
    REQUIRE(keys.size() >= 40);
    std::set<std::string_view> paths;
    std::set<std::string_view> vars;
    std::vector<std::string> sections_seen;
    for (const auto& k : keys) {
        INFO(k.path);
        CHECK(paths.insert(k.path).second);
        CHECK_FALSE(k.help.empty());
        CHECK_FALSE(k.kind.empty());
        if (!k.env.empty()) {
            CHECK(k.env.starts_with("OGP_"));
            CHECK(vars.insert(k.env).second);
        }
        if (!k.sdk_env.empty()) {
            CHECK(k.sdk_env.starts_with("OCI_"));
            CHECK(k.kind == "string");
            CHECK(vars.insert(k.sdk_env).second);
        }
        // The reader checks a section's names once: a section's keys are contiguous.
        auto sec = section_of(k.path);
        if (!sec.empty() && (sections_seen.empty() || sections_seen.back() != sec)) {
            CHECK(std::find(sections_seen.begin(), sections_seen.end(), sec) ==
                  sections_seen.end());
            sections_seen.push_back(sec);
        }
        // One level of sections only.
        CHECK(std::count(k.path.begin(), k.path.end(), '.') <= 1);
    }
    // The variables the daemon has always read.
    for (auto v : {"OGP_LISTEN",
                   "OGP_THREADS",
                   "OGP_REGION",
                   "OGP_COMPARTMENT_ID",
                   "OGP_OCI_CONFIG_FILE",
                   "OGP_OCI_PROFILE",
                   "OGP_ENDPOINT",
                   "OGP_CA_FILE",
                   "OGP_METADATA_URL",
                   "OGP_FEDERATION_URL",
                   "OGP_API_KEYS_FILE",
                   "OGP_LOG_LEVEL",
                   "OGP_AUTH",
                   "OGP_LOG_FORMAT",
                   "OGP_ALLOW_ANONYMOUS",
                   "OGP_MODELS_DISCOVERY",
                   "OGP_API_KEYS",
                   "OGP_OCI_PROJECT_ID",
                   "OGP_GENAI_API_KEY_FILE",
                   "OGP_SPOOL_DIR",
                   "OGP_METRICS_ENABLED",
                   "OGP_METRICS_LISTEN",
                   "OGP_METRICS_REQUIRE_KEY",
                   "OGP_TLS_CERT_FILE",
                   "OGP_TLS_KEY_FILE",
                   "OGP_TLS_CLIENT_CA_FILE",
                   "OGP_OCI_ENDPOINTS",
                   "OGP_LIMITS_STORE",
                   "OGP_LIMITS_STORE_FAILURE",
                   "OGP_LIMITS_STORE_TIMEOUT",
                   "OGP_CIRCUIT_BREAKER_FAILURES",
                   "OGP_CIRCUIT_BREAKER_COOLDOWN",
                   "OCI_METADATA_BASE_URL",
                   "OCI_SDK_AUTH_CLIENT_REGION_URL",
                   "OCI_CONFIG_FILE",
                   "OCI_GENAI_API_KEY"}) {
        INFO(v);
        CHECK(vars.count(v) == 1);
    }
    CHECK(vars.size() == 36);
}

TEST_CASE("key table: every key is read from YAML and from its variable", "[config][keys]")
{
    const auto pem = temp_pem();
    const auto keys_file = temp_file("table_keys", "k-file\n");
    auto base = load(minimal);
    REQUIRE(base.value);
    for (const auto& k : config_keys()) {
        INFO(k.path);
        if (k.path == "oci.genai_api_key") {
            continue;  // never read from the file: "genai_api_key: ..." tests below
        }
        if (k.path.starts_with("tls.")) {
            continue;  // valid only together (cert and key): "tls keys ..." tests below
        }
        auto [yaml_value, env_value] = sample_for(k, *base.value, pem, keys_file);
        REQUIRE_FALSE(yaml_value.empty());
        const std::string before = described(*base.value, k.path);
        CHECK(before != "(missing)");

        auto from_file = load(yaml_with(std::string(k.path), yaml_value));
        INFO("yaml:\n" << yaml_with(std::string(k.path), yaml_value));
        REQUIRE(from_file.errors.empty());
        CHECK(described(*from_file.value, k.path) != before);

        if (!k.env.empty()) {
            auto from_env = load(minimal, {{std::string(k.env), env_value}});
            REQUIRE(from_env.errors.empty());
            CHECK(described(*from_env.value, k.path) != before);
            // The environment's client keys are added to the file's, the rest replace.
            if (k.path != "clients.api_keys") {
                CHECK(described(*from_env.value, k.path) == described(*from_file.value, k.path));
            }
        }
        if (!k.sdk_env.empty()) {
            auto from_sdk = load(minimal, {{std::string(k.sdk_env), env_value}});
            REQUIRE(from_sdk.errors.empty());
            CHECK(described(*from_sdk.value, k.path) == described(*from_file.value, k.path));
        }
    }
    std::remove(pem.c_str());
    std::remove(keys_file.c_str());
}

TEST_CASE("key table: an unknown key is refused in every section", "[config][keys]")
{
    std::set<std::string> sections;
    for (const auto& k : config_keys()) {
        auto sec = section_of(k.path);
        if (!sec.empty() && sections.insert(sec).second) {
            INFO(sec);
            // Append the stray key to the section (first occurrence in the text).
            std::string y = std::string(minimal);
            if (y.find(sec + ":\n") == std::string::npos) {
                y += sec + ":\n";
            }
            y.insert(y.find(sec + ":\n") + sec.size() + 2, "  bogus_key: 1\n");
            auto bad = load(y);
            REQUIRE_FALSE(bad.value);
            CHECK(has_error(bad, "test.yaml: unknown key '" + sec + ".bogus_key'"));
            CHECK(bad.errors.size() == 1);
        }
    }
    CHECK(sections.size() == 9);
    auto top = load(std::string(minimal) + "bogus_top: 1\n");
    CHECK(has_error(top, "test.yaml: unknown key 'bogus_top'"));
}

TEST_CASE("key table: a bad environment value names the variable", "[config][keys]")
{
    for (const auto& k : config_keys()) {
        if (k.env.empty() || k.kind == "string" || k.kind == "list of strings") {
            continue;  // any text is a valid string
        }
        INFO(k.env);
        auto r = load(minimal, {{std::string(k.env), "not valid!"}});
        REQUIRE_FALSE(r.value);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].starts_with("environment: " + std::string(k.env) + ": must be "));
    }
}

TEST_CASE("describe_config lists every key once, in table order, without client keys",
          "[config][keys]")
{
    const auto keys_file = temp_file("describe_keys", "file-secret\n");
    auto r = load(std::string(minimal) + "  api_keys_file: " + keys_file + "\n",
                  {{"OGP_API_KEYS", "env-secret"}});
    std::remove(keys_file.c_str());
    REQUIRE(r.value);
    const std::string text = describe_config(*r.value);
    std::istringstream in(text);
    std::string line;
    auto keys = config_keys();
    std::size_t i = 0;
    while (std::getline(in, line)) {
        REQUIRE(i < keys.size());
        CHECK(line.starts_with(std::string(keys[i].path) + ": "));
        ++i;
    }
    CHECK(i == keys.size());
    CHECK(text.find("sk-1") == std::string::npos);
    CHECK(text.find("env-secret") == std::string::npos);
    CHECK(text.find("file-secret") == std::string::npos);
    CHECK(described(*r.value, "clients.api_keys") == "clients.api_keys: (3 set, not shown)");
    CHECK(described(*r.value, "listen") == "listen: 127.0.0.1:8080");
    CHECK(described(*r.value, "timeouts.upstream_connect") == "timeouts.upstream_connect: 5s");
    CHECK(described(*r.value, "limits.max_body_bytes") == "limits.max_body_bytes: 33554432");
    CHECK(described(*r.value, "log.format") == "log.format: text");
    // Optional keys say so when unset.
    CHECK(described(*r.value, "defaults.max_tokens") == "defaults.max_tokens: (not set)");
    CHECK(described(*r.value, "defaults.top_p") == "defaults.top_p: (not set)");
    CHECK(described(*r.value, "oci.genai_api_key") == "oci.genai_api_key: (not set)");
}

TEST_CASE("per-alias length settings are read, validated and described", "[config]")
{
    auto r = load(std::string(minimal) + R"(models:
  - name: long
    id: meta.llama-3.3-70b-instruct
    max_tokens: 8000
  - name: gpt5
    id: ocid1.generativeaiendpoint.oc1.us-chicago-1.aaaa
    max_completion_tokens: yes
  - name: plain
    id: openai.gpt-5
    max_completion_tokens: false
defaults:
  max_tokens: 600
  top_k: 0
)");
    REQUIRE(r.value);
    const config& c = *r.value;
    CHECK(c.models[0].max_tokens == 8000);
    CHECK_FALSE(c.models[0].max_completion_tokens);
    CHECK(c.models[1].max_completion_tokens == true);
    CHECK(c.models[2].max_completion_tokens == false);
    CHECK(c.defaults.max_tokens == 600);
    CHECK(c.defaults.top_k == 0);
    CHECK_FALSE(c.defaults.temperature);
    const std::string text = describe_config(c);
    CHECK(text.find("long = meta.llama-3.3-70b-instruct max_tokens 8000") != std::string::npos);
    CHECK(text.find("max_completion_tokens true") != std::string::npos);
    CHECK(text.find("defaults.top_k: 0\n") != std::string::npos);

    for (auto [field, value, needle] : {
             std::tuple{"max_tokens", "1000001", "models[0].max_tokens: must be an integer"},
             std::tuple{"max_tokens", "many", "models[0].max_tokens: must be an integer"},
             std::tuple{"max_completion_tokens", "2", "models[0].max_completion_tokens: must be"},
         }) {
        auto bad = load(std::string(minimal) + "models:\n  - name: m\n    id: openai.gpt-5\n    " +
                        field + ": " + value + "\n");
        INFO(needle);
        REQUIRE_FALSE(bad.value);
        CHECK(has_error(bad, std::string("test.yaml: ") + needle));
    }
    auto cohere = load(std::string(minimal) +
                       "models:\n  - name: m\n    id: meta.x\n    format: COHEREV2\n"
                       "    max_completion_tokens: true\n");
    CHECK(has_error(cohere, "models[0].max_completion_tokens: applies to GENERIC models only"));
}

TEST_CASE("defaults.top_k stays within every format's range (Cohere: 0-500)", "[config]")
{
    CHECK(load(std::string(minimal) + "defaults:\n  top_k: 500\n").value);
    auto bad = load(std::string(minimal) + "defaults:\n  top_k: 501\n");
    REQUIRE_FALSE(bad.value);
    CHECK(has_error(bad, "test.yaml: defaults.top_k: must be between 0 and 500, got 501"));
}

namespace {

constexpr std::string_view project_a = "ocid1.generativeaiproject.oc1.us-chicago-1.aaaa";
constexpr std::string_view project_b = "ocid1.generativeaiproject.oc1.us-chicago-1.bbbb";

// `minimal` with an `oci` section of its own: `oci_extra` lines (indented) and `rest` appended.
std::string genai_yaml(std::string_view oci_extra, std::string_view rest)
{
    return "oci:\n  compartment_id: ocid1.compartment.oc1..aaaa\n" + std::string(oci_extra) +
           "clients:\n  api_keys: [sk-1]\n" + std::string(rest);
}

// True when no error and no line of describe_config() contains `secret`.
bool secret_hidden(const config_result& r, std::string_view secret)
{
    for (const auto& e : r.errors) {
        if (e.find(secret) != std::string::npos) {
            return false;
        }
    }
    return !r.value || describe_config(*r.value).find(secret) == std::string::npos;
}

}  // namespace

TEST_CASE("route and project_id: read, described, project OCIDs checked", "[config][route]")
{
    auto r = load(genai_yaml("",
                             "models:\n"
                             "  - name: gpt\n    id: openai.gpt-oss-120b\n    route: openai\n"
                             "    project_id: " +
                                 std::string(project_a) +
                                 "\n"
                                 "  - name: cmd\n    id: cohere.command-a-03-2025\n"
                                 "    route: native\n"
                                 "  - name: plain\n    id: meta.llama-3.3-70b-instruct\n"));
    INFO(r.errors.size() << (r.errors.empty() ? "" : r.errors[0]));
    REQUIRE(r.value);
    const config& c = *r.value;
    CHECK(c.models[0].route == model_route::openai);
    CHECK(c.models[0].project_id == project_a);
    CHECK(c.models[1].route == model_route::native);
    CHECK(c.models[2].route == model_route::native);  // the default
    CHECK(c.models[2].project_id.empty());
    const std::string text = describe_config(c);
    CHECK(text.find("gpt = openai.gpt-oss-120b route openai project " + std::string(project_a)) !=
          std::string::npos);
    CHECK(text.find("plain = meta.llama-3.3-70b-instruct]") != std::string::npos);

    // oci.project_id from the file or OGP_OCI_PROJECT_ID covers an alias without its own.
    const std::string open_alias = "models:\n  - name: g\n    id: xai.grok-4\n    route: openai\n";
    auto shared = load(genai_yaml("  project_id: " + std::string(project_b) + "\n", open_alias));
    REQUIRE(shared.value);
    CHECK(shared.value->oci.project_id == project_b);
    CHECK(described(*shared.value, "oci.project_id") ==
          "oci.project_id: " + std::string(project_b));
    auto from_env =
        load(genai_yaml("", open_alias), {{"OGP_OCI_PROJECT_ID", std::string(project_a)}});
    REQUIRE(from_env.value);
    CHECK(from_env.value->oci.project_id == project_a);

    // Refusals, one line each naming the key.
    for (auto [yaml, needle] : {
             std::pair{genai_yaml("", "models:\n  - name: g\n    id: x\n    route: direct\n"),
                       "test.yaml: models[0].route: must be native or openai, got 'direct'"},
             std::pair{genai_yaml("", open_alias + "    project_id: ocid1.compartment.oc1..a\n"),
                       "test.yaml: models[0].project_id: must be a GenAI project OCID"},
             std::pair{genai_yaml("  project_id: ocid1.tenancy.oc1..x\n", open_alias),
                       "test.yaml: oci.project_id: must be a GenAI project OCID"},
             std::pair{genai_yaml("  project_id: \"ocid1.generativeaiproject.a b\"\n", open_alias),
                       "test.yaml: oci.project_id: must be a GenAI project OCID"},
             std::pair{genai_yaml("", open_alias),
                       "test.yaml: models[0].project_id: is required for route: openai under "
                       "oci.auth: instance_principal"},
         }) {
        INFO(yaml);
        auto bad = load(yaml);
        REQUIRE_FALSE(bad.value);
        CHECK(bad.errors.size() == 1);
        CHECK(has_error(bad, needle));
    }
    auto bad_env = load(genai_yaml("", open_alias), {{"OGP_OCI_PROJECT_ID", "ocid1.x"}});
    REQUIRE_FALSE(bad_env.value);
    CHECK(has_error(bad_env, "test.yaml: oci.project_id: must be a GenAI project OCID"));
}

TEST_CASE("route: openai refuses Cohere and the native translation's settings", "[config][route]")
{
    const std::string project = "  project_id: " + std::string(project_a) + "\n";
    auto alias = [](std::string_view lines) {
        return "models:\n  - name: a\n    route: openai\n" + std::string(lines);
    };
    for (auto [lines, needle] : {
             std::pair{"    id: cohere.command-a-03-2025\n",
                       "test.yaml: models[0].route: Cohere models are not served by OCI's "
                       "OpenAI-compatible API"},
             std::pair{"    id: ocid1.generativeaiendpoint.oc1..x\n    format: COHERE\n",
                       "test.yaml: models[0].route: Cohere models are not served by OCI's "
                       "OpenAI-compatible API"},
             std::pair{"    id: meta.x\n    format: cohereV2\n",
                       "test.yaml: models[0].route: Cohere models are not served by OCI's "
                       "OpenAI-compatible API"},
             std::pair{"    id: openai.gpt-5\n    max_tokens: 100\n",
                       "test.yaml: models[0].max_tokens: does not apply to route: openai"},
             std::pair{"    id: openai.gpt-5\n    max_completion_tokens: true\n",
                       "test.yaml: models[0].max_completion_tokens: does not apply to route: "
                       "openai"},
             std::pair{"    id: openai.text-embedding\n    input_type: SEARCH_QUERY\n",
                       "test.yaml: models[0].input_type: does not apply to route: openai"},
         }) {
        INFO(lines);
        auto bad = load(genai_yaml(project, alias(lines)));
        REQUIRE_FALSE(bad.value);
        CHECK(bad.errors.size() == 1);
        CHECK(has_error(bad, needle));
    }
    // The same settings stay valid on the native route; format GENERIC is fine on openai.
    CHECK(load(genai_yaml(project,
                          "models:\n  - name: a\n    id: cohere.command-r\n"
                          "    input_type: SEARCH_QUERY\n    max_tokens: 9\n"))
              .value);
    CHECK(load(genai_yaml(project, alias("    id: meta.llama-4\n    format: GENERIC\n"))).value);
}

TEST_CASE("genai_api_key: the key from its file (trimmed) or $OCI_GENAI_API_KEY, never shown",
          "[config][genai_key]")
{
    const std::string oci = "  auth: genai_api_key\n  region: ord\n";
    const std::string alias =
        "models:\n  - name: g\n    id: openai.gpt-oss-120b\n    route: openai\n";
    const auto key_file = temp_file("genai_key", "  gk-file-secret-1\r\n\n");

    auto from_file = load(genai_yaml(oci + "  genai_api_key_file: " + key_file + "\n", alias));
    INFO((from_file.errors.empty() ? "" : from_file.errors[0]));
    REQUIRE(from_file.value);
    const config& c = *from_file.value;
    CHECK(c.oci.auth == auth_mode::genai_api_key);
    CHECK(c.oci.genai_api_key == "gk-file-secret-1");
    CHECK(c.oci.region == "us-chicago-1");
    CHECK(c.oci.project_id.empty());  // optional with a GenAI API key
    CHECK(described(c, "oci.auth") == "oci.auth: genai_api_key");
    CHECK(described(c, "oci.genai_api_key") == "oci.genai_api_key: (set)");
    CHECK(described(c, "oci.genai_api_key_file") == "oci.genai_api_key_file: " + key_file);
    CHECK(secret_hidden(from_file, "gk-file-secret-1"));

    // The variable when no file is named; the file wins over it; OGP_GENAI_API_KEY_FILE names it.
    auto from_env = load(genai_yaml(oci, alias), {{"OCI_GENAI_API_KEY", " gk-env-secret\n"}});
    REQUIRE(from_env.value);
    CHECK(from_env.value->oci.genai_api_key == "gk-env-secret");
    CHECK(described(*from_env.value, "oci.genai_api_key") == "oci.genai_api_key: (set)");
    CHECK(secret_hidden(from_env, "gk-env-secret"));
    auto both = load(genai_yaml(oci + "  genai_api_key_file: " + key_file + "\n", alias),
                     {{"OCI_GENAI_API_KEY", "gk-env-secret"}});
    REQUIRE(both.value);
    CHECK(both.value->oci.genai_api_key == "gk-file-secret-1");
    auto file_env = load(genai_yaml(oci, alias), {{"OGP_GENAI_API_KEY_FILE", key_file}});
    REQUIRE(file_env.value);
    CHECK(file_env.value->oci.genai_api_key == "gk-file-secret-1");
    // oci.endpoint alone is enough (no region: the key's region is the endpoint's).
    auto endpoint_only =
        load(genai_yaml("  auth: genai_api_key\n  endpoint: https://127.0.0.1:9/\n", alias),
             {{"OCI_GENAI_API_KEY", "gk-env-secret"}});
    REQUIRE(endpoint_only.value);
    CHECK(endpoint_only.value->oci.region.empty());
    CHECK(endpoint_only.value->oci.endpoint == "https://127.0.0.1:9");

    // Under IAM auth the key is neither needed nor kept.
    auto iam = load(minimal, {{"OCI_GENAI_API_KEY", "gk-env-secret"}});
    REQUIRE(iam.value);
    CHECK(iam.value->oci.genai_api_key.empty());
    CHECK(described(*iam.value, "oci.genai_api_key") == "oci.genai_api_key: (not set)");
    std::remove(key_file.c_str());
}

TEST_CASE("genai_api_key: every refusal names the key and never contains the secret",
          "[config][genai_key]")
{
    const std::string oci = "  auth: genai_api_key\n  region: ord\n";
    const std::string alias =
        "models:\n  - name: g\n    id: openai.gpt-oss-120b\n    route: openai\n";
    const std::string secret = "gk-do-not-print";
    auto with_file = [&](const std::string& name, const std::string& content) {
        return genai_yaml(oci + "  genai_api_key_file: " + temp_file(name, content) + "\n", alias);
    };
    const std::string missing = "/nonexistent/genai.key";
    const std::map<std::string, std::string> env_key{{"OCI_GENAI_API_KEY", secret}};
    struct refusal
    {
        std::string yaml;
        std::map<std::string, std::string> env;
        std::string needle;
    };
    const std::vector<refusal> cases{
        {genai_yaml(oci + "  genai_api_key_file: " + missing + "\n", alias), env_key,
         "test.yaml: oci.genai_api_key_file: cannot read file '" + missing + "'"},
        {with_file("genai_empty", ""), {}, "test.yaml: oci.genai_api_key_file: file '"},
        {with_file("genai_blank", " \n\t\n"), {}, "holds no key"},
        {with_file("genai_space", secret + " second\n"),
         {},
         "test.yaml: oci.genai_api_key_file: the key in '"},
        {with_file("genai_ctl", secret + "\x01x\n"),
         {},
         "contains whitespace or control characters"},
        {with_file("genai_long", std::string(5000, 'k')), {}, "is longer than 4096 characters"},
        {genai_yaml(oci, alias),
         {},
         "test.yaml: oci.genai_api_key_file: oci.auth: genai_api_key needs a GenAI API key: set "
         "oci.genai_api_key_file (or OGP_GENAI_API_KEY_FILE) or $OCI_GENAI_API_KEY"},
        {genai_yaml(oci, alias),
         {{"OCI_GENAI_API_KEY", secret + " x"}},
         "environment: OCI_GENAI_API_KEY: must be 1 to 4096 printable characters"},
        {genai_yaml(oci, "models:\n  - name: n\n    id: meta.llama-3.3-70b-instruct\n"), env_key,
         "test.yaml: models[0].route: alias 'n' is on route: native; GenAI API keys (oci.auth: "
         "genai_api_key) work only with route: openai"},
        {genai_yaml(oci, alias + "  - name: c\n    id: cohere.command-r\n    route: native\n"),
         env_key, "test.yaml: models[1].route: alias 'c' is on route: native"},
        {genai_yaml(oci, alias + "models_discovery: true\n"), env_key,
         "test.yaml: models_discovery: cannot be used with oci.auth: genai_api_key"},
        {genai_yaml("  auth: genai_api_key\n", alias), env_key,
         "test.yaml: oci.region: is required with oci.auth: genai_api_key unless oci.endpoint is "
         "set"},
        {genai_yaml(oci + "  genai_api_key: " + secret + "\n", alias), env_key,
         "test.yaml: oci.genai_api_key: is not read from the config file"},
    };
    for (const auto& c : cases) {
        INFO(c.yaml);
        auto bad = load(c.yaml, c.env);
        REQUIRE_FALSE(bad.value);
        CHECK(bad.errors.size() == 1);
        CHECK(has_error(bad, c.needle));
        CHECK(secret_hidden(bad, secret));
        CHECK(secret_hidden(bad, std::string(100, 'k')));
    }
    // All at once, each on its own line.
    auto many = load(genai_yaml("  auth: genai_api_key\n",
                                "models:\n  - name: n\n    id: cohere.command-r\n"
                                "models_discovery: true\n"));
    REQUIRE_FALSE(many.value);
    CHECK(many.errors.size() == 4);
    for (auto needle :
         {"models[0].route:", "oci.genai_api_key_file:", "models_discovery:", "oci.region:"}) {
        INFO(needle);
        CHECK(has_error(many, needle));
    }
    for (auto name : {"genai_empty", "genai_blank", "genai_space", "genai_ctl", "genai_long"}) {
        std::remove(("/tmp/ogp_unit_" + std::to_string(::getpid()) + "_" + name).c_str());
    }
}

TEST_CASE("config: limits.max_upload_bytes and limits.spool_dir", "[config]")
{
    auto d = load(minimal);
    REQUIRE(d.value);
    CHECK(d.value->limits.max_upload_bytes == 512u * 1024 * 1024);
    CHECK(d.value->limits.spool_dir.empty());

    auto r = load(std::string(minimal) + "limits:\n  max_upload_bytes: 1GiB\n  spool_dir: /tmp\n");
    REQUIRE(r.value);
    CHECK(r.value->limits.max_upload_bytes == 1024u * 1024 * 1024);
    CHECK(r.value->limits.spool_dir == "/tmp");
    CHECK(r.value->limits.spool_directory() == "/tmp");

    // From the environment too.
    auto e = load(minimal, {{"OGP_SPOOL_DIR", "/tmp"}});
    REQUIRE(e.value);
    CHECK(e.value->limits.spool_dir == "/tmp");

    // With a GenAI project (uploads are forwarded): not a directory, or missing, is refused at
    // start-up, naming the key.
    const std::string project =
        std::string(minimal).replace(std::string(minimal).find("clients:"), 0,
                                     "  project_id: ocid1.generativeaiproject.oc1..p\n");
    const auto file = temp_file("spool_not_dir", "x");
    auto f = load(project + "limits:\n  spool_dir: " + file + "\n");
    CHECK_FALSE(f.value);
    CHECK(has_error(f, "limits.spool_dir: '" + file + "' is not a directory"));
    auto m = load(project + "limits:\n  spool_dir: /nonexistent/ogp-spool\n");
    CHECK_FALSE(m.value);
    CHECK(has_error(m, "limits.spool_dir:"));
    // Without one, nothing is ever spooled: a read-only container needs no writable directory.
    auto n = load(std::string(minimal) + "limits:\n  spool_dir: /nonexistent/ogp-spool\n");
    CHECK(n.value);
    auto s = load(std::string(minimal) + "limits:\n  max_upload_bytes: lots\n");
    CHECK_FALSE(s.value);
    CHECK(has_error(s, "limits.max_upload_bytes:"));
    std::remove(file.c_str());
}
