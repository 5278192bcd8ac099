// Uploads (`POST /v1/files`) are spooled to an unlinked file, never held in memory: a body
// larger than limits.max_body_bytes reaches the handler as http_request::spooled (size and
// SHA-256 right, `body` empty), Content-Length and chunked alike; over limits.max_upload_bytes
// is a 413 before any byte is read; the body deadline applies per piece (a slow upload that
// keeps moving completes, a stall or a trickle gets a 408); the spool directory stays empty and
// the descriptor is closed once the request is answered.

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "ogp/server/server.hpp"

using namespace ogp;
using namespace ogp::server;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

constexpr auto nothrow = net::as_tuple(net::use_awaitable);

std::string b64_sha256(std::string_view data)
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    unsigned char out[64];
    const int n = EVP_EncodeBlock(out, md, static_cast<int>(len));
    return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

// Entries in `dir` (besides . and ..).
int entries(const std::string& dir)
{
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) {
        ++n;
    }
    return n;
}

// Descriptors of this process open on a file in `dir` (a spool file shows as
// `<dir>/#<inode> (deleted)`).
int open_in(const std::string& dir)
{
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        auto target = std::filesystem::read_symlink(e.path(), ec);
        if (!ec && target.string().starts_with(dir + "/")) {
            ++n;
        }
    }
    return n;
}

struct seen
{
    int calls = 0;
    std::uint64_t size = 0;
    std::string sha;
    std::string content;  // read back from the spool file
    bool body_empty = false;
    int fd = -1;
    int dir_entries = -1;  // spool directory entries while the handler ran
    int open_in_dir = -1;  // descriptors open on files in the spool directory, meanwhile
};

struct harness
{
    config cfg;
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    std::unique_ptr<ogp::server::server> srv;
    tcp::socket client{ioc};
    std::string in;
    seen s;
    std::string dir;

    explicit harness(const std::function<void(config&)>& tune = {})
    {
        dir = "/tmp/ogp_spool_test_" + std::to_string(::getpid());
        std::filesystem::create_directories(dir);
        cfg.log.access_log = false;
        cfg.clients.api_keys = {"sk-test"};
        cfg.limits.max_body_bytes = 1024;
        cfg.limits.spool_dir = dir;
        if (tune) {
            tune(cfg);
        }
        srv = std::make_unique<ogp::server::server>(ioc, cfg);
        srv->set_handler(route::openai_state,
                         [this](http_request& r, response_sink&) { return handler(r); });
        tcp::acceptor a(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
        tcp::socket served(net::make_strand(ioc));
        client.connect(a.local_endpoint());
        a.accept(served);
        srv->serve(std::move(served));
    }

    ~harness()
    {
        error_code ignored;
        client.close(ignored);
        srv->close_all();
        run_until([this] { return srv->active_connections() == 0; });
        std::filesystem::remove_all(dir);
    }

    net::awaitable<http_response> handler(http_request& r)
    {
        ++s.calls;
        s.body_empty = r.body.empty();
        s.fd = r.spooled.fd();
        s.size = r.spooled.size();
        s.sha = r.spooled.sha256_base64();
        s.dir_entries = entries(dir);
        s.open_in_dir = open_in(dir);
        s.content.resize(static_cast<std::size_t>(s.size));
        if (r.spooled.valid() && s.size > 0) {
            REQUIRE(::pread(r.spooled.fd(), s.content.data(), s.content.size(), 0) ==
                    static_cast<ssize_t>(s.size));
        }
        http_response res;
        res.body = R"({"id":"file-1"})";
        co_return res;
    }

    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            ioc.run_one_for(5ms);
        }
        return done();
    }

    // Sends `bytes` while the server runs (a large body must not block the test).
    void send(const std::string& bytes)
    {
        bool sent = false;
        net::async_write(client, net::buffer(bytes), [&](error_code, std::size_t) { sent = true; });
        REQUIRE(run_until([&] { return sent; }));
    }

    // Runs the server for `d`.
    void pause(std::chrono::milliseconds d)
    {
        const auto until = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < until) {
            ioc.run_one_for(5ms);
        }
    }

    // The next whole response (Content-Length framing), or "" after 10 s / EOF.
    std::string next_response()
    {
        char tmp[4096];
        bool eof = false;
        auto complete = [&]() -> std::size_t {
            auto end = in.find("\r\n\r\n");
            if (end == std::string::npos) {
                return 0;
            }
            auto cl = in.find("Content-Length: ");
            if (cl == std::string::npos || cl > end) {
                return 0;
            }
            std::size_t total = end + 4 + std::stoul(in.substr(cl + 16));
            return in.size() >= total ? total : 0;
        };
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (complete() == 0 && !eof && std::chrono::steady_clock::now() < deadline) {
            bool pending = true;
            client.async_read_some(net::buffer(tmp), [&](error_code ec, std::size_t n) {
                pending = false;
                if (ec) {
                    eof = true;
                } else {
                    in.append(tmp, n);
                }
            });
            if (!run_until([&] { return !pending; })) {
                client.cancel();
                run_until([&] { return !pending; });
            }
        }
        const auto total = complete();
        if (total == 0) {
            return {};
        }
        std::string r = in.substr(0, total);
        in.erase(0, total);
        return r;
    }
};

