// The HTTPS listener: make_tls_context's checks, and a real listener on 127.0.0.1 (port 0)
// served by its own io thread, driven by a blocking Beast/Asio TLS client with socket timeouts.
// Certificates are made in the test (support/certs.hpp).
#include "ogp/server/tls.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "ogp/server/server.hpp"
#include "support/certs.hpp"

using namespace ogp;
using namespace ogp::server;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using ogp::test::issued_cert;
using ogp::test::test_ca;

namespace {

using namespace std::chrono_literals;

// A private directory for the PEM files, removed at the end.
struct pem_dir
{
    std::string path;
    pem_dir()
    {
        std::string templ = std::filesystem::temp_directory_path() / "ogp-tls-XXXXXX";
        REQUIRE(mkdtemp(templ.data()) != nullptr);
        path = templ;
    }
    ~pem_dir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& content) const
    {
        auto p = path + "/" + name;
        std::ofstream(p, std::ios::trunc) << content;
        return p;
    }
};

// The blocking client never waits more than this for a byte.
void set_timeouts(tcp::socket& s)
{
    timeval tv{5, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

long serial_of(X509* cert)
{
    return cert ? ASN1_INTEGER_get(X509_get0_serialNumber(cert)) : -1;
}

// A TLS client connection: handshake, then requests on the same connection (keep-alive).
struct https_client
{
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    std::unique_ptr<ssl::stream<tcp::socket>> s;
    boost::beast::flat_buffer buf;
    error_code handshake_error;
    long peer_serial = -1;
    std::string alpn;

    // `ca`: the CA the client trusts; `client`: its own certificate (mutual TLS).
    https_client(std::uint16_t port, const std::string& ca, const issued_cert* client = nullptr,
                 const std::string& alpn_protos = std::string("\x08http/1.1", 9))
    {
        ctx.add_certificate_authority(net::buffer(ca));
        ctx.set_verify_mode(ssl::verify_peer);
        if (client) {
            ctx.use_certificate_chain(net::buffer(client->cert_pem));
            ctx.use_private_key(net::buffer(client->key_pem), ssl::context::pem);
        }
        s = std::make_unique<ssl::stream<tcp::socket>>(ioc, ctx);
        if (!alpn_protos.empty()) {
            SSL_set_alpn_protos(s->native_handle(),
                                reinterpret_cast<const unsigned char*>(alpn_protos.data()),
                                static_cast<unsigned>(alpn_protos.size()));
        }
        s->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
        s->next_layer().connect(tcp::endpoint(net::ip::address_v4::loopback(), port));
        set_timeouts(s->next_layer());
        s->handshake(ssl::stream_base::client, handshake_error);
        if (!handshake_error) {
            X509* peer = SSL_get1_peer_certificate(s->native_handle());
            peer_serial = serial_of(peer);
            X509_free(peer);
            const unsigned char* p = nullptr;
            unsigned n = 0;
            SSL_get0_alpn_selected(s->native_handle(), &p, &n);
            alpn.assign(reinterpret_cast<const char*>(p), n);
        }
    }

    // One request; the response (status 0 when none came).
    http::response<http::string_body> request(const std::string& raw)
    {
        http::response<http::string_body> res;
        http::response<http::string_body> none;
        none.result(http::status::unknown);  // 0: a default response says 200
        error_code ec;
        net::write(*s, net::buffer(raw), ec);
        if (ec) {
            return none;
        }
        http::read(*s, buf, res, ec);
        if (ec) {
            return none;
        }
        return res;
    }

    unsigned get(const std::string& target = "/healthz")
    {
        return request("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").result_int();
    }
};

// Echoes the body after a pause, so that the client monitor's read is pending (and then
// cancelled) over TLS.
net::awaitable<http_response> slow_echo(http_request& req, response_sink&)
{
    net::steady_timer t(co_await net::this_coro::executor, 30ms);
    co_await t.async_wait(net::as_tuple(net::use_awaitable));
    http_response res;
    res.body = req.body;
    co_return res;
}

// Streams three SSE events, the last larger than one TLS record.
net::awaitable<http_response> sse(http_request&, response_sink& sink)
{
    co_await sink.begin_stream(200, "text/event-stream", {});
    co_await sink.write("data: 1\n\n");
    co_await sink.write("data: 22\n\n");
    co_await sink.write("data: " + std::string(40000, 'x') + "\n\n");
    co_await sink.end_stream();
    co_return http_response{};
}

// Set by waiting_for_client when the server told it that the client left.
std::atomic<bool> saw_disconnect{false};

// Waits (up to 5 s) for the client to go away, as an upstream exchange would.
net::awaitable<http_response> waiting_for_client(http_request&, response_sink& sink)
{
    net::steady_timer t(co_await net::this_coro::executor, 5s);
    sink.on_disconnect([&t] {
        saw_disconnect = true;
        t.cancel();
    });
    co_await t.async_wait(net::as_tuple(net::use_awaitable));
    sink.on_disconnect(nullptr);
    co_return http_response{};
}

// A listener with TLS on its own io thread.
struct tls_server
{
    pem_dir dir;
    test_ca ca;
    issued_cert server_cert = ca.issue("server-1", 101);
    config cfg;
    net::io_context ioc;
    std::unique_ptr<ogp::server::server> srv;
    std::thread io;
    std::uint16_t port = 0;

    explicit tls_server(const std::function<void(config&, tls_server&)>& tune = {})
    {
        cfg.listen_host = "127.0.0.1";
        cfg.listen_port = 0;
        cfg.log.access_log = false;
        cfg.clients.allow_anonymous = true;
        cfg.tls.cert_file = dir.write("cert.pem", server_cert.cert_pem);
        cfg.tls.key_file = dir.write("key.pem", server_cert.key_pem);
        if (tune) {
            tune(cfg, *this);
        }
        srv = std::make_unique<ogp::server::server>(ioc, cfg);
        srv->set_handler(route::chat_completions, slow_echo);
        srv->set_handler(route::embeddings, sse);
        srv->set_handler(route::models, waiting_for_client);
        srv->listen();
        port = srv->local_endpoint().port();
        srv->start();
        io = std::thread([this] { ioc.run(); });
    }

    ~tls_server()
    {
        srv->drain();
        srv->close_all();
        ioc.stop();
        io.join();
    }

    // Writes a new certificate (same files) and reloads it.
    void swap_certificate(const issued_cert& c)
    {
        dir.write("cert.pem", c.cert_pem);
        dir.write("key.pem", c.key_pem);
        srv->reload_tls();
    }
};

// Sends `bytes` over plain TCP and reads until the server closes (or 5 s): what came back.
std::optional<std::string> plain_exchange(std::uint16_t port, const std::string& bytes)
{
    net::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(net::ip::address_v4::loopback(), port));
    set_timeouts(s);
    error_code ec;
    net::write(s, net::buffer(bytes), ec);
    std::string got;
    char chunk[4096];
    for (;;) {
        auto n = s.read_some(net::buffer(chunk), ec);
        got.append(chunk, n);
        if (ec == net::error::would_block || ec == net::error::try_again) {
            return std::nullopt;  // the 5 s receive timeout: the server did not close
        }
        if (ec) {
            return got;
        }
    }
}

}  // namespace

