// The HTTPS listener end to end: the real daemon with `tls.*` against the real mock, driven by
// curl (with and without the test CA, plain http:// on the TLS port, mutual TLS), by the
// official OpenAI SDK trusting the test CA through NODE_EXTRA_CA_CERTS (sdk/tls.mjs), and by an
// Asio TLS client that keeps a connection open across a certificate swap on SIGHUP.
// Certificates are made by the test (support/certs.hpp); nothing leaves loopback.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/certs.hpp"
#include "support/curl.hpp"
#include "support/http.hpp"
#include "support/json.hpp"
#include "support/stack.hpp"

using namespace ogp::test;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// A TLS connection to the daemon that stays open for several requests (keep-alive). The
// blocking socket has 5 s send/receive timeouts, so nothing here can hang.
struct tls_connection
{
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    std::unique_ptr<ssl::stream<tcp::socket>> s;
    error_code handshake_error;
    long peer_serial = -1;

    tls_connection(std::uint16_t port, const std::string& ca_pem)
    {
        ctx.add_certificate_authority(net::buffer(ca_pem));
        ctx.set_verify_mode(ssl::verify_peer);
        s = std::make_unique<ssl::stream<tcp::socket>>(ioc, ctx);
        s->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
        s->next_layer().connect(tcp::endpoint(net::ip::address_v4::loopback(), port));
        timeval tv{5, 0};
        setsockopt(s->next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(s->next_layer().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        s->handshake(ssl::stream_base::client, handshake_error);
        if (!handshake_error) {
            X509* peer = SSL_get1_peer_certificate(s->native_handle());
            peer_serial = peer ? ASN1_INTEGER_get(X509_get0_serialNumber(peer)) : -1;
            X509_free(peer);
        }
    }

    // GET `path` (keep-alive); the status, or 0 when no complete answer came.
    int get(const std::string& path)
    {
        error_code ec;
        net::write(*s, net::buffer("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), ec);
        if (ec) {
            return 0;
        }
        // The probes answer with a Content-Length body: read the head, then the body.
        std::string in;
        char chunk[4096];
        for (;;) {
            auto end = in.find("\r\n\r\n");
            if (end != std::string::npos) {
                auto cl = in.find("Content-Length: ");
                if (cl != std::string::npos && cl < end) {
                    const auto len = std::stoul(in.substr(cl + 16));
                    if (in.size() >= end + 4 + len) {
                        return std::stoi(in.substr(9, 3));
                    }
                }
            }
            auto n = s->read_some(net::buffer(chunk), ec);
            if (ec) {
                return 0;
            }
            in.append(chunk, n);
        }
    }
};

// The daemon's TLS files and the CA that signed its certificate.
struct tls_files
{
    temp_dir dir;
    test_ca ca{"ogp e2e CA"};
    test_ca client_ca{"ogp e2e client CA"};
    std::string ca_file = dir.write("ca.pem", ca.cert_pem());
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file = dir.write("client-ca.pem", client_ca.cert_pem());

    tls_files() { install(ca.issue("daemon-1", 1001)); }

    // Writes the daemon's certificate and key (a later SIGHUP loads them).
    void install(const issued_cert& c)
    {
        // Written next to the live files and renamed: a reload reads the old or the new pair.
        const auto cert_tmp = dir.write("cert.pem.new", c.cert_pem);
        const auto key_tmp = dir.write("key.pem.new", c.key_pem);
        cert_file = dir.path() + "/cert.pem";
        key_file = dir.path() + "/key.pem";
        std::filesystem::rename(key_tmp, key_file);
        std::filesystem::rename(cert_tmp, cert_file);
    }

    // The `tls:` section of the daemon's configuration.
    std::string yaml(bool mutual = false) const
    {
        std::string y = "tls:\n  cert_file: " + cert_file + "\n  key_file: " + key_file + "\n";
        if (mutual) {
            y += "  client_ca_file: " + client_ca_file + "\n";
        }
        return y;
    }

    // A client certificate and key under the client CA (or `other`), written for curl.
    std::pair<std::string, std::string> client_files(const std::string& name,
                                                     const test_ca* other = nullptr) const
    {
        auto c = (other ? *other : client_ca).issue(name, 77, false);
        return {dir.write(name + ".pem", c.cert_pem), dir.write(name + "-key.pem", c.key_pem)};
    }
};

// The daemon with `tls` against mock `m`, once /readyz answers 200 over HTTPS.
std::unique_ptr<proxy> start_https(const mock& m, const tls_files& f, bool mutual = false)
{
    daemon_options o;
    o.extra = f.yaml(mutual);
    auto d = std::make_unique<proxy>(m, o, false);
    if (mutual) {
        return d;  // the probe below has no client certificate
    }
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    for (;;) {
        tls_connection c(d->port(), f.ca.cert_pem());
        if (!c.handshake_error && c.get("/readyz") == 200) {
            return d;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            FAIL("the daemon did not become ready over HTTPS:\n" << d->captured_stderr());
        }
        std::this_thread::sleep_for(50ms);
    }
}

std::string https_url(const proxy& d, const std::string& path)
{
    return "https://127.0.0.1:" + std::to_string(d.port()) + path;
}

std::vector<std::string> chat_request(const proxy& d, const std::string& prompt,
                                      bool stream = false)
{
    return {"-H",
            "Authorization: Bearer " + std::string(test_key),
            "-H",
            "Content-Type: application/json",
            "-d",
            chat_body("gpt-4o-mini", prompt, stream),
            https_url(d, "/v1/chat/completions")};
}

}  // namespace

TEST_CASE("https: curl with the CA gets a chat completion and a stream", "[e2e][tls]")
{
    tls_files f;
    mock m;
    auto d = start_https(m, f);
    auto args = chat_request(*d, "hello tls");
    args.insert(args.begin(), {"--cacert", f.ca_file});
    auto r = run_curl(args);
    INFO(r.err << r.body);
    REQUIRE(r.exit_code == 0);
    CHECK(r.status == 200);
    CHECK(chat_content(r.body) == "Hello from the OCI mock. You said: hello tls");

    auto s = chat_request(*d, "stream tls", true);
    s.insert(s.begin(), {"-N", "--cacert", f.ca_file});
    auto streamed = run_curl(s);
    INFO(streamed.err << streamed.body);
    CHECK(streamed.exit_code == 0);
    CHECK(streamed.status == 200);
    CHECK(streamed.body.find("data: [DONE]") != std::string::npos);
    CHECK(d->wait_for_log("path=/v1/chat/completions status=200", 2s));
}

TEST_CASE("https: curl without the CA fails verification", "[e2e][tls]")
{
    tls_files f;
    mock m;
    auto d = start_https(m, f);
    auto r = run_curl(chat_request(*d, "untrusted"));
    INFO(r.err);
    CHECK(r.exit_code == 60);  // CURLE_PEER_FAILED_VERIFICATION
    CHECK(d->log_count("path=/v1/chat/completions") == 0);
}

TEST_CASE("https: plain http on the TLS port is closed and the daemon keeps serving", "[e2e][tls]")
{
    tls_files f;
    mock m;
    auto d = start_https(m, f);
    auto plain = run_curl({"http://127.0.0.1:" + std::to_string(d->port()) + "/healthz"});
    INFO(plain.err);
    CHECK(plain.exit_code != 0);  // empty reply or reset: no answer, no hang
    CHECK(plain.status == 0);
    auto again = run_curl({"--cacert", f.ca_file, https_url(*d, "/healthz")});
    CHECK(again.exit_code == 0);
    CHECK(again.status == 200);
    CHECK_FALSE(d->wait_exit(0ms).has_value());  // still running
}

TEST_CASE("https: mutual TLS needs a client certificate from the client CA", "[e2e][tls]")
{
    tls_files f;
    mock m;
    auto d = start_https(m, f, true);
    auto [cert, key] = f.client_files("client-good");
    test_ca stranger("stranger CA");
    auto [bad_cert, bad_key] = f.client_files("client-bad", &stranger);

    // Ready once a client with a certificate gets 200.
    curl_run ok;
    for (int i = 0; i < 300; ++i) {
        ok = run_curl(
            {"--cacert", f.ca_file, "--cert", cert, "--key", key, https_url(*d, "/readyz")});
        if (ok.status == 200) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    INFO(ok.err << d->captured_stderr());
    REQUIRE(ok.status == 200);

    auto args = chat_request(*d, "hello mtls");
    args.insert(args.begin(), {"--cacert", f.ca_file, "--cert", cert, "--key", key});
    auto chat = run_curl(args);
    CHECK(chat.status == 200);
    CHECK(chat_content(chat.body) == "Hello from the OCI mock. You said: hello mtls");

    auto none = run_curl({"--cacert", f.ca_file, https_url(*d, "/healthz")});
    INFO(none.err);
    CHECK(none.exit_code != 0);
    CHECK(none.status == 0);
    auto wrong = run_curl(
        {"--cacert", f.ca_file, "--cert", bad_cert, "--key", bad_key, https_url(*d, "/healthz")});
    INFO(wrong.err);
    CHECK(wrong.exit_code != 0);
    CHECK(wrong.status == 0);
}

TEST_CASE("https: openai SDK with NODE_EXTRA_CA_CERTS chat and stream", "[e2e][tls][openai]")
{
    const std::string node = OGP_NODE_PATH;
    if (node.empty() || !std::filesystem::exists(node)) {
        FAIL("node not found at configure time (scripts/install-deps --test installs it)");
    }
    const std::string prefix = OGP_NODE_PREFIX;
    if (!std::filesystem::exists(prefix + "/node_modules/openai/package.json")) {
        FAIL("openai is not installed in " + prefix +
             ": run the fixture test e2e:npm_install_openai");
    }
    tls_files f;
    mock m;
    auto d = start_https(m, f);
    const std::string script = std::string(OGP_E2E_SDK_DIR) + "/tls.mjs";
    // NODE_EXTRA_CA_CERTS replaces any the environment names (empty: no extra CA).
    auto run_node = [&](const std::string& name, const std::string& extra_ca) {
        const std::vector<std::string> env{
            "OGP_BASE_URL=" + https_url(*d, "/v1"), "OGP_API_KEY=" + std::string(test_key),
            "OGP_NODE_PREFIX=" + prefix, "NODE_EXTRA_CA_CERTS=" + extra_ca};
        return run_program({node, script, name}, 60s, env);
    };
    for (std::string name : {"chat", "stream"}) {
        auto r = run_node(name, f.ca_file);
        INFO("node stdout:\n" << r.out << "\nnode stderr:\n" << r.err);
        REQUIRE(r.status.has_value());
        CHECK(r.status->success());
        CHECK(r.out.find("PASS " + name) != std::string::npos);
    }
    CHECK(d->log_count("method=POST path=/v1/chat/completions status=200") >= 2);
    // Without the CA the SDK refuses the certificate: the trust above came from the CA file.
    auto r = run_node("untrusted", "");
    INFO("node stdout:\n" << r.out << "\nnode stderr:\n" << r.err);
    REQUIRE(r.status.has_value());
    CHECK(r.status->success());
    CHECK(r.out.find("PASS untrusted") != std::string::npos);
}

TEST_CASE("https: a certificate swap on SIGHUP reaches new connections only", "[e2e][tls]")
{
    tls_files f;
    mock m;
    auto d = start_https(m, f);
    tls_connection old_conn(d->port(), f.ca.cert_pem());
    REQUIRE_FALSE(old_conn.handshake_error);
    CHECK(old_conn.peer_serial == 1001);
    REQUIRE(old_conn.get("/healthz") == 200);

    f.install(f.ca.issue("daemon-2", 2002));
    d->stop(SIGHUP);
    INFO(d->captured_stderr());
    REQUIRE(d->wait_for_log_count("configuration reloaded", 1, 5s));

    tls_connection new_conn(d->port(), f.ca.cert_pem());
    REQUIRE_FALSE(new_conn.handshake_error);
    CHECK(new_conn.peer_serial == 2002);
    CHECK(new_conn.get("/healthz") == 200);
    // The connection opened before the swap keeps its session and is still served.
    CHECK(old_conn.get("/healthz") == 200);
    CHECK(old_conn.get("/readyz") == 200);
}
