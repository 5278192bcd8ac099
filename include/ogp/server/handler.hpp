#pragma once

// What a request handler (the api part) needs from the server, and nothing more: the request
// and response values, the sink for streamed answers and the handler signature.

#include <unistd.h>

#include <array>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ogp/openai/error.hpp"
#include "ogp/server/request_guard.hpp"
#include "ogp/server/router.hpp"

namespace ogp::server {

namespace net = boost::asio;

/// A request body spooled to an unlinked temporary file (`POST /v1/files`) instead of memory:
/// its descriptor, size and SHA-256, computed while it was written. Move-only; it owns the
/// descriptor and closes it on destruction, which frees the disk space at once (the file has no
/// name). Read it with pread() at offsets: the file offset is not meaningful.
class spooled_body
{
public:
    spooled_body() = default;
    spooled_body(int fd, std::uint64_t size, const std::array<unsigned char, 32>& sha256)
        : fd_(fd), size_(size), sha256_(sha256)
    {
    }
    ~spooled_body() { reset(); }
    spooled_body(spooled_body&& o) noexcept
        : fd_(std::exchange(o.fd_, -1)), size_(o.size_), sha256_(o.sha256_)
    {
    }
    spooled_body& operator=(spooled_body&& o) noexcept
    {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
            size_ = o.size_;
            sha256_ = o.sha256_;
        }
        return *this;
    }
    spooled_body(const spooled_body&) = delete;
    spooled_body& operator=(const spooled_body&) = delete;

    /// True when a body was spooled (the descriptor is open).
    bool valid() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    std::uint64_t size() const { return size_; }
    const std::array<unsigned char, 32>& sha256() const { return sha256_; }
    /// The SHA-256 in standard base64 (what `x-content-sha256` carries).
    std::string sha256_base64() const
    {
        static constexpr char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string out;
        out.reserve(44);
        for (std::size_t i = 0; i < sha256_.size(); i += 3) {
            const unsigned n = (unsigned(sha256_[i]) << 16) |
                               (i + 1 < sha256_.size() ? unsigned(sha256_[i + 1]) << 8 : 0u) |
                               (i + 2 < sha256_.size() ? unsigned(sha256_[i + 2]) : 0u);
            out += alphabet[(n >> 18) & 63];
            out += alphabet[(n >> 12) & 63];
            out += i + 1 < sha256_.size() ? alphabet[(n >> 6) & 63] : '=';
            out += i + 2 < sha256_.size() ? alphabet[n & 63] : '=';
        }
        return out;
    }
    /// Closes the descriptor now (frees the space).
    void reset()
    {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
    std::uint64_t size_ = 0;
    std::array<unsigned char, 32> sha256_{};
};

/// What one exchange was, for the access log and the metrics: filled by the api handlers (and
/// the server's own fields by the server), read by the server when the exchange ends. Plain data;
/// a negative number or an empty string means "unknown / not applicable". Never holds secrets or
/// prompt text.
struct exchange_record
{
    /// OTel `gen_ai.operation.name`: "chat", "responses", "embeddings"; empty: not a GenAI call
    /// (models, probes, stored state). Static strings only.
    std::string_view operation;
    /// The configured alias the client named (never an arbitrary client string: unknown models
    /// leave it empty, so that label values stay bounded).
    std::string model;
    std::string oci_model;       ///< OCI model id or endpoint OCID sent upstream
    std::string response_model;  ///< the model OCI's answer named (bounded to 256 bytes)
    std::string_view route;      ///< "native" | "openai"; empty: no upstream call
    std::int64_t input_tokens = -1;
    std::int64_t output_tokens = -1;
    std::int64_t cached_tokens = -1;     ///< input tokens served from OCI's prompt cache
    std::int64_t reasoning_tokens = -1;  ///< output tokens spent on reasoning
    /// Streams: from http_request::started to the first content event written to the client.
    std::chrono::microseconds ttft{-1};
    std::chrono::microseconds upstream{0};  ///< in upstream exchanges, every attempt summed
    std::chrono::microseconds sign{0};      ///< signing requests (every attempt)
    unsigned upstream_status = 0;           ///< the last upstream HTTP status; 0: none
    unsigned retries = 0;                   ///< upstream attempts beyond the first
    /// OTel `error.type` when the exchange failed for a known reason ("timeout",
    /// "upstream_error", "rate_limited", ...); empty: the server derives it from the status.
    std::string_view error_type;
    /// Refused by the client key's own limits: "requests", "tokens", "concurrency", "streams"
    /// (429), or "store" (the shared limits store failed closed: 503). Static strings.
    std::string_view rate_limited;
    /// The region whose endpoint answered (model_alias::regions entry, or empty for the
    /// daemon's own region when the alias lists none).
    std::string region;
    /// Regions given up on before the answer (429/5xx/connect/TLS failure, or an open circuit
    /// skipped), across the alias and its fallbacks.
    unsigned failovers = 0;
    /// The fallback alias (models[].fallbacks) that answered; empty when the requested alias did.
    std::string fallback;
    /// Set by the server: the client key's name (`clients.keys[].name`) or `key-` and the first 8
    /// hex digits of its SHA-256; empty when anonymous.
    std::string client;
};

/// A complete, guarded request as a handler sees it (body fully read).
struct http_request
{
    request_head head;
    std::string body;        ///< empty when the body was spooled
    spooled_body spooled;    ///< `POST /v1/files` only (route_match::spools_body)
    std::string request_id;  ///< adopted `x-request-id` or a generated one
    std::string remote;      ///< peer address, for logs
    route target = route::not_found;
    /// When the request's first byte was read (TTFT and the proxy overhead count from here).
    std::chrono::steady_clock::time_point started{};
    exchange_record record;  ///< filled while the exchange runs (see exchange_record)
    /// Headers the server adds to whatever answers this request (a returned response or a
    /// stream's head), e.g. `x-ratelimit-*`, `x-ogp-fallback`. Set by handlers; names in lower
    /// case; checked like http_response::headers.
    std::vector<std::pair<std::string, std::string>> answer_headers;
};

/// A complete response. `content_length` and framing headers are added by the server;
/// handlers set status, body and any extra headers (validated: no CR/LF in values; a header
/// the server writes itself (Date, Content-Type, x-request-id, framing) is dropped).
struct http_response
{
    unsigned status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// Builds the OpenAI error response for `e` (adds `Retry-After` when set).
inline http_response error_response(const api_error& e)
{
    http_response r;
    r.status = e.status;
    r.body = e.body();
    if (!e.retry_after.empty()) {
        r.headers.emplace_back("Retry-After", e.retry_after);
    }
    return r;
}

/// The connection as a handler sees it while it runs: a way to stream the response instead of
/// returning it, and to learn that the client went away. The server keeps a read pending on
/// the client socket during the handler, so a disconnect is noticed at once (generation costs
/// money). Used only on the connection's strand, only during the handler call.
class response_sink
{
public:
    virtual ~response_sink() = default;

