#pragma once
// Support for the integration tests: the real daemon binary as a child process, and a raw
// socket HTTP/1.1 client with hard time bounds on every operation. Loopback only.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ogp::it {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
/// True in ASan builds, where RSS measurements say nothing about the daemon's own buffering.
inline constexpr bool asan_build = true;
#else
inline constexpr bool asan_build = false;
#endif

/// The API key every default test configuration accepts.
inline constexpr std::string_view test_key = "test-key-1";

/// Seconds elapsed since `start`, as a double (for timing assertions).
double seconds_since(steady::time_point start);

/// A private temporary directory, removed with its contents on destruction. Not copyable.
class temp_dir
{
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }
    /// Writes `content` to `name` inside the directory; returns the full path.
    std::string write(std::string_view name, std::string_view content) const;

private:
    std::string path_;
};

/// A loopback TCP port that is bound but never listens, held for the life of the test
/// process: connecting to it is refused at once. Used as the OCI endpoint, IMDS and
/// federation URLs so that the daemon never sends a byte off the machine.
std::uint16_t closed_loopback_port();

/// Writes OCI API-key credentials (an RSA key generated once and cached in $TMPDIR, a config file
/// with a matching fingerprint, region us-chicago-1) into `dir`; returns the config file path.
std::string write_oci_credentials(const temp_dir& dir);

/// The knobs the tests change, rendered to a complete daemon YAML config by yaml().
/// Defaults: listen on 127.0.0.1:0, one API key (test_key), short deadlines (1 s header,
/// body and keep-alive idle, 2 s drain), 64 KiB body limit, and every OCI URL pointing at
/// closed_loopback_port().
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
    /// is the closed port). daemon_process fills it with write_oci_credentials().
    std::string oci_config_file;
    /// Port of `oci.endpoint` (https://127.0.0.1:<port>); 0: closed_loopback_port().
    std::uint16_t upstream_port = 0;
    std::string upstream_connect = "2";  ///< `timeouts.upstream_connect`

    std::string yaml() const;
};

/// Outcome of a child process: exit code, or the signal that killed it.
struct exit_status
{
    bool exited = false;  ///< true: `code` is valid; false: killed by `signal`
    int code = -1;
    int signal = 0;
};

/// Outcome of running the daemon to completion (command-line and config checks).
struct run_result
{
    std::optional<exit_status> status;  ///< nullopt: did not exit in time (it was killed)
    std::string out;                    ///< captured stdout
    std::string err;                    ///< captured stderr
};

/// Runs the daemon binary with `args` to completion, capturing stdout and stderr; kills it
/// after `timeout`. The child's environment is the test's without OGP_*, OCI_* and
/// NOTIFY_SOCKET, plus `extra_env` ("NAME=value").
run_result run_daemon(const std::vector<std::string>& args, ms timeout = 10s,
                      const std::vector<std::string>& extra_env = {});

/// Starts the real daemon (OGP_DAEMON_PATH) on a temporary config file (with local API-key
/// credentials from write_oci_credentials() unless `cfg.oci_config_file` is set) with stderr
/// captured by a reader thread, and waits until it logs `listening on 127.0.0.1:<port>`. Throws
/// std::runtime_error (with the captured stderr) if it exits or does not listen within the
/// start timeout. The destructor kills (SIGKILL) and reaps a child that is still running.
/// Methods are called from the test thread only (the stderr capture is internally locked).
class daemon_process
{
public:
    explicit daemon_process(const daemon_config& cfg = {},
                            const std::vector<std::string>& extra_env = {}, ms start_timeout = 15s);
    ~daemon_process();
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& config_path() const { return config_path_; }

    /// Sends `sig` to the daemon (no-op once it was reaped).
    void stop(int sig = SIGTERM);
    /// Waits up to `timeout` for the daemon to exit; nullopt if it is still running. Once it
    /// has exited, captured_stderr() holds everything it wrote.
    std::optional<exit_status> wait_exit(ms timeout);
    /// Everything the daemon wrote to stderr so far.
    std::string captured_stderr() const;
    /// Waits up to `timeout` until stderr contains `needle`.
    bool wait_for_log(std::string_view needle, ms timeout) const;
    /// The daemon's resident set size in KiB (from /proc), or 0 if unavailable.
    std::size_t rss_kib() const;
    /// The first AddressSanitizer/LeakSanitizer/UBSan report in the daemon's stderr (about
    /// 4 KiB of it), or empty. The destructor fails the running test if there is one.
    std::string sanitizer_report() const;

private:
    void reader_loop(int fd);

    temp_dir dir_;
    std::string config_path_;
    pid_t pid_ = -1;
    std::optional<exit_status> exit_;
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::string stderr_;
    bool stderr_eof_ = false;
    std::thread reader_;
};

/// A loopback TCP listener that completes TCP handshakes (the kernel does) but never sends a
/// byte: as `oci.endpoint` it keeps an upstream exchange in flight until the daemon's
/// `timeouts.upstream_connect` (the TLS handshake never completes). Not copyable.
class silent_upstream
{
public:
    silent_upstream();
    ~silent_upstream();
    silent_upstream(const silent_upstream&) = delete;
    silent_upstream& operator=(const silent_upstream&) = delete;

