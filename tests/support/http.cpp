#include "support/http.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "support/net.hpp"

namespace ogp::test {
namespace {

std::string lower(std::string_view s)
{
    std::string o(s);
    std::transform(o.begin(), o.end(), o.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return o;
}

std::string_view trim(std::string_view v)
{
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) {
        v.remove_suffix(1);
    }
    return v;
}

bool has_no_body(int status, bool head_request)
{
    return head_request || (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

// ---- http_response -------------------------------------------------------------------------

std::optional<std::string> http_response::header(std::string_view name) const
{
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) {
            return v;
        }
    }
    return std::nullopt;
}

bool http_response::connection_close() const
{
    auto c = header("connection");
    return c && lower(*c).find("close") != std::string::npos;
}

std::vector<std::string> http_response::sse_data() const
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto end = body.find('\n', pos);
        std::string_view line(body.data() + pos,
                              (end == std::string::npos ? body.size() : end) - pos);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.starts_with("data:")) {
            line.remove_prefix(5);
            if (line.starts_with(" ")) {
                line.remove_prefix(1);
            }
            out.emplace_back(line);
        }
        if (end == std::string::npos) {
            break;
        }
        pos = end + 1;
    }
    return out;
}

std::optional<http_response> parse_head(std::string_view head)
{
    http_response r;
    auto eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || !line.starts_with("HTTP/")) {
        return std::nullopt;
    }
    r.version = std::string(line.substr(0, sp1));
    auto sp2 = line.find(' ', sp1 + 1);
    r.status = std::atoi(std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)).c_str());
    if (sp2 != std::string_view::npos) {
        r.reason = std::string(line.substr(sp2 + 1));
    }
    std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
        auto e = head.find("\r\n", pos);
        std::string_view f = head.substr(pos, e == std::string_view::npos ? e : e - pos);
        pos = e == std::string_view::npos ? head.size() : e + 2;
        auto colon = f.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        r.headers.emplace_back(std::string(f.substr(0, colon)),
                               std::string(trim(f.substr(colon + 1))));
    }
    auto te = r.header("transfer-encoding");
    r.chunked = te && lower(*te).find("chunked") != std::string::npos;
    return r;
}

// ---- raw_client ----------------------------------------------------------------------------

raw_client::raw_client(std::uint16_t port, ms connect_timeout, int rcvbuf)
    : fd_(connect_loopback(port, connect_timeout, rcvbuf))
{
    if (fd_ < 0) {
        throw sys_error("connect to 127.0.0.1:" + std::to_string(port));
    }
}

raw_client::~raw_client()
{
    close();
}

void raw_client::close()
{
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool raw_client::can_connect(std::uint16_t port, ms timeout)
{
    int fd = connect_loopback(port, timeout);
    if (fd < 0) {
        return false;
    }
    ::close(fd);
    return true;
}

bool raw_client::send(std::string_view bytes)
{
    const auto deadline = steady::now() + 5s;
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
                return false;
            }
            if ((p.revents & (POLLERR | POLLHUP)) != 0 && (p.revents & POLLOUT) == 0) {
                return false;
            }
            continue;
        }
        return false;
    }
    return true;
}

bool raw_client::send_slowly(std::string_view bytes, std::size_t piece, ms delay)
{
    while (!bytes.empty()) {
        auto n = std::min(piece, bytes.size());
        if (!send(bytes.substr(0, n))) {
            return false;
        }
        bytes.remove_prefix(n);
        if (!bytes.empty()) {
            std::this_thread::sleep_for(delay);
        }
    }
    return true;
}

void raw_client::shutdown_write()
{
    ::shutdown(fd_, SHUT_WR);
}

long raw_client::fill(steady::time_point deadline)
{
    for (;;) {
        char chunk[64 * 1024];
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n > 0) {
            buf_.append(chunk, static_cast<std::size_t>(n));
            return n;
        }
        if (n == 0) {
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return 0;  // reset or other error: the peer is gone
        }
        pollfd p{fd_, POLLIN, 0};
        int left = remaining_ms(deadline);
        if (left == 0) {
            return -1;
        }
        int r = ::poll(&p, 1, left);
        if (r == 0) {
            return -1;
        }
        if (r < 0 && errno != EINTR) {
            return 0;
        }
    }
}

std::optional<http_response> raw_client::read_response(ms timeout, bool head_request)
{
    const auto deadline = steady::now() + timeout;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (fill(deadline) <= 0) {
            return std::nullopt;
        }
    }
    auto r = parse_head(std::string_view(buf_).substr(0, end));
    if (!r) {
        return std::nullopt;
    }
    std::size_t body_len = 0;
    if (!has_no_body(r->status, head_request)) {
        if (auto cl = r->header("content-length")) {
            body_len = std::strtoull(cl->c_str(), nullptr, 10);
        }
    }
    const std::size_t total = end + 4 + body_len;
    while (buf_.size() < total) {
        if (fill(deadline) <= 0) {
            return std::nullopt;
        }
    }
    r->body = buf_.substr(end + 4, body_len);
    r->complete = true;
    buf_.erase(0, total);
    return r;
}

std::string raw_client::read_until_eof(ms timeout, bool* closed)
{
    const auto deadline = steady::now() + timeout;
    long r = 1;
    while (r > 0) {
        r = fill(deadline);
    }
    if (closed != nullptr) {
        *closed = r == 0;
    }
    std::string out = std::move(buf_);
    buf_.clear();
    return out;
}

bool raw_client::is_closed(ms timeout)
{
    bool closed = false;
    auto extra = read_until_eof(timeout, &closed);
    return closed && extra.empty();
}

