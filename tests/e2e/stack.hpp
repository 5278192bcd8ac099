#pragma once
// End-to-end test stack: the real oci-genai-mock (OGP_MOCK_PATH) and the real daemon
// (OGP_DAEMON_PATH) as child processes, a blocking HTTP/1.1 client for the daemon (chunked
// bodies, SSE), an HTTPS client for the mock's /mock/stats, and helpers for child programs
// (curl, node). Loopback only: every daemon config written here points oci.endpoint,
// oci.metadata_url and oci.federation_url at the mock or at a closed loopback port.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ogp::e2e {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool asan_build = true;  ///< RSS says nothing under ASan (quarantine)
#else
inline constexpr bool asan_build = false;
#endif

/// The client key of every daemon config written by daemon_options.
inline constexpr std::string_view api_key = "sk-e2e-test-1";

/// Seconds since `start`.
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
    /// Writes `content` to `name` in the directory (mode 0600); returns the full path.
    std::string write(std::string_view name, std::string_view content) const;

private:
    std::string path_;
};

/// A child process with stdout and stderr captured by a reader thread. The environment is
/// ours without OGP_*, OCI_* and NOTIFY_SOCKET, plus `extra_env`. The destructor sends
/// SIGTERM, waits up to 3 s, then SIGKILLs and reaps. Methods: test thread only.
class child
{
public:
    child(std::vector<std::string> argv, const std::vector<std::string>& extra_env = {});
    ~child();
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    pid_t pid() const { return pid_; }
    std::string out() const;  ///< stdout so far
    std::string err() const;  ///< stderr so far
    /// Waits until stderr (or stdout with `in_stdout`) contains `needle`.
    bool wait_for(std::string_view needle, ms timeout, bool in_stdout = false) const;
    /// Waits for exit; nullopt while still running. Exit code, or 128 + signal.
    std::optional<int> wait_exit(ms timeout);
    /// SIGTERM, then SIGKILL after `grace`; returns the exit code (128 + signal if killed).
    int stop(ms grace = 3s);
    bool running() const { return !exit_code_; }

private:
    void reader_loop(int out_fd, int err_fd);

    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::string out_;
    std::string err_;
    bool eof_ = false;
    std::thread reader_;
};

/// Outcome of run_program().
struct program_result
{
    std::optional<int> exit_code;  ///< nullopt: killed at the timeout
    std::string out;
    std::string err;
    double seconds = 0;
};

/// Runs `argv` (argv[0] an absolute path) to completion, killed after `timeout`.
program_result run_program(const std::vector<std::string>& argv, ms timeout,
                           const std::vector<std::string>& extra_env = {});

/// The mock's /mock/stats counters (see oci-genai-mock --help). `connections` and
/// `open_connections`/`open_used` exclude the stats requests made through mock::stats().
struct mock_stats
{
    std::uint64_t connections = 0;
    std::uint64_t resumed = 0;  ///< TLS handshakes that resumed a session
    std::uint64_t requests = 0;
    std::uint64_t chat = 0;
    std::uint64_t embed = 0;
    std::uint64_t rejected_signatures = 0;
    std::uint64_t closed_by_client = 0;
    std::uint64_t open_connections = 0;
    /// Open connections that carried a request: excludes the daemon's idle spare.
    std::uint64_t open_used = 0;
    std::uint64_t stale_drops = 0;
};

/// A running oci-genai-mock with `--ready-file` (and `extra_args`); throws std::runtime_error
/// if it does not become ready within 20 s. Stopped with SIGTERM on destruction.
class mock
{
public:
    explicit mock(const std::vector<std::string>& extra_args = {});

    const std::string& metadata_url() const { return metadata_url_; }
    const std::string& federation_url() const { return federation_url_; }
    const std::string& endpoint() const { return endpoint_; }  ///< https://127.0.0.1:<port>
    const std::string& ca_file() const { return ca_file_; }
    std::uint16_t port() const { return port_; }
    const temp_dir& dir() const { return dir_; }
    const child& process() const { return *proc_; }

    /// Reads /mock/stats over HTTPS (verified against the mock's CA); throws on failure.
    mock_stats stats();
    /// Polls stats() every 20 ms until `pred` holds or `timeout` passes; returns the last.
    mock_stats wait_stats(const std::function<bool(const mock_stats&)>& pred, ms timeout);

private:
    temp_dir dir_;
    std::unique_ptr<child> proc_;
    std::string metadata_url_;
    std::string federation_url_;
    std::string endpoint_;
    std::string ca_file_;
    std::uint16_t port_ = 0;
    std::uint64_t stats_calls_ = 0;
};

/// A loopback TCP port bound but not listening, held for the life of the process: connecting
/// to it is refused at once.
std::uint16_t closed_port();

/// Local OCI API-key credentials: an RSA key (generated once per process), its public key
/// and an OCI config file (tenancy/user of the keyId below) written into a directory.
struct api_key_credentials
{
    std::string config_file;      ///< for `oci.config_file`
    std::string public_key_file;  ///< PEM, for oci-genai-mock --api-key
    std::string key_id;           ///< tenancy/user/fingerprint
    /// The mock argument `--api-key <key_id>=<public_key_file>`.
    std::vector<std::string> mock_args() const;
};
api_key_credentials write_api_key_credentials(const temp_dir& dir);

