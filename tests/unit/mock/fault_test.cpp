// The mock's fault switch per inference listener: each mode (status, reset, reset_after_first,
// hang) with a count and until cleared, in-process (set_fault) and over HTTP (/mock/fault),
// only on the listener it is set on, counted in the stats. Two in-process listeners (two
// "regions") on an io_context run by a thread of the test; a blocking TLS client with socket
// timeouts.
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fake_oci.hpp"
#include "inference.hpp"
#include "ogp/auth/crypto.hpp"
#include "ogp/auth/signer.hpp"

using namespace std::chrono_literals;
namespace net = boost::asio;
namespace mock = ogp::mock;
namespace auth = ogp::auth;

namespace {

constexpr std::string_view compartment = "ocid1.compartment.oc1..unit";
constexpr std::string_view bearer_key = "sk-mock-fault-test";

// What the client saw on one connection.
struct seen
{
    std::string bytes;
    bool reset = false;      // ECONNRESET
    bool timed_out = false;  // nothing more within the read timeout
};

// The head's status code, 0 when there is none.
unsigned status_of(const seen& s)
{
    if (!s.bytes.starts_with("HTTP/1.1 ") || s.bytes.size() < 12) {
        return 0;
    }
    return static_cast<unsigned>(std::stoul(s.bytes.substr(9, 3)));
}

std::string body_of(const seen& s)
{
    const auto at = s.bytes.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : s.bytes.substr(at + 4);
}

std::size_t count_of(std::string_view text, std::string_view what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

// Two inference listeners sharing a certificate and key lookup, served by one thread.
struct regions
{
    regions()
    {
        auto k = auth::generate_rsa_key();
        REQUIRE(k.has_value());
        key = *k;
        auto c = auth::credential_snapshot::create({.key_id = "unit/fault/key", .key = key});
        REQUIRE(c.has_value());
        creds = *c;
        auto [cert, pem_key] = pki.server_cert("IP:127.0.0.1");
        mock::inference_options o;
        o.cert_pem = cert;
        o.key_pem = pem_key;
        o.genai_api_keys = {std::string(bearer_key)};
        o.lookup = [this](std::string_view id, std::string& why) -> auth::pkey_ptr {
            if (id == "unit/fault/key") {
                return key;
            }
            why = "unknown keyId";
            return nullptr;
        };
        for (int i = 0; i < 2; ++i) {
            servers.push_back(std::make_unique<mock::inference_server>(ioc, o, 0));
        }
        runner = std::thread([this] { ioc.run(); });
    }

    ~regions()
    {
        work.reset();
        ioc.stop();
        runner.join();
        servers.clear();
        ioc.restart();
        ioc.run_for(50ms);
    }

    mock::inference_server& at(std::size_t i) { return *servers.at(i); }
    std::uint16_t port(std::size_t i) { return servers.at(i)->port(); }

    // Sends `request` on a new TLS connection to listener `i` and reads until the server closes
    // or resets it, or `timeout` passes without a byte. `keep_open`: returns the connection's
    // descriptor there instead of closing it (the caller closes it).
    seen exchange(std::size_t i, const std::string& request, std::chrono::milliseconds timeout = 5s,
                  int* keep_open = nullptr)
    {
        seen out;
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port(i));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        const bool connected = SSL_connect(ssl) == 1;
        CHECK(connected);
        if (connected && SSL_write(ssl, request.data(), static_cast<int>(request.size())) ==
                             static_cast<int>(request.size())) {
            char buf[16384];
            // Bounded: the answers here are small.
            while (out.bytes.size() < (1u << 20)) {
                errno = 0;
                const int n = SSL_read(ssl, buf, sizeof buf);
                if (n > 0) {
                    out.bytes.append(buf, static_cast<std::size_t>(n));
                    continue;
                }
                const int err = errno;
                out.reset = err == ECONNRESET;
                out.timed_out = err == EAGAIN || err == EWOULDBLOCK;
                break;
            }
        }
        ERR_clear_error();
        if (keep_open != nullptr) {
            *keep_open = ::dup(fd);
        }
        SSL_free(ssl);
        SSL_CTX_free(ctx);
        ::close(fd);
        return out;
    }

    // A signed native POST `path` with `body` for listener `i`.
    std::string signed_post(std::size_t i, std::string_view path, std::string_view body)
    {
        const std::string host = "127.0.0.1:" + std::to_string(port(i));
        const std::string date = auth::format_http_date(std::chrono::system_clock::now());
        auto h = auth::sign_request(
            *creds, {.method = "POST", .host = host, .target = path, .body = body, .date = date});
        REQUIRE(h.has_value());
        return "POST " + std::string(path) + " HTTP/1.1\r\nhost: " + h->host +
               "\r\ndate: " + h->date + "\r\ncontent-type: " + h->content_type +
               "\r\ncontent-length: " + h->content_length +
               "\r\nx-content-sha256: " + h->x_content_sha256 +
               "\r\nauthorization: " + h->authorization + "\r\nconnection: close\r\n\r\n" +
               std::string(body);
    }

    std::string chat(std::size_t i) { return signed_post(i, "/20231130/actions/chat", chat_body); }

    std::string embed(std::size_t i)
    {
        return signed_post(i, "/20231130/actions/embedText",
                           R"({"compartmentId":")" + std::string(compartment) +
                               R"(","servingMode":{"servingType":"ON_DEMAND","modelId":)"
                               R"("cohere.embed-english-v3.0"},"inputs":["hello there"]})");
    }

