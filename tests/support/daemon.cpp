#include "support/daemon.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/credentials.hpp"
#include "support/net.hpp"

namespace ogp::test {
namespace {

constexpr std::string_view listening_marker = "listening on 127.0.0.1:";

// The port in `listening on 127.0.0.1:<port>` (the main listener: a separate metrics
// listener logs `metrics listening on ...`, skipped), once the number is complete.
std::optional<std::uint16_t> parse_port(std::string_view log)
{
    constexpr std::string_view metrics_prefix = "metrics ";
    auto at = log.find(listening_marker);
    while (at != std::string_view::npos && at >= metrics_prefix.size() &&
           log.substr(at - metrics_prefix.size(), metrics_prefix.size()) == metrics_prefix) {
        at = log.find(listening_marker, at + 1);
    }
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    std::size_t i = at + listening_marker.size();
    std::size_t j = i;
    while (j < log.size() && std::isdigit(static_cast<unsigned char>(log[j]))) {
        ++j;
    }
    if (j == i || j == log.size()) {
        return std::nullopt;  // the number may not be complete yet
    }
    return static_cast<std::uint16_t>(std::stoul(std::string(log.substr(i, j - i))));
}

}  // namespace

const char* daemon_path()
{
    return OGP_DAEMON_PATH;
}

std::string daemon_config::yaml() const
{
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\n";
    y << "threads: " << threads << "\n";
    // Credentials are fetched at start-up: keep IMDS and federation on loopback (nothing listens).
    const std::string local = "127.0.0.1:" + std::to_string(closed_port());
    y << "oci:\n  compartment_id: ocid1.compartment.oc1..test\n";
    y << "  endpoint: https://127.0.0.1:" << (upstream_port != 0 ? upstream_port : closed_port())
      << "\n";
    y << "  metadata_url: http://" << local << "/opc/v2\n";
    y << "  federation_url: https://" << local << "\n";
    if (!oci_config_file.empty()) {
        y << "  auth: api_key\n  config_file: " << oci_config_file << "\n";
    }
    y << "clients:\n";
    if (!api_keys.empty()) {
        y << "  api_keys:\n";
        for (const auto& k : api_keys) {
            y << "    - \"" << k << "\"\n";
        }
    }
    y << "  allow_anonymous: " << (allow_anonymous ? "true" : "false") << "\n";
    y << "timeouts:\n";
    y << "  request_header: " << request_header << "\n";
    y << "  request_body: " << request_body << "\n";
    y << "  keepalive_idle: " << keepalive_idle << "\n";
    y << "  drain: " << drain << "\n";
    y << "  upstream_connect: " << upstream_connect << "\n";
    y << "limits:\n";
    y << "  max_body_bytes: " << max_body_bytes << "\n";
    if (max_connections) {
        y << "  max_connections: " << *max_connections << "\n";
    }
    if (max_requests_per_connection) {
        y << "  max_requests_per_connection: " << *max_requests_per_connection << "\n";
    }
    y << limits_extra;
    y << "log:\n  level: " << log_level << "\n";
    y << extra;
    return y.str();
}

program_result run_daemon(const std::vector<std::string>& args, ms timeout,
                          const std::vector<std::string>& extra_env)
{
    std::vector<std::string> argv{daemon_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, timeout, extra_env);
}

daemon_process::daemon_process(const daemon_config& cfg, const std::vector<std::string>& extra_env,
                               ms start_timeout)
{
    daemon_config local = cfg;
    if (local.oci_config_file.empty()) {
        local.oci_config_file = write_api_key_credentials(dir_).config_file;
    }
    config_text_ = local.yaml();
    start(extra_env, start_timeout);
}

daemon_process::daemon_process(std::string yaml, ms start_timeout, ms stop_grace)
    : config_text_(std::move(yaml)), stop_grace_(stop_grace)
{
    start({}, start_timeout);
}

void daemon_process::start(const std::vector<std::string>& extra_env, ms start_timeout)
{
    config_path_ = dir_.write("config.yaml", config_text_);
    proc_ = std::make_unique<child>(
        std::vector<std::string>{daemon_path(), "--config", config_path_}, extra_env);
    std::optional<std::uint16_t> port;
    proc_->wait_err(
        [&](const std::string& log) {
            port = parse_port(log);
            return port.has_value();
        },
        start_timeout);
    if (!port) {
        proc_->stop(0ms);
        throw std::runtime_error("the daemon did not start listening; stderr:\n" + proc_->err() +
                                 "\nconfig:\n" + config_text_);
    }
    port_ = *port;
}

daemon_process::~daemon_process()
{
    proc_->stop(stop_grace_);
    const std::string log = proc_->err();
    if (std::getenv("OGP_TEST_VERBOSE") != nullptr) {
        std::fprintf(stderr, "---- daemon log ----\n%s---- end ----\n", log.c_str());
    }
    // A sanitizer report from the daemon fails the test that ran it.
    if (std::uncaught_exceptions() == 0) {
        if (auto report = ogp::test::sanitizer_report(log); !report.empty()) {
            FAIL_CHECK("sanitizer report in the daemon's stderr:\n" << report);
        }
    }
}

std::string daemon_process::base_url() const
{
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

namespace {

std::size_t count_of(std::string_view log, std::string_view needle)
{
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

}  // namespace

std::size_t daemon_process::log_count(std::string_view needle) const
{
    return count_of(proc_->err(), needle);
}

bool daemon_process::wait_for_log_count(std::string_view needle, std::size_t n, ms timeout) const
{
    return proc_->wait_err([&](const std::string& log) { return count_of(log, needle) >= n; },
                           timeout);
}

void daemon_process::rewrite_config(std::string yaml)
{
    // Written to a temporary name and renamed over the file, so that a reload never reads a
    // half-written file.
    const std::string tmp = dir_.write("config.yaml.new", yaml);
    if (std::rename(tmp.c_str(), config_path_.c_str()) != 0) {
        throw sys_error("rename " + tmp);
    }
    config_text_ = std::move(yaml);
}

std::size_t daemon_process::rss_kib() const
{
    std::ifstream f("/proc/" + std::to_string(proc_->pid()) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.starts_with("VmRSS:")) {
            return std::strtoull(line.c_str() + 6, nullptr, 10);
        }
    }
    return 0;
}

}  // namespace ogp::test
