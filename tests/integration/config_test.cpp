// Command line and configuration errors of the real daemon: bad or missing files exit 2 with
// one line per problem naming the key and the file; --check-config, --version and --help.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "ogp/config/config.hpp"
#include "support/daemon.hpp"
#include "support/http.hpp"
#include "support/http_checks.hpp"
#include "support/json.hpp"
#include "support/net.hpp"

using namespace ogp::test;

namespace {

// A valid configuration (as the other tests use) with `extra` appended.
std::string valid_yaml(std::string_view extra = {})
{
    return daemon_config{}.yaml() + std::string(extra);
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            out.push_back(line);
        }
    }
    return out;
}

// Runs the daemon on `yaml` (normally and with --check-config) and requires exit code 2 with a
// single stderr line that names the file and contains every string in `needles` (the key, and
// the offending value where the message quotes it).
void check_config_error(std::string_view yaml, std::initializer_list<std::string_view> needles)
{
    temp_dir dir;
    const auto path = dir.write("bad.yaml", yaml);
    INFO("config:\n" << yaml);
    for (bool check_only : {false, true}) {
        std::vector<std::string> args{"--config", path};
        if (check_only) {
            args.emplace_back("--check-config");
        }
        auto r = run_daemon(args);
        INFO("check_only " << check_only << ", stderr:\n" << r.err);
        REQUIRE(r.status);
        CHECK(r.status->exited);
        CHECK(r.status->code == 2);
        auto lines = lines_of(r.err);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].starts_with("oci-genai-proxy: " + path + ": "));
        for (auto n : needles) {
            CHECK(lines[0].find(n) != std::string::npos);
        }
        CHECK(r.out.find("listening") == std::string::npos);
        CHECK(r.err.find("listening") == std::string::npos);
    }
}

}  // namespace

TEST_CASE("cli: --version and --help print to stdout and exit 0", "[config][cli]")
{
    auto v = run_daemon({"--version"});
    REQUIRE(v.status);
    CHECK(v.status->code == 0);
    CHECK(v.out.starts_with("oci-genai-proxy "));
    CHECK(lines_of(v.out).size() == 1);
    CHECK(v.err.empty());
    for (const char* flag : {"--help", "-h"}) {
        auto h = run_daemon({flag});
        REQUIRE(h.status);
        CHECK(h.status->code == 0);
        CHECK(h.out.find("Usage: oci-genai-proxy") != std::string::npos);
        CHECK(h.out.find("--check-config") != std::string::npos);
        CHECK(h.err.empty());
    }
    // --version wins without reading any configuration.
    auto vv = run_daemon({"--config", "/nonexistent/ogp.yaml", "--version"});
    REQUIRE(vv.status);
    CHECK(vv.status->code == 0);
}

TEST_CASE("cli: unknown arguments and a missing --config value exit 2", "[config][cli]")
{
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--bogus"}, {"serve"}, {"--config"}, {"-x", "--help"}}) {
        INFO("args: " << args.front());
        auto r = run_daemon(args);
        REQUIRE(r.status);
        CHECK(r.status->code == 2);
        CHECK(lines_of(r.err).size() == 1);
        CHECK(r.err.starts_with("oci-genai-proxy: "));
        CHECK(r.out.empty());
    }
    auto r = run_daemon({"--frobnicate"});
    CHECK(r.err.find("'--frobnicate'") != std::string::npos);
}

TEST_CASE("A missing or unreadable config file exits 2 naming the file", "[config]")
{
    temp_dir dir;
    const std::string missing = dir.path() + "/does-not-exist.yaml";
    for (bool check_only : {false, true}) {
        std::vector<std::string> args{"--config", missing};
        if (check_only) {
            args.emplace_back("--check-config");
        }
        auto r = run_daemon(args);
        REQUIRE(r.status);
        CHECK(r.status->code == 2);
        auto lines = lines_of(r.err);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0] == "oci-genai-proxy: " + missing + ": cannot read config file");
    }
    // --config=FILE and $OGP_CONFIG name the file the same way.
    auto eq = run_daemon({"--config=" + missing});
    REQUIRE(eq.status);
    CHECK(eq.status->code == 2);
    CHECK(eq.err.find(missing) != std::string::npos);
    auto env = run_daemon({}, 10s, {"OGP_CONFIG=" + missing});
    REQUIRE(env.status);
    CHECK(env.status->code == 2);
    CHECK(env.err.find(missing) != std::string::npos);
}