    std::uint16_t port() const { return port_; }
    /// Accepts (and keeps open) connections until `want` are held or `timeout` passes;
    /// returns how many are held.
    std::size_t wait_connections(std::size_t want, ms timeout);

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> accepted_;
};

/// A parsed HTTP response. Header lookup is case-insensitive.
struct http_response
{
    std::string version;  ///< e.g. "HTTP/1.1"
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// First value of `name`, or nullopt.
    std::optional<std::string> header(std::string_view name) const;
    /// True when `Connection` lists `close`.
    bool connection_close() const;
};

/// A blocking loopback TCP client for raw HTTP bytes. Every operation is bounded in time
/// (poll with timeouts, SO_SNDTIMEO); none blocks forever. Bytes received but not yet
/// consumed by a parsed response stay buffered for the next call (pipelining). Not copyable.
class raw_client
{
public:
    /// Connects to 127.0.0.1:`port`; throws std::runtime_error on failure.
    explicit raw_client(std::uint16_t port, ms connect_timeout = 3s);
    ~raw_client();
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    /// Tries to connect once; returns false if refused or timed out (no exception).
    static bool can_connect(std::uint16_t port, ms timeout = 1s);

    /// Sends all of `bytes`; false on an error (reset, broken pipe) or a 5 s send stall.
    bool send(std::string_view bytes);
    /// Sends `bytes` in pieces of `piece` bytes with `delay` between them.
    bool send_slowly(std::string_view bytes, std::size_t piece, ms delay);
    /// Half-closes the write side (the server sees EOF).
    void shutdown_write();

    /// Reads one complete response (head, then a body of Content-Length bytes; none when
    /// `head_request` or status 1xx/204/304). nullopt on timeout, EOF or error first.
    std::optional<http_response> read_response(ms timeout = 3s, bool head_request = false);
    /// Reads until the peer closes (EOF or reset) or `timeout`; returns the bytes that
    /// arrived, including buffered ones. `closed` tells whether the peer closed.
    std::string read_until_eof(ms timeout, bool* closed = nullptr);
    /// True when the peer closes within `timeout` without sending any (further) byte.
    bool is_closed(ms timeout);
    /// Waits up to `timeout` for something to read (data or close) without consuming it.
    bool readable(ms timeout);

    /// Bytes received but not yet consumed.
    const std::string& buffered() const { return buf_; }
    int fd() const { return fd_; }

private:
    // Reads what is available into buf_ within the deadline: >0 bytes, 0 = EOF/reset,
    // -1 = timeout.
    long fill(steady::time_point deadline);

    int fd_ = -1;
    std::string buf_;
};

/// A unix datagram socket standing in for systemd's $NOTIFY_SOCKET (a path, or `@name` for
/// an abstract socket). Not copyable.
class notify_listener
{
public:
    explicit notify_listener(const std::string& path);
    ~notify_listener();
    notify_listener(const notify_listener&) = delete;
    notify_listener& operator=(const notify_listener&) = delete;

    const std::string& path() const { return path_; }
    /// The next datagram, or nullopt after `timeout`.
    std::optional<std::string> receive(ms timeout);

private:
    std::string path_;
    int fd_ = -1;
};

/// The outcome of one request on a fresh connection: the first response (nullopt if none
/// came within the timeout) and whether the server then closed without sending more.
struct exchange_result
{
    std::optional<http_response> response;
    bool closed_after = false;
};

/// Connects, sends `bytes` (a failed send is tolerated: the server may close first), reads
/// one response and then waits up to `close_timeout` for the connection to close.
exchange_result exchange_once(std::uint16_t port, std::string_view bytes, ms timeout = 3s,
                              ms close_timeout = 2s);

/// Catch2 checks for a refused request on a fresh connection: exactly one response whose
/// status is one of `statuses`, with `Connection: close` and an OpenAI error body, then the
/// connection closes with no further byte (anything pipelined behind it is never answered).
void check_refused(std::uint16_t port, std::string_view bytes, std::initializer_list<int> statuses);

/// The contrary of check_refused, for requests the framing layer must accept: sends
/// `request` and a `GET /healthz` behind it in one write on `c`, and checks that the first is
/// answered by its route (no `Connection: close`, any status the API handler chooses) and the
/// second with 200, which proves that exactly the first request's body was consumed. Returns
/// the first response (nullopt after a failed check).
std::optional<http_response> check_accepted(raw_client& c, std::string_view request);

/// True when `body` is an OpenAI error object: {"error":{"message","type","param","code"}}
/// with a non-empty string message and type.
bool is_openai_error(std::string_view body);

/// `bytes` with CR, LF and other control bytes escaped, shortened to `max` characters (for
/// Catch2 INFO messages).
std::string printable(std::string_view bytes, std::size_t max = 300);

/// Head of an authenticated `POST /v1/chat/completions` with the given extra header lines
/// ("Name: value\r\n" each) and HTTP version; ends with the empty line.
std::string chat_head(std::string_view extra, std::string_view version = "HTTP/1.1");

/// A minimal valid request: `GET target` with Host and any `extra` header lines
/// ("Name: value\r\n" each).
std::string get_request(std::string_view target = "/healthz", std::string_view extra = {});
/// `POST target` with Host, the test API key, Content-Length of `body`, and the body.
std::string post_request(std::string_view target, std::string_view body,
                         std::string_view extra = {});

}  // namespace ogp::it
