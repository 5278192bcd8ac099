// Unit tests for the operations keys (issue 15): metrics.*, tls.* and plan_reload().
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "ogp/config/config.hpp"
#include "unit/config/config_support.hpp"

using namespace ogp;
using namespace ogp::test;

namespace {

config_result load(const std::string& extra, std::map<std::string, std::string> vars = {})
{
    return load_config_text(std::string(minimal) + extra, "ops.yaml", env_of(std::move(vars)));
}

std::string errors_of(const config_result& r)
{
    std::string out;
    for (const auto& e : r.errors) {
        out += e + "\n";
    }
    return out;
}

// A file removed at the end of the test. The loader checks only that TLS files are readable
// (parsing the PEM is the server's job), so the content does not matter.
struct temp_path
{
    std::string path;
    explicit temp_path(const std::string& name, const std::string& content = "pem\n")
        : path("/tmp/ogp_unit_ops_" + std::to_string(::getpid()) + "_" + name)
    {
        std::ofstream(path) << content;
    }
    ~temp_path() { std::remove(path.c_str()); }
    temp_path(const temp_path&) = delete;
    temp_path& operator=(const temp_path&) = delete;
};

}  // namespace

// --- metrics.* -----------------------------------------------------------------------------

TEST_CASE("metrics keys: defaults", "[config][metrics]")
{
    auto r = load("");
    REQUIRE(r.value);
    const auto& m = r.value->metrics;
    CHECK(m.enabled);
    CHECK(m.listen.empty());
    CHECK(m.listen_host.empty());
    CHECK(m.listen_port == 0);
    CHECK_FALSE(m.require_key);
    // A key on the main listener, none on the separate one.
    CHECK(m.requires_key(false));
    CHECK_FALSE(m.requires_key(true));
    CHECK(described(*r.value, "metrics.enabled") == "metrics.enabled: true");
    CHECK(described(*r.value, "metrics.listen") == "metrics.listen: \"\"");
    CHECK(described(*r.value, "metrics.require_key") == "metrics.require_key: (not set)");
}

TEST_CASE("metrics keys: read from the file", "[config][metrics]")
{
    auto r = load("metrics:\n  enabled: false\n  listen: 127.0.0.1:9464\n  require_key: true\n");
    REQUIRE(r.value);
    const auto& m = r.value->metrics;
    CHECK_FALSE(m.enabled);
    CHECK(m.listen == "127.0.0.1:9464");
    CHECK(m.listen_host == "127.0.0.1");
    CHECK(m.listen_port == 9464);
    REQUIRE(m.require_key);
    CHECK(*m.require_key);
    CHECK(m.requires_key(true));
    CHECK(described(*r.value, "metrics.listen") == "metrics.listen: 127.0.0.1:9464");
    CHECK(described(*r.value, "metrics.require_key") == "metrics.require_key: true");

    auto off = load("metrics:\n  require_key: no\n");
    REQUIRE(off.value);
    CHECK_FALSE(off.value->metrics.requires_key(false));
}

TEST_CASE("metrics.listen: IPv6 in brackets and localhost are parsed", "[config][metrics]")
{
    struct sample
    {
        std::string text, host;
        std::uint16_t port;
        std::string shown;
    };
    for (const auto& s : {sample{"\"[::1]:9464\"", "::1", 9464, "[::1]:9464"},
                          sample{"\"[::]:1\"", "::", 1, "[::]:1"},
                          sample{"localhost:65535", "127.0.0.1", 65535, "127.0.0.1:65535"},
                          sample{"\":9100\"", "0.0.0.0", 9100, "0.0.0.0:9100"}}) {
        INFO(s.text);
        auto r = load("metrics:\n  listen: " + s.text + "\n");
        REQUIRE(r.value);
        CHECK(r.value->metrics.listen_host == s.host);
        CHECK(r.value->metrics.listen_port == s.port);
        CHECK(r.value->metrics.listen == s.shown);
    }
}