TEST_CASE("A directory given as the config file is refused as unreadable", "[config]")
{
    // Opening a directory with std::ifstream succeeds and reads nothing, so the loader must
    // not take it for an empty file: with OGP_COMPARTMENT_ID and OGP_API_KEYS set the daemon
    // would otherwise start on defaults (port 8080, default limits) and ignore the intent.
    temp_dir dir;
    auto d = run_daemon({"--config", dir.path(), "--check-config"}, 10s,
                        {"OGP_COMPARTMENT_ID=ocid1.compartment.oc1..test", "OGP_API_KEYS=k"});
    INFO("stdout: " << d.out << "stderr: " << d.err);
    REQUIRE(d.status);
    CHECK(d.status->code == 2);
    CHECK(d.err.find(dir.path() + ": cannot read config file") != std::string::npos);
}

TEST_CASE("Bad config values exit 2 with one line naming the key and the file", "[config]")
{
    check_config_error("listen: [not, a, string\n", {"invalid YAML"});
    check_config_error(valid_yaml("bogus_top: 1\n"), {"unknown key 'bogus_top'"});
    check_config_error(valid_yaml("listen_addr: 1\n"), {"unknown key 'listen_addr'"});

    // Keys inside sections: a typo in a nested key is named with its section.
    auto with = [](std::string_view from, std::string_view to) {
        std::string y = valid_yaml();
        auto at = y.find(from);
        REQUIRE(at != std::string::npos);
        y.replace(at, from.size(), to);
        return y;
    };
    check_config_error(with("request_header: 1", "request_headr: 1"),
                       {"unknown key 'timeouts.request_headr'"});
    check_config_error(with("request_header: 1", "request_header: soon"),
                       {"timeouts.request_header"});
    check_config_error(with("drain: 2", "drain: -1"), {"timeouts.drain"});
    check_config_error(with("max_body_bytes: 64KiB", "max_body_bytes: lots"),
                       {"limits.max_body_bytes", "'lots'"});
    check_config_error(with("max_body_bytes: 64KiB", "max_body_bytes: 64KiB\n  max_connections: 0"),
                       {"limits.max_connections"});
    {
        // Checked where uploads are forwarded: with a GenAI project.
        std::string y =
            with("max_body_bytes: 64KiB", "max_body_bytes: 64KiB\n  spool_dir: /nonexistent/spool");
        const std::string compartment = "compartment_id: ocid1.compartment.oc1..test\n";
        y.replace(y.find(compartment), compartment.size(),
                  compartment + "  project_id: ocid1.generativeaiproject.oc1..test\n");
        check_config_error(y, {"limits.spool_dir", "'/nonexistent/spool' is not a directory"});
    }
    check_config_error(
        with("max_body_bytes: 64KiB", "max_body_bytes: 64KiB\n  max_upload_bytes: lots"),
        {"limits.max_upload_bytes", "'lots'"});
    check_config_error(with("listen: 127.0.0.1:0", "listen: 127.0.0.1:99999"), {"listen"});
    check_config_error(with("listen: 127.0.0.1:0", "listen: localhost"), {"listen", "'localhost'"});
    check_config_error(with("threads: 2", "threads: many"), {"threads"});
    check_config_error(with("level: info", "level: loud"), {"log.level", "'loud'"});
    check_config_error(with("allow_anonymous: false", "allow_anonymous: maybe"),
                       {"clients.allow_anonymous"});
    check_config_error(with("compartment_id: ocid1.compartment.oc1..test", "compartment_id: abc"),
                       {"oci.compartment_id"});
    check_config_error(with("compartment_id: ocid1.compartment.oc1..test", "region: us-ashburn-1"),
                       {"oci.compartment_id"});
    check_config_error(with("oci:\n", "oci:\n  auth: magic\n"), {"oci.auth", "'magic'"});
    check_config_error(with("oci:\n", "oci:\n  region: mars-central-9x\n"), {"oci.region"});

    // The openai route and GenAI API keys (issue 14).
    check_config_error(with("oci:\n", "oci:\n  project_id: ocid1.compartment.oc1..x\n"),
                       {"oci.project_id", "ocid1.generativeaiproject."});
    const std::string open_alias =
        "models:\n  - name: g\n    id: openai.gpt-oss-120b\n    route: openai\n";
    check_config_error(valid_yaml(open_alias), {"models[0].project_id", "route: openai"});
    check_config_error(
        valid_yaml("models:\n  - name: c\n    id: cohere.command-r\n    route: openai\n"
                   "    project_id: ocid1.generativeaiproject.oc1..p\n"),
        {"models[0].route", "Cohere models are not served by OCI's OpenAI-compatible API"});
    check_config_error(valid_yaml("models:\n  - name: g\n    id: x\n    route: sideways\n"),
                       {"models[0].route", "'sideways'"});
    check_config_error(with("oci:\n", "oci:\n  auth: genai_api_key\n"),
                       {"oci.genai_api_key_file", "OCI_GENAI_API_KEY"});
    check_config_error(with("oci:\n",
                            "oci:\n  auth: genai_api_key\n  genai_api_key_file: "
                            "/nonexistent/genai.key\n"),
                       {"oci.genai_api_key_file", "/nonexistent/genai.key"});
}