    // An OpenAI-compatible chat request (GenAI API key), streamed or not.
    std::string openai_chat(std::size_t i, bool stream)
    {
        const std::string body =
            std::string(R"({"model":"meta.llama-3.3-70b-instruct","messages":[{"role":"user",)") +
            R"("content":"hello world"}])" + (stream ? R"(,"stream":true})" : "}");
        return "POST /openai/v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:" +
               std::to_string(port(i)) + "\r\nauthorization: Bearer " + std::string(bearer_key) +
               "\r\ncontent-type: application/json\r\ncontent-length: " +
               std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + body;
    }

    // An unsigned control request.
    std::string control(std::size_t i, std::string_view method, std::string_view path,
                        std::string_view body = {})
    {
        return std::string(method) + " " + std::string(path) +
               " HTTP/1.1\r\nhost: 127.0.0.1:" + std::to_string(port(i)) +
               "\r\ncontent-type: application/json\r\ncontent-length: " +
               std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + std::string(body);
    }

    // Waits (bounded) until listener `i` has no open connection left.
    bool wait_closed(std::size_t i)
    {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (at(i).stats().open_connections.load() != 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(10ms);
        }
        return true;
    }

    const std::string chat_body =
        R"({"compartmentId":")" + std::string(compartment) +
        R"(","servingMode":{"servingType":"ON_DEMAND","modelId":"meta.llama-3.3-70b-instruct"},)"
        R"("chatRequest":{"apiFormat":"GENERIC","messages":[{"role":"USER","content":[)"
        R"({"type":"TEXT","text":"hello"}]}]}})";

    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(ioc);
    mock::test_pki pki;
    auth::pkey_ptr key;
    auth::snapshot_ptr creds;
    std::vector<std::unique_ptr<mock::inference_server>> servers;
    std::thread runner;
};

}  // namespace