TEST_CASE("metrics.listen: every malformed value names the key and the file", "[config][metrics]")
{
    for (std::string bad : {"9464", "127.0.0.1:0", "127.0.0.1:65536", "\"127.0.0.1:\"", "host:9464",
                            "\"[::1:9464\"", "127.0.0.1:94x4", "\"[::1]\"", "127.0.0.1:-1"}) {
        INFO(bad);
        auto r = load("metrics:\n  listen: " + bad + "\n");
        REQUIRE_FALSE(r.value);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].starts_with("ops.yaml: metrics.listen: must be address:port"));
    }
    auto list = load("metrics:\n  listen: [a, b]\n");
    REQUIRE_FALSE(list.value);
    CHECK(has_error(list, "ops.yaml: metrics.listen: must be a string"));
}

TEST_CASE("metrics.listen: must differ from the main listen address", "[config][metrics]")
{
    // Same address and port; or the same port with a wildcard on either side.
    for (auto [main, metrics] :
         {std::pair{"127.0.0.1:8080", "127.0.0.1:8080"},
          std::pair{"0.0.0.0:9000", "127.0.0.1:9000"}, std::pair{"127.0.0.1:9000", "0.0.0.0:9000"},
          std::pair{"\"[::]:9000\"", "127.0.0.1:9000"},
          std::pair{"\"[::1]:9000\"", "\"[::1]:9000\""},
          std::pair{"127.0.0.1:9000", "localhost:9000"}}) {
        INFO(main << " / " << metrics);
        auto r = load(std::string("listen: ") + main + "\nmetrics:\n  listen: " + metrics + "\n");
        REQUIRE_FALSE(r.value);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].starts_with("ops.yaml: metrics.listen: '"));
        CHECK(r.errors[0].find("must differ from listen") != std::string::npos);
    }
    // Different ports, or different specific addresses, or port 0 for the main listener.
    for (auto [main, metrics] : {std::pair{"127.0.0.1:8080", "127.0.0.1:9464"},
                                 std::pair{"127.0.0.1:9000", "127.0.0.2:9000"},
                                 std::pair{"127.0.0.1:0", "127.0.0.1:9464"}}) {
        INFO(main << " / " << metrics);
        auto r = load(std::string("listen: ") + main + "\nmetrics:\n  listen: " + metrics + "\n");
        CHECK(r.value);
        CHECK(errors_of(r).empty());
    }
    // No listener is opened when metrics are off: no conflict.
    auto off = load("metrics:\n  enabled: false\n  listen: 127.0.0.1:8080\n");
    CHECK(off.value);
    // The conflict is found after the environment is applied, too.
    auto env = load("metrics:\n  listen: 127.0.0.1:9464\n", {{"OGP_LISTEN", "0.0.0.0:9464"}});
    REQUIRE_FALSE(env.value);
    CHECK(has_error(env,
                    "ops.yaml: metrics.listen: '127.0.0.1:9464' must differ from listen "
                    "(0.0.0.0:9464)"));
}

TEST_CASE("metrics keys: environment overrides and their errors", "[config][metrics]")
{
    auto r = load("metrics:\n  enabled: true\n  listen: 127.0.0.1:9464\n  require_key: true\n",
                  {{"OGP_METRICS_ENABLED", "0"},
                   {"OGP_METRICS_LISTEN", "[::1]:9100"},
                   {"OGP_METRICS_REQUIRE_KEY", "no"}});
    REQUIRE(r.value);
    CHECK_FALSE(r.value->metrics.enabled);
    CHECK(r.value->metrics.listen == "[::1]:9100");
    CHECK(r.value->metrics.listen_host == "::1");
    CHECK(r.value->metrics.listen_port == 9100);
    CHECK(r.value->metrics.require_key == false);

    auto bad = load("", {{"OGP_METRICS_ENABLED", "maybe"},
                         {"OGP_METRICS_LISTEN", "nowhere"},
                         {"OGP_METRICS_REQUIRE_KEY", "2"}});
    REQUIRE_FALSE(bad.value);
    CHECK(bad.errors.size() == 3);
    CHECK(has_error(bad, "environment: OGP_METRICS_ENABLED: must be true or false"));
    CHECK(has_error(bad, "environment: OGP_METRICS_LISTEN: must be address:port"));
    CHECK(has_error(bad, "environment: OGP_METRICS_REQUIRE_KEY: must be true or false"));

    auto file = load("metrics:\n  enabled: perhaps\n  require_key: 7\n");
    REQUIRE_FALSE(file.value);
    CHECK(has_error(file, "ops.yaml: metrics.enabled: must be true or false"));
    CHECK(has_error(file, "ops.yaml: metrics.require_key: must be true or false"));
}

