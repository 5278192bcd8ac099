#pragma once
// The real daemon binary (OGP_DAEMON_PATH) as a child process on 127.0.0.1 port 0, and the
// configuration the integration tests give it (every OCI URL on a closed loopback port).

#include <sys/types.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/common.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace ogp::test {

/// The path of the daemon binary under test.
const char* daemon_path();

/// The knobs the integration tests change, rendered to a complete daemon YAML config by yaml().
/// Defaults: listen on 127.0.0.1:0, one API key (test_key), short deadlines (1 s header,
/// body and keep-alive idle, 2 s drain), 64 KiB body limit, and every OCI URL pointing at
/// closed_port().
struct daemon_config
{
    unsigned threads = 2;
    std::vector<std::string> api_keys{std::string(test_key)};
    bool allow_anonymous = false;
    std::string request_header = "1";
    std::string request_body = "1";
    std::string keepalive_idle = "1";
    std::string drain = "2";
    std::string max_body_bytes = "64KiB";
    std::optional<std::size_t> max_connections;
    std::optional<std::size_t> max_requests_per_connection;
    std::string log_level = "info";
    std::string limits_extra;  ///< raw YAML lines appended inside `limits:` ("  key: v\n")
    std::string extra;         ///< raw YAML appended at the top level
    /// `oci.auth: api_key` with this OCI config file; empty: instance_principal (whose IMDS
    /// is the closed port). daemon_process fills it with write_api_key_credentials().
    std::string oci_config_file;
    /// Port of `oci.endpoint` (https://127.0.0.1:<port>); 0: closed_port().
    std::uint16_t upstream_port = 0;
    std::string upstream_connect = "2";  ///< `timeouts.upstream_connect`

    std::string yaml() const;
};

/// Runs the daemon with `args` to completion (command-line and config checks); see
/// run_program().
program_result run_daemon(const std::vector<std::string>& args, ms timeout = 10s,
                          const std::vector<std::string>& extra_env = {});

/// The real daemon on a config file in a private directory, with stderr captured; the
/// constructor returns once it logged `listening on 127.0.0.1:<port>` and throws
/// std::runtime_error (with the captured stderr) if it exits or does not listen within the
/// start timeout. The destructor stops it (at once with SIGKILL for the integration
/// constructor; SIGTERM with a grace for subclasses that want leak reports) and fails the
/// running test if its stderr holds a sanitizer report. Methods: test thread only.
class daemon_process
{
public:
    /// The daemon on `cfg` (with local API-key credentials unless `cfg.oci_config_file` is set).
    explicit daemon_process(const daemon_config& cfg = {},
                            const std::vector<std::string>& extra_env = {}, ms start_timeout = 15s);
    virtual ~daemon_process();
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return proc_->pid(); }
    const std::string& config_path() const { return config_path_; }
    const std::string& config_text() const { return config_text_; }
    std::string base_url() const;  ///< http://127.0.0.1:<port>/v1

    /// Sends `sig` to the daemon (no-op once it was reaped).
    void stop(int sig = SIGTERM) { proc_->signal(sig); }
    /// Waits up to `timeout` for the daemon to exit; nullopt if it is still running. Once it
    /// has exited, captured_stderr() holds everything it wrote.
    std::optional<exit_status> wait_exit(ms timeout) { return proc_->wait_exit(timeout); }
    /// Everything the daemon wrote to stderr so far (its log).
    std::string captured_stderr() const { return proc_->err(); }
    /// True once `needle` appears in the log within `timeout` (the log is read from a pipe and
    /// may trail what the daemon already sent to a client).
    bool wait_for_log(std::string_view needle, ms timeout = 5s) const
    {
        return proc_->wait_for(needle, timeout);
    }
    /// Number of occurrences of `needle` in the log.
    std::size_t log_count(std::string_view needle) const;
    /// True once `needle` appears at least `n` times in the log within `timeout` (e.g. the
    /// n-th `configuration reloaded`).
    bool wait_for_log_count(std::string_view needle, std::size_t n, ms timeout = 5s) const;
    /// Replaces the config file with `yaml` (atomically: a reload reads the old or the new
    /// file, never a mix); the daemon reads it on SIGHUP (stop(SIGHUP)).
    void rewrite_config(std::string yaml);
    /// The daemon's resident set size in KiB (from /proc), or 0 if unavailable.
    std::size_t rss_kib() const;
    /// The first sanitizer report in the daemon's stderr, or empty.
    std::string sanitizer_report() const { return ogp::test::sanitizer_report(proc_->err()); }

protected:
    /// The daemon on the config `yaml` as it stands; stopped with SIGTERM and `stop_grace`.
    daemon_process(std::string yaml, ms start_timeout, ms stop_grace);

private:
    void start(const std::vector<std::string>& extra_env, ms start_timeout);

    temp_dir dir_;
    std::string config_text_;
    std::string config_path_;
    std::unique_ptr<child> proc_;
    std::uint16_t port_ = 0;
    ms stop_grace_{0};
};

}  // namespace ogp::test
