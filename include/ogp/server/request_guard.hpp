#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ogp::server {

/// Limits the request guard enforces (from `limits.*`).
struct guard_limits
{
    std::size_t max_header_bytes = 16 * 1024;        ///< request line + fields + CRLFs -> 431
    std::size_t max_header_count = 100;              ///< -> 431
    std::size_t max_uri_bytes = 8 * 1024;            ///< request-target -> 414
    std::size_t max_body_bytes = 32u * 1024 * 1024;  ///< -> 413
};

/// Why a request is refused: the status to answer (then the connection is closed) and a
/// human-readable reason for the OpenAI error body. Never contains request bytes.
struct guard_reject
{
    unsigned status = 400;
    std::string reason;
};

/// A request head that passed the guard. Owns its strings. Field names keep their case;
/// lookups are case-insensitive.
struct request_head
{
    std::string method;
    std::string target;
    int version = 11;  ///< 10 or 11
    std::vector<std::pair<std::string, std::string>> fields;
    std::uint64_t content_length = 0;  ///< body size when !chunked
    bool chunked = false;
    bool expect_continue = false;
    bool keep_alive = true;

    /// First value of `name` (case-insensitive), or nullopt.
    std::optional<std::string_view> find(std::string_view name) const;
    /// The target without its query string.
    std::string_view path() const;
    /// True when a body follows the head.
    bool has_body() const { return chunked || content_length > 0; }
};

/// Result of scanning buffered bytes for a complete head.
struct head_scan
{
    std::size_t head_size = 0;  ///< bytes up to and including the blank line; 0 = need more
    std::size_t skipped = 0;    ///< leading empty lines ignored before the request line
    std::optional<guard_reject> reject;
};

/// Looks for the end of a request head in `buf` and rejects early what can be rejected
/// before the head is complete: bare LF line ends, NUL/CTL bytes, an over-long request line
/// (414) or head (431). Pure; call again with more bytes while `head_size == 0`.
head_scan scan_head(std::string_view buf, const guard_limits& limits);

/// Parses and checks a complete head (as delimited by scan_head, without skipped lines).
/// Closes the Beast 1.81 smuggling gaps: CL+TE in any order, Transfer-Encoding other than
/// exactly `chunked` (501), repeated TE, TE on HTTP/1.0, duplicate or malformed
/// Content-Length, obs-fold, whitespace before ':', header count and size, URI length,
/// declared body over the limit (413, decided before any body byte is read), an
/// `Expect` other than `100-continue` (417), and a repeated `Authorization` (400). Pure and
/// allocation-bounded.
std::variant<request_head, guard_reject> parse_head(std::string_view head,
                                                    const guard_limits& limits);

/// Incremental decoder for a `Transfer-Encoding: chunked` request body. Accepts any split of
/// the input; rejects malformed chunk sizes, missing CRLFs, chunk lines over 4 KiB (extension
/// floods) and any trailer field (400), and bodies over the limit (413).
/// Not thread-safe; one instance per request.
class chunked_decoder
{
public:
    explicit chunked_decoder(std::size_t max_body_bytes) : max_body_(max_body_bytes) {}

    /// Consumes bytes from `in`, appending body data to `out`. Returns the number of bytes
    /// consumed (all of `in` unless the body ended inside it; the rest belongs to the next
    /// request), or a reject.
    std::variant<std::size_t, guard_reject> feed(std::string_view in, std::string& out);

    /// True once the last chunk and the empty trailer line were read.
    bool done() const { return state_ == state::done; }

private:
    enum class state { size_line, data, data_cr, data_lf, trailer_line, done };
    state state_ = state::size_line;
    std::string line_;
    std::uint64_t remaining_ = 0;
    std::size_t total_ = 0;
    std::size_t max_body_;
};

}  // namespace ogp::server
