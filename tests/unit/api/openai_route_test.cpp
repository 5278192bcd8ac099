// The `openai` model route of ogp::api::service in-process (issue 14): the body forwarded with
// only `model` rewritten, the contract's headers upstream (signature or Bearer), answers and
// SSE relayed byte for byte, errors kept or mapped, gzip decoded, the stateful paths forwarded
// with `oci.project_id` (404 without one). The upstream is a scripted plain-HTTP fake on
// loopback that records what it received.

#include "ogp/api/service.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "ogp/upstream/tls.hpp"
#include "ogp/util/asio.hpp"
#include "unit/api/handler_call.hpp"
#include "unit/api/recording_sink.hpp"
#include "unit/auth/test_util.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace ogp;
using namespace ogp::auth::test;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace http = boost::beast::http;
using steady = std::chrono::steady_clock;
using tcp = net::ip::tcp;

using ogp_test::api_route;
using ogp_test::check_overhead;
using ogp_test::find_header;
using ogp_test::handler_call;
using ogp_test::recording_sink;
using ogp_test::run_handler;

namespace {

constexpr std::string_view project = "ocid1.generativeaiproject.oc1..unit";
constexpr std::string_view compartment = "ocid1.compartment.oc1..unit";

// Signing credentials, or a GenAI API key (bearer) when `bearer` is set.
class test_provider final : public auth::credential_provider
{
public:
    explicit test_provider(std::string bearer) : bearer_(std::move(bearer)) {}
    std::string_view name() const override { return "test"; }
    net::awaitable<auth::result<auth::snapshot_ptr>> fetch() override
    {
        ++calls;
        co_return auth::credential_snapshot::create(
            {.key_id = "ocid1.tenancy.oc1..unit/ocid1.user.oc1..unit/fp",
             .key = shared_test_key(),
             .expiry = std::chrono::system_clock::now() + std::chrono::hours(1),
             .region = "us-chicago-1",
             .bearer = bearer_});
    }
    std::atomic<int> calls{0};

private:
    std::string bearer_;
};

// What the fake upstream received.
struct seen_request
{
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

// One scripted answer: raw bytes written in pieces, `gap` apart, then the socket closed.
struct scripted
{
    std::vector<std::string> pieces;
    std::chrono::milliseconds gap{0};
};

std::string answer(unsigned status, std::string_view type, std::string_view body,
                   std::vector<std::pair<std::string, std::string>> extra = {})
{
    std::string r = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
    if (!type.empty()) {
        r += "Content-Type: " + std::string(type) + "\r\n";
    }
    for (const auto& [k, v] : extra) {
        r += k + ": " + v + "\r\n";
    }
    r += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    r += body;
    return r;
}

// A chunked event-stream answer whose chunks are `events` exactly as given.
scripted sse_answer(const std::vector<std::string>& chunks, std::chrono::milliseconds gap = 0ms)
{
    scripted s;
    s.gap = gap;
    s.pieces.push_back(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        "opc-request-id: opc-sse\r\nConnection: close\r\n\r\n");
    for (const auto& c : chunks) {
        char len[32];
        std::snprintf(len, sizeof len, "%zx\r\n", c.size());
        s.pieces.push_back(len + c + "\r\n");
    }
    s.pieces.push_back("0\r\n\r\n");
    return s;
}

struct fake_upstream
{
    explicit fake_upstream(net::io_context& ioc)
        : acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0})
    {
    }
    unsigned short port() const { return acceptor.local_endpoint().port(); }

    tcp::acceptor acceptor;
    std::vector<seen_request> requests;
    std::function<scripted(const seen_request&)> script;
    int closed_early = 0;  // answers whose writes failed (the client went away)
};