    /// Sends the status line and headers of a chunked response (e.g. `text/event-stream`).
    /// Returns false when the client is gone or the write stalled.
    virtual net::awaitable<bool> begin_stream(
        unsigned status, std::string content_type,
        std::vector<std::pair<std::string, std::string>> headers) = 0;
    /// Writes one chunk and waits until it is written (backpressure), bounded by
    /// `timeouts.write_stall`. Returns false when the client is gone or stalled.
    virtual net::awaitable<bool> write(std::string_view data) = 0;
    /// Ends the chunked response. Returns false when the client is gone.
    virtual net::awaitable<bool> end_stream() = 0;
    /// True once begin_stream() was called: the handler's returned response is ignored.
    virtual bool streaming() const = 0;
    /// True once the client closed or reset its connection.
    virtual bool client_gone() const = 0;
    /// True once the server cut a stream at the drain deadline (the disconnect hook ran to stop
    /// the upstream side): the handler should end its stream now, with an error event.
    virtual bool cut() const { return false; }
    /// Registers `fn` to run (on the connection's strand) when the client disconnects while
    /// the handler runs; replaces an earlier one. Pass an empty function to unregister.
    virtual void on_disconnect(std::function<void()> fn) = 0;
};

/// Handler for one route. Runs on the connection's strand; must not throw. Either returns the
/// response, or streams it through the sink (then the returned value is ignored).
using handler = std::function<net::awaitable<http_response>(http_request&, response_sink&)>;

/// Readiness probe: nullopt when ready, else the reason. `/readyz` answers only "not ready"
/// (503) and logs the reason at warn (a changed one at once, an unchanged one once a minute).
using readiness_probe = std::function<std::optional<std::string>()>;

}  // namespace ogp::server