// --- tls.* ---------------------------------------------------------------------------------

TEST_CASE("tls keys: off by default", "[config][tls]")
{
    auto r = load("");
    REQUIRE(r.value);
    CHECK_FALSE(r.value->tls.enabled());
    CHECK(r.value->tls.cert_file.empty());
    CHECK(r.value->tls.key_file.empty());
    CHECK(r.value->tls.client_ca_file.empty());
    CHECK(described(*r.value, "tls.cert_file") == "tls.cert_file: \"\"");
}

TEST_CASE("tls keys: certificate, key and client CA from the file and the environment",
          "[config][tls]")
{
    temp_path cert("cert.pem"), key("key.pem"), ca("ca.pem"), other("other.pem");
    auto r = load("tls:\n  cert_file: " + cert.path + "\n  key_file: " + key.path +
                  "\n  client_ca_file: " + ca.path + "\n");
    REQUIRE(r.value);
    CHECK(r.value->tls.enabled());
    CHECK(r.value->tls.cert_file == cert.path);
    CHECK(r.value->tls.key_file == key.path);
    CHECK(r.value->tls.client_ca_file == ca.path);
    // Paths are shown; nothing is read into the description.
    CHECK(described(*r.value, "tls.cert_file") == "tls.cert_file: " + cert.path);
    CHECK(described(*r.value, "tls.key_file") == "tls.key_file: " + key.path);
    CHECK(described(*r.value, "tls.client_ca_file") == "tls.client_ca_file: " + ca.path);

    // Each variable replaces the file's value.
    for (auto var : {"OGP_TLS_CERT_FILE", "OGP_TLS_KEY_FILE", "OGP_TLS_CLIENT_CA_FILE"}) {
        INFO(var);
        auto e = load("tls:\n  cert_file: " + cert.path + "\n  key_file: " + key.path +
                          "\n  client_ca_file: " + ca.path + "\n",
                      {{var, other.path}});
        REQUIRE(e.value);
        const auto& t = e.value->tls;
        CHECK((std::string_view(var) == "OGP_TLS_CERT_FILE") == (t.cert_file == other.path));
        CHECK((std::string_view(var) == "OGP_TLS_KEY_FILE") == (t.key_file == other.path));
        CHECK((std::string_view(var) == "OGP_TLS_CLIENT_CA_FILE") ==
              (t.client_ca_file == other.path));
    }
    // The environment alone turns HTTPS on.
    auto env = load("", {{"OGP_TLS_CERT_FILE", cert.path}, {"OGP_TLS_KEY_FILE", key.path}});
    REQUIRE(env.value);
    CHECK(env.value->tls.enabled());
    CHECK(env.value->tls.client_ca_file.empty());
}

TEST_CASE("tls keys: certificate and key both or neither, client CA only with them",
          "[config][tls]")
{
    temp_path cert("pair_cert.pem"), key("pair_key.pem"), ca("pair_ca.pem");
    auto cert_only = load("tls:\n  cert_file: " + cert.path + "\n");
    REQUIRE_FALSE(cert_only.value);
    REQUIRE(cert_only.errors.size() == 1);
    CHECK(cert_only.errors[0] ==
          "ops.yaml: tls.key_file: is required with tls.cert_file ('" + cert.path + "')");

    auto key_only = load("tls:\n  key_file: " + key.path + "\n");
    REQUIRE_FALSE(key_only.value);
    REQUIRE(key_only.errors.size() == 1);
    CHECK(key_only.errors[0] ==
          "ops.yaml: tls.cert_file: is required with tls.key_file ('" + key.path + "')");

    auto ca_only = load("tls:\n  client_ca_file: " + ca.path + "\n");
    REQUIRE_FALSE(ca_only.value);
    REQUIRE(ca_only.errors.size() == 1);
    CHECK(ca_only.errors[0].starts_with("ops.yaml: tls.client_ca_file: ('" + ca.path +
                                        "') needs tls.cert_file and tls.key_file"));

    // Through the environment, the same rule.
    auto env_key = load("", {{"OGP_TLS_KEY_FILE", key.path}});
    REQUIRE_FALSE(env_key.value);
    CHECK(has_error(env_key, "tls.cert_file: is required with tls.key_file"));
}