std::string upload_head(std::uint64_t length, const std::string& extra = "")
{
    return "POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
           "Content-Type: multipart/form-data; boundary=b\r\n" +
           extra + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

std::string payload(std::size_t n)
{
    std::string s(n, '\0');
    std::uint32_t x = 7;
    for (auto& c : s) {
        x = x * 1103515245u + 12345u;
        c = static_cast<char>(x >> 24);
    }
    return s;
}

// Writes 100 bytes every 50 ms, up to 4 s or an error.
net::awaitable<void> trickle(tcp::socket* s)
{
    const std::string bytes(100, 'x');
    net::steady_timer t(s->get_executor());
    for (int i = 0; i < 80; ++i) {
        auto [ec, n] = co_await net::async_write(*s, net::buffer(bytes), nothrow);
        if (ec) {
            co_return;
        }
        t.expires_after(50ms);
        co_await t.async_wait(nothrow);
    }
}

bool fd_closed(int fd)
{
    return fd >= 0 && ::fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

}  // namespace

TEST_CASE("spool: an upload over max_body_bytes reaches the handler spooled", "[session][spool]")
{
    SECTION("Content-Length")
    {
        harness h;
        const auto body = payload(300 * 1024 + 7);
        h.send(upload_head(body.size()) + body);
        auto r = h.next_response();
        CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
        REQUIRE(h.s.calls == 1);
        CHECK(h.s.body_empty);
        CHECK(h.s.size == body.size());
        CHECK(h.s.sha == b64_sha256(body));
        CHECK(h.s.content == body);
        // The file never had a name, and it is closed (its space freed) once answered.
        CHECK(h.s.dir_entries == 0);
        CHECK(h.s.open_in_dir == 1);  // the one spool file, while the handler ran
        CHECK(entries(h.dir) == 0);
        CHECK(fd_closed(h.s.fd));
        CHECK(open_in(h.dir) == 0);
    }
    SECTION("chunked")
    {
        harness h;
        const auto body = payload(200 * 1024 + 3);
        std::string wire =
            "POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (std::size_t at = 0; at < body.size(); at += 50000) {
            const auto n = std::min<std::size_t>(50000, body.size() - at);
            char size_line[32];
            std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
            wire += size_line;
            wire.append(body, at, n);
            wire += "\r\n";
        }
        wire += "0\r\n\r\n";
        h.send(wire);
        auto r = h.next_response();
        CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
        REQUIRE(h.s.calls == 1);
        CHECK(h.s.size == body.size());
        CHECK(h.s.sha == b64_sha256(body));
        CHECK(h.s.content == body);
        CHECK(fd_closed(h.s.fd));
    }
    SECTION("Expect: 100-continue, then a second request on the same connection")
    {
        harness h;
        const auto body = payload(70 * 1024);
        h.send(upload_head(body.size(), "Expect: 100-continue\r\n"));
        // The interim answer comes first.
        char tmp[256];
        bool got = false;
        std::size_t n = 0;
        h.client.async_read_some(net::buffer(tmp), [&](error_code, std::size_t k) {
            got = true;
            n = k;
        });
        REQUIRE(h.run_until([&] { return got; }));
        CHECK(std::string(tmp, n) == "HTTP/1.1 100 Continue\r\n\r\n");
        h.send(body);
        CHECK(h.next_response().starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(h.s.sha == b64_sha256(body));
        const auto small = payload(10);
        h.send(upload_head(small.size()) + small);
        CHECK(h.next_response().starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(h.s.calls == 2);
        CHECK(h.s.sha == b64_sha256(small));
    }
}

TEST_CASE("spool: over max_upload_bytes is a 413 before the body is read", "[session][spool]")
{
    SECTION("declared")
    {
        harness h([](config& c) { c.limits.max_upload_bytes = 100 * 1024; });
        h.send(upload_head(100 * 1024 + 1));
        auto r = h.next_response();
        CHECK(r.starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
        CHECK(r.find("exceeds the limit of 102400 bytes") != std::string::npos);
        CHECK(r.find("\r\nConnection: close\r\n") != std::string::npos);
        CHECK(h.s.calls == 0);
    }
    SECTION("declared, under max_body_bytes")
    {
        harness h([](config& c) {
            c.limits.max_body_bytes = 200 * 1024;
            c.limits.max_upload_bytes = 100 * 1024;
        });
        h.send(upload_head(100 * 1024 + 1, "Expect: 100-continue\r\n"));
        auto r = h.next_response();
        CHECK(r.starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
        CHECK(r.find("upload exceeds the limit of 102400 bytes") != std::string::npos);
        CHECK(h.s.calls == 0);
    }
    SECTION("chunked")
    {
        harness h([](config& c) { c.limits.max_upload_bytes = 100 * 1024; });
        h.send(
            "POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
            "Transfer-Encoding: chunked\r\n\r\n19001\r\n");
        auto r = h.next_response();
        CHECK(r.starts_with("HTTP/1.1 413 "));
        CHECK(h.s.calls == 0);
        CHECK(entries(h.dir) == 0);
    }
    SECTION("other routes keep limits.max_body_bytes")
    {
        harness h;
        h.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
            "Content-Length: 2048\r\n\r\n");
        auto r = h.next_response();
        CHECK(r.starts_with("HTTP/1.1 413 Payload Too Large\r\n"));
        CHECK(r.find("request body exceeds the limit of 1024 bytes") != std::string::npos);
        // And a body the size of an upload on another state path is not spooled either.
        harness g;
        g.send(
            "POST /v1/vector_stores HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
            "Content-Length: 4096\r\n\r\n");
        CHECK(g.next_response().starts_with("HTTP/1.1 413 "));
        CHECK(g.s.calls == 0);
    }
}

TEST_CASE("spool: the body deadline applies per piece", "[session][spool]")
{
    auto tune = [](config& c) { c.timeouts.request_body = 600ms; };
    SECTION("a stalled upload ends with 408 at the idle deadline")
    {
        harness h(tune);
        const auto start = std::chrono::steady_clock::now();
        h.send(upload_head(1 << 20) + payload(1000));
        auto r = h.next_response();
        const auto took = std::chrono::steady_clock::now() - start;
        CHECK(r.starts_with("HTTP/1.1 408 "));
        CHECK(took >= 550ms);
        CHECK(took < 3s);
        CHECK(h.s.calls == 0);
        CHECK(entries(h.dir) == 0);
    }
    SECTION("a trickle (less than a piece per deadline) still ends")
    {
        harness h(tune);
        h.send(upload_head(1 << 20));
        // 100 bytes every 50 ms: never idle for the deadline, but never a whole piece.
        net::co_spawn(h.ioc, trickle(&h.client), net::detached);
        const auto start = std::chrono::steady_clock::now();
        auto r = h.next_response();
        CHECK(r.starts_with("HTTP/1.1 408 "));
        CHECK(std::chrono::steady_clock::now() - start < 3s);
        CHECK(h.s.calls == 0);
    }
    SECTION("an upload longer than the deadline that keeps moving completes")
    {
        harness h(tune);
        const auto body = payload(12 * 64 * 1024);
        const auto start = std::chrono::steady_clock::now();
        h.send(upload_head(body.size()));
        for (std::size_t at = 0; at < body.size(); at += 64 * 1024) {
            h.send(body.substr(at, 64 * 1024));
            h.pause(100ms);
        }
        auto r = h.next_response();
        CHECK(std::chrono::steady_clock::now() - start > 1200ms);  // two deadlines and more
        CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
        CHECK(h.s.sha == b64_sha256(body));
    }
}

TEST_CASE("spool: without a spool file the upload is a 500 and nothing is read", "[session][spool]")
{
    harness h([](config& c) { c.limits.spool_dir = "/nonexistent/ogp-spool"; });
    h.send(upload_head(10) + "0123456789");
    auto r = h.next_response();
    CHECK(r.starts_with("HTTP/1.1 500 "));
    CHECK(r.find("the upload cannot be stored") != std::string::npos);
    CHECK(h.s.calls == 0);
}

TEST_CASE("spool: the descriptor count is back where it was after many uploads", "[session][spool]")
{
    auto count_fds = [] { return entries("/proc/self/fd"); };
    harness h;
    const int before = count_fds();
    for (int i = 0; i < 20; ++i) {
        const auto body = payload(2000 + static_cast<std::size_t>(i));
        h.send(upload_head(body.size()) + body);
        REQUIRE(h.next_response().starts_with("HTTP/1.1 200 OK\r\n"));
    }
    CHECK(h.s.calls == 20);
    CHECK(count_fds() == before);
}

TEST_CASE("router: only POST /v1/files spools its body", "[router][spool]")
{
    CHECK(match_route("POST", "/v1/files").spools_body);
    CHECK(match_route("POST", "/v1/files/").spools_body);
    CHECK(match_route("POST", "/v1/files").takes_body);
    CHECK_FALSE(match_route("GET", "/v1/files").spools_body);
    CHECK_FALSE(match_route("POST", "/v1/files/file-1").spools_body);
    CHECK_FALSE(match_route("POST", "/v1/vector_stores").spools_body);
    CHECK_FALSE(match_route("POST", "/v1/conversations").spools_body);
    CHECK_FALSE(match_route("POST", "/v1/chat/completions").spools_body);
}

TEST_CASE("spool: a failed spool write is a 500 with the file closed and no handler call",
          "[session][spool]")
{
    // The file-size limit makes the spool write fail (EFBIG) as a full disk would (ENOSPC: 507).
    rlimit old{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
    harness h;
    rlimit small = old;
    small.rlim_cur = 100 * 1024;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    const auto body = payload(300 * 1024);
    h.send(upload_head(body.size()));
    bool sent = false;
    net::async_write(h.client, net::buffer(body), [&](error_code, std::size_t) { sent = true; });
    auto r = h.next_response();
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    CHECK(r.starts_with("HTTP/1.1 500 "));
    CHECK(r.find("the upload cannot be stored") != std::string::npos);
    CHECK(h.s.calls == 0);
    CHECK(open_in(h.dir) == 0);
}