net::awaitable<void> serve_one(std::shared_ptr<fake_upstream> f, tcp::socket s)
{
    boost::beast::flat_buffer buf;
    http::request_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    auto [ec, n] = co_await http::async_read(s, buf, parser, use_nothrow);
    (void)n;
    if (ec) {
        co_return;
    }
    auto& m = parser.get();
    seen_request r;
    r.method = std::string(m.method_string());
    r.target = std::string(m.target());
    for (const auto& field : m) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        r.headers[name] = std::string(field.value());
    }
    r.body = m.body();
    f->requests.push_back(r);
    scripted out = f->script(r);
    net::steady_timer t(s.get_executor());
    for (std::size_t i = 0; i < out.pieces.size(); ++i) {
        if (i > 0 && out.gap.count() > 0) {
            t.expires_after(out.gap);
            co_await t.async_wait(use_nothrow);
        }
        auto [wec, wn] = co_await net::async_write(s, net::buffer(out.pieces[i]), use_nothrow);
        (void)wn;
        if (wec) {
            ++f->closed_early;
            co_return;
        }
    }
    boost::system::error_code ignore;
    s.shutdown(tcp::socket::shutdown_send, ignore);
    t.expires_after(200ms);
    co_await t.async_wait(use_nothrow);
}

net::awaitable<void> accept_loop(std::shared_ptr<fake_upstream> f)
{
    for (;;) {
        auto [ec, s] = co_await f->acceptor.async_accept(use_nothrow);
        if (ec) {
            co_return;
        }
        net::co_spawn(f->acceptor.get_executor(), serve_one(f, std::move(s)), net::detached);
    }
}

struct route_fixture
{
    explicit route_fixture(std::string bearer = {}, std::string project_id = std::string(project))
    {
        fake = std::make_shared<fake_upstream>(ioc);
        fake->script = [](const seen_request&) {
            return scripted{{answer(200, "application/json", R"({"ok":true})")}};
        };
        net::co_spawn(ioc, accept_loop(fake), net::detached);
        cfg.oci.region = "us-chicago-1";
        cfg.oci.compartment_id = std::string(compartment);
        cfg.oci.project_id = std::move(project_id);
        cfg.oci.auth = auth_mode::api_key;
        cfg.oci.endpoint = "http://127.0.0.1:" + std::to_string(fake->port());
        cfg.models.push_back(
            {.name = "gpt-oss", .id = "openai.gpt-oss-120b", .route = model_route::openai});
        cfg.models.push_back({.name = "grok",
                              .id = "xai.grok-4",
                              .compartment_id = "ocid1.compartment.oc1..grok",
                              .route = model_route::openai,
                              .project_id = "ocid1.generativeaiproject.oc1..grok"});
        cfg.models.push_back({.name = "llama", .id = "meta.llama-3.3-70b-instruct"});
        cfg.timeouts.upstream_connect = 5s;
        cfg.timeouts.upstream_first_byte = 10s;
        cfg.timeouts.upstream_stream_idle = 10s;
        cfg.timeouts.upstream_total = 30s;
        auto p = std::make_unique<test_provider>(std::move(bearer));
        provider = p.get();
        auth::cache_options co;
        co.proactive = false;
        creds = std::make_unique<auth::credential_cache>(ioc.get_executor(), std::move(p), co);
        creds->start();
        tls = upstream::make_client_tls_context("");
        svc = std::make_unique<api::service>(cfg, *creds, tls);
    }

    ~route_fixture()
    {
        svc->close_idle();
        boost::system::error_code ignore;
        fake->acceptor.close(ignore);
        run_until(
            ioc, [] { return false; }, 50ms);
        svc.reset();
        creds->stop();
        run_until(
            ioc, [] { return false; }, 20ms);
    }

    std::shared_ptr<handler_call> start(
        api_route r, std::string method, std::string target, std::string body,
        std::vector<std::pair<std::string, std::string>> fields = {})
    {
        auto c = std::make_shared<handler_call>();
        c->req.head.method = std::move(method);
        c->req.head.target = std::move(target);
        c->req.head.fields = std::move(fields);
        c->req.body = std::move(body);
        c->req.request_id = "req-" + std::to_string(++serial);
        c->req.remote = "127.0.0.1:1";
        net::co_spawn(ioc, run_handler(*svc, r, c), net::detached);
        return c;
    }

    std::shared_ptr<handler_call> call(api_route r, std::string method, std::string target,
                                       std::string body,
                                       std::vector<std::pair<std::string, std::string>> fields = {})
    {
        auto c = start(r, std::move(method), std::move(target), std::move(body), std::move(fields));
        REQUIRE(run_until(
            ioc, [&c] { return c->resp.has_value(); }, 15s));
        return c;
    }

    std::shared_ptr<handler_call> chat(std::string body,
                                       std::vector<std::pair<std::string, std::string>> fields = {})
    {
        return call(api_route::chat, "POST", "/v1/chat/completions", std::move(body),
                    std::move(fields));
    }