TEST_CASE("parse_fault reads the fault JSON and refuses bad ones", "[mock][fault]")
{
    std::string error;
    auto f =
        mock::parse_fault(R"({"mode":"status","status":503,"retry_after":"1","count":2})", error);
    REQUIRE(f);
    CHECK(f->mode == "status");
    CHECK(f->status == 503);
    CHECK(f->retry_after == "1");
    CHECK(f->count == std::optional<std::uint64_t>(2));
    CHECK(mock::fault_json(*f) == R"({"mode":"status","status":503,"retry_after":"1","count":2})");

    f = mock::parse_fault(R"({"mode":"status","status":429,"retry_after":7})", error);
    REQUIRE(f);
    CHECK(f->retry_after == "7");
    CHECK_FALSE(f->count);

    f = mock::parse_fault(R"({"mode":"hang"})", error);
    REQUIRE(f);
    CHECK(mock::fault_json(*f) == R"({"mode":"hang"})");

    for (const char* bad : {
             "",
             "not json",
             "[]",
             R"({})",
             R"({"mode":"explode"})",
             R"({"mode":"status"})",
             R"({"mode":"status","status":200})",
             R"({"mode":"status","status":600})",
             R"({"mode":"reset","count":-1})",
             R"({"mode":"reset","count":"2"})",
             R"({"mode":"reset","colour":"red"})",
             R"({"mode":"status","status":503,"retry_after":"1\r\nx: y"})",
         }) {
        error.clear();
        CHECK_FALSE(mock::parse_fault(bad, error));
        CHECK_FALSE(error.empty());
    }
    const std::string huge = R"({"mode":"reset","x":")" + std::string(5000, 'a') + "\"}";
    CHECK_FALSE(mock::parse_fault(huge, error));
}

TEST_CASE("set_fault refuses an invalid fault and count 0 clears", "[mock][fault]")
{
    regions r;
    CHECK_THROWS_AS(r.at(0).set_fault({.mode = "nope"}), std::invalid_argument);
    CHECK_THROWS_AS(r.at(0).set_fault({.mode = "status", .status = 99}), std::invalid_argument);
    CHECK_FALSE(r.at(0).current_fault());
    r.at(0).set_fault({.mode = "reset"});
    CHECK(r.at(0).current_fault());
    r.at(0).set_fault({.mode = "reset", .count = 0});
    CHECK_FALSE(r.at(0).current_fault());
}

TEST_CASE("a status fault answers its status for count requests then clears", "[mock][fault]")
{
    regions r;
    // Without a fault: the signed chat is answered.
    auto ok = r.exchange(0, r.chat(0));
    REQUIRE(status_of(ok) == 200);
    r.at(0).set_fault({.mode = "status", .status = 503, .retry_after = "2", .count = 2});
    for (int i = 0; i < 2; ++i) {
        auto s = r.exchange(0, r.chat(0));
        CHECK(status_of(s) == 503);
        CHECK(s.bytes.find("retry-after: 2\r\n") != std::string::npos);
        CHECK(body_of(s).find(R"("code":"ServiceUnavailable")") != std::string::npos);
        CHECK(body_of(s).find(R"("message":)") != std::string::npos);
    }
    CHECK_FALSE(r.at(0).current_fault());
    auto after = r.exchange(0, r.chat(0));
    CHECK(status_of(after) == 200);
    auto& st = r.at(0).stats();
    CHECK(st.faulted.load() == 2);
    CHECK(st.requests.load() == 4);
    CHECK(st.chat.load() == 2);  // faulted requests are not counted as chats
}

TEST_CASE("a fault without count stays until cleared and takes embeddings too", "[mock][fault]")
{
    regions r;
    r.at(0).set_fault({.mode = "status", .status = 429});
    for (int i = 0; i < 3; ++i) {
        auto s = r.exchange(0, i == 1 ? r.embed(0) : r.chat(0));
        CHECK(status_of(s) == 429);
        CHECK(s.bytes.find("retry-after") == std::string::npos);
        CHECK(body_of(s).find("TooManyRequests") != std::string::npos);
    }
    // The OpenAI-compatible chat gets OpenAI's error shape.
    auto o = r.exchange(0, r.openai_chat(0, false));
    CHECK(status_of(o) == 429);
    CHECK(body_of(o).find(R"("code":"rate_limit_exceeded")") != std::string::npos);
    CHECK(body_of(o).find(R"({"error":{)") == 0);
    REQUIRE(r.at(0).current_fault());
    CHECK(r.at(0).current_fault()->mode == "status");
    CHECK_FALSE(r.at(0).current_fault()->count);
    r.at(0).clear_fault();
    CHECK(status_of(r.exchange(0, r.embed(0))) == 200);
    CHECK(r.at(0).stats().faulted.load() == 4);
    CHECK(r.at(0).stats().embed.load() == 1);
}

