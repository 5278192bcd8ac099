// exchange::start_file (a spooled upload): the bytes arrive exactly, with the
// file's size as Content-Length, sent in pieces of file_body_piece (never the whole body in
// memory), and a file shorter than declared fails instead of sending a short body. Loopback
// only: a raw server in the test counts and hashes what it receives.

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "ogp/upstream/client.hpp"
#include "ogp/upstream/tls.hpp"

using namespace ogp;
using namespace std::chrono_literals;
namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

std::string hex(const unsigned char* p, std::size_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

// What the raw server saw of one request.
struct received
{
    std::string head;
    std::uint64_t bytes = 0;
    std::string sha256;
    bool done = false;
};

struct outcome
{
    std::optional<error_code> ec;
    unsigned status = 0;
    std::string body;
    std::uint64_t pieces = 0;
};

// Serves one request on one connection: reads the head and exactly Content-Length bytes,
// hashing them, then answers 200 with the hex SHA-256 of the body.
net::awaitable<void> serve_one(tcp::acceptor& a, std::shared_ptr<received> out)
{
    auto [aec, s] = co_await a.async_accept(ogp::use_nothrow);
    if (aec) {
        co_return;
    }
    std::string buf;
    char tmp[65536];
    std::size_t end = std::string::npos;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(tmp), ogp::use_nothrow);
        if (ec) {
            co_return;
        }
        buf.append(tmp, n);
    }
    out->head = buf.substr(0, end + 4);
    const auto cl = out->head.find("Content-Length: ");
    if (cl == std::string::npos) {
        co_return;
    }
    const std::uint64_t need = std::stoull(out->head.substr(cl + 16));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::string_view rest = std::string_view(buf).substr(end + 4);
    EVP_DigestUpdate(ctx, rest.data(), rest.size());
    out->bytes = rest.size();
    while (out->bytes < need) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(tmp), ogp::use_nothrow);
        if (ec) {
            EVP_MD_CTX_free(ctx);
            co_return;
        }
        EVP_DigestUpdate(ctx, tmp, n);
        out->bytes += n;
    }
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    out->sha256 = hex(md, len);
    out->done = true;
    const std::string answer =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" + out->sha256;
    co_await net::async_write(s, net::buffer(answer), ogp::use_nothrow);
}

// Reads one request's head and body on `s` (bytes after the head in `buf`), hashing the body;
// with `cut_after` > 0 it resets the connection once that many body bytes arrived.
net::awaitable<bool> read_request(tcp::socket& s, std::string& buf, received& out,
                                  std::uint64_t cut_after = 0)
{
    char tmp[65536];
    std::size_t end = std::string::npos;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(tmp), ogp::use_nothrow);
        if (ec) {
            co_return false;
        }
        buf.append(tmp, n);
    }
    out = received{};
    out.head = buf.substr(0, end + 4);
    const auto cl = out.head.find("Content-Length: ");
    const std::uint64_t need = cl == std::string::npos ? 0 : std::stoull(out.head.substr(cl + 16));
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::string_view rest = std::string_view(buf).substr(end + 4);
    rest = rest.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(rest.size(), need)));
    EVP_DigestUpdate(ctx, rest.data(), rest.size());
    out.bytes = rest.size();
    buf.erase(0, end + 4 + rest.size());
    while (out.bytes < need) {
        if (cut_after > 0 && out.bytes >= cut_after) {
            EVP_MD_CTX_free(ctx);
            // A reset, as a server that dropped a kept-alive connection.
            error_code ignored;
            s.set_option(net::socket_base::linger(true, 0), ignored);
            s.close(ignored);
            co_return false;
        }
        auto [ec, n] = co_await s.async_read_some(
            net::buffer(tmp, static_cast<std::size_t>(
                                 std::min<std::uint64_t>(sizeof tmp, need - out.bytes))),
            ogp::use_nothrow);
        if (ec) {
            EVP_MD_CTX_free(ctx);
            co_return false;
        }
        EVP_DigestUpdate(ctx, tmp, n);
        out.bytes += n;
    }
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    out.sha256 = hex(md, len);
    out.done = true;
    co_return true;
}