    net::io_context ioc;
    std::shared_ptr<fake_upstream> fake;
    config cfg;
    test_provider* provider = nullptr;
    std::unique_ptr<auth::credential_cache> creds;
    std::shared_ptr<net::ssl::context> tls;
    std::unique_ptr<api::service> svc;
    int serial = 0;
};

std::string gzip(std::string_view in)
{
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, in.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

}  // namespace

TEST_CASE("openai route: chat is forwarded signed, only model rewritten, contract headers",
          "[api][openai_route]")
{
    route_fixture f;
    const std::string body =
        R"({ "messages":[{"role":"user","content":"hi"}], "model" : "gpt-oss" ,"temperature":0.70})";
    auto c = f.chat(body, {{"Authorization", "Bearer sk-client-secret"},
                           {"Content-Type", "application/json"},
                           {"OpenAI-Beta", "assistants=v2"},
                           {"Idempotency-Key", "idem-1"},
                           {"X-Custom", "must-not-pass"},
                           {"Accept-Encoding", "gzip"}});
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(f.fake->requests.size() == 1);
    const auto& up = f.fake->requests[0];
    CHECK(up.method == "POST");
    CHECK(up.target == "/openai/v1/chat/completions");
    CHECK(
        up.body ==
        R"({ "messages":[{"role":"user","content":"hi"}], "model" : "openai.gpt-oss-120b" ,"temperature":0.70})");
    CHECK(up.headers.at("authorization").starts_with("Signature version=\"1\""));
    CHECK(up.headers.at("authorization").find("x-content-sha256") != std::string::npos);
    CHECK(up.headers.count("x-content-sha256") == 1);
    CHECK(up.headers.count("date") == 1);
    CHECK(up.headers.at("content-type") == "application/json");
    CHECK(up.headers.at("content-length") == std::to_string(up.body.size()));
    CHECK(up.headers.at("openai-project") == project);
    CHECK(up.headers.at("opc-compartment-id") == compartment);
    CHECK(up.headers.at("accept-encoding") == "identity");
    CHECK(up.headers.at("accept") == "application/json");
    CHECK(up.headers.at("opc-request-id") == c->req.request_id);
    CHECK(up.headers.at("user-agent").starts_with("oci-genai-proxy/"));
    CHECK(up.headers.at("openai-beta") == "assistants=v2");
    CHECK(up.headers.at("idempotency-key") == "idem-1");
    CHECK(up.headers.count("x-custom") == 0);
    for (const auto& [k, v] : up.headers) {
        CHECK(v.find("sk-client-secret") == std::string::npos);
    }
    // The answer as OCI sent it.
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"ok":true})");
}

TEST_CASE("openai route: an alias' own project and compartment - responses path",
          "[api][openai_route]")
{
    route_fixture f;
    auto c = f.call(api_route::responses, "POST", "/v1/responses",
                    R"({"model":"grok","input":"hi","previous_response_id":"resp_1"})",
                    {{"Accept", "text/event-stream"}});
    REQUIRE(f.fake->requests.size() == 1);
    const auto& up = f.fake->requests[0];
    CHECK(up.target == "/openai/v1/responses");
    CHECK(up.body == R"({"model":"xai.grok-4","input":"hi","previous_response_id":"resp_1"})");
    CHECK(up.headers.at("openai-project") == "ocid1.generativeaiproject.oc1..grok");
    CHECK(up.headers.at("opc-compartment-id") == "ocid1.compartment.oc1..grok");
    CHECK(up.headers.at("accept") == "text/event-stream");
    CHECK(c->resp->status == 200);
}

TEST_CASE("openai route: a GenAI API key is sent as Bearer, nothing signed",
          "[api][openai_route][bearer]")
{
    route_fixture f("genai-key-123");
    auto c =
        f.chat(R"({"model":"gpt-oss","messages":[]})", {{"Authorization", "Bearer sk-client"}});
    REQUIRE(f.fake->requests.size() == 1);
    const auto& up = f.fake->requests[0];
    CHECK(up.headers.at("authorization") == "Bearer genai-key-123");
    CHECK(up.headers.count("x-content-sha256") == 0);
    CHECK(up.headers.at("content-type") == "application/json");
    CHECK(up.headers.at("openai-project") == project);
    CHECK(up.body == R"({"model":"openai.gpt-oss-120b","messages":[]})");
    CHECK(c->resp->status == 200);
}