TEST_CASE("GenAI API key problems exit 2 without echoing the key", "[config][auth]")
{
    const std::string secret = "gk-integration-secret-42";
    temp_dir keys;
    const auto good_key = keys.write("genai.key", secret + "\n");
    const auto bad_key = keys.write("bad.key", secret + " and more\n");
    auto genai = [](const std::string& key_file, std::string_view models) {
        std::string y = valid_yaml(models);
        y.replace(y.find("oci:\n"), 5,
                  "oci:\n  auth: genai_api_key\n  genai_api_key_file: " + key_file + "\n");
        return y;
    };
    const std::string open_alias =
        "models:\n  - name: g\n    id: openai.gpt-oss-120b\n    route: openai\n";
    // A native alias: GenAI API keys work only on route: openai.
    check_config_error(genai(good_key, "models:\n  - name: n\n    id: meta.llama-4\n"),
                       {"models[0].route", "alias 'n'", "route: openai"});
    check_config_error(genai(good_key, open_alias + "models_discovery: true\n"),
                       {"models_discovery", "genai_api_key"});
    // A key with a space: refused, named by its file, not shown.
    {
        temp_dir dir;
        const auto path = dir.write("bad.yaml", genai(bad_key, open_alias));
        auto r = run_daemon({"--config", path, "--check-config"});
        INFO("stderr: " << r.err);
        REQUIRE(r.status);
        CHECK(r.status->code == 2);
        CHECK(r.err.find("oci.genai_api_key_file") != std::string::npos);
        CHECK(r.err.find(bad_key) != std::string::npos);
        CHECK(r.err.find(secret) == std::string::npos);
        CHECK(lines_of(r.err).size() == 1);
    }
    // A good one: accepted, described as set, never printed.
    {
        temp_dir dir;
        const auto path = dir.write("good.yaml", genai(good_key, open_alias));
        auto r = run_daemon({"--config", path, "--check-config"});
        INFO("stdout: " << r.out << "stderr: " << r.err);
        REQUIRE(r.status);
        CHECK(r.status->code == 0);
        CHECK(r.out.find("oci.genai_api_key: (set)") != std::string::npos);
        CHECK(r.out.find("oci.auth: genai_api_key") != std::string::npos);
        CHECK(r.out.find(secret) == std::string::npos);
        CHECK(r.err.find(secret) == std::string::npos);
        // The variable instead of the file.
        std::string y = valid_yaml(open_alias);
        y.replace(y.find("oci:\n"), 5, "oci:\n  auth: genai_api_key\n");
        const auto env_path = dir.write("env.yaml", y);
        auto e = run_daemon({"--config", env_path, "--check-config"}, 10s,
                            {"OCI_GENAI_API_KEY=" + secret});
        INFO("stdout: " << e.out << "stderr: " << e.err);
        REQUIRE(e.status);
        CHECK(e.status->code == 0);
        CHECK(e.out.find("oci.genai_api_key: (set)") != std::string::npos);
        CHECK(e.out.find(secret) == std::string::npos);
    }
}

