// The pooled upstream client against in-process loopback servers (127.0.0.1 only): TLS
// verification rules, and one deadline over resolve, connect and handshake that an abort ends.

#include "fake_oci.hpp"
#include "ogp/upstream/client.hpp"
#include "ogp/upstream/tls.hpp"
#include "unit/auth/test_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>

using namespace ogp;
using namespace ogp::mock;
using namespace ogp::auth::test;
using namespace std::chrono_literals;
namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

struct outcome
{
    std::optional<error_code> ec;
    upstream::failure_phase phase = upstream::failure_phase::none;
    unsigned status = 0;
    std::string body;
};

net::awaitable<void> get_into(std::shared_ptr<upstream::exchange> x, std::shared_ptr<outcome> out)
{
    auto ec = co_await x->start("GET", "/x", {}, {});
    if (!ec) {
        out->status = x->status();
        ec = co_await x->read_all(out->body, 1 << 20);
        x->finish();
    }
    out->phase = x->phase();
    out->ec = ec;
}

// One GET on `p`, run on `ioc` with a hard bound; `abort_after` aborts the exchange (a client
// disconnect) from the same executor.
std::pair<outcome, steady::duration> get(net::io_context& ioc, std::shared_ptr<upstream::pool> p,
                                         std::optional<steady::duration> abort_after = {})
{
    auto x = std::make_shared<upstream::exchange>(p);
    auto out = std::make_shared<outcome>();
    const auto start = steady::now();
    net::co_spawn(ioc, get_into(x, out), net::detached);
    net::steady_timer abort_timer(ioc);
    if (abort_after) {
        abort_timer.expires_after(*abort_after);
        abort_timer.async_wait([x](error_code ec) {
            if (!ec) {
                x->abort();
            }
        });
    }
    while (!out->ec && steady::now() - start < 20s) {
        ioc.restart();
        ioc.run_for(5ms);
    }
    abort_timer.cancel();
    REQUIRE(out->ec.has_value());
    return {*out, steady::now() - start};
}

std::shared_ptr<upstream::pool> make_pool(const std::string& url,
                                          std::shared_ptr<net::ssl::context> tls,
                                          upstream::pool_options o = {})
{
    auto u = upstream::parse_url(url);
    REQUIRE(u);
    return std::make_shared<upstream::pool>(std::move(tls), *u, o);
}

// A name lookup that never answers and ignores cancellation (getaddrinfo on a dead DNS server).
net::awaitable<std::pair<error_code, std::vector<tcp::endpoint>>> never_answers(std::string,
                                                                                std::string)
{
    auto ex = co_await net::this_coro::executor;
    net::steady_timer t(ex, 1h);
    co_await t.async_wait(use_nothrow);
    co_return std::pair{error_code(net::error::host_not_found), std::vector<tcp::endpoint>{}};
}

// A slow but working lookup: 127.0.0.1 and the port asked for, after 100 ms.
net::awaitable<std::pair<error_code, std::vector<tcp::endpoint>>> slow_loopback(std::string,
                                                                                std::string port)
{
    auto ex = co_await net::this_coro::executor;
    net::steady_timer t(ex, 100ms);
    co_await t.async_wait(use_nothrow);
    const auto n = static_cast<unsigned short>(std::stoi(port));
    co_return std::pair{error_code{},
                        std::vector<tcp::endpoint>{{net::ip::make_address("127.0.0.1"), n}}};
}

}  // namespace

TEST_CASE("pool exchanges with a plain loopback server", "[upstream][pool]")
{
    net::io_context ioc;
    fake_server server(ioc, [](const fake_request& r) { return fake_response{200, r.target}; });
    auto tls = upstream::make_client_tls_context("");
    auto p = make_pool(server.base_url() + "/base/", tls);
    auto [r, took] = get(ioc, p);
    REQUIRE_FALSE(*r.ec);
    CHECK(r.status == 200);
    CHECK(r.body == "/x");  // the pool's base path is not prefixed by the pool itself
    CHECK(p->handshakes() == 1);
}

TEST_CASE("pool verifies the server certificate's name or IP", "[upstream][pool][tls]")
{
    net::io_context ioc;
    test_pki pki;
    temp_dir dir;
    const std::string ca = dir.write("ca.pem", pki.ca_pem());
    auto handler = [](const fake_request&) { return fake_response{200, "ok"}; };
    auto tls = upstream::make_client_tls_context(ca);

    SECTION("matching IP SAN: accepted")
    {
        auto [cert, key] = pki.server_cert("IP:127.0.0.1");
        fake_server server(ioc, handler, cert, key);
        auto p = make_pool(server.base_url(), tls);
        auto [r, took] = get(ioc, p);
        REQUIRE_FALSE(*r.ec);
        CHECK(r.body == "ok");
        // The server closes after each answer: the next connection resumes the session.
        auto [again, t2] = get(ioc, p);
        REQUIRE_FALSE(*again.ec);
        CHECK(p->handshakes() == 2);
        CHECK(p->resumptions() == 1);
    }
    SECTION("certificate for another name: refused while connecting")
    {
        auto [cert, key] = pki.server_cert("DNS:auth.example.com");
        fake_server server(ioc, handler, cert, key);
        auto [r, took] = get(ioc, make_pool(server.base_url(), tls));
        REQUIRE(*r.ec);
        CHECK(r.phase == upstream::failure_phase::connect);
        CHECK_THAT(r.ec->message(), Catch::Contains("certificate verify failed"));
    }
    SECTION("a name is checked against the certificate's DNS names")
    {
        auto [cert, key] = pki.server_cert("DNS:localhost");
        fake_server server(ioc, handler, cert, key);
        const auto port = std::to_string(server.port());
        auto [by_ip, t1] = get(ioc, make_pool("https://127.0.0.1:" + port, tls));
        CHECK(*by_ip.ec);
        // By name, resolved through a (slow) lookup to 127.0.0.1.
        upstream::pool_options o;
        o.resolve = slow_loopback;
        auto [by_name, t2] = get(ioc, make_pool("https://localhost:" + port, tls, o));
        REQUIRE_FALSE(*by_name.ec);
        CHECK(by_name.body == "ok");
    }
    SECTION("the test CA is not in the system store")
    {
        auto [cert, key] = pki.server_cert("IP:127.0.0.1");
        fake_server server(ioc, handler, cert, key);
        auto [r, took] =
            get(ioc, make_pool(server.base_url(), upstream::make_client_tls_context("")));
        REQUIRE(*r.ec);
        CHECK_THAT(r.ec->message(), Catch::Contains("certificate verify failed"));
    }
}