TEST_CASE("tls keys: every file must exist and be readable", "[config][tls]")
{
    temp_path cert("read_cert.pem"), key("read_key.pem");
    const std::string missing = "/nonexistent/ogp/tls.pem";
    // A missing file for each key: one error each, naming key and file.
    auto r = load("tls:\n  cert_file: " + missing + "-c\n  key_file: " + missing +
                  "-k\n  client_ca_file: " + missing + "-a\n");
    REQUIRE_FALSE(r.value);
    INFO(errors_of(r));
    REQUIRE(r.errors.size() == 3);
    CHECK(r.errors[0] == "ops.yaml: tls.cert_file: cannot read file '" + missing + "-c'");
    CHECK(r.errors[1] == "ops.yaml: tls.key_file: cannot read file '" + missing + "-k'");
    CHECK(r.errors[2] == "ops.yaml: tls.client_ca_file: cannot read file '" + missing + "-a'");

    // A directory is not a file.
    auto dir = load("tls:\n  cert_file: /tmp\n  key_file: " + key.path + "\n");
    REQUIRE_FALSE(dir.value);
    CHECK(dir.errors ==
          std::vector<std::string>{"ops.yaml: tls.cert_file: cannot read file '/tmp'"});

    // A variable naming a missing file is reported under the key, after merging.
    auto env = load("tls:\n  cert_file: " + cert.path + "\n  key_file: " + key.path + "\n",
                    {{"OGP_TLS_KEY_FILE", missing}});
    REQUIRE_FALSE(env.value);
    CHECK(env.errors ==
          std::vector<std::string>{"ops.yaml: tls.key_file: cannot read file '" + missing + "'"});

    // Unreadable for this process (root reads everything: then there is nothing to test).
    if (::geteuid() != 0) {
        temp_path locked("locked_key.pem");
        ::chmod(locked.path.c_str(), 0);
        auto l = load("tls:\n  cert_file: " + cert.path + "\n  key_file: " + locked.path + "\n");
        REQUIRE_FALSE(l.value);
        CHECK(has_error(l, "tls.key_file: cannot read file '" + locked.path + "'"));
    }
}

// --- plan_reload() -------------------------------------------------------------------------

namespace {

config loaded(const std::string& extra = "", std::map<std::string, std::string> vars = {})
{
    auto r = load(extra, std::move(vars));
    REQUIRE(r.value);
    return *r.value;
}

}  // namespace

TEST_CASE("plan_reload: the same configuration needs nothing", "[config][reload]")
{
    const config a = loaded();
    const auto plan = plan_reload(a, a);
    CHECK(plan.restart_needed.empty());
    CHECK_FALSE(plan.credentials_changed);
}

TEST_CASE("plan_reload: what a reload applies needs no restart", "[config][reload]")
{
    temp_path cert("reload_cert.pem"), key("reload_key.pem"), cert2("reload_cert2.pem"),
        ca("reload_ca.pem");
    const config a = loaded("tls:\n  cert_file: " + cert.path + "\n  key_file: " + key.path + "\n");
    // Keys, aliases, defaults, limits, timeouts, log level, access log, metrics key rule, a new
    // certificate file, a client CA.
    const config b = loaded(
        "tls:\n  cert_file: " + cert2.path + "\n  key_file: " + key.path +
            "\n  client_ca_file: " + ca.path +
            "\nmodels:\n  - {name: fast, id: meta.llama-3.3-70b-instruct}\n"
            "defaults:\n  max_tokens: 100\nlimits:\n  max_body_bytes: 1MiB\n  "
            "max_inflight_upstream: "
            "8\ntimeouts:\n  upstream_total: 10s\nlog:\n  level: debug\n  access_log: false\n"
            "metrics:\n  require_key: false\n",
        {{"OGP_API_KEYS", "sk-2"}});
    const auto plan = plan_reload(a, b);
    CHECK(plan.restart_needed.empty());
    CHECK_FALSE(plan.credentials_changed);
}