TEST_CASE("tls: make_tls_context names the key and file that cannot be loaded", "[tls]")
{
    pem_dir dir;
    test_ca ca;
    auto good = ca.issue("server", 2);
    auto other = ca.issue("other", 3);
    tls_config t;
    t.cert_file = dir.write("cert.pem", good.cert_pem);
    t.key_file = dir.write("key.pem", good.key_pem);
    REQUIRE(make_tls_context(t) != nullptr);

    auto message_of = [](const tls_config& c) {
        try {
            make_tls_context(c);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    SECTION("missing certificate")
    {
        auto c = t;
        c.cert_file = dir.path + "/absent.pem";
        CHECK_THAT(message_of(c),
                   Catch::StartsWith("tls.cert_file: cannot load '" + c.cert_file + "': "));
    }
    SECTION("certificate file without a certificate")
    {
        auto c = t;
        c.cert_file = dir.write("junk.pem", "not a certificate\n");
        CHECK_THAT(message_of(c), Catch::StartsWith("tls.cert_file: cannot load '"));
    }
    SECTION("key file without a key")
    {
        auto c = t;
        c.key_file = dir.write("junk-key.pem", good.cert_pem);
        auto m = message_of(c);
        CHECK_THAT(m, Catch::StartsWith("tls.key_file: cannot load '" + c.key_file + "': "));
        CHECK(m.find("PRIVATE KEY") == std::string::npos);
    }
    SECTION("encrypted key: refused, never a passphrase prompt")
    {
        BIO* in = BIO_new_mem_buf(good.key_pem.data(), static_cast<int>(good.key_pem.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
        BIO_free(in);
        REQUIRE(key != nullptr);
        BIO* out = BIO_new(BIO_s_mem());
        static constexpr char pass[] = "secret-passphrase";
        PEM_write_bio_PrivateKey(out, key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                 const_cast<char*>(pass));
        char* data = nullptr;
        const long n = BIO_get_mem_data(out, &data);
        const std::string encrypted(data, static_cast<std::size_t>(n));
        BIO_free(out);
        EVP_PKEY_free(key);
        REQUIRE(encrypted.find("ENCRYPTED") != std::string::npos);
        auto c = t;
        c.key_file = dir.write("encrypted-key.pem", encrypted);
        CHECK_THAT(message_of(c), Catch::StartsWith("tls.key_file: cannot load '" + c.key_file));
    }
    SECTION("key of another certificate")
    {
        auto c = t;
        c.key_file = dir.write("other-key.pem", other.key_pem);
        auto m = message_of(c);
        CHECK_THAT(m, Catch::StartsWith("tls.key_file: '" + c.key_file + "' does not match"));
        CHECK(m.find(other.key_pem.substr(30, 20)) == std::string::npos);  // no key material
    }
    SECTION("client CA file without a certificate")
    {
        auto c = t;
        c.client_ca_file = dir.write("ca.pem", "junk\n");
        CHECK_THAT(message_of(c), Catch::StartsWith("tls.client_ca_file: cannot load '"));
    }
    SECTION("missing client CA file")
    {
        auto c = t;
        c.client_ca_file = dir.path + "/absent-ca.pem";
        CHECK_THAT(message_of(c), Catch::StartsWith("tls.client_ca_file: cannot load '"));
    }
}

TEST_CASE("tls: HTTPS GET /healthz with ALPN http/1.1", "[tls]")
{
    tls_server s;
    https_client c(s.port, s.ca.cert_pem());
    REQUIRE_FALSE(c.handshake_error);
    CHECK(c.alpn == "http/1.1");
    CHECK(c.peer_serial == 101);
    auto res = c.request("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(res.result_int() == 200);
    CHECK(res.body() == R"({"status":"ok"})");
    // Keep-alive: a second request on the same TLS connection.
    CHECK(c.get("/readyz") == 200);
    CHECK(s.srv->stats().tls_handshakes >= 1);
}

TEST_CASE("tls: a client that offers ALPN without http/1.1 is refused", "[tls]")
{
    tls_server s;
    https_client h2(s.port, s.ca.cert_pem(), nullptr, std::string("\x02h2", 3));
    CHECK(h2.handshake_error);
    // Without ALPN at all it is served.
    https_client none(s.port, s.ca.cert_pem(), nullptr, "");
    REQUIRE_FALSE(none.handshake_error);
    CHECK(none.alpn.empty());
    CHECK(none.get() == 200);
}

TEST_CASE("tls: a client that does not trust the certificate fails its handshake", "[tls]")
{
    tls_server s;
    test_ca other;
    https_client c(s.port, other.cert_pem());
    CHECK(c.handshake_error);
    https_client ok(s.port, s.ca.cert_pem());
    CHECK(ok.get() == 200);
}

TEST_CASE("tls: plaintext HTTP on the TLS port is closed and the server keeps serving", "[tls]")
{
    tls_server s;
    auto got = plain_exchange(s.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    REQUIRE(got.has_value());  // closed, not left hanging
    CHECK(got->find("200") == std::string::npos);
    https_client c(s.port, s.ca.cert_pem());
    CHECK(c.get() == 200);
    // Counted (the handshake failure is counted before the close the client saw).
    CHECK(s.srv->stats().tls_handshake_failures >= 1);
}

TEST_CASE("tls: a client that never starts its handshake is closed at the header deadline", "[tls]")
{
    tls_server s([](config& cfg, tls_server&) { cfg.timeouts.request_header = 300ms; });
    const auto start = std::chrono::steady_clock::now();
    auto got = plain_exchange(s.port, "");
    REQUIRE(got.has_value());
    CHECK(got->empty());
    CHECK(std::chrono::steady_clock::now() - start < 4s);
    https_client c(s.port, s.ca.cert_pem());
    CHECK(c.get() == 200);
}

TEST_CASE("tls: mutual TLS requires a client certificate from the configured CA", "[tls]")
{
    test_ca client_ca("client CA");
    auto good = client_ca.issue("client-1", 7, false);
    test_ca stranger("stranger CA");
    auto bad = stranger.issue("client-2", 8, false);
    tls_server s([&](config& cfg, tls_server& ts) {
        cfg.tls.client_ca_file = ts.dir.write("client-ca.pem", client_ca.cert_pem());
    });
    SECTION("no client certificate")
    {
        // Under TLS 1.3 the client's handshake may end before the server checks: then the
        // first request fails instead.
        https_client c(s.port, s.ca.cert_pem());
        CHECK((c.handshake_error || c.get() == 0));
    }
    SECTION("a certificate from another CA")
    {
        https_client c(s.port, s.ca.cert_pem(), &bad);
        CHECK((c.handshake_error || c.get() == 0));
    }
    SECTION("the right certificate")
    {
        https_client c(s.port, s.ca.cert_pem(), &good);
        REQUIRE_FALSE(c.handshake_error);
        CHECK(c.get() == 200);
    }
}

TEST_CASE("tls: reload_tls serves the new certificate to new connections only", "[tls]")
{
    tls_server s;
    https_client old_conn(s.port, s.ca.cert_pem());
    REQUIRE(old_conn.get() == 200);
    CHECK(old_conn.peer_serial == 101);

    s.swap_certificate(s.ca.issue("server-2", 202));
    https_client new_conn(s.port, s.ca.cert_pem());
    REQUIRE_FALSE(new_conn.handshake_error);
    CHECK(new_conn.peer_serial == 202);
    CHECK(new_conn.get() == 200);
    // The open connection keeps its session.
    CHECK(old_conn.get() == 200);

    // A broken file: reload_tls throws naming it, and the running certificate stays.
    s.dir.write("key.pem", "junk\n");
    CHECK_THROWS_WITH(s.srv->reload_tls(), Catch::StartsWith("tls.key_file: cannot load"));
    https_client after(s.port, s.ca.cert_pem());
    CHECK(after.peer_serial == 202);
    CHECK(after.get() == 200);
}

TEST_CASE("tls: reload_tls on a listener started without TLS changes nothing", "[tls]")
{
    pem_dir dir;
    test_ca ca;
    auto cert = ca.issue("server", 5);
    config cfg;
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.log.access_log = false;
    net::io_context ioc;
    ogp::server::server srv(ioc, cfg);
    srv.listen();
    auto next = std::make_shared<config>(cfg);
    next->tls.cert_file = dir.write("cert.pem", cert.cert_pem);
    next->tls.key_file = dir.write("key.pem", cert.key_pem);
    srv.reconfigure(next);
    CHECK_NOTHROW(srv.reload_tls());  // logged as needing a restart
}

TEST_CASE("tls: the request guard applies over TLS", "[tls]")
{
    tls_server s([](config& cfg, tls_server&) { cfg.limits.max_header_bytes = 1024; });
    https_client c(s.port, s.ca.cert_pem());
    REQUIRE_FALSE(c.handshake_error);
    auto res =
        c.request("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(4000, 'a') +
                  "\r\n\r\n");
    CHECK(res.result_int() == 431);
    https_client c2(s.port, s.ca.cert_pem());
    CHECK(c2.get("/nope") == 404);
}

TEST_CASE("tls: a large response body crosses several TLS records intact", "[tls]")
{
    tls_server s([](config& cfg, tls_server&) {
        cfg.limits.max_uri_bytes = 64 * 1024;
        cfg.limits.max_header_bytes = 64 * 1024;
    });
    // The 404 for a long path carries the path: a body over the coalescing size (16 KiB).
    const std::string path = "/" + std::string(40000, 'p');
    https_client c(s.port, s.ca.cert_pem());
    auto res = c.request("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(res.result_int() == 404);
    CHECK(res.body().find(path) != std::string::npos);
}

TEST_CASE("tls: handlers with the client monitor and streams over one keep-alive connection",
          "[tls]")
{
    tls_server s;
    https_client c(s.port, s.ca.cert_pem());
    REQUIRE_FALSE(c.handshake_error);
    auto post = [&](const std::string& path, const std::string& body) {
        return c.request("POST " + path +
                         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
    };
    // The monitor reads while the handler runs; its cancelled read leaves the TLS stream usable.
    for (int i = 0; i < 3; ++i) {
        auto res = post("/v1/chat/completions", "{\"n\":" + std::to_string(i) + "}");
        CHECK(res.result_int() == 200);
        CHECK(res.body() == "{\"n\":" + std::to_string(i) + "}");
    }
    auto streamed = post("/v1/embeddings", "{}");
    CHECK(streamed.result_int() == 200);
    CHECK(streamed.body() == "data: 1\n\ndata: 22\n\ndata: " + std::string(40000, 'x') + "\n\n");
    // Pipelined: two requests in one write, answered in order.
    const std::string one =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nA";
    const std::string two =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nB";
    auto first = c.request(one + two);
    CHECK(first.body() == "A");
    http::response<http::string_body> second;
    error_code ec;
    http::read(*c.s, c.buf, second, ec);
    CHECK_FALSE(ec);
    CHECK(second.body() == "B");
}

TEST_CASE("tls: the client monitor notices a TLS client that leaves during the handler", "[tls]")
{
    tls_server s;
    saw_disconnect = false;
    {
        https_client c(s.port, s.ca.cert_pem());
        REQUIRE_FALSE(c.handshake_error);
        net::write(*c.s, net::buffer(std::string("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")));
        std::this_thread::sleep_for(100ms);
    }  // closed without close_notify, as a killed client would
    const auto deadline = std::chrono::steady_clock::now() + 4s;
    while (!saw_disconnect && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(saw_disconnect);
}

TEST_CASE("tls: a partial head at the header deadline gets a 408 over TLS", "[tls]")
{
    tls_server s([](config& cfg, tls_server&) { cfg.timeouts.request_header = 500ms; });
    https_client c(s.port, s.ca.cert_pem());
    REQUIRE_FALSE(c.handshake_error);
    auto res = c.request("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    CHECK(res.result_int() == 408);
}

TEST_CASE("tls: the metrics listener speaks HTTPS too", "[tls]")
{
    pem_dir dir;
    test_ca ca;
    auto cert = ca.issue("server", 9);
    auto cfg = std::make_shared<config>();
    cfg->log.access_log = false;
    cfg->metrics.listen = "127.0.0.1:0";
    cfg->metrics.listen_host = "127.0.0.1";
    cfg->metrics.listen_port = 0;
    cfg->tls.cert_file = dir.write("cert.pem", cert.cert_pem);
    cfg->tls.key_file = dir.write("key.pem", cert.key_pem);
    net::io_context ioc;
    ogp::server::server srv(std::vector<net::io_context*>{&ioc}, cfg, listener_kind::metrics);
    srv.listen();
    srv.start();
    std::thread io([&] { ioc.run(); });
    {
        https_client c(srv.local_endpoint().port(), ca.cert_pem());
        CHECK_FALSE(c.handshake_error);
        CHECK(c.peer_serial == 9);
        CHECK(c.get("/healthz") == 200);
    }
    srv.drain();
    srv.close_all();
    ioc.stop();
    io.join();
}
