#pragma once
// oci-genai-mock: the GenAI inference part (HTTPS, keep-alive, strict signature checks, OCI's
// streaming framing, faults on demand).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/auth/crypto.hpp"

namespace ogp::mock {

/// Looks up the public key for a signature's keyId: `ST$<token>` issued by the mock federation
/// and not expired, or a configured API key id. nullopt: unknown or expired (401).
using key_lookup = std::function<auth::pkey_ptr(std::string_view key_id, std::string& why)>;

/// Settings of the inference server.
struct inference_options
{
    std::string cert_pem;  ///< TLS server certificate (PEM)
    std::string key_pem;   ///< its key (PEM)
    key_lookup lookup;
    std::chrono::seconds max_skew{300};        ///< allowed `date` skew
    std::chrono::milliseconds token_delay{0};  ///< delay between streamed events
    /// > 0: a request that arrives on a connection idle for at least this long (since its
    /// handshake or its last answer) is dropped unanswered and the connection closed (an idle
    /// close racing the request).
    std::chrono::milliseconds stale_after{0};
    /// `Authorization: Bearer` keys the OpenAI-compatible API (`/openai/v1/*`) accepts.
    std::vector<std::string> genai_api_keys;
};

/// Counters the tests read (through the mock's /mock/stats endpoint).
struct inference_stats
{
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> resumed{0};  ///< TLS handshakes that resumed a session
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> chat{0};
    std::atomic<std::uint64_t> embed{0};
    std::atomic<std::uint64_t> rejected_signatures{0};
    std::atomic<std::uint64_t> closed_by_client{0};  ///< streams the client closed early
    std::atomic<std::uint64_t> open_connections{0};
    std::atomic<std::uint64_t> open_used{0};    ///< open ones that carried a request (no spares)
    std::atomic<std::uint64_t> stale_drops{0};  ///< requests dropped by `stale_after`
    std::atomic<std::uint64_t> faulted{0};      ///< requests the fault switch took (see fault)
};

/// A fault one inference listener plays instead of its answer, for the chat and embedText
/// actions and the OpenAI-compatible `chat/completions` and `responses` POSTs (nothing else:
/// ListModels, /mock/* stay served). It takes a request before its signature is checked (a
/// region that is down does not authenticate), counts it in `faulted` (not in `chat`/`embed`).
/// Modes:
/// - `status`: answers `status` (400..599) with an error body (OCI's `{"code","message"}`;
///   OpenAI's `{"error":{...}}` on /openai/v1) and `retry-after: <retry_after>` when non-empty;
/// - `reset`: reads the request, then resets the connection (TCP RST) without a byte;
/// - `reset_after_first`: answers 200 and, for a stream, its first SSE event (its first write
///   when compressed), else the head and half the body; then resets the connection;
/// - `hang`: reads the request and never answers; the connection closes when the client
///   closes it.
/// `count`: how many requests it takes, then the switch clears itself (0: none, i.e. clear);
/// nullopt: until cleared.
struct fault
{
    std::string mode;
    unsigned status = 0;
    std::string retry_after;
    std::optional<std::uint64_t> count;
};

/// Why `f` is not a valid fault (unknown mode, status outside 400..599 for `status`, a
/// retry_after over 64 bytes or with bytes other than visible ASCII and space), or empty.
std::string fault_error(const fault& f);
/// Parses the JSON body of `POST /mock/fault` (`{"mode","status","retry_after","count"}`;
/// retry_after a string or a non-negative integer; other members refused); nullopt and
/// `error` set when it is not a valid fault.
std::optional<fault> parse_fault(std::string_view json, std::string& error);
/// `f` as that JSON (count left out when nullopt).
std::string fault_json(const fault& f);

/// The GenAI inference endpoint on 127.0.0.1: `POST /20231130/actions/chat`, `POST
/// /20231130/actions/embedText`, `GET /20231130/models` (ListModels: model OCIDs as ids, two pages
/// by `opc-next-page`; a listed OCID is served like its displayName), plus `GET /mock/stats` (JSON
/// counters, unsigned). Verifies every OCI signature like OCI (401 NotAuthenticated otherwise) and
/// rejects a chat request whose apiFormat does not fit the model family. Models named `mock-429`,
/// `mock-500`, `mock-503`, `mock-reset`, `mock-stall`, `mock-slow`, `mock-401`, `mock-hang`
/// (request read, never answered), `mock-cl-te` (Content-Length with chunked encoding),
/// `mock-bad-chunk` (an invalid chunk size after the first chunk), `mock-long` (a 16 MiB stream
/// that never finishes) (and names containing them) trigger faults. OCI's OpenAI-compatible API
/// is served under `/openai/v1/` (see openai_compat.hpp), its last exchange at `GET
/// /mock/openai/last`. A fault switch (see fault) is set with set_fault() or, unsigned, with
/// `POST /mock/fault` (a fault's JSON, at most 4 KiB; 400 when invalid), read with `GET
/// /mock/fault` and cleared with `DELETE /mock/fault` (answers: the fault's JSON, or
/// `{"mode":"none"}`). Thread-safe; runs on the given io_context.
class inference_server
{
public:
    inference_server(boost::asio::io_context& ioc, inference_options options, std::uint16_t port);
    ~inference_server();

    std::uint16_t port() const;
    inference_stats& stats();

    /// Sets this listener's fault switch (replacing the one set); a count of 0 clears it.
    /// Throws std::invalid_argument when fault_error(f) is not empty.
    void set_fault(fault f);
    void clear_fault();
    /// The fault set now (its count being what is left), or nullopt.
    std::optional<fault> current_fault() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

/// Deterministic replies and OCI-shaped bodies (pure; exposed for unit tests).
namespace replies {

/// The text the mock answers to `prompt`.
std::string reply_text(std::string_view prompt);
/// A deterministic embedding of `text` with `dims` dimensions.
std::vector<float> embedding(std::string_view text, int dims);
/// `text` split after each space: a stream's deltas (joined, they give `text` back).
std::vector<std::string> words_of(std::string_view text);

}  // namespace replies

}  // namespace ogp::mock