TEST_CASE("openai route: a native alias next to openai ones still goes to the native API",
          "[api][openai_route]")
{
    route_fixture f;
    auto c = f.chat(R"({"model":"llama","messages":[{"role":"user","content":"x"}]})");
    REQUIRE(f.fake->requests.size() == 1);
    CHECK(f.fake->requests[0].target == "/20231130/actions/chat");
    CHECK(f.fake->requests[0].headers.count("openai-project") == 0);
    // A body that is not JSON is the native route's 400, without an upstream request.
    auto bad = f.chat("{nope");
    CHECK(bad->resp->status == 400);
    CHECK(f.fake->requests.size() == 1);
}

TEST_CASE("openai route: SSE is relayed byte for byte as it arrives", "[api][openai_route][stream]")
{
    route_fixture f;
    // Chunks that split events anywhere, CRLF lines and comments included.
    const std::vector<std::string> chunks = {
        ": keep-alive\n\n", "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"He",
        "llo\"}}]}\n", "\ndata: {\"id\":\"c1\"}\r\n\r\n", "data: [DONE]\n\n"};
    f.fake->script = [&](const seen_request&) { return sse_answer(chunks, 20ms); };
    auto c = f.chat(R"({"model":"gpt-oss","stream":true,"messages":[]})");
    const auto& s = c->sink;
    REQUIRE(s.began);
    CHECK(s.status == 200);
    CHECK(s.content_type == "text/event-stream");
    CHECK(find_header(s.headers, "opc-request-id").value_or("") == "opc-sse");
    std::string all;
    for (const auto& ch : chunks) {
        all += ch;
    }
    CHECK(s.data == all);
    CHECK(s.writes >= 3);
    CHECK(s.ended);
}

TEST_CASE("openai route: a client disconnect mid-stream aborts the upstream exchange",
          "[api][openai_route][disconnect]")
{
    route_fixture f;
    std::vector<std::string> chunks(50, "data: {\"x\":1}\n\n");
    f.fake->script = [&](const seen_request&) { return sse_answer(chunks, 100ms); };
    auto c = f.start(api_route::chat, "POST", "/v1/chat/completions",
                     R"({"model":"gpt-oss","stream":true})");
    REQUIRE(run_until(
        f.ioc, [&c] { return c->sink.writes >= 1; }, 10s));
    const auto gone_at = steady::now();
    c->sink.disconnect();
    REQUIRE(run_until(
        f.ioc, [&c] { return c->resp.has_value(); }, 5s));
    CHECK(c->finished - gone_at < 1s);
    CHECK_FALSE(c->sink.ended);
    CHECK(run_until(
        f.ioc, [&f] { return f.fake->closed_early == 1; }, 5s));
}

TEST_CASE("openai route: upstream errors: OpenAI JSON relayed unchanged, others mapped",
          "[api][openai_route][errors]")
{
    route_fixture f;
    const std::string oci_error =
        R"({"error":{"message":"Previous response not found","type":"invalid_request_error","param":"previous_response_id","code":"previous_response_not_found"}})";
    f.fake->script = [&](const seen_request& r) {
        if (r.body.find("plain") != std::string::npos) {
            return scripted{{answer(500, "text/plain", "internal oops at host-7")}};
        }
        return scripted{{answer(404, "application/json", oci_error,
                                {{"opc-request-id", "opc-1"}, {"openai-processing-ms", "12"}})}};
    };
    auto c = f.call(api_route::responses, "POST", "/v1/responses",
                    R"({"model":"gpt-oss","previous_response_id":"resp_x"})");
    CHECK(c->resp->status == 404);
    CHECK(c->resp->body == oci_error);
    CHECK(find_header(c->resp->headers, "opc-request-id").value_or("") == "opc-1");
    CHECK(find_header(c->resp->headers, "openai-processing-ms").value_or("") == "12");

    auto m = f.chat(R"({"model":"gpt-oss","messages":"plain"})");
    INFO(m->resp->body);
    CHECK(m->resp->status == 500);
    CHECK(m->resp->body.starts_with("{\"error\":{"));
    CHECK(m->resp->body.find("host-7") == std::string::npos);
}

