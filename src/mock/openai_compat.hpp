#pragma once
// oci-genai-mock: OCI's OpenAI-compatible API (`/openai/v1/...`) on the inference port: chat
// completions, Responses (stored per project, chained by previous_response_id), files
// (multipart upload), conversations and vector stores, with OCI signature or GenAI API key
// authentication, gzip/zstd answers and fault models. Deterministic answers.

#include <atomic>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ogp::mock::openai {

using request = boost::beast::http::request<boost::beast::http::string_body>;

/// Checks the OCI signature of a request (the native API's verification); empty when valid,
/// else why not.
using signature_verifier = std::function<std::string(const request&)>;

/// Settings of the OpenAI-compatible part.
struct options
{
    std::vector<std::string> api_keys;         ///< accepted `Authorization: Bearer` keys
    std::chrono::milliseconds token_delay{0};  ///< delay between streamed events
};

/// What to send back. A stream's `writes` are sent one HTTP chunk each, `delay` apart, then the
/// body ends (or, `stall`, the connection is held until the client closes it). Bodies and writes
/// are already compressed when a `content-encoding` header is present.
struct answer
{
    unsigned status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool stream = false;
    std::vector<std::string> writes;
    bool stall = false;
    std::chrono::milliseconds delay{0};
};

/// Counters of `/mock/stats`.
struct counters
{
    std::atomic<std::uint64_t> requests{0};    ///< every `/openai/v1/*` request
    std::atomic<std::uint64_t> bearer{0};      ///< accepted with a GenAI API key
    std::atomic<std::uint64_t> signed_{0};     ///< accepted with an OCI signature
    std::atomic<std::uint64_t> rejected{0};    ///< refused by authentication (401 or 400)
    std::atomic<std::uint64_t> compressed{0};  ///< answers sent gzip or zstd encoded
};

/// The `/openai/v1/*` endpoints. Thread-safe (one mutex around the stores); every store is
/// bounded in count and bytes (oldest evicted first).
class service
{
public:
    explicit service(options o);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// Answers one `/openai/v1/*` request. `verify` checks an OCI signature.
    answer handle(const request& req, const signature_verifier& verify);
    /// `GET /mock/openai/last`: the last request and its (uncompressed) answer, as JSON.
    std::string last_json() const;
    /// `,"openai_requests":N,...` to append to the stats object.
    std::string stats_fields() const;
    counters& stats();

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

// Pure helpers, exposed for unit tests.

/// One part of a multipart/form-data body; views into the body.
struct form_part
{
    std::string name;
    std::string filename;  ///< empty when the part is no file
    std::string content_type;
    std::string_view data;
};

/// Limits of the multipart parser.
struct form_limits
{
    std::size_t max_body = 64 * 1024 * 1024;
    std::size_t max_parts = 16;
    std::size_t max_part_header = 8192;  ///< bytes of one part's header block
};

/// The boundary of a `multipart/form-data; boundary=...` content type (quotes removed), or
/// nullopt when the type is not multipart/form-data or the boundary is missing or invalid.
std::optional<std::string> form_boundary(std::string_view content_type);

/// Splits a multipart/form-data `body` (RFC 7578) with `boundary`. nullopt (and `error` set) on
/// malformed input or when a limit is exceeded; parts view into `body`.
std::optional<std::vector<form_part>> parse_form(std::string_view body, std::string_view boundary,
                                                 const form_limits& limits, std::string& error);

/// The coding to answer with for an `accept-encoding` value: "zstd" (preferred), "gzip" or ""
/// (identity); a coding with q=0 is refused.
std::string pick_encoding(std::string_view accept_encoding);

/// A streaming compressor for `coding` ("gzip": zlib windowBits 31; "zstd"): each `chunk()`
/// returns the compressed bytes of `data` flushed so that a decoder can decode everything so
/// far; `last` ends the stream. Errors give an empty optional.
class compressor
{
public:
    explicit compressor(std::string_view coding);
    ~compressor();
    compressor(const compressor&) = delete;
    compressor& operator=(const compressor&) = delete;
    bool ok() const;
    std::optional<std::string> chunk(std::string_view data, bool last);

    struct state;

private:
    std::unique_ptr<state> state_;
};

/// `data` compressed whole with `coding` ("gzip" or "zstd"); nullopt on error.
std::optional<std::string> compress(std::string_view coding, std::string_view data);

}  // namespace ogp::mock::openai
