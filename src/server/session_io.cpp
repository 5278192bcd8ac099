// The session's I/O steps: the body reader, the one response-head writer (buffered and
// chunked answers), the streaming sink, and the client monitor run beside the handler.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <variant>

#include "ogp/util/text.hpp"
#include "session.hpp"
#include "spool.hpp"

namespace ogp::server {

namespace {

using namespace net::experimental::awaitable_operators;

// RFC 9110 IMF-fixdate for the `Date` header.
void append_http_date(std::string& out)
{
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    out.append(buf, n);
}

bool safe_header_value(std::string_view v)
{
    return std::none_of(v.begin(), v.end(),
                        [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

using text::iequals;

// Headers the server sets itself: a handler's copy would duplicate them or break the framing.
bool server_owned(std::string_view name)
{
    for (std::string_view own : {"date", "content-type", "x-request-id", "content-length",
                                 "transfer-encoding", "connection"}) {
        if (iequals(name, own)) {
            return true;
        }
    }
    return false;
}

std::string_view reason_for(unsigned status)
{
    return beast::http::obsolete_reason(static_cast<beast::http::status>(status));
}

// A header name as RFC 9110 allows it (a token): a handler's name with a space, a colon or a
// byte outside ASCII would make a malformed line.
bool header_name(std::string_view name)
{
    static constexpr std::string_view tchar_extra = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 ||
               tchar_extra.find(static_cast<char>(c)) != std::string_view::npos;
    });
}

// Reads a Content-Length body: what is buffered, then the rest. Appends to `out` unless
// `discard`.
net::awaitable<std::optional<guard_reject>> read_sized_body(const conn_ptr& c, std::size_t need,
                                                            std::string& out, bool discard)
{
    auto& buf = c->buffer;
    std::size_t got = 0;
    if (!discard) {
        out.reserve(std::min(need, max_body_reserve));
    }
    while (got < need) {
        if (buf.size() == 0) {
            auto [ec, n] = co_await c->read_some(buf.prepare(read_chunk));
            if (ec) {
                co_return c->timed_out ? guard_reject{408, "request body timed out"}
                                       : guard_reject{0, "client closed during body"};
            }
            buf.commit(n);
        }
        auto take = std::min(buf.size(), need - got);
        if (!discard) {
            out.append(static_cast<const char*>(buf.data().data()), take);
        }
        got += take;
        buf.consume(take);
    }
    co_return std::nullopt;
}

// Reads a chunked body through the guard's decoder (at most `max_bytes` of data).
net::awaitable<std::optional<guard_reject>> read_chunked_body(const conn_ptr& c,
                                                              std::size_t max_bytes,
                                                              std::string& out, bool discard)
{
    auto& buf = c->buffer;
    chunked_decoder dec(max_bytes);
    for (;;) {
        if (buf.size() > 0) {
            auto r = dec.feed(c->buffered(), out);
            if (discard) {
                out.clear();
            }
            if (auto* bad = std::get_if<guard_reject>(&r)) {
                co_return *bad;
            }
            buf.consume(std::get<std::size_t>(r));
            if (dec.done()) {
                co_return std::nullopt;
            }
        }
        auto [ec, n] = co_await c->read_some(buf.prepare(read_chunk));
        if (ec) {
            co_return c->timed_out ? guard_reject{408, "request body timed out"}
                                   : guard_reject{0, "client closed during body"};
        }
        buf.commit(n);
    }
}

// The response_sink of one exchange: chunked streaming with write-stall deadlines. It also
// holds what the client monitor learns: whether the client left, and whom to tell.
class session_sink final : public response_sink
{
public:
    session_sink(const server_settings& set, const conn_ptr& c, const http_request& req,
                 bool keep_alive)
        : set_(set), c_(c), req_(req), keep_alive_(keep_alive)
    {
    }

    net::awaitable<bool> begin_stream(
        unsigned status, std::string content_type,
        std::vector<std::pair<std::string, std::string>> headers) override
    {
        streaming_ = true;
        status_ = status;
        // At the drain deadline the server cuts the stream: stopping the upstream exchange
        // (the handler's disconnect hook) lets the handler end it properly, with an error.
        c_->on_cut = [this] {
            if (on_gone_) {
                on_gone_();
            }
        };
        add_answer_headers(headers, req_.answer_headers);
        format_response_head(c_->head_out, status, content_type, req_.request_id, headers,
                             std::nullopt, keep_alive_);
        co_return co_await send(net::buffer(c_->head_out));
    }

    net::awaitable<bool> write(std::string_view data) override
    {
        if (data.empty()) {
            co_return ok_;
        }
        char size_line[24];
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
        std::array<net::const_buffer, 3> bufs{net::buffer(size_line, static_cast<std::size_t>(len)),
                                              net::buffer(data.data(), data.size()),
                                              net::buffer("\r\n", 2)};
        bytes_ += data.size();
        co_return co_await send(bufs);
    }

    net::awaitable<bool> end_stream() override
    {
        if (ended_) {
            co_return ok_;
        }
        ended_ = true;
        co_return co_await send(net::buffer("0\r\n\r\n", 5));
    }

    bool streaming() const override { return streaming_; }
    bool client_gone() const override { return gone_ || !ok_; }
    bool cut() const override { return c_->cut; }
    void on_disconnect(std::function<void()> fn) override { on_gone_ = std::move(fn); }

    // The monitor saw EOF or a reset, or a write failed: tell the handler once.
    void client_left()
    {
        if (!gone_) {
            gone_ = true;
            if (on_gone_) {
                on_gone_();
            }
        }
    }
    // The handler has returned: nothing may call into it any more.
    void detach()
    {
        on_gone_ = nullptr;
        c_->on_cut = nullptr;
    }

    bool gone() const { return gone_; }
    bool ended() const { return ended_; }
    bool ok() const { return ok_; }
    unsigned status() const { return status_; }
    std::size_t bytes() const { return bytes_; }

private:
    template <class Buffers>
    net::awaitable<bool> send(const Buffers& b)
    {
        if (!ok_ || gone_) {
            ok_ = false;
            co_return false;
        }
        connection::arm(c_, set_.cfg->timeouts.write_stall);
        auto [ec, n] = co_await c_->write(b);
        c_->disarm();
        if (ec) {
            ok_ = false;
            // A stalled or failed write ends the exchange: tell the handler like a disconnect.
            client_left();
        }
        co_return ok_;
    }

    const server_settings& set_;
    const conn_ptr& c_;
    const http_request& req_;
    bool keep_alive_;
    bool streaming_ = false;
    bool ended_ = false;
    bool ok_ = true;
    bool gone_ = false;
    unsigned status_ = 0;
    std::size_t bytes_ = 0;
    std::function<void()> on_gone_;
};

// Watches the client socket while a handler runs: bytes that arrive are kept for the next
// request; EOF or a reset means the client is gone (the sink tells the handler). It never ends
// by itself, so in `handler || monitor` the handler always wins and is never cancelled; the
// handler's end cancels the monitor's pending read or wait.
net::awaitable<void> monitor_client(conn_ptr c, session_sink& sink, std::size_t max_ahead)
{
    // Cancellation is how this ends: it must not turn into an exception. A handler that ends
    // before an operation starts has cancelled already, so every wait checks first.
    co_await net::this_coro::throw_if_cancelled(false);
    auto cs = co_await net::this_coro::cancellation_state;
    // Enough read-ahead: stop reading (and watching) until the handler ends.
    while (cs.cancelled() == net::cancellation_type::none && c->buffer.size() < max_ahead) {
        auto [ec, n] = co_await c->read_some(c->buffer.prepare(read_chunk));
        // Bytes read are the next request's, even when the handler has ended meanwhile.
        c->buffer.commit(n);
        if (cs.cancelled() != net::cancellation_type::none) {
            co_return;  // the handler ended: an error now is not a disconnect
        }
        if (!ec) {
            continue;
        }
        // The write watchdog cancels every pending operation: that is not a disconnect (the
        // monitor just stops watching); close_all() is.
        if (ec != net::error::operation_aborted || c->forced) {
            sink.client_left();
        }
        break;
    }
    if (cs.cancelled() != net::cancellation_type::none) {
        co_return;
    }
    net::steady_timer park(c->socket.get_executor(), std::chrono::steady_clock::time_point::max());
    co_await park.async_wait(use_nothrow);
}

}  // namespace

void add_answer_headers(std::vector<std::pair<std::string, std::string>>& headers,
                        const std::vector<std::pair<std::string, std::string>>& answer)
{
    const std::size_t own = headers.size();
    for (const auto& h : answer) {
        const auto same = [&h](const auto& e) { return iequals(e.first, h.first); };
        if (std::none_of(headers.begin(), headers.begin() + static_cast<std::ptrdiff_t>(own),
                         same)) {
            headers.push_back(h);
        }
    }
}

void format_response_head(std::string& out, unsigned status, std::string_view content_type,
                          std::string_view request_id,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::optional<std::size_t> content_length, bool keep_alive)
{
    out.clear();
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason_for(status);
    out += "\r\nDate: ";
    append_http_date(out);
    out += "\r\nContent-Type: ";
    out += content_type;
    out += "\r\nx-request-id: ";
    out += request_id;
    out += "\r\n";
    bool has_allow = false;
    for (const auto& [k, v] : headers) {
        // Values copied from elsewhere must not inject header lines.
        if (!header_name(k) || !safe_header_value(v) || server_owned(k)) {
            continue;
        }
        has_allow = has_allow || iequals(k, "allow");
        out += k;
        out += ": ";
        out += v;
        out += "\r\n";
    }
    if (status == 405 && !has_allow) {
        out += "Allow: GET, HEAD, POST\r\n";
    }
    if (content_length) {
        char n[32];
        int len = std::snprintf(n, sizeof n, "Content-Length: %zu\r\n", *content_length);
        out.append(n, static_cast<std::size_t>(len));
    } else {
        out += "Transfer-Encoding: chunked\r\n";
    }
    out += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
}

net::awaitable<bool> session::read_body(exchange& x)
{
    if (x.answered) {
        co_return true;
    }
    const auto& head = x.req.head;
    bool read_it = head.has_body();
    if (read_it && !x.takes_body) {
        // A body nobody needs: refused unread when large, else dropped as it arrives.
        if (!head.chunked && head.content_length > max_discard_bytes) {
            co_await reply_and_close(x, 413, "this route takes no request body");
            co_return false;
        }
        // Not solicited with a 100 either: answer, then close instead of reading it.
        if (head.expect_continue && c_->buffer.size() == 0) {
            read_it = false;
            x.keep_alive = false;
        }
    }
    if (!read_it) {
        co_return true;
    }
    // An upload goes to a spool file: refused now if it cannot, before a 100 solicits it.
    spool_file spool;
    const bool spooled = x.match.spools_body;
    if (spooled && !co_await open_spool(x, spool)) {
        co_return false;
    }
    // `Expect: 100-continue` is answered only now that the head passed.
    if (head.expect_continue && c_->buffer.size() == 0) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        connection::arm(c_, x.settings->cfg->timeouts.write_stall);
        auto [ec, n] = co_await c_->write(net::buffer(cont));
        c_->disarm();
        if (ec) {
            log_access(st_, x, 499, 0, " client_gone=true");
            co_return false;
        }
    }
    if (spooled) {
        co_return co_await spool_body(x, spool);
    }
    // One total deadline for the whole body.
    connection::arm(c_, x.settings->cfg->timeouts.request_body);
    std::optional<guard_reject> bad;
    if (head.chunked) {
        const auto limit = x.settings->cfg->limits.max_body_bytes;
        const auto max = x.takes_body ? limit : std::min(max_discard_bytes, limit);
        bad = co_await read_chunked_body(c_, max, x.req.body, !x.takes_body);
    } else {
        bad = co_await read_sized_body(c_, static_cast<std::size_t>(head.content_length),
                                       x.req.body, !x.takes_body);
    }
    c_->disarm();
    if (!bad) {
        co_return true;
    }
    if (bad->status == 413 && !x.takes_body) {
        bad->reason = "this route takes no request body";
    }
    if (bad->status != 0) {
        co_await reply_and_close(x, bad->status, bad->reason);
    } else {
        log_access(st_, x, 499, 0, " client_gone=true");
    }
    co_return false;
}

net::awaitable<bool> session::open_spool(exchange& x, spool_file& file)
{
    const auto& head = x.req.head;
    const std::size_t max = x.settings->cfg->limits.max_upload_bytes;
    if (!head.chunked && head.content_length > max) {
        co_await reply_and_close(x, 413,
                                 "upload exceeds the limit of " + std::to_string(max) + " bytes");
        co_return false;
    }
    const std::string dir = x.settings->cfg->limits.spool_directory();
    if (int err = file.open(dir); err != 0) {
        spdlog::error(
            "upload: cannot create a spool file in {} (limits.spool_dir): {} request_id={}", dir,
            std::strerror(err), x.req.request_id);
        co_await reply_and_close(x, err == ENOSPC || err == EDQUOT ? 507 : 500,
                                 "the upload cannot be stored");
        co_return false;
    }
    co_return true;
}

net::awaitable<bool> session::spool_body(exchange& x, spool_file& file)
{
    const auto& head = x.req.head;
    auto& buf = c_->buffer;
    const auto deadline = x.settings->cfg->timeouts.request_body;
    std::optional<chunked_decoder> dec;
    if (head.chunked) {
        dec.emplace(x.settings->cfg->limits.max_upload_bytes);
    }
    const std::uint64_t need = head.content_length;
    std::string piece;  // decoded chunk data: at most what one read buffered
    std::optional<guard_reject> bad;
    int write_error = 0;
    // The deadline covers each piece, not the whole upload: a large upload at a sane rate
    // completes, a trickle (less than a piece per deadline) still ends.
    std::uint64_t armed_at = 0;
    connection::arm(c_, deadline);
    bool done = !dec && need == 0;
    while (!done) {
        if (buf.size() == 0) {
            auto [ec, n] = co_await c_->read_some(buf.prepare(spool_piece));
            if (ec) {
                bad = c_->timed_out ? guard_reject{408, "request body timed out"}
                                    : guard_reject{0, "client closed during body"};
                break;
            }
            buf.commit(n);
        }
        if (dec) {
            piece.clear();
            auto r = dec->feed(c_->buffered(), piece);
            if (auto* refused = std::get_if<guard_reject>(&r)) {
                bad = *refused;
                break;
            }
            buf.consume(std::get<std::size_t>(r));
            write_error = file.write(piece);
            done = dec->done();
            if (!done && buf.size() > 0) {
                // The decoder takes all it is given until the body ends: never spin.
                bad = guard_reject{400, "invalid chunked body"};
                break;
            }
        } else {
            const auto take =
                static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), need - file.size()));
            write_error = file.write(c_->buffered().substr(0, take));
            buf.consume(take);
            done = file.size() >= need;
        }
        if (write_error != 0) {
            break;
        }
        if (file.size() - armed_at >= spool_piece) {
            armed_at = file.size();
            connection::arm(c_, deadline);
        }
    }
    c_->disarm();
    if (write_error != 0) {
        spdlog::error("upload: writing the spool file failed after {} bytes: {} request_id={}",
                      file.size(), std::strerror(write_error), x.req.request_id);
        co_await reply_and_close(x, write_error == ENOSPC || write_error == EDQUOT ? 507 : 500,
                                 "the upload cannot be stored");
        co_return false;
    }
    if (bad) {
        if (bad->status != 0) {
            co_await reply_and_close(x, bad->status, bad->reason);
        } else {
            log_access(st_, x, 499, 0, " client_gone=true");
        }
        co_return false;
    }
    x.req.spooled = file.finish();
    if (!x.req.spooled.valid()) {
        co_await reply_and_close(x, 500, "the upload cannot be stored");
        co_return false;
    }
    co_return true;
}

