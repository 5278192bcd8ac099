#pragma once
// RESP2 (the Redis protocol) for the shared limits store: the command encoder, a bounded
// incremental reply parser, and a small pooled async client over Asio TCP. Private to
// ogp_limits (src/limits/); the fuzz target fuzz_resp feeds the parser arbitrary bytes.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ogp::limits::resp {

namespace net = boost::asio;

/// Appends the command `args` to `out` as a RESP array of bulk strings (binary safe).
void encode_command(std::string& out, std::span<const std::string_view> args);

/// The kind of a reply.
enum class kind { simple, error, integer, bulk, nil, array };

/// One parsed reply. `text` holds a simple string, an error or a bulk string; `integer` an
/// integer; `elements` an array's items. A nil bulk string and a nil array are both `nil`.
struct value
{
    kind type = kind::nil;
    std::string text;
    std::int64_t integer = 0;
    std::vector<value> elements;

    bool is_error() const { return type == kind::error; }
};

/// Bounds of one reply: every limit exceeded makes the reply an error (never growth).
struct parser_limits
{
    std::size_t max_bytes = 64 * 1024;  ///< the whole reply on the wire
    std::size_t max_elements = 64;      ///< items of one array
    std::size_t max_depth = 4;          ///< arrays nested in arrays (the outermost is 1)
    std::size_t max_values = 1024;      ///< values of one reply, nested ones included
};

/// An incremental RESP2 reply parser: feed() it bytes in any split; it consumes exactly one
/// reply and stops. Memory is bounded by parser_limits (a bulk string's length is checked
/// before any byte of it is stored). Never throws (but std::bad_alloc). Not thread-safe.
class parser
{
public:
    enum class status { more, done, error };

    explicit parser(parser_limits l = {}) : limits_(l) {}

    /// Consumes bytes of `data` (all of them unless the reply ends earlier: `consumed` tells
    /// how many). done: value() holds the reply. error: reason() says why; the parser stays
    /// in error until reset(). After done, further feed() calls consume nothing.
    status feed(std::string_view data, std::size_t& consumed);
    status state() const { return status_; }
    /// The reply once feed() returned done.
    value& result() { return root_; }
    /// A static, non-secret description of the error (e.g. "array too long").
    std::string_view reason() const { return reason_; }
    /// Ready for the next reply.
    void reset();

private:
    status fail(std::string_view why);
    status header_line();
    status complete(value v);

    parser_limits limits_;
    status status_ = status::more;
    std::string_view reason_;
    std::size_t total_ = 0;   ///< bytes consumed for this reply
    std::size_t values_ = 0;  ///< values started (bounds a reply of many empty arrays)
    // Reading a header line (type byte .. CRLF) or a bulk string's body (+ CRLF).
    bool in_bulk_ = false;
    std::size_t bulk_left_ = 0;  ///< bytes still expected: the body, then CRLF
    std::size_t bulk_size_ = 0;  ///< the body's announced length
    std::string line_;
    std::string bulk_;
    // Open arrays: how many items each still expects. The values live in root_'s tree.
    struct frame
    {
        value* target;
        std::size_t left;
    };
    std::vector<frame> stack_;
    value root_;
};

/// How to reach Redis (see ogp::limits::redis_options).
struct client_options
{
    std::string host;
    std::uint16_t port = 6379;
    unsigned db = 0;
    std::string password;  ///< a secret: never logged
    std::size_t max_connections = 8;
    parser_limits limits;
};

/// A request/reply client with a pool of at most max_connections connections, all on one
/// strand of the executor (the pool needs no lock). acquire() takes an idle connection, opens
/// one (resolve, connect, AUTH, SELECT) while fewer than max_connections exist, or waits for
/// one (until the deadline). A connection that saw any error is closed, never reused. Owned
/// by std::shared_ptr: sessions keep it alive. Never throws on the data path (but
/// std::bad_alloc); every failure is an empty answer. acquire() and session: on strand() only.
class client : public std::enable_shared_from_this<client>
{
public:
    using time_point = std::chrono::steady_clock::time_point;
    struct connection;

    /// One connection taken from the pool until destruction (then given back if it is
    /// healthy, else closed). Empty when acquire() failed. Move-only; strand only.
    class session
    {
    public:
        session() = default;
        session(std::shared_ptr<client> owner, std::unique_ptr<connection> c, time_point deadline);
        session(session&&) noexcept;
        session& operator=(session&&) = delete;
        ~session();
        explicit operator bool() const { return conn_ != nullptr; }
        /// Sends one encoded command and reads its reply; nullopt on any failure (the
        /// connection is then closed and the session empty). An error reply is a reply. A
        /// reused connection that turns out closed before any reply byte is replaced once.
        net::awaitable<std::optional<value>> call(std::string_view command);

    private:
        std::shared_ptr<client> owner_;
        std::unique_ptr<connection> conn_;
        time_point deadline_{};
    };

    client(net::any_io_executor ex, client_options o);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// A connection until `deadline`: its I/O fails once the deadline passes.
    net::awaitable<session> acquire(time_point deadline);

    /// Closes every idle connection. Only when nothing else uses the client (shutdown, with no
    /// io thread running): the connections belong to the strand.
    void close_idle();

    /// The strand every connection lives on.
    const net::strand<net::any_io_executor>& strand() const { return strand_; }
    const client_options& options() const { return o_; }

private:
    struct waiter;
    friend class session;
    net::awaitable<bool> open(connection& c, time_point deadline);
    void give_back(std::unique_ptr<connection> c);
    void discard(std::unique_ptr<connection> c);

    net::strand<net::any_io_executor> strand_;
    client_options o_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::size_t open_ = 0;  ///< connections that exist (idle + in use + opening)
    std::deque<std::shared_ptr<waiter>> waiters_;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;  ///< cached resolution
    bool literal_ = false;  ///< host is an IP address: endpoints_ never changes
};

}  // namespace ogp::limits::resp
