#pragma once
// HTTP/1.1 on loopback for the tests: one response type and head parser, a raw-bytes client
// (pipelining, slow sends, half-close: the framing tests) and a request/response client on
// top of it (chunked bodies, SSE: the end-to-end tests). Every operation has a deadline.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/common.hpp"

namespace ogp::test {

/// The client API key of every daemon configuration the harness writes.
inline constexpr std::string_view test_key = "test-key-1";

/// One HTTP response. Header names keep their case; lookup is case-insensitive.
struct http_response
{
    std::string version;  ///< e.g. "HTTP/1.1"
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;              ///< de-chunked
    bool chunked = false;          ///< Transfer-Encoding: chunked
    bool complete = false;         ///< the body ended by its framing (not cut by close/timeout)
    bool closed = false;           ///< the peer closed the connection while/after reading
    std::vector<double> arrivals;  ///< seconds after the request for each chunk (streams)

    /// First value of `name`, or nullopt.
    std::optional<std::string> header(std::string_view name) const;
    /// True when `Connection` lists `close`.
    bool connection_close() const;
    /// The `data:` payloads of an SSE body, in order.
    std::vector<std::string> sse_data() const;
};

/// Parses a response head (status line and header lines, without the empty line); nullopt
/// when the status line is malformed. Sets version, status, reason, headers and chunked.
std::optional<http_response> parse_head(std::string_view head);

/// A blocking loopback TCP client for raw HTTP bytes. Every operation is bounded in time
/// (poll with timeouts); none blocks forever. Bytes received but not yet consumed by a parsed
/// response stay buffered for the next call (pipelining). Not copyable.
class raw_client
{
public:
    /// Connects to 127.0.0.1:`port` (SO_RCVBUF `rcvbuf` if non-zero); throws
    /// std::runtime_error on failure.
    explicit raw_client(std::uint16_t port, ms connect_timeout = 3s, int rcvbuf = 0);
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
    /// Closes the connection (idempotent).
    void close();

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
    friend class http_client;
    // Reads what is available into buf_ within the deadline: >0 bytes, 0 = EOF/reset,
    // -1 = timeout.
    long fill(steady::time_point deadline);

    int fd_ = -1;
    std::string buf_;
};

/// A keep-alive HTTP/1.1 client for the daemon on 127.0.0.1:<port>: sends requests with the
/// test API key and reads whole responses (Content-Length, chunked, or until close). Every
/// call has a hard deadline. Not copyable.
class http_client
{
public:
    /// Connects; throws std::runtime_error on failure.
    explicit http_client(std::uint16_t port, int rcvbuf = 0);

    /// Sends `method path` with the test API key (unless `auth` is false), `body` as JSON, and
    /// reads the whole response within `timeout`. Throws on connection errors and timeouts.
    http_response request(std::string_view method, std::string_view path,
                          std::string_view body = {}, ms timeout = 10s, bool auth = true,
                          std::string_view extra_headers = {});
    /// Sends the request without reading; the response is read by read_response().
    void send_request(std::string_view method, std::string_view path, std::string_view body,
                      bool auth = true, std::string_view extra_headers = {});
    /// Sends `raw` (a complete request, e.g. one with a multipart body) as it is, without
    /// reading; the response is read by read_response().
    void send_bytes(std::string_view raw);
    /// Reads the head and the body; for chunked bodies stops after the last chunk, at EOF or at
    /// the deadline (then `complete` is false). Throws when the head does not arrive in time.
    http_response read_response(ms timeout);
    /// Reads the head and then at most `chunks` chunks (a partial stream).
    http_response read_head_and_chunks(std::size_t chunks, ms timeout);
    /// True when the server closed the connection within `timeout` (bytes before EOF are
    /// discarded).
    bool wait_closed(ms timeout);
    void close() { conn_.close(); }
    int fd() const { return conn_.fd(); }

private:
    // Reads more bytes; false on EOF/error (then *eof) or when the deadline passed.
    bool fill(steady::time_point deadline, bool* eof = nullptr);

    raw_client conn_;
    steady::time_point sent_at_{};
};

/// Head of an authenticated `POST /v1/chat/completions` with the given extra header lines
/// ("Name: value\r\n" each) and HTTP version; ends with the empty line.
std::string chat_head(std::string_view extra, std::string_view version = "HTTP/1.1");
/// A minimal valid request: `GET target` with Host and any `extra` header lines.
std::string get_request(std::string_view target = "/healthz", std::string_view extra = {});
/// `POST target` with Host, the test API key, Content-Length of `body`, and the body.
std::string post_request(std::string_view target, std::string_view body,
                         std::string_view extra = {});
/// A non-streamed chat completions request (post_request) that passes validation, so that its
/// handler calls OCI, with `X-Request-Id: request_id`.
std::string upstream_chat_request(std::string_view request_id);

}  // namespace ogp::test