TEST_CASE("openai route: a gzip answer is decoded - an unknown coding is a 502",
          "[api][openai_route][decode]")
{
    route_fixture f;
    const std::string plain = R"({"id":"chatcmpl-1","object":"chat.completion","choices":[]})";
    f.fake->script = [&](const seen_request& r) {
        if (r.body.find("brotli") != std::string::npos) {
            return scripted{
                {answer(200, "application/json", "xxxx", {{"Content-Encoding", "br"}})}};
        }
        return scripted{
            {answer(200, "application/json", gzip(plain), {{"Content-Encoding", "gzip"}})}};
    };
    auto c = f.chat(R"({"model":"gpt-oss"})");
    CHECK(c->resp->status == 200);
    CHECK(c->resp->body == plain);
    CHECK_FALSE(find_header(c->resp->headers, "content-encoding").has_value());
    auto b = f.chat(R"({"model":"gpt-oss","x":"brotli"})");
    CHECK(b->resp->status == 502);
}

TEST_CASE("openai route: a gzip event stream is decoded as it arrives",
          "[api][openai_route][decode][stream]")
{
    route_fixture f;
    const std::string events = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
    const std::string z = gzip(events);
    f.fake->script = [&](const seen_request&) {
        scripted s;
        s.pieces.push_back(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            "Content-Encoding: gzip\r\nContent-Length: " +
            std::to_string(z.size()) + "\r\nConnection: close\r\n\r\n");
        s.pieces.push_back(z.substr(0, z.size() / 2));
        s.pieces.push_back(z.substr(z.size() / 2));
        s.gap = 20ms;
        return s;
    };
    auto c = f.chat(R"({"model":"gpt-oss","stream":true})");
    CHECK(c->sink.began);
    CHECK(c->sink.data == events);
}

TEST_CASE("openai route: embeddings for an openai-route alias are a 400", "[api][openai_route]")
{
    route_fixture f;
    auto c = f.call(api_route::embeddings, "POST", "/v1/embeddings",
                    R"({"model":"gpt-oss","input":"x"})");
    CHECK(c->resp->status == 400);
    CHECK(c->resp->body.find("embeddings") != std::string::npos);
    CHECK(f.fake->requests.empty());
}

TEST_CASE("openai route: stateful paths are forwarded with the project, query kept",
          "[api][openai_route][state]")
{
    route_fixture f;
    f.fake->script = [](const seen_request&) {
        return scripted{{answer(200, "application/json", R"({"object":"list","data":[]})")}};
    };
    auto c = f.call(api_route::openai_state, "GET", "/v1/files?limit=2&order=desc", "",
                    {{"Authorization", "Bearer sk-client"}});
    REQUIRE(f.fake->requests.size() == 1);
    CHECK(f.fake->requests[0].method == "GET");
    CHECK(f.fake->requests[0].target == "/openai/v1/files?limit=2&order=desc");
    CHECK(f.fake->requests[0].headers.at("openai-project") == project);
    CHECK(f.fake->requests[0].headers.at("authorization").starts_with("Signature "));
    CHECK(f.fake->requests[0].headers.count("x-content-sha256") == 0);
    CHECK(c->resp->body == R"({"object":"list","data":[]})");

    // Multipart upload: the client's content type is signed and sent.
    const std::string multipart =
        "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nuser_data\r\n--b--\r\n";
    auto up = f.call(api_route::openai_state, "POST", "/v1/files", multipart,
                     {{"Content-Type", "multipart/form-data; boundary=b"}});
    REQUIRE(f.fake->requests.size() == 2);
    CHECK(f.fake->requests[1].headers.at("content-type") == "multipart/form-data; boundary=b");
    CHECK(f.fake->requests[1].body == multipart);
    CHECK(f.fake->requests[1].headers.count("x-content-sha256") == 1);

    // HEAD goes up as GET; DELETE of a stored response.
    f.call(api_route::openai_state, "HEAD", "/v1/conversations/conv_1", "");
    CHECK(f.fake->requests[2].method == "GET");
    CHECK(f.fake->requests[2].target == "/openai/v1/conversations/conv_1");
    f.call(api_route::stored_response, "DELETE", "/v1/responses/resp_1", "");
    CHECK(f.fake->requests[3].method == "DELETE");
    CHECK(f.fake->requests[3].target == "/openai/v1/responses/resp_1");
}