TEST_CASE("a fault takes only the listener it is set on", "[mock][fault]")
{
    regions r;
    r.at(1).set_fault({.mode = "status", .status = 500});
    CHECK(status_of(r.exchange(0, r.chat(0))) == 200);
    CHECK(status_of(r.exchange(1, r.chat(1))) == 500);
    CHECK(status_of(r.exchange(0, r.embed(0))) == 200);
    CHECK(r.at(0).stats().faulted.load() == 0);
    CHECK(r.at(0).stats().chat.load() == 1);
    CHECK(r.at(0).stats().embed.load() == 1);
    CHECK(r.at(1).stats().faulted.load() == 1);
    CHECK(r.at(1).stats().chat.load() == 0);
    CHECK(r.at(1).stats().requests.load() == 1);
    CHECK_FALSE(r.at(0).current_fault());
}

TEST_CASE("a reset fault closes the connection without an answer", "[mock][fault]")
{
    regions r;
    r.at(0).set_fault({.mode = "reset", .count = 1});
    auto s = r.exchange(0, r.chat(0));
    CHECK(s.bytes.empty());
    CHECK(s.reset);
    CHECK_FALSE(s.timed_out);
    CHECK(status_of(r.exchange(0, r.chat(0))) == 200);
    CHECK(r.at(0).stats().faulted.load() == 1);
    CHECK(r.wait_closed(0));
}

TEST_CASE("reset_after_first sends the first event of a stream then resets", "[mock][fault]")
{
    regions r;
    // Unfaulted, the stream has several events and ends.
    auto whole = r.exchange(0, r.openai_chat(0, true));
    REQUIRE(status_of(whole) == 200);
    REQUIRE(count_of(whole.bytes, "data: ") > 3);

    r.at(0).set_fault({.mode = "reset_after_first", .count = 1});
    auto s = r.exchange(0, r.openai_chat(0, true));
    CHECK(status_of(s) == 200);
    CHECK(s.bytes.find("text/event-stream") != std::string::npos);
    CHECK(count_of(s.bytes, "data: ") == 1);
    CHECK(s.bytes.find("chat.completion.chunk") != std::string::npos);
    CHECK(s.reset);
    CHECK(r.at(0).stats().faulted.load() == 1);
    CHECK_FALSE(r.at(0).current_fault());
    CHECK(r.wait_closed(0));
}

TEST_CASE("reset_after_first sends half a body then resets", "[mock][fault]")
{
    regions r;
    r.at(0).set_fault({.mode = "reset_after_first", .count = 1});
    auto s = r.exchange(0, r.embed(0));
    CHECK(status_of(s) == 200);
    const auto at = s.bytes.find("Content-Length: ");
    REQUIRE(at != std::string::npos);
    const auto promised = std::stoul(s.bytes.substr(at + 16));
    CHECK(body_of(s).size() > 0);
    CHECK(body_of(s).size() < promised);
    CHECK(s.reset);
    CHECK(r.at(0).stats().embed.load() == 0);
    // Then answered whole again.
    auto next = r.exchange(0, r.embed(0));
    CHECK(status_of(next) == 200);
    CHECK(r.at(0).stats().embed.load() == 1);
}