TEST_CASE("plan_reload: each key bound at start-up is reported once", "[config][reload]")
{
    const config a = loaded();
    struct change
    {
        std::string key;
        void (*apply)(config&);
    };
    const change changes[] = {
        {"listen", [](config& c) { c.listen_port = 9999; }},
        {"listen", [](config& c) { c.listen_host = "0.0.0.0"; }},
        {"threads", [](config& c) { c.threads = 3; }},
        {"oci.region", [](config& c) { c.oci.region = "us-ashburn-1"; }},
        {"oci.endpoint", [](config& c) { c.oci.endpoint = "https://127.0.0.1:1"; }},
        {"oci.ca_file", [](config& c) { c.oci.ca_file = "/etc/ssl/ca.pem"; }},
        {"oci.metadata_url", [](config& c) { c.oci.metadata_url = "http://127.0.0.1:2"; }},
        {"oci.federation_url", [](config& c) { c.oci.federation_url = "https://127.0.0.1:3"; }},
        {"limits.max_connections", [](config& c) { c.limits.max_connections = 10; }},
        {"limits.spool_dir", [](config& c) { c.limits.spool_dir = "/srv/spool"; }},
        {"log.format", [](config& c) { c.log.json = true; }},
        {"metrics.enabled", [](config& c) { c.metrics.enabled = false; }},
        {"metrics.listen",
         [](config& c) {
             c.metrics.listen = "127.0.0.1:9464";
             c.metrics.listen_host = "127.0.0.1";
             c.metrics.listen_port = 9464;
         }},
        // HTTPS turned on: the listener changes.
        {"tls.cert_file",
         [](config& c) {
             c.tls.cert_file = "/etc/ogp/cert.pem";
             c.tls.key_file = "/etc/ogp/key.pem";
         }},
    };
    for (const auto& ch : changes) {
        INFO(ch.key);
        config b = a;
        ch.apply(b);
        const auto plan = plan_reload(a, b);
        CHECK(plan.restart_needed == std::vector<std::string>{ch.key});
        CHECK_FALSE(plan.credentials_changed);
        // And back.
        CHECK(plan_reload(b, a).restart_needed == std::vector<std::string>{ch.key});
    }
}

TEST_CASE("plan_reload: several restart keys come in config_keys() order", "[config][reload]")
{
    const config a = loaded();
    config b = a;
    b.log.json = true;
    b.threads = 2;
    b.metrics.enabled = false;
    b.listen_port = 1;
    b.oci.endpoint = "https://127.0.0.1:1";
    const auto plan = plan_reload(a, b);
    std::vector<std::string> expected;
    for (const auto& k : config_keys()) {
        for (auto want : {"listen", "threads", "oci.endpoint", "log.format", "metrics.enabled"}) {
            if (k.path == want) {
                expected.emplace_back(k.path);
            }
        }
    }
    CHECK(expected.size() == 5);
    CHECK(plan.restart_needed == expected);
}

TEST_CASE("plan_reload: a new identity toward OCI rebuilds the credentials", "[config][reload]")
{
    const config a = loaded();
    void (*const changes[])(config&) = {
        [](config& c) { c.oci.auth = auth_mode::api_key; },
        [](config& c) { c.oci.profile = "OTHER"; },
        [](config& c) { c.oci.config_file = "/etc/ogp/oci/config"; },
        [](config& c) { c.oci.genai_api_key_file = "/etc/ogp/genai.key"; },
        [](config& c) { c.oci.genai_api_key = "rotated"; },  // same file, new content
    };
    int i = 0;
    for (auto apply : changes) {
        INFO("change " << i++);
        config b = a;
        apply(b);
        const auto plan = plan_reload(a, b);
        CHECK(plan.credentials_changed);
        CHECK(plan.restart_needed.empty());
    }
    // Compartment, project and models are per request: the credentials stay.
    config c = a;
    c.oci.compartment_id = "ocid1.compartment.oc1..other";
    c.oci.project_id = "ocid1.generativeaiproject.oc1..p";
    c.models.push_back({.name = "m", .id = "meta.llama-3.3-70b-instruct"});
    CHECK_FALSE(plan_reload(a, c).credentials_changed);
}