TEST_CASE("openai route: paths that could leave /openai/v1 are refused",
          "[api][openai_route][state]")
{
    route_fixture f;
    for (std::string target : std::vector<std::string>{
             "/v1/files/../x", "/v1/files/%2e%2e/x", "/v1/files/%2E./x", "/v1/files/.",
             "/v1/files/a%2fb", "/v1/files/a%5Cb", "/v1/files/a%00", "/v1/files//x",
             "/v1/files/%zz", "/v1/files/" + std::string(3000, 'a')}) {
        INFO(target);
        auto c = f.call(api_route::openai_state, "GET", target, "");
        CHECK(c->resp->status == 400);
    }
    CHECK(f.fake->requests.empty());
}

TEST_CASE("openai route: without oci.project_id the stateful paths are 404 naming it",
          "[api][openai_route][state]")
{
    route_fixture f({}, "");
    auto s = f.call(api_route::stored_response, "GET", "/v1/responses/resp_1", "");
    CHECK(s->resp->status == 404);
    CHECK(s->resp->body.find("oci.project_id") != std::string::npos);
    CHECK(s->resp->body.find("resp_1") != std::string::npos);
    for (std::string target :
         std::vector<std::string>{"/v1/files", "/v1/conversations/c1", "/v1/vector_stores"}) {
        auto c = f.call(api_route::openai_state, "GET", target, "");
        CHECK(c->resp->status == 404);
        CHECK(c->resp->body.find("oci.project_id") != std::string::npos);
    }
    CHECK(f.fake->requests.empty());
}

TEST_CASE("openai route: under genai_api_key a model off the openai route is a 400",
          "[api][openai_route][bearer]")
{
    route_fixture f("genai-key-123");
    f.cfg.oci.auth = auth_mode::genai_api_key;
    for (auto r : {api_route::chat, api_route::responses, api_route::embeddings}) {
        auto c = f.call(r, "POST", "/v1/x", R"({"model":"llama","input":"x","messages":[]})");
        INFO(c->resp->body);
        CHECK(c->resp->status == 400);
        CHECK(c->resp->body.find("route: openai") != std::string::npos);
    }
    CHECK(f.fake->requests.empty());
    auto ok = f.chat(R"({"model":"gpt-oss"})");
    CHECK(ok->resp->status == 200);
    CHECK(f.fake->requests.size() == 1);
}

TEST_CASE("openai route: /v1/models lists openai-route aliases like the others",
          "[api][openai_route]")
{
    route_fixture f;
    auto c = f.call(api_route::models, "GET", "/v1/models", "");
    INFO(c->resp->body);
    CHECK(c->resp->status == 200);
    for (std::string_view name : {"\"gpt-oss\"", "\"grok\"", "\"llama\""}) {
        CHECK(c->resp->body.find(name) != std::string::npos);
    }
    CHECK(f.fake->requests.empty());
}

namespace {

// A spooled upload as the server hands it over: an unlinked file holding `body`, its SHA-256.
server::spooled_body spool_of(const std::string& body)
{
    const int fd = ::open("/tmp", O_TMPFILE | O_RDWR | O_EXCL, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()));
    std::array<unsigned char, 32> sha{};
    unsigned len = 0;
    REQUIRE(EVP_Digest(body.data(), body.size(), sha.data(), &len, EVP_sha256(), nullptr) == 1);
    return server::spooled_body(fd, body.size(), sha);
}

}  // namespace