net::awaitable<bool> session::handle(exchange& x)
{
    if (x.answered) {
        co_return true;
    }
    session_sink sink(*x.settings, c_, x.req, x.keep_alive);
    // Only the API routes are watched: their handlers cost money while the client is away.
    if (x.match.requires_client_auth) {
        auto done = co_await (dispatch(st_, x.req, sink) ||
                              monitor_client(c_, sink, x.settings->limits.max_header_bytes));
        if (auto* res = std::get_if<0>(&done)) {
            x.res = std::move(*res);
        }
    } else {
        x.res = co_await dispatch(st_, x.req, sink);
    }
    sink.detach();
    if (!sink.streaming()) {
        // The stream's head got them in begin_stream(); a returned answer (an error too) here.
        add_answer_headers(x.res.headers, x.req.answer_headers);
    }
    if (sink.streaming()) {
        // The handler streamed its answer: log it, and reuse the connection only if the
        // stream ended cleanly.
        x.streamed = true;
        if (sink.ok() && !sink.ended()) {
            co_await sink.end_stream();
        }
        log_access(st_, x, sink.status(), sink.bytes(),
                   sink.client_gone() ? " stream=true client_gone=true" : " stream=true");
        co_return sink.ok() && !sink.client_gone() && x.keep_alive && !st_->draining;
    }
    if (sink.gone()) {
        // Nobody to answer; 499 as nginx logs it.
        log_access(st_, x, 499, 0, " client_gone=true");
        co_return false;
    }
    x.keep_alive = x.keep_alive && !st_->draining && !c_->evicting;
    co_return true;
}

