#pragma once
// The end-to-end stack: the real oci-genai-mock (OGP_MOCK_PATH) and the daemon configured
// against it. Loopback only: every config written here points oci.endpoint, oci.metadata_url
// and oci.federation_url at the mock (or at a port the test chooses on 127.0.0.1).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/daemon.hpp"
#include "support/http.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace ogp::test {

/// The path of the oci-genai-mock binary.
const char* mock_path();

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
    std::uint64_t faulted = 0;  ///< requests the listener's fault switch took
    // The OpenAI-compatible paths (/openai/v1/...): 0 when the mock does not report them.
    std::uint64_t openai_requests = 0;
    std::uint64_t openai_bearer = 0;      ///< authenticated by the GenAI API key
    std::uint64_t openai_signed = 0;      ///< authenticated by an OCI signature
    std::uint64_t openai_rejected = 0;    ///< refused for auth, project or compartment
    std::uint64_t openai_compressed = 0;  ///< answers sent gzip or zstd
};

/// A running oci-genai-mock with `--ready-file` (and `extra_args`); throws std::runtime_error
/// if it does not become ready within 20 s. Stopped with SIGTERM on destruction. With
/// `--extra-inference N` in `extra_args` it has 1 + N inference listeners (regions), each with
/// its own stats and fault switch: listener 0 is endpoint()/port(), the others endpoint(i).
class mock
{
public:
    explicit mock(const std::vector<std::string>& extra_args = {});

    const std::string& metadata_url() const { return metadata_url_; }
    const std::string& federation_url() const { return federation_url_; }
    const std::string& endpoint() const { return endpoint_; }  ///< https://127.0.0.1:<port>
    const std::string& ca_file() const { return ca_file_; }
    std::uint16_t port() const { return port_; }
    /// How many inference listeners the mock runs (1 + --extra-inference).
    std::size_t listeners() const { return endpoints_.size(); }
    /// Listener `i`'s https://127.0.0.1:<port> (0: endpoint()); throws std::out_of_range.
    const std::string& endpoint(std::size_t i) const { return endpoints_.at(i); }
    std::uint16_t port(std::size_t i) const { return ports_.at(i); }
    const temp_dir& dir() const { return dir_; }
    const child& process() const { return *proc_; }

    /// Reads /mock/stats of listener 0 over HTTPS (verified against the mock's CA); throws on
    /// failure.
    mock_stats stats() { return stats(0); }
    /// Reads /mock/stats of listener `i`; throws on failure.
    mock_stats stats(std::size_t i);
    /// Polls stats() every 20 ms until `pred` holds or `timeout` passes; returns the last.
    mock_stats wait_stats(const std::function<bool(const mock_stats&)>& pred, ms timeout)
    {
        return wait_stats(0, pred, timeout);
    }
    /// wait_stats() of listener `i`.
    mock_stats wait_stats(std::size_t i, const std::function<bool(const mock_stats&)>& pred,
                          ms timeout);
    /// Sets listener `i`'s fault switch: POST /mock/fault with `json` (e.g.
    /// `{"mode":"status","status":503,"retry_after":"1","count":2}`, see oci-genai-mock
    /// --help); throws std::runtime_error unless the mock answers 2xx.
    void set_fault(std::size_t i, std::string_view json);
    /// Clears listener `i`'s fault switch (DELETE /mock/fault); throws on failure.
    void clear_fault(std::size_t i);
    /// GET /mock/openai/last: JSON of the last /openai/v1/* request the mock served and its
    /// answer ({"method","target","headers","body","body_sha256","body_bytes","status",
    /// "answer"}); throws on failure.
    std::string openai_last();

private:
    // GET `path` on listener 0 over HTTPS (verified against the mock's CA); the body of a
    // 200, else throws.
    std::string get(std::string_view path) { return call(0, "GET", path, {}, true).second; }
    // `method path` with `body` (JSON) on listener `i`: {status, body}; throws when the
    // exchange fails, or with `need_200` on another status.
    std::pair<unsigned, std::string> call(std::size_t i, std::string_view method,
                                          std::string_view path, std::string_view body,
                                          bool need_200);