bool raw_client::readable(ms timeout)
{
    if (!buf_.empty()) {
        return true;
    }
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, poll_ms(timeout)) > 0;
}

// ---- http_client ---------------------------------------------------------------------------

http_client::http_client(std::uint16_t port, int rcvbuf) : conn_(port, 5s, rcvbuf) {}

bool http_client::fill(steady::time_point deadline, bool* eof)
{
    long n = conn_.fd() < 0 ? 0 : conn_.fill(deadline);
    if (eof != nullptr) {
        *eof = n == 0;
    }
    return n > 0;
}

void http_client::send_request(std::string_view method, std::string_view path,
                               std::string_view body, bool auth, std::string_view extra_headers)
{
    std::string req =
        std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (auth) {
        req += "Authorization: Bearer " + std::string(test_key) + "\r\n";
    }
    if (!body.empty() || method == "POST") {
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n";
    }
    req += extra_headers;
    req += "\r\n";
    req += body;
    sent_at_ = steady::now();
    if (!conn_.send(req)) {
        throw std::runtime_error("cannot send the request");
    }
}

void http_client::send_bytes(std::string_view raw)
{
    sent_at_ = steady::now();
    if (!conn_.send(raw)) {
        throw std::runtime_error("cannot send the request");
    }
}

http_response http_client::read_head_and_chunks(std::size_t chunks, ms timeout)
{
    const auto deadline = steady::now() + timeout;
    std::string& buf = conn_.buf_;
    std::size_t end;
    bool eof = false;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!fill(deadline, &eof)) {
            throw std::runtime_error(eof ? "connection closed before a response"
                                         : "no response head in time");
        }
    }
    auto parsed = parse_head(std::string_view(buf).substr(0, end));
    if (!parsed) {
        throw std::runtime_error("bad status line: " + printable(buf.substr(0, end)));
    }
    http_response r = std::move(*parsed);
    buf.erase(0, end + 4);
    if (has_no_body(r.status, false)) {
        r.complete = true;
        return r;
    }
    if (!r.chunked) {
        auto cl = r.header("content-length");
        if (!cl) {
            // Until close.
            while (fill(deadline, &eof)) {
            }
            r.body = std::move(buf);
            buf.clear();
            r.closed = eof;
            r.complete = eof;
            return r;
        }
        const std::size_t n = std::stoul(*cl);
        while (buf.size() < n && fill(deadline, &eof)) {
        }
        r.closed = eof;
        r.complete = buf.size() >= n;
        r.body = buf.substr(0, std::min(n, buf.size()));
        buf.erase(0, r.body.size());
        return r;
    }
    // Chunked: size line, data, CRLF; a zero size ends the body (no trailers expected).
    std::size_t got = 0;
    for (;;) {
        auto eol = buf.find("\r\n");
        if (eol != std::string::npos) {
            std::size_t size = std::strtoul(buf.substr(0, eol).c_str(), nullptr, 16);
            if (size == 0) {
                if (buf.size() >= eol + 4) {
                    buf.erase(0, eol + 4);  // "0\r\n\r\n"
                    r.complete = true;
                    return r;
                }
            } else if (buf.size() >= eol + 2 + size + 2) {
                r.body.append(buf, eol + 2, size);
                buf.erase(0, eol + 2 + size + 2);
                r.arrivals.push_back(seconds_since(sent_at_));
                if (++got >= chunks) {
                    return r;
                }
                continue;
            }
        }
        if (!fill(deadline, &eof)) {
            r.closed = eof;
            return r;
        }
    }
}

http_response http_client::read_response(ms timeout)
{
    return read_head_and_chunks(static_cast<std::size_t>(-1), timeout);
}

http_response http_client::request(std::string_view method, std::string_view path,
                                   std::string_view body, ms timeout, bool auth,
                                   std::string_view extra_headers)
{
    send_request(method, path, body, auth, extra_headers);
    return read_response(timeout);
}

bool http_client::wait_closed(ms timeout)
{
    const auto deadline = steady::now() + timeout;
    bool eof = false;
    while (fill(deadline, &eof)) {
        conn_.buf_.clear();
    }
    return eof;
}

// ---- request builders ----------------------------------------------------------------------

namespace {

// `method target version`, Host, the header lines in `fields` and `extra`, the empty line.
std::string head(std::string_view method, std::string_view target, std::string_view version,
                 std::string_view fields, std::string_view extra)
{
    std::string r;
    for (auto part :
         {method, std::string_view(" "), target, std::string_view(" "), version,
          std::string_view("\r\nHost: 127.0.0.1\r\n"), fields, extra, std::string_view("\r\n")}) {
        r += part;
    }
    return r;
}

std::string json_auth_fields()
{
    return "Authorization: Bearer " + std::string(test_key) +
           "\r\nContent-Type: application/json\r\n";
}

}  // namespace

std::string chat_head(std::string_view extra, std::string_view version)
{
    return head("POST", "/v1/chat/completions", version, json_auth_fields(), extra);
}

std::string get_request(std::string_view target, std::string_view extra)
{
    return head("GET", target, "HTTP/1.1", {}, extra);
}

std::string post_request(std::string_view target, std::string_view body, std::string_view extra)
{
    return head("POST", target, "HTTP/1.1",
                json_auth_fields() + "Content-Length: " + std::to_string(body.size()) + "\r\n",
                extra) +
           std::string(body);
}

std::string upstream_chat_request(std::string_view request_id)
{
    return post_request(
        "/v1/chat/completions",
        R"({"model":"meta.llama-3.3-70b-instruct","messages":[{"role":"user","content":"hi"}]})",
        "X-Request-Id: " + std::string(request_id) + "\r\n");
}

}  // namespace ogp::test