net::awaitable<bool> session::respond(exchange& x)
{
    if (x.streamed) {
        co_return true;
    }
    const bool ok = co_await write_response(x);
    log_access(st_, x, x.res.status, x.res.body.size(), ok ? "" : " client_gone=true");
    co_return ok&& x.keep_alive;
}

net::awaitable<void> session::reply_and_close(exchange& x, unsigned status,
                                              const std::string& reason)
{
    // The type follows the status (openai/error.hpp), as for every other error; the code is
    // the reason phrase in snake case.
    api_error e = make_error(status, reason);
    e.code = std::string(reason_for(status));
    std::replace(e.code.begin(), e.code.end(), ' ', '_');
    std::transform(e.code.begin(), e.code.end(), e.code.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    x.res = error_response(e);
    x.keep_alive = false;
    co_await write_response(x);
    log_access(st_, x, status, x.res.body.size(), " reason=\"" + reason + "\"");
}

net::awaitable<bool> session::write_response(exchange& x)
{
    format_response_head(c_->head_out, x.res.status, x.res.content_type, x.req.request_id,
                         x.res.headers, x.res.body.size(), x.keep_alive);
    std::array<net::const_buffer, 2> bufs{net::buffer(c_->head_out), net::buffer(x.res.body)};
    if (x.head_only) {
        bufs[1] = net::const_buffer();
    }
    // The write is bounded by the write-stall deadline.
    connection::arm(c_, x.settings->cfg->timeouts.write_stall);
    auto [ec, n] = co_await c_->write(bufs);
    c_->disarm();
    co_return !ec;
}

}  // namespace ogp::server