TEST_CASE("Client key problems exit 2 without echoing the key", "[config][auth]")
{
    // No keys and no anonymous access.
    {
        daemon_config cfg;
        cfg.api_keys.clear();
        check_config_error(cfg.yaml(), {"clients", "allow_anonymous"});
    }
    // A key with a space is refused, and the message does not contain it.
    {
        daemon_config cfg;
        cfg.api_keys = {"secret with-space"};
        temp_dir dir;
        const auto path = dir.write("bad.yaml", cfg.yaml());
        auto r = run_daemon({"--config", path});
        REQUIRE(r.status);
        CHECK(r.status->code == 2);
        CHECK(r.err.find("clients.api_keys") != std::string::npos);
        CHECK(r.err.find(path) != std::string::npos);
        CHECK(r.err.find("secret") == std::string::npos);
    }
    // api_keys_file that does not exist.
    {
        temp_dir dir;
        const std::string keys = dir.path() + "/keys.txt";
        std::string y = valid_yaml();
        y.replace(y.find("clients:\n"), 9, "clients:\n  api_keys_file: " + keys + "\n");
        check_config_error(y, {"clients.api_keys_file", keys});
    }
}

TEST_CASE("cli: --check-config prints every problem and exits 2, or reports OK and exits 0",
          "[config]")
{
    temp_dir dir;
    const std::string bad =
        "listen: nowhere\n"
        "threads: -3\n"
        "oci:\n  auth: magic\n"
        "clients:\n  allow_anonymous: false\n"
        "timeouts:\n  drain: never\n  request_headr: 1\n"
        "limits:\n  max_body_bytes: 0\n"
        "log:\n  level: loud\n";
    const auto path = dir.write("many.yaml", bad);
    auto r = run_daemon({"--check-config", "--config", path});
    INFO("stderr:\n" << r.err);
    REQUIRE(r.status);
    CHECK(r.status->code == 2);
    auto lines = lines_of(r.err);
    for (const char* key :
         {"listen", "threads", "oci.auth", "timeouts.drain", "timeouts.request_headr",
          "limits.max_body_bytes", "log.level", "oci.compartment_id", "clients"}) {
        INFO("key " << key);
        bool found = false;
        for (const auto& l : lines) {
            found = found || l.find(key) != std::string::npos;
        }
        CHECK(found);
    }
    CHECK(lines.size() >= 9);
    for (const auto& l : lines) {
        INFO(l);
        CHECK(l.starts_with("oci-genai-proxy: " + path + ": "));
    }

    const auto good = dir.write("good.yaml", valid_yaml());
    auto ok = run_daemon({"--config", good, "--check-config"});
    REQUIRE(ok.status);
    CHECK(ok.status->code == 0);
    // The OK line, then one `key: value` line per key of the loader's table, in its order,
    // with the client keys counted, never shown.
    auto out = lines_of(ok.out);
    REQUIRE(!out.empty());
    CHECK(out.front() == "configuration OK (" + good + ")");
    const auto keys = ogp::config_keys();
    REQUIRE(out.size() == keys.size() + 1);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        INFO(out[i + 1]);
        CHECK(out[i + 1].starts_with(std::string(keys[i].path) + ": "));
    }
    CHECK(ok.out.find("timeouts.drain: ") != std::string::npos);
    CHECK(ok.out.find(std::string(test_key)) == std::string::npos);
    CHECK(ok.err.empty());
}

