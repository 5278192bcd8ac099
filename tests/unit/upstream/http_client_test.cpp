// The small HTTP(S) client used for IMDS and federation: TLS verification (trust store, host
// name / IP), deadlines and body limits.

#include "ogp/upstream/http_client.hpp"
#include "fake_oci.hpp"
#include "unit/auth/test_util.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

using namespace ogp;
using namespace ogp::mock;
using namespace ogp::auth::test;
using namespace std::chrono_literals;
namespace net = boost::asio;

// Catch2 prints a client result as its status or error message.
namespace Catch {
template <>
struct StringMaker<boost::system::result<ogp::upstream::small_response>>
{
    static std::string convert(const boost::system::result<ogp::upstream::small_response>& r)
    {
        return r ? "HTTP " + std::to_string(r->status) : "error: " + r.error().message();
    }
};
}  // namespace Catch

namespace {

net::awaitable<void> fetch_into(
    upstream::small_client* client, upstream::small_request req,
    std::shared_ptr<std::optional<boost::system::result<upstream::small_response>>> out)
{
    auto r = co_await client->fetch(std::move(req));
    out->emplace(std::move(r));
}

// Runs one fetch on `ioc` (where the fake servers live) with a hard bound.
boost::system::result<upstream::small_response> fetch(net::io_context& ioc,
                                                      upstream::small_client& client,
                                                      std::string url,
                                                      std::chrono::milliseconds limit = 10s)
{
    auto out = std::make_shared<std::optional<boost::system::result<upstream::small_response>>>();
    upstream::small_request req;
    req.url = std::move(url);
    net::co_spawn(ioc, fetch_into(&client, std::move(req), out), net::detached);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!out->has_value() && std::chrono::steady_clock::now() < deadline) {
        ioc.restart();
        ioc.run_for(10ms);
    }
    REQUIRE(out->has_value());
    return std::move(**out);
}

}  // namespace

TEST_CASE("small_client verifies the server certificate's name or IP", "[auth][http]")
{
    net::io_context ioc;
    test_pki pki;
    temp_dir dir;
    std::string ca = dir.write("ca.pem", pki.ca_pem());
    auto handler = [](const fake_request&) { return fake_response{200, "ok"}; };
    // GET /x from a server whose certificate names `san`.
    auto fetch_from = [&](const std::string& san) {
        auto [cert, key] = pki.server_cert(san);
        fake_server server(ioc, handler, cert, key);
        upstream::small_client client({.ca_file = ca, .timeout = 5s});
        return fetch(ioc, client, server.base_url() + "/x");
    };

    SECTION("matching IP SAN: accepted")
    {
        auto r = fetch_from("IP:127.0.0.1");
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "ok");
    }
    SECTION("certificate for another name: refused")
    {
        auto r = fetch_from("DNS:auth.example.com");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message(), Catch::Contains("certificate verify failed"));
    }
    SECTION("DNS name checked against the certificate")
    {
        auto [cert, key] = pki.server_cert("DNS:localhost");
        fake_server server(ioc, handler, cert, key);
        upstream::small_client client({.ca_file = ca, .timeout = 5s});
        // By IP: the certificate names only `localhost`.
        auto by_ip = fetch(ioc, client, server.base_url());
        REQUIRE_FALSE(by_ip);
        // By name: accepted (SNI and host name check on `localhost`).
        auto by_name =
            fetch(ioc, client, "https://localhost:" + std::to_string(server.port()) + "/");
        REQUIRE(by_name);
        CHECK(by_name->status == 200);
    }
    SECTION("an unreadable CA file is a start-up error")
    {
        CHECK_THROWS_WITH(upstream::small_client({.ca_file = dir.path() + "/missing.pem"}),
                          Catch::StartsWith("cannot load CA file " + dir.path() + "/missing.pem"));
    }
}

TEST_CASE("small_client enforces its deadline and body limit", "[auth][http]")
{
    net::io_context ioc;
    fake_server slow(ioc, [](const fake_request&) {
        return fake_response{200, "late", "text/plain", 3s};
    });
    fake_server big(ioc, [](const fake_request&) {
        return fake_response{200, std::string(4096, 'x')};
    });
    upstream::small_client client({.timeout = 300ms, .body_limit = 1024});

    auto start = std::chrono::steady_clock::now();
    auto r = fetch(ioc, client, slow.base_url() + "/");
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r);
    CHECK(r.error() == boost::beast::error::timeout);
    CHECK(took < 2s);

    auto b = fetch(ioc, client, big.base_url() + "/");
    REQUIRE_FALSE(b);
    CHECK(b.error() == boost::beast::http::error::body_limit);

    // A refused connection is an error, not a hang.
    unsigned short port = slow.port();
    slow.pause();
    ioc.restart();
    ioc.run_for(20ms);
    auto refused = fetch(ioc, client, "http://127.0.0.1:" + std::to_string(port) + "/");
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == boost::asio::error::connection_refused);
}

TEST_CASE("small_client: one deadline over connect, handshake and answer", "[auth][http]")
{
    net::io_context ioc;
    // A listener nobody accepts on: the kernel completes the TCP handshake, nobody speaks TLS.
    net::ip::tcp::acceptor silent(ioc,
                                  net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    upstream::small_client client({.timeout = 300ms});
    auto start = std::chrono::steady_clock::now();
    auto r = fetch(ioc, client,
                   "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/");
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r);
    CHECK(r.error() == boost::beast::error::timeout);
    CHECK(took >= 250ms);
    CHECK(took < 2s);
}