TEST_CASE("a hang fault never answers and closes when the client does", "[mock][fault]")
{
    regions r;
    r.at(1).set_fault({.mode = "hang"});
    int fd = -1;
    auto s = r.exchange(1, r.chat(1), 300ms, &fd);
    CHECK(s.bytes.empty());
    CHECK(s.timed_out);
    REQUIRE(fd >= 0);
    CHECK(r.at(1).stats().open_connections.load() == 1);
    ::close(fd);
    CHECK(r.wait_closed(1));
    CHECK(r.at(1).stats().faulted.load() == 1);
    // The other listener answers meanwhile; a cleared switch answers again.
    CHECK(status_of(r.exchange(0, r.chat(0))) == 200);
    r.at(1).clear_fault();
    CHECK(status_of(r.exchange(1, r.chat(1))) == 200);
}

TEST_CASE("a fault leaves ListModels and the mock paths alone", "[mock][fault]")
{
    regions r;
    r.at(0).set_fault({.mode = "reset"});
    auto st = r.exchange(0, r.control(0, "GET", "/mock/stats"));
    CHECK(status_of(st) == 200);
    CHECK(body_of(st).find(R"("faulted":0)") != std::string::npos);
    // An unsigned chat is faulted before the signature check.
    CHECK(r.exchange(0, r.control(0, "POST", "/20231130/actions/chat", "{}")).reset);
    auto after = r.exchange(0, r.control(0, "GET", "/mock/stats"));
    CHECK(body_of(after).find(R"("faulted":1)") != std::string::npos);
    CHECK(body_of(after).find(R"("rejected_signatures":0)") != std::string::npos);
}

TEST_CASE("the fault switch over HTTP sets reads and clears per listener", "[mock][fault]")
{
    regions r;
    auto set =
        r.exchange(1, r.control(1, "POST", "/mock/fault",
                                R"({"mode":"status","status":503,"retry_after":"1","count":2})"));
    CHECK(status_of(set) == 200);
    CHECK(body_of(set) == R"({"mode":"status","status":503,"retry_after":"1","count":2})");
    REQUIRE(r.at(1).current_fault());
    CHECK(r.at(1).current_fault()->status == 503);
    CHECK_FALSE(r.at(0).current_fault());

    CHECK(status_of(r.exchange(1, r.chat(1))) == 503);
    auto get = r.exchange(1, r.control(1, "GET", "/mock/fault"));
    CHECK(body_of(get) == R"({"mode":"status","status":503,"retry_after":"1","count":1})");
    CHECK(body_of(r.exchange(0, r.control(0, "GET", "/mock/fault"))) == R"({"mode":"none"})");

    // Refused: bad JSON, an unknown mode, too large; the switch stays as it was.
    auto bad = r.exchange(1, r.control(1, "POST", "/mock/fault", "{nope"));
    CHECK(status_of(bad) == 400);
    CHECK(status_of(r.exchange(1, r.control(1, "POST", "/mock/fault", R"({"mode":"x"})"))) == 400);
    const std::string big = R"({"mode":"hang","pad":")" + std::string(5000, 'x') + "\"}";
    CHECK(status_of(r.exchange(1, r.control(1, "POST", "/mock/fault", big))) == 413);
    CHECK(status_of(r.exchange(1, r.control(1, "PUT", "/mock/fault", "{}"))) == 405);
    REQUIRE(r.at(1).current_fault());
    CHECK(r.at(1).current_fault()->count == std::optional<std::uint64_t>(1));

    auto del = r.exchange(1, r.control(1, "DELETE", "/mock/fault"));
    CHECK(status_of(del) == 200);
    CHECK(body_of(del) == R"({"mode":"none"})");
    CHECK_FALSE(r.at(1).current_fault());
    CHECK(status_of(r.exchange(1, r.chat(1))) == 200);
    // Control requests are not counted as requests.
    CHECK(r.at(1).stats().requests.load() == 2);
    CHECK(r.at(1).stats().faulted.load() == 1);
}