// The stale-connection scenario: connection 1 answers a first request (kept alive), then
// resets during the second one's body; connection 2 serves the retry in full.
net::awaitable<void> serve_stale_then_fresh(tcp::acceptor& a, std::shared_ptr<received> out,
                                            std::shared_ptr<int> connections)
{
    auto [aec, s1] = co_await a.async_accept(ogp::use_nothrow);
    if (aec) {
        co_return;
    }
    ++*connections;
    std::string buf;
    received first;
    if (!co_await read_request(s1, buf, first)) {
        co_return;
    }
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    co_await net::async_write(s1, net::buffer(ok), ogp::use_nothrow);
    received cut;
    co_await read_request(s1, buf, cut, 3 * 65536);
    auto [aec2, s2] = co_await a.async_accept(ogp::use_nothrow);
    if (aec2) {
        co_return;
    }
    ++*connections;
    std::string buf2;
    if (!co_await read_request(s2, buf2, *out)) {
        co_return;
    }
    const std::string answer =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" + out->sha256;
    co_await net::async_write(s2, net::buffer(answer), ogp::use_nothrow);
}

net::awaitable<void> two_requests(std::shared_ptr<upstream::pool> p, upstream::file_body f,
                                  std::shared_ptr<outcome> out, std::shared_ptr<bool> retried)
{
    {
        upstream::exchange first(p);
        auto ec = co_await first.start("POST", "/warm", {}, "x");
        std::string body;
        if (!ec) {
            ec = co_await first.read_all(body, 1024);
        }
        first.finish();
        if (ec) {
            out->ec = ec;
            co_return;
        }
    }
    upstream::exchange second(p);
    auto ec = co_await second.start_file("POST", "/openai/v1/files", {}, f);
    *retried = second.retried();
    out->pieces = second.file_pieces();
    if (!ec) {
        out->status = second.status();
        ec = co_await second.read_all(out->body, 1 << 20);
        second.finish();
    }
    out->ec = ec;
}

net::awaitable<void> post_file(std::shared_ptr<upstream::exchange> x, upstream::file_body f,
                               std::shared_ptr<outcome> out)
{
    std::vector<std::pair<std::string, std::string>> headers{
        {"content-type", "multipart/form-data; boundary=b"}};
    auto ec = co_await x->start_file("POST", "/openai/v1/files", headers, f);
    out->pieces = x->file_pieces();
    if (!ec) {
        out->status = x->status();
        ec = co_await x->read_all(out->body, 1 << 20);
        x->finish();
    }
    out->ec = ec;
}

// An unlinked temporary file of `size` deterministic bytes; its SHA-256 in `sha`.
int make_file(std::uint64_t size, std::string& sha)
{
    int fd = ::open("/tmp", O_TMPFILE | O_RDWR | O_EXCL, 0600);
    REQUIRE(fd >= 0);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::string block(1 << 20, '\0');
    std::uint64_t written = 0;
    std::uint32_t x = 12345;
    while (written < size) {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - written));
        for (std::size_t i = 0; i < n; ++i) {
            x = x * 1103515245u + 12345u;
            block[i] = static_cast<char>(x >> 24);
        }
        REQUIRE(::write(fd, block.data(), n) == static_cast<ssize_t>(n));
        EVP_DigestUpdate(ctx, block.data(), n);
        written += n;
    }
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    sha = hex(md, len);
    return fd;
}

struct rig
{
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::shared_ptr<upstream::pool> pool;

    rig()
    {
        auto u = upstream::parse_url("http://127.0.0.1:" +
                                     std::to_string(acceptor.local_endpoint().port()));
        REQUIRE(u);
        pool = std::make_shared<upstream::pool>(upstream::make_client_tls_context(""), *u,
                                                upstream::pool_options{});
    }