TEST_CASE("Environment overrides apply and their errors name the variable", "[config]")
{
    temp_dir dir;
    daemon_config cfg;
    cfg.api_keys.clear();
    const auto path = dir.write("env.yaml", cfg.yaml());
    // OGP_API_KEYS supplies the keys the file lacks.
    {
        auto r = run_daemon({"--config", path, "--check-config"}, 10s, {"OGP_API_KEYS=k1,k2"});
        REQUIRE(r.status);
        CHECK(r.status->code == 0);
    }
    {
        auto r = run_daemon({"--config", path, "--check-config"}, 10s,
                            {"OGP_API_KEYS=k1", "OGP_LISTEN=nowhere", "OGP_THREADS=x"});
        REQUIRE(r.status);
        CHECK(r.status->code == 2);
        CHECK(r.err.find("environment: OGP_LISTEN") != std::string::npos);
        CHECK(r.err.find("environment: OGP_THREADS") != std::string::npos);
        CHECK(lines_of(r.err).size() == 2);
    }
    // The daemon really uses an environment key.
    daemon_process d(cfg, {"OGP_API_KEYS=env-key"});
    raw_client c(d.port());
    REQUIRE(
        c.send("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer env-key\r\n"
               "Content-Length: 2\r\n\r\n{}"));
    auto resp = c.read_response();
    REQUIRE(resp);
    CHECK(resp->status != 401);
}

TEST_CASE("A listen address already in use exits 1 with a clear message", "[config]")
{
    daemon_process first;
    temp_dir dir;
    std::string yaml = daemon_config{}.yaml();  // the same config, on the first one's port
    yaml.replace(yaml.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(first.port()));
    const auto path = dir.write("busy.yaml", yaml);
    auto r = run_daemon({"--config", path});
    REQUIRE(r.status);
    CHECK(r.status->code == 1);
    CHECK(r.err.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())) !=
          std::string::npos);
    // The first daemon is unaffected.
    raw_client c(first.port());
    REQUIRE(c.send(get_request()));
    auto resp = c.read_response();
    REQUIRE(resp);
    CHECK(resp->status == 200);
}

// ---- issue 15: metrics.* and tls.* at start-up ------------------------------------------------

TEST_CASE("Bad metrics and TLS keys exit 2 naming the key", "[config][metrics][tls]")
{
    check_config_error(valid_yaml("metrics:\n  enabled: maybe\n"), {"metrics.enabled"});
    check_config_error(valid_yaml("metrics:\n  require_key: perhaps\n"), {"metrics.require_key"});
    check_config_error(valid_yaml("metrics:\n  listen: localhost\n"),
                       {"metrics.listen", "'localhost'"});
    check_config_error(valid_yaml("metrics:\n  listen: 127.0.0.1:99999\n"), {"metrics.listen"});
    // A second listener cannot report a port the kernel chose: scrapers need a known one.
    check_config_error(valid_yaml("metrics:\n  listen: 127.0.0.1:0\n"), {"metrics.listen"});
    check_config_error(valid_yaml("metrics:\n  listn: 127.0.0.1:9464\n"),
                       {"unknown key 'metrics.listn'"});
    {
        // The same address as the main listener.
        std::string y = valid_yaml("metrics:\n  listen: 127.0.0.1:18463\n");
        y.replace(y.find("listen: 127.0.0.1:0"), 19, "listen: 127.0.0.1:18463");
        check_config_error(y, {"metrics.listen"});
    }

    temp_dir dir;
    const std::string pem = dir.write("some.pem", "not really a PEM file\n");
    check_config_error(valid_yaml("tls:\n  cert_file: " + pem + "\n"), {"tls.key_file"});
    check_config_error(valid_yaml("tls:\n  key_file: " + pem + "\n"), {"tls.cert_file"});
    check_config_error(valid_yaml("tls:\n  client_ca_file: " + pem + "\n"), {"tls.client_ca_file"});
    check_config_error(
        valid_yaml("tls:\n  cert_file: /nonexistent/cert.pem\n  key_file: " + pem + "\n"),
        {"tls.cert_file", "/nonexistent/cert.pem"});
    check_config_error(
        valid_yaml("tls:\n  cert_file: " + pem + "\n  key_file: /nonexistent/key.pem\n"),
        {"tls.key_file", "/nonexistent/key.pem"});
    check_config_error(valid_yaml("tls:\n  cert_file: " + pem + "\n  key_file: " + pem +
                                  "\n  client_ca_file: /nonexistent/ca.pem\n"),
                       {"tls.client_ca_file", "/nonexistent/ca.pem"});
}