/// The daemon configuration knobs the tests change. Defaults: instance principal against the
/// mock, the mock's CA as oci.ca_file, the mock as endpoint, aliases gpt-4o-mini (meta llama),
/// command-r-plus (cohere), text-embedding-3-small (cohere embed), generous deadlines.
struct daemon_options
{
    std::string endpoint;  ///< empty: the mock's
    bool use_ca_file = true;
    /// Non-empty: `oci.auth: api_key` with this OCI config file; else instance_principal.
    std::string api_key_config;
    unsigned threads = 2;
    std::string upstream_connect = "5s";
    std::string upstream_first_byte = "20s";
    std::string upstream_stream_idle = "20s";
    std::string upstream_total = "60s";
    std::string write_stall = "10s";
    std::string limits;  ///< raw YAML lines inside `limits:` ("  key: v\n")
    std::string models;  ///< raw YAML list items appended to `models:` ("  - name: x\n ...")
    std::string log_level = "info";
};

/// The real daemon on `listen: 127.0.0.1:0` with a config built from `m` and `o`; waits for
/// `listening on 127.0.0.1:<port>` and then for GET /readyz = 200 (credentials loaded).
/// Throws std::runtime_error with the captured stderr on failure. On destruction: SIGTERM,
/// and a sanitizer report in its stderr fails the running test.
class proxy
{
public:
    proxy(const mock& m, const daemon_options& o = {}, bool wait_ready = true);
    ~proxy();
    proxy(const proxy&) = delete;
    proxy& operator=(const proxy&) = delete;

    std::uint16_t port() const { return port_; }
    std::string base_url() const;  ///< http://127.0.0.1:<port>/v1
    std::string log() const { return proc_->err(); }
    pid_t pid() const { return proc_->pid(); }
    const std::string& config_text() const { return config_; }
    /// Resident set size in KiB (from /proc), 0 if unknown.
    std::size_t rss_kib() const;
    /// Number of occurrences of `needle` in the log.
    std::size_t log_count(std::string_view needle) const;
    /// True once `needle` appears in the log within `timeout` (the log is read from a pipe and
    /// may trail what the daemon already sent to a client).
    bool wait_log(std::string_view needle, ms timeout = 5s) const;

private:
    temp_dir dir_;
    std::string config_;
    std::unique_ptr<child> proc_;
    std::uint16_t port_ = 0;
};

/// One HTTP response. Header names are stored lower-case.
struct response
{
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;              ///< de-chunked
    bool chunked = false;          ///< Transfer-Encoding: chunked
    bool complete = false;         ///< the body ended by its framing (not cut by close/timeout)
    bool closed = false;           ///< the peer closed the connection while/after reading
    std::vector<double> arrivals;  ///< seconds after the request for each chunk (streams)

    std::optional<std::string> header(std::string_view name) const;
    /// The `data:` payloads of the SSE body, in order.
    std::vector<std::string> sse_data() const;
};

/// A blocking HTTP/1.1 client for 127.0.0.1:<port> with keep-alive; every call has a hard
/// deadline. Not copyable.
class client
{
public:
    explicit client(std::uint16_t port, int rcvbuf = 0);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends `method path` with the test API key (unless `auth` is false), `body` as JSON, and
    /// reads the whole response within `timeout`. Throws on connection errors and timeouts.
    response request(std::string_view method, std::string_view path, std::string_view body = {},
                     ms timeout = 10s, bool auth = true, std::string_view extra_headers = {});
    /// Sends the request without reading; the response is read by read_response().
    void send_request(std::string_view method, std::string_view path, std::string_view body,
                      bool auth = true, std::string_view extra_headers = {});
    /// Reads the head and the body; for chunked bodies stops after the last chunk, at EOF or at
    /// the deadline (then `complete` is false). Throws when the head does not arrive in time.
    response read_response(ms timeout);
    /// Reads the head and then at most `chunks` chunks (a partial stream).
    response read_head_and_chunks(std::size_t chunks, ms timeout);
    /// True when the server closed the connection within `timeout` (bytes before EOF are
    /// discarded).
    bool wait_closed(ms timeout);
    void close();
    int fd() const { return fd_; }

private:
    // Reads more bytes into buf_; false on EOF/error or when the deadline passed.
    bool fill(steady::time_point deadline, bool* eof = nullptr);
    bool read_head(response& r, steady::time_point deadline);

    int fd_ = -1;
    std::string buf_;
    steady::time_point sent_at_{};
};

/// A chat completions request body for `model` with one user message.
std::string chat_body(std::string_view model, std::string_view prompt, bool stream = false,
                      std::string_view extra = {});

/// True when `text` parses as JSON.
bool json_ok(std::string_view text);
/// A string member by JSON pointer ("/error/code"), or empty.
std::string json_string(std::string_view text, const char* pointer);
/// An integer member by JSON pointer, or -1.
long long json_int(std::string_view text, const char* pointer);

/// The content of the assistant message in a chat completion (choices[0].message.content).
std::string chat_content(std::string_view body);
/// The concatenated delta contents of a parsed SSE stream (chat.completion.chunk events).
std::string stream_content(const std::vector<std::string>& events);

/// A loopback TCP listener that accepts connections and never sends a byte (a TLS server that
/// never answers the ClientHello). Holds accepted sockets until destruction. Not copyable.
class silent_listener
{
public:
    silent_listener();
    ~silent_listener();
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;

    std::uint16_t port() const { return port_; }
    /// Number of connections accepted so far (accepts pending ones without blocking).
    std::size_t accepted();

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> conns_;
};

/// `bytes` with control characters escaped and cut to `max` characters (for INFO messages).
std::string printable(std::string_view bytes, std::size_t max = 600);

}  // namespace ogp::e2e