    outcome post(upstream::file_body f, std::shared_ptr<received> seen)
    {
        net::co_spawn(ioc, serve_one(acceptor, seen), net::detached);
        auto x = std::make_shared<upstream::exchange>(pool);
        auto out = std::make_shared<outcome>();
        net::co_spawn(ioc, post_file(x, f, out), net::detached);
        const auto start = std::chrono::steady_clock::now();
        while (!out->ec && std::chrono::steady_clock::now() - start < 60s) {
            ioc.restart();
            ioc.run_for(5ms);
        }
        REQUIRE(out->ec.has_value());
        x->abort();
        error_code ignored;
        acceptor.cancel(ignored);
        ioc.restart();
        ioc.run_for(20ms);
        return *out;
    }
};

}  // namespace

TEST_CASE("exchange: a 20 MiB file body arrives exactly, one piece at a time",
          "[upstream][file_body]")
{
    rig r;
    std::string sha;
    const std::uint64_t size = 20u * 1024 * 1024 + 123;  // not a multiple of the piece
    const int fd = make_file(size, sha);
    auto seen = std::make_shared<received>();
    auto out = r.post(upstream::file_body{fd, size}, seen);
    ::close(fd);
    REQUIRE_FALSE(*out.ec);
    CHECK(out.status == 200);
    CHECK(seen->done);
    CHECK(seen->bytes == size);
    CHECK(seen->head.find("Content-Length: " + std::to_string(size) + "\r\n") != std::string::npos);
    CHECK(seen->head.find("content-type: multipart/form-data; boundary=b\r\n") !=
          std::string::npos);
    CHECK(seen->head.starts_with("POST /openai/v1/files HTTP/1.1\r\n"));
    CHECK(out.body == sha);
    // The design bound: ceil(size / piece) reads of one piece each, never the whole body.
    CHECK(upstream::file_body_piece == 64u * 1024);
    CHECK(out.pieces == (size + upstream::file_body_piece - 1) / upstream::file_body_piece);
}

TEST_CASE("exchange: an empty file body sends Content-Length: 0", "[upstream][file_body]")
{
    rig r;
    std::string sha;
    const int fd = make_file(0, sha);
    auto seen = std::make_shared<received>();
    auto out = r.post(upstream::file_body{fd, 0}, seen);
    ::close(fd);
    REQUIRE_FALSE(*out.ec);
    CHECK(seen->head.find("Content-Length: 0\r\n") != std::string::npos);
    CHECK(out.body == sha);
    CHECK(out.pieces == 0);
}

TEST_CASE("exchange: a file shorter than its declared size fails instead of a short body",
          "[upstream][file_body]")
{
    rig r;
    std::string sha;
    const int fd = make_file(100000, sha);
    auto seen = std::make_shared<received>();
    auto out = r.post(upstream::file_body{fd, 100000 + 10}, seen);
    ::close(fd);
    REQUIRE(out.ec.has_value());
    CHECK(*out.ec);
    CHECK_FALSE(seen->done);
    // A closed descriptor is refused too.
    auto out2 = r.post(upstream::file_body{-1, 10}, std::make_shared<received>());
    CHECK(*out2.ec);
}

TEST_CASE("exchange: a pooled connection reset during a file body is retried from offset 0",
          "[upstream][file_body]")
{
    rig r;
    std::string sha;
    const std::uint64_t size = 4u * 1024 * 1024;
    const int fd = make_file(size, sha);
    auto seen = std::make_shared<received>();
    auto connections = std::make_shared<int>(0);
    net::co_spawn(r.ioc, serve_stale_then_fresh(r.acceptor, seen, connections), net::detached);
    auto out = std::make_shared<outcome>();
    auto retried = std::make_shared<bool>(false);
    net::co_spawn(r.ioc, two_requests(r.pool, upstream::file_body{fd, size}, out, retried),
                  net::detached);
    const auto start = std::chrono::steady_clock::now();
    while (!out->ec && std::chrono::steady_clock::now() - start < 30s) {
        r.ioc.restart();
        r.ioc.run_for(5ms);
    }
    ::close(fd);
    REQUIRE(out->ec.has_value());
    REQUIRE_FALSE(*out->ec);
    CHECK(*retried);
    CHECK(*connections == 2);
    CHECK(out->status == 200);
    // The retry sent the whole file again, from its first byte.
    CHECK(seen->done);
    CHECK(seen->bytes == size);
    CHECK(out->body == sha);
    CHECK(out->pieces == size / upstream::file_body_piece);
}