    temp_dir dir_;
    std::unique_ptr<child> proc_;
    std::string metadata_url_;
    std::string federation_url_;
    std::string endpoint_;
    std::string ca_file_;
    std::uint16_t port_ = 0;
    std::vector<std::string> endpoints_;  // per listener
    std::vector<std::uint16_t> ports_;
    std::vector<std::uint64_t> calls_;  // connections the harness made, per listener
};

/// The daemon configuration knobs the end-to-end tests change. Defaults: instance principal
/// against the mock, the mock's CA as oci.ca_file, the mock as endpoint, aliases gpt-4o-mini
/// (meta llama), command-r-plus (cohere), text-embedding-3-small (cohere embed), generous
/// deadlines.
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
    /// The default native aliases above (a `genai_api_key` daemon refuses native aliases).
    bool native_aliases = true;
    /// Non-empty: `oci.auth` (e.g. "genai_api_key"); overrides api_key_config.
    std::string auth;
    /// Non-empty: written to a file in the mock's directory named by `oci.genai_api_key_file`.
    std::string genai_api_key;
    std::string project_id;  ///< `oci.project_id` when non-empty
    std::string oci_extra;   ///< raw YAML lines inside `oci:` ("  key: v\n")
    /// `clients.api_keys` (the harness' clients send test_key).
    std::vector<std::string> api_keys{std::string(test_key)};
    std::string api_keys_file;        ///< `clients.api_keys_file` when non-empty
    std::string log_format = "text";  ///< `log.format`
    std::string log_extra;            ///< raw YAML lines inside `log:` ("  key: v\n")
    std::string extra;                ///< raw YAML appended at the top level (e.g. `metrics:`)
    std::string clients_extra;        ///< raw YAML lines inside `clients:` ("  keys:\n ...")
};

/// The daemon YAML config that proxy writes for mock `m` and options `o` (to rewrite a running
/// daemon's config before a SIGHUP).
std::string proxy_config(const mock& m, const daemon_options& o);

/// The daemon against mock `m` with a config built from `o`; with `wait_ready` the
/// constructor also waits for GET /readyz = 200 (credentials loaded). On destruction: SIGTERM
/// with a 5 s grace (so that LeakSanitizer reports), then the sanitizer check of
/// daemon_process.
class proxy : public daemon_process
{
public:
    proxy(const mock& m, const daemon_options& o = {}, bool wait_ready = true);
};

/// Polls the mock until no upstream connection that carried a request is open (the daemon's
/// idle spare may stay); returns how many are left (0 on success) after at most `timeout`.
std::uint64_t wait_used_closed(mock& m, ms timeout);
/// Polls the mock until no upstream connection at all is open; returns how many are left.
std::uint64_t wait_all_closed(mock& m, ms timeout);

/// The usual end-to-end setup: the mock (with `mock_args`), the daemon against it (with `o`,
/// ready) and one client connection to the daemon. Default-constructible, so also a Catch2
/// fixture (TEST_CASE_METHOD) whose members the test body names directly.
struct e2e_stack
{
    explicit e2e_stack(const daemon_options& o = {},
                       const std::vector<std::string>& mock_args = {});

    mock m;
    proxy d;
    http_client c;
};

/// Aliases on the `openai` route (YAML list items for daemon_options::models): `name` ->
/// `id`, with `project` as the alias' own project_id when non-empty.
std::string openai_alias(std::string_view name, std::string_view id, std::string_view project = {});

/// Lower-case hex SHA-256 of `bytes` (to compare with the mock's body_sha256).
std::string sha256_hex(std::string_view bytes);

/// A chat completions request body for `model` with one user message.
std::string chat_body(std::string_view model, std::string_view prompt, bool stream = false,
                      std::string_view extra = {});
/// The content of the assistant message in a chat completion (choices[0].message.content).
std::string chat_content(std::string_view body);
/// The concatenated delta contents of a parsed SSE stream (chat.completion.chunk events).
std::string stream_content(const std::vector<std::string>& events);

}  // namespace ogp::test