TEST_CASE("openai route: a spooled upload is sent from its file and signed like the same body",
          "[api][openai_route][state][upload]")
{
    std::string multipart =
        "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nuser_data\r\n--b\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\r\n";
    for (int i = 0; i < 200000; ++i) {
        multipart += static_cast<char>((i * 7919) & 0xff);
    }
    multipart += "\r\n--b--\r\n";
    const std::vector<std::pair<std::string, std::string>> fields{
        {"Content-Type", "multipart/form-data; boundary=b"}};
    SECTION("signed")
    {
        route_fixture f;
        // The same body in memory first: the reference for the signed headers.
        f.call(api_route::openai_state, "POST", "/v1/files", multipart, fields);
        auto c = std::make_shared<handler_call>();
        c->req.head.method = "POST";
        c->req.head.target = "/v1/files";
        c->req.head.fields = fields;
        c->req.spooled = spool_of(multipart);
        c->req.request_id = "req-spooled";
        net::co_spawn(f.ioc, run_handler(*f.svc, api_route::openai_state, c), net::detached);
        REQUIRE(run_until(
            f.ioc, [&c] { return c->resp.has_value(); }, 15s));
        CHECK(c->resp->status == 200);
        REQUIRE(f.fake->requests.size() == 2);
        const auto& mem = f.fake->requests[0];
        const auto& up = f.fake->requests[1];
        CHECK(up.target == "/openai/v1/files");
        CHECK(up.body == multipart);
        CHECK(up.headers.at("content-type") == "multipart/form-data; boundary=b");
        CHECK(up.headers.at("content-length") == std::to_string(multipart.size()));
        CHECK(up.headers.at("x-content-sha256") == mem.headers.at("x-content-sha256"));
        CHECK(up.headers.at("authorization").starts_with("Signature "));
        CHECK(up.headers.at("openai-project") == project);
    }
    SECTION("GenAI API key")
    {
        route_fixture f("genai-key-1");
        auto c = std::make_shared<handler_call>();
        c->req.head.method = "POST";
        c->req.head.target = "/v1/files";
        c->req.head.fields = fields;
        c->req.spooled = spool_of(multipart);
        c->req.request_id = "req-spooled";
        net::co_spawn(f.ioc, run_handler(*f.svc, api_route::openai_state, c), net::detached);
        REQUIRE(run_until(
            f.ioc, [&c] { return c->resp.has_value(); }, 15s));
        CHECK(c->resp->status == 200);
        REQUIRE(f.fake->requests.size() == 1);
        const auto& up = f.fake->requests[0];
        CHECK(up.body == multipart);
        CHECK(up.headers.at("authorization") == "Bearer genai-key-1");
        CHECK(up.headers.at("content-type") == "multipart/form-data; boundary=b");
        CHECK(up.headers.count("x-content-sha256") == 0);
    }
}

// --- issue 15: the exchange record and the overhead headers on the openai route ---

TEST_CASE("openai route record: a JSON answer gives models usage and the request id",
          "[api][openai_route][record]")
{
    route_fixture f;
    f.fake->script = [](const seen_request&) {
        return scripted{{answer(
            200, "application/json",
            R"({"id":"c1","object":"chat.completion","model":"openai.gpt-oss-120b-v2","choices":[{"message":{"content":"\"usage\":{\"prompt_tokens\":999}"}}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}}})",
            {{"opc-request-id", "opc-json-1"}})}};
    };
    auto c = f.chat(R"({"model":"gpt-oss","messages":[]})");
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto& rec = c->req.record;
    CHECK(rec.operation == "chat");
    CHECK(rec.model == "gpt-oss");
    CHECK(rec.oci_model == "openai.gpt-oss-120b");
    CHECK(rec.response_model == "openai.gpt-oss-120b-v2");
    CHECK(rec.route == "openai");
    CHECK(rec.input_tokens == 11);
    CHECK(rec.output_tokens == 7);
    CHECK(rec.cached_tokens == 3);
    CHECK(rec.reasoning_tokens == 2);
    CHECK(rec.upstream_status == 200);
    CHECK(rec.retries == 0);
    CHECK(rec.error_type.empty());
    CHECK(rec.sign.count() > 0);
    CHECK(find_header(r.headers, "opc-request-id").value_or("") == "opc-json-1");
    CHECK(find_header(r.headers, "x-oci-request-id").value_or("") == "opc-json-1");
    check_overhead(r.headers, *c);
}