TEST_CASE("client TLS context and per-connection setup", "[upstream][tls]")
{
    auto tls = upstream::make_client_tls_context("");
    REQUIRE(tls);
    CHECK(SSL_CTX_get_min_proto_version(tls->native_handle()) == TLS1_2_VERSION);
    CHECK((SSL_CTX_get_verify_mode(tls->native_handle()) & SSL_VERIFY_PEER) != 0);

    // A name gets SNI; an IP literal never does (RFC 6066).
    SSL* by_name = SSL_new(tls->native_handle());
    REQUIRE_FALSE(upstream::prepare_client_tls(by_name, "inference.example.com"));
    CHECK(std::string(SSL_get_servername(by_name, TLSEXT_NAMETYPE_host_name)) ==
          "inference.example.com");
    CHECK(std::string(SSL_get0_peername(by_name) == nullptr ? "" : "set") ==
          "");  // before handshake
    SSL_free(by_name);
    SSL* by_ip = SSL_new(tls->native_handle());
    REQUIRE_FALSE(upstream::prepare_client_tls(by_ip, "127.0.0.1"));
    CHECK(SSL_get_servername(by_ip, TLSEXT_NAMETYPE_host_name) == nullptr);
    SSL_free(by_ip);
    SSL* by_v6 = SSL_new(tls->native_handle());
    REQUIRE_FALSE(upstream::prepare_client_tls(by_v6, "::1"));
    CHECK(SSL_get_servername(by_v6, TLSEXT_NAMETYPE_host_name) == nullptr);
    SSL_free(by_v6);

    // A CA file that cannot be loaded: a start-up error, or an error code.
    error_code ec;
    CHECK(upstream::make_client_tls_context("/nonexistent/ca.pem", ec) == nullptr);
    CHECK(ec);
    CHECK_THROWS_AS(upstream::make_client_tls_context("/nonexistent/ca.pem"),
                    boost::system::system_error);
}

TEST_CASE("connect: resolve, connect and handshake share one deadline",
          "[upstream][pool][deadline]")
{
    net::io_context ioc;
    upstream::pool_options o;
    o.connect_timeout = 300ms;
    auto tls = upstream::make_client_tls_context("");

    SECTION("a lookup that never answers times out at the connect deadline")
    {
        o.resolve = never_answers;
        auto p = make_pool("https://oci.invalid", tls, o);
        auto [r, took] = get(ioc, p);
        CHECK(*r.ec == boost::beast::error::timeout);
        CHECK(r.phase == upstream::failure_phase::connect);
        CHECK(took >= 280ms);
        CHECK(took < 3s);
    }
    SECTION("a client disconnect during the lookup ends it at once")
    {
        o.resolve = never_answers;
        o.connect_timeout = 30s;
        auto p = make_pool("https://oci.invalid", tls, o);
        auto [r, took] = get(ioc, p, 100ms);
        CHECK(*r.ec == net::error::operation_aborted);
        CHECK(took < 3s);
    }
    SECTION("a listener that never answers the TLS handshake times out")
    {
        tcp::acceptor silent(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        // Never accepted: the kernel completes the TCP handshake, nobody speaks TLS.
        const auto port = std::to_string(silent.local_endpoint().port());
        auto p = make_pool("https://127.0.0.1:" + port, tls, o);
        auto [r, took] = get(ioc, p);
        CHECK(*r.ec == boost::beast::error::timeout);
        CHECK(r.phase == upstream::failure_phase::connect);
        CHECK(took >= 280ms);
        CHECK(took < 3s);
        // Aborted during the handshake: ends at once.
        o.connect_timeout = 30s;
        auto p2 = make_pool("https://127.0.0.1:" + port, tls, o);
        auto [r2, took2] = get(ioc, p2, 100ms);
        CHECK(*r2.ec);
        CHECK(took2 < 3s);
    }
    SECTION("a slow lookup within the deadline connects")
    {
        fake_server server(ioc, [](const fake_request&) { return fake_response{200, "ok"}; });
        o.resolve = slow_loopback;
        auto p = make_pool("http://upstream.test:" + std::to_string(server.port()), tls, o);
        auto [r, took] = get(ioc, p);
        REQUIRE_FALSE(*r.ec);
        CHECK(r.body == "ok");
    }
}