TEST_CASE("A TLS certificate that does not load exits 2 naming the key and the file",
          "[config][tls]")
{
    // The files exist (the config check passes); loading the PEM is the start-up's job.
    temp_dir dir;
    const std::string cert = dir.write("cert.pem", "-----BEGIN CERTIFICATE-----\nnope\n");
    const std::string key = dir.write("key.pem", "-----BEGIN PRIVATE KEY-----\nnope\n");
    const auto path = dir.write(
        "tls.yaml", valid_yaml("tls:\n  cert_file: " + cert + "\n  key_file: " + key + "\n"));
    auto r = run_daemon({"--config", path});
    INFO(r.err);
    REQUIRE(r.status);
    CHECK(r.status->exited);
    CHECK(r.status->code == 2);
    CHECK(r.err.find("tls.cert_file") != std::string::npos);
    CHECK(r.err.find(cert) != std::string::npos);
    CHECK(r.err.find("listening on") == std::string::npos);
}

TEST_CASE("Metrics environment overrides apply and their errors name the variable",
          "[config][metrics]")
{
    temp_dir dir;
    const auto path = dir.write("env.yaml", valid_yaml());
    {
        auto r = run_daemon({"--config", path, "--check-config"}, 10s,
                            {"OGP_METRICS_LISTEN=nowhere", "OGP_METRICS_ENABLED=perhaps",
                             "OGP_METRICS_REQUIRE_KEY=x"});
        INFO(r.err);
        REQUIRE(r.status);
        CHECK(r.status->code == 2);
        CHECK(r.err.find("OGP_METRICS_LISTEN") != std::string::npos);
        CHECK(r.err.find("OGP_METRICS_ENABLED") != std::string::npos);
        CHECK(r.err.find("OGP_METRICS_REQUIRE_KEY") != std::string::npos);
    }
    // The daemon really uses them: /metrics switched off, then open without a key.
    {
        daemon_process d({}, {"OGP_METRICS_ENABLED=false"});
        raw_client c(d.port());
        REQUIRE(c.send(
            get_request("/metrics", "Authorization: Bearer " + std::string(test_key) + "\r\n")));
        auto resp = c.read_response();
        REQUIRE(resp);
        CHECK(resp->status == 404);
    }
    {
        daemon_process d({}, {"OGP_METRICS_REQUIRE_KEY=false"});
        raw_client c(d.port());
        REQUIRE(c.send(get_request("/metrics")));
        auto resp = c.read_response();
        REQUIRE(resp);
        CHECK(resp->status == 200);
        CHECK(resp->header("content-type").value_or("").starts_with("text/plain; version=0.0.4"));
    }
}

TEST_CASE("A separate metrics listener: logged, served, and a busy port exits 1",
          "[config][metrics]")
{
    const std::uint16_t mport = free_loopback_port();
    daemon_config cfg;
    cfg.extra = "metrics:\n  listen: 127.0.0.1:" + std::to_string(mport) + "\n";
    daemon_process d(cfg);
    CHECK(d.wait_for_log("metrics listening on 127.0.0.1:" + std::to_string(mport), 3s));
    {
        raw_client c(mport);
        REQUIRE(c.send(get_request("/metrics")));
        auto resp = c.read_response();
        REQUIRE(resp);
        CHECK(resp->status == 200);
    }
    // A second daemon whose metrics address is taken (its main one is free) does not start.
    temp_dir dir;
    const auto path = dir.write("busy.yaml", cfg.yaml());
    auto r = run_daemon({"--config", path});
    INFO(r.err);
    REQUIRE(r.status);
    CHECK(r.status->exited);
    CHECK(r.status->code == 1);
    CHECK(r.err.find("127.0.0.1:" + std::to_string(mport)) != std::string::npos);
    // The first daemon is unaffected.
    raw_client c(d.port());
    REQUIRE(c.send(get_request()));
    auto resp = c.read_response();
    REQUIRE(resp);
    CHECK(resp->status == 200);
}