TEST_CASE("openai route record: a stream gives ttft and the final usage",
          "[api][openai_route][record][stream]")
{
    route_fixture f;
    const std::vector<std::string> chunks = {
        "data: {\"id\":\"c1\",\"model\":\"openai.gpt-oss-120b\",\"choices\":[{\"delta\":{"
        "\"content\":\"Hi\"}}],\"usage\":null}\n\n",
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,",
        "\"completion_tokens\":9,\"total_tokens\":14}}\n\n", "data: [DONE]\n\n"};
    f.fake->script = [&](const seen_request&) { return sse_answer(chunks, 20ms); };
    auto c = f.chat(R"({"model":"gpt-oss","stream":true,"messages":[]})");
    const auto& s = c->sink;
    REQUIRE(s.began);
    REQUIRE(s.ended);
    const auto& rec = c->req.record;
    CHECK(rec.route == "openai");
    CHECK(rec.model == "gpt-oss");
    CHECK(rec.response_model == "openai.gpt-oss-120b");
    CHECK(rec.ttft.count() >= 0);
    CHECK(rec.input_tokens == 5);
    CHECK(rec.output_tokens == 9);
    CHECK(rec.cached_tokens == -1);
    CHECK(rec.upstream_status == 200);
    CHECK(find_header(s.headers, "x-oci-request-id").value_or("") == "opc-sse");
    CHECK(find_header(s.headers, "opc-request-id").value_or("") == "opc-sse");
    check_overhead(s.headers, *c);
}

TEST_CASE("openai route record: a 429 retried once counts one 429 retry",
          "[api][openai_route][record][retry]")
{
    route_fixture f;
    f.fake->script = [&f](const seen_request&) {
        if (f.fake->requests.size() == 1) {
            return scripted{
                {answer(429, "application/json", R"({"error":{"message":"slow down","type":"x"}})",
                        {{"retry-after", "0"}})}};
        }
        return scripted{{answer(200, "application/json", R"({"model":"m","usage":null})",
                                {{"opc-request-id", "opc-2"}})}};
    };
    auto c = f.chat(R"({"model":"gpt-oss","messages":[]})");
    INFO(c->resp->body);
    CHECK(c->resp->status == 200);
    CHECK(f.fake->requests.size() == 2);
    CHECK(c->req.record.retries == 1);
    CHECK(c->req.record.upstream_status == 200);
    CHECK(c->req.record.error_type.empty());
    CHECK(c->req.record.input_tokens == -1);  // `usage: null`
    auto s = f.svc->stats();
    CHECK(s.retries == 1);
    CHECK(s.retries_429 == 1);
    CHECK(s.retries_503 == 0);
    REQUIRE_FALSE(s.pools.empty());
    CHECK(s.pools.back().name == "openai");
    check_overhead(c->resp->headers, *c);
}

TEST_CASE("openai route record: an upstream error keeps the status and sets error_type",
          "[api][openai_route][record][errors]")
{
    route_fixture f;
    f.fake->script = [](const seen_request&) {
        return scripted{{answer(500, "text/plain", "oops", {{"opc-request-id", "opc-err"}})}};
    };
    auto c = f.chat(R"({"model":"gpt-oss","messages":[]})");
    CHECK(c->resp->status == 500);
    CHECK(c->req.record.upstream_status == 500);
    CHECK(c->req.record.error_type == "upstream_error");
    CHECK(c->req.record.input_tokens == -1);
    CHECK(find_header(c->resp->headers, "x-oci-request-id").value_or("") == "opc-err");
    check_overhead(c->resp->headers, *c);
}

TEST_CASE("openai route record: a Response's usage names are read too",
          "[api][openai_route][record][responses]")
{
    route_fixture f;
    f.fake->script = [](const seen_request&) {
        return scripted{{answer(
            200, "application/json",
            R"({"id":"resp_1","object":"response","model":"xai.grok-4-0709","output":[],"usage":{"input_tokens":21,"input_tokens_details":{"cached_tokens":4},"output_tokens":13,"output_tokens_details":{"reasoning_tokens":6},"total_tokens":34},"user":null})")}};
    };
    auto c =
        f.call(api_route::responses, "POST", "/v1/responses", R"({"model":"grok","input":"x"})");
    REQUIRE(c->resp->status == 200);
    const auto& rec = c->req.record;
    CHECK(rec.operation == "responses");
    CHECK(rec.model == "grok");
    CHECK(rec.oci_model == "xai.grok-4");
    CHECK(rec.response_model == "xai.grok-4-0709");
    CHECK(rec.input_tokens == 21);
    CHECK(rec.cached_tokens == 4);
    CHECK(rec.output_tokens == 13);
    CHECK(rec.reasoning_tokens == 6);
    CHECK_FALSE(find_header(c->resp->headers, "x-oci-request-id").has_value());  // none sent
    check_overhead(c->resp->headers, *c);
}
