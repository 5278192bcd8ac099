// Region failover, fallback aliases, the circuit breaker and the retry budget through the
// service, in-process against several mock inference listeners (one per "region", each with
// its own fault switch), a closed port and a plain TCP listener (issue 16).

#include "fake_oci.hpp"
#include "inference.hpp"
#include "ogp/api/service.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "ogp/upstream/tls.hpp"
#include "ogp/util/asio.hpp"
#include "unit/api/fake_clock.hpp"
#include "unit/api/handler_call.hpp"
#include "unit/api/loopback_oci.hpp"
#include "unit/api/recording_sink.hpp"
#include "unit/auth/test_util.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
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

using ogp_test::api_route;
using ogp_test::fake_clock;
using ogp_test::find_header;
using ogp_test::handler_call;
using ogp_test::run_handler;

using boost::system::error_code;

namespace {

std::string chat_body(const std::string& model, bool stream = false)
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi there"}],)" +
           R"("stream":)" + (stream ? "true" : "false") + "}";
}

std::string str_at(const std::string& body, const char* pointer)
{
    rapidjson::Document d;
    d.Parse(body.data(), body.size());
    if (d.HasParseError()) {
        return {};
    }
    const auto* v = rapidjson::Pointer(pointer).Get(d);
    return v != nullptr && v->IsString() ? std::string(v->GetString()) : std::string();
}

// Accepts connections and answers each with plain-text HTTP bytes (a TLS client's handshake
// fails on them), then closes it.
net::awaitable<void> plain_listener(net::ip::tcp::acceptor& acceptor)
{
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(ogp::use_nothrow);
        if (ec) {
            co_return;
        }
        static constexpr std::string_view answer = "HTTP/1.1 400 Bad Request\r\n\r\n";
        co_await net::async_write(socket, net::buffer(answer), ogp::use_nothrow);
        error_code ignored;
        socket.close(ignored);
    }
}

// Regions "r1", "r2", "r3" served by three mock listeners (r3 is also the default endpoint),
// "down" by a closed port and "plain" by a plain TCP listener.
struct regions_fixture
{
    explicit regions_fixture(std::size_t max_inflight = 256) : clock_fn(clock.fn())
    {
        ca_file = dir.write("ca.pem", pki.ca_pem());
        auto [cert, key] = pki.server_cert("IP:127.0.0.1");
        for (int i = 0; i < 3; ++i) {
            mocks.push_back(ogp_test::make_inference(ioc, cert, key));
        }
        // A port nobody listens on: bound, read, closed.
        {
            net::ip::tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
            closed_port = a.local_endpoint().port();
        }
        plain.open(net::ip::tcp::v4());
        plain.set_option(net::socket_base::reuse_address(true));
        plain.bind({net::ip::make_address("127.0.0.1"), 0});
        plain.listen();
        net::co_spawn(ioc, plain_listener(plain), net::detached);

        auto url = ogp_test::loopback_url;
        ogp_test::base_config(cfg, url(mocks[2]->port()), ca_file);
        cfg.oci.endpoints = {{"r1", url(mocks[0]->port())},
                             {"r2", url(mocks[1]->port())},
                             {"r3", url(mocks[2]->port())},
                             {"down", url(closed_port)},
                             {"plain", url(plain.local_endpoint().port())}};
        cfg.limits.max_inflight_upstream = max_inflight;
        cfg.circuit_breaker.failures = 5;
        cfg.circuit_breaker.cooldown = 10s;
    }

    // Adds an alias of the mock's llama model.
    void alias(std::string name, std::vector<std::string> regions,
               std::vector<std::string> fallbacks = {})
    {
        model_alias a{.name = std::move(name), .id = "meta.llama-3.3-70b-instruct"};
        a.regions = std::move(regions);
        a.fallbacks = std::move(fallbacks);
        cfg.models.push_back(std::move(a));
    }

    // Makes the service (after the aliases are configured).
    void start_service()
    {
        creds =
            ogp_test::make_credential_cache(ioc, std::make_unique<ogp_test::counting_provider>());
        tls = upstream::make_client_tls_context(cfg.oci.ca_file);
        pools = std::make_shared<api::upstream_pools>(clock_fn);
        svc = std::make_unique<api::service>(cfg, *creds, tls, pools);
    }

    ~regions_fixture()
    {
        error_code ignored;
        plain.close(ignored);
        ogp_test::tear_down(ioc, svc, creds, [this] { mocks.clear(); });
    }

    std::shared_ptr<handler_call> start(api_route r, std::string body)
    {
        auto c = ogp_test::new_call(r, std::move(body), ++serial);
        net::co_spawn(ioc, run_handler(*svc, r, c), net::detached);
        return c;
    }

    std::shared_ptr<handler_call> call(api_route r, std::string body,
                                       std::chrono::milliseconds limit = 20s)
    {
        auto c = start(r, std::move(body));
        REQUIRE(run_until(
            ioc, [&c] { return c->resp.has_value(); }, limit));
        return c;
    }

    void fault(int i, std::string mode, unsigned status = 0, std::string retry_after = {})
    {
        mock::fault f;
        f.mode = std::move(mode);
        f.status = status;
        f.retry_after = std::move(retry_after);
        mocks[static_cast<std::size_t>(i)]->set_fault(std::move(f));
    }

    mock::inference_stats& stats(int i) { return mocks[static_cast<std::size_t>(i)]->stats(); }
    // Requests a listener served or faulted.
    std::uint64_t asked(int i) { return stats(i).chat.load() + stats(i).faulted.load(); }

    std::optional<api::circuit_status> circuit(std::string_view upstream)
    {
        for (auto& c : svc->circuits()) {
            if (c.upstream == upstream) {
                return c;
            }
        }
        return std::nullopt;
    }

    fake_clock clock;
    api::steady_clock_fn clock_fn;
    net::io_context ioc;
    mock::test_pki pki;
    temp_dir dir;
    std::string ca_file;
    std::vector<std::unique_ptr<mock::inference_server>> mocks;
    std::uint16_t closed_port = 0;
    net::ip::tcp::acceptor plain{ioc};
    config cfg;
    std::unique_ptr<auth::credential_cache> creds;
    std::shared_ptr<net::ssl::context> tls;
    std::shared_ptr<api::upstream_pools> pools;
    std::unique_ptr<api::service> svc;
    int serial = 0;
};

}  // namespace

TEST_CASE("failover: a 503 from the first region moves on to the second at once", "[api][failover]")
{
    regions_fixture f;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    // Retry-After 1 would be waited on the last region: here it must not be.
    f.fault(0, "status", 503, "1");
    auto c = f.call(api_route::chat, chat_body("multi"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(str_at(r.body, "/model") == "multi");
    CHECK(f.asked(0) == 1);
    CHECK(f.stats(0).faulted.load() == 1);
    CHECK(f.asked(1) == 1);
    CHECK(f.stats(1).chat.load() == 1);
    CHECK(c->req.record.region == "r2");
    CHECK(c->req.record.failovers == 1);
    CHECK(c->req.record.fallback.empty());
    CHECK(f.svc->stats().retries == 0);
    CHECK_FALSE(find_header(c->req.answer_headers, "x-ogp-fallback").has_value());
}

TEST_CASE("failover: a refused connection moves on to the next region", "[api][failover]")
{
    regions_fixture f;
    f.alias("multi", {"down", "r2"});
    f.start_service();
    auto c = f.call(api_route::chat, chat_body("multi"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(f.asked(1) == 1);
    CHECK(c->req.record.region == "r2");
    CHECK(c->req.record.failovers == 1);
    CHECK(c->req.record.error_type.empty());
}

TEST_CASE("failover: a failed TLS handshake moves on to the next region", "[api][failover]")
{
    regions_fixture f;
    f.alias("multi", {"plain", "r2"});
    f.start_service();
    auto c = f.call(api_route::chat, chat_body("multi"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(f.asked(1) == 1);
    CHECK(c->req.record.region == "r2");
    CHECK(c->req.record.failovers == 1);
}

TEST_CASE("failover: a healthy first region answers alone", "[api][failover]")
{
    regions_fixture f;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    auto c = f.call(api_route::chat, chat_body("multi"));
    REQUIRE(c->resp->status == 200);
    CHECK(f.asked(0) == 1);
    CHECK(f.asked(1) == 0);
    CHECK(c->req.record.region == "r1");
    CHECK(c->req.record.failovers == 0);
}

TEST_CASE("failover: never once a streamed byte reached the client", "[api][failover][stream]")
{
    regions_fixture f;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    f.fault(0, "reset_after_first");
    auto c = f.call(api_route::chat, chat_body("multi", true));
    const auto& s = c->sink;
    INFO(s.data);
    REQUIRE(s.began);
    CHECK(s.status == 200);
    CHECK(s.writes >= 1);
    // The stream ends with an error event, not [DONE], and region 2 is never asked.
    CHECK(s.data.find("upstream_incomplete") != std::string::npos);
    CHECK(s.data.find("[DONE]") == std::string::npos);
    CHECK(f.stats(0).faulted.load() == 1);
    CHECK(f.asked(1) == 0);
    CHECK(c->req.record.failovers == 0);
    CHECK(c->req.record.region == "r1");
}

TEST_CASE("failover: the fallback alias answers when every region fails", "[api][fallback]")
{
    regions_fixture f;
    f.alias("primary", {"r1", "r2"}, {"backup"});
    f.alias("backup", {"r3"});
    f.start_service();
    // A Retry-After beyond the bound is not waited: the last region answers at once.
    f.fault(0, "status", 503, "30");
    f.fault(1, "status", 500);
    auto c = f.call(api_route::chat, chat_body("primary"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(str_at(r.body, "/model") == "backup");
    CHECK(f.asked(0) == 1);
    CHECK(f.asked(1) == 1);
    CHECK(f.stats(2).chat.load() == 1);
    CHECK(find_header(c->req.answer_headers, "x-ogp-fallback").value_or("") == "backup");
    CHECK(c->req.record.fallback == "backup");
    CHECK(c->req.record.model == "primary");
    CHECK(c->req.record.region == "r3");
    // r1 and r2 given up on.
    CHECK(c->req.record.failovers == 2);
    CHECK(c->req.record.error_type.empty());
}

TEST_CASE("failover: a streamed request falls back too (nothing was sent yet)",
          "[api][fallback][stream]")
{
    regions_fixture f;
    f.alias("primary", {"r1"}, {"backup"});
    f.alias("backup", {"r2"});
    f.start_service();
    f.fault(0, "status", 500);
    auto c = f.call(api_route::chat, chat_body("primary", true));
    const auto& s = c->sink;
    INFO(s.data);
    REQUIRE(s.began);
    CHECK(s.data.ends_with("data: [DONE]\n\n"));
    CHECK(s.data.find("\"model\":\"backup\"") != std::string::npos);
    CHECK(f.stats(1).chat.load() == 1);
    CHECK(c->req.record.fallback == "backup");
    CHECK(find_header(c->req.answer_headers, "x-ogp-fallback").value_or("") == "backup");
}

TEST_CASE("failover: no fallback for an answer that is not fail-over-able", "[api][fallback]")
{
    regions_fixture f;
    f.alias("primary", {"r1"}, {"backup"});
    f.alias("backup", {"r2"});
    f.start_service();
    f.fault(0, "status", 400);
    auto c = f.call(api_route::chat, chat_body("primary"));
    CHECK(c->resp->status == 400);
    CHECK(f.asked(1) == 0);
    CHECK(c->req.record.fallback.empty());
    CHECK_FALSE(find_header(c->req.answer_headers, "x-ogp-fallback").has_value());
}

TEST_CASE("failover: the circuit opens after the failures, skips the host, closes after a probe",
          "[api][circuit]")
{
    regions_fixture f;
    f.cfg.circuit_breaker.failures = 2;
    f.cfg.circuit_breaker.cooldown = 10s;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    f.fault(0, "status", 503, "30");
    for (int i = 0; i < 2; ++i) {
        auto c = f.call(api_route::chat, chat_body("multi"));
        REQUIRE(c->resp->status == 200);
    }
    CHECK(f.asked(0) == 2);
    auto open = f.circuit("r1");
    REQUIRE(open.has_value());
    CHECK(open->state == api::circuit_state::open);
    CHECK(open->retry_in == 10s);
    CHECK(open->opened == 1);
    CHECK(open->host == "127.0.0.1:" + std::to_string(f.mocks[0]->port()));
    CHECK(f.circuit("r2").value().state == api::circuit_state::closed);
    CHECK(f.circuit("default").has_value());

    // Open: r1 is not asked at all.
    auto skipped = f.call(api_route::chat, chat_body("multi"));
    REQUIRE(skipped->resp->status == 200);
    CHECK(f.asked(0) == 2);
    CHECK(skipped->req.record.failovers == 1);
    CHECK(skipped->req.record.region == "r2");

    // After the cooldown one probe goes to r1; healthy again, it closes the circuit.
    f.mocks[0]->clear_fault();
    f.clock.t += 10s;
    CHECK(f.circuit("r1").value().state == api::circuit_state::half_open);
    auto probe = f.call(api_route::chat, chat_body("multi"));
    REQUIRE(probe->resp->status == 200);
    CHECK(f.stats(0).chat.load() == 1);
    CHECK(probe->req.record.region == "r1");
    CHECK(f.circuit("r1").value().state == api::circuit_state::closed);
    auto after = f.call(api_route::chat, chat_body("multi"));
    CHECK(after->req.record.region == "r1");
    CHECK(f.stats(0).chat.load() == 2);
}

TEST_CASE("failover: every circuit open answers 503 with the time until the next probe",
          "[api][circuit]")
{
    regions_fixture f;
    f.cfg.circuit_breaker.failures = 1;
    f.cfg.circuit_breaker.cooldown = 10s;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    f.fault(0, "status", 503, "30");
    f.fault(1, "status", 502);
    auto first = f.call(api_route::chat, chat_body("multi"));
    CHECK(first->resp->status >= 500);
    CHECK(f.asked(0) == 1);
    CHECK(f.asked(1) == 1);
    f.clock.t += 3s;
    auto c = f.call(api_route::chat, chat_body("multi"));
    const auto& r = *c->resp;
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(find_header(r.headers, "Retry-After").value_or("") == "7");
    CHECK(str_at(r.body, "/error/code") == "upstream_unavailable");
    CHECK(c->req.record.error_type == "upstream_unavailable");
    CHECK(c->req.record.failovers == 2);
    CHECK(f.asked(0) == 1);
    CHECK(f.asked(1) == 1);
}

TEST_CASE("failover: open circuits of an alias still let its fallback answer", "[api][circuit]")
{
    regions_fixture f;
    f.cfg.circuit_breaker.failures = 1;
    f.alias("primary", {"r1"}, {"backup"});
    f.alias("backup", {"r2"});
    f.start_service();
    f.fault(0, "status", 503, "30");
    auto first = f.call(api_route::chat, chat_body("primary"));
    REQUIRE(first->resp->status == 200);
    CHECK(first->req.record.fallback == "backup");
    auto second = f.call(api_route::chat, chat_body("primary"));
    REQUIRE(second->resp->status == 200);
    CHECK(second->req.record.fallback == "backup");
    CHECK(f.asked(0) == 1);  // open: skipped
    CHECK(f.stats(1).chat.load() == 2);
}

TEST_CASE("failover: OCI's Retry-After is honoured on the last region", "[api][failover][retry]")
{
    regions_fixture f;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    f.fault(0, "status", 429, "1");
    f.fault(1, "status", 429, "1");
    const auto t0 = std::chrono::steady_clock::now();
    auto c = f.call(api_route::chat, chat_body("multi"));
    const auto took = std::chrono::steady_clock::now() - t0;
    const auto& r = *c->resp;
    INFO(r.body);
    CHECK(r.status == 429);
    CHECK(find_header(r.headers, "Retry-After").has_value());
    // r1 once (no wait: moved on), r2 three times (two retries after Retry-After: 1 each).
    CHECK(f.stats(0).faulted.load() == 1);
    CHECK(f.stats(1).faulted.load() == 3);
    CHECK(f.svc->stats().retries_429 == 2);
    CHECK(c->req.record.failovers == 1);
    CHECK(took >= 1900ms);
}

TEST_CASE("failover: a Retry-After beyond the bound on the last region is passed on",
          "[api][failover][retry]")
{
    regions_fixture f;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    f.fault(0, "status", 429, "60");
    f.fault(1, "status", 429, "60");
    auto c = f.call(api_route::chat, chat_body("multi"));
    const auto& r = *c->resp;
    CHECK(r.status == 429);
    CHECK(find_header(r.headers, "Retry-After").value_or("") == "60");
    CHECK(f.stats(0).faulted.load() == 1);
    CHECK(f.stats(1).faulted.load() == 1);
    CHECK(f.svc->stats().retries == 0);
}

TEST_CASE("failover: the retry budget lets only a few 429s sleep at once, the rest answer",
          "[api][retry][budget]")
{
    // 10 in flight: budget max(retry_budget_min 3, 10 / 5) = 3.
    regions_fixture f(10);
    f.alias("plainmodel", {});
    f.start_service();
    f.fault(2, "status", 429, "2");
    std::vector<std::shared_ptr<handler_call>> calls;
    for (int i = 0; i < 10; ++i) {
        calls.push_back(f.start(api_route::chat, chat_body("plainmodel")));
    }
    auto answered = [&calls] {
        int n = 0;
        for (const auto& c : calls) {
            n += c->resp.has_value() ? 1 : 0;
        }
        return n;
    };
    // Seven answer 429 at once; three sleep out the Retry-After (2 s) before retrying.
    REQUIRE(run_until(
        f.ioc, [&] { return answered() >= 7 && f.stats(2).faulted.load() >= 10; }, 10s));
    CHECK(answered() == 7);
    CHECK(f.stats(2).faulted.load() == 10);
    for (const auto& c : calls) {
        if (c->resp) {
            CHECK(c->resp->status == 429);
            CHECK(c->req.record.retries == 0);
        }
    }
    REQUIRE(run_until(
        f.ioc, [&] { return answered() == 10; }, 20s));
    int retried = 0;
    for (const auto& c : calls) {
        CHECK(c->resp->status == 429);
        retried += c->req.record.retries > 0 ? 1 : 0;
    }
    CHECK(retried == 3);
    // Each sleeper retried twice (max_retries).
    CHECK(f.svc->stats().retries_429 == 6);
    CHECK(f.stats(2).faulted.load() == 16);
}

TEST_CASE("failover: embeddings fail over between regions too", "[api][failover][embeddings]")
{
    regions_fixture f;
    model_alias e{.name = "emb", .id = "cohere.embed-english-v3.0"};
    e.input_type = "SEARCH_DOCUMENT";
    e.regions = {"r1", "r2"};
    f.cfg.models.push_back(e);
    f.start_service();
    f.fault(0, "status", 503, "30");
    auto c = f.call(api_route::embeddings, R"({"model":"emb","input":["a","b"]})");
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(f.stats(1).embed.load() == 1);
    CHECK(c->req.record.region == "r2");
    CHECK(c->req.record.failovers == 1);
}

TEST_CASE("failover: an openai-route alias fails over between the regions' OpenAI endpoints",
          "[api][failover][openai]")
{
    regions_fixture f;
    f.cfg.oci.project_id = "ocid1.generativeaiproject.oc1..unit";
    model_alias oss{.name = "oss", .id = "openai.gpt-oss-120b", .route = model_route::openai};
    oss.regions = {"r1", "r2"};
    f.cfg.models.push_back(oss);
    f.start_service();
    f.fault(0, "status", 503, "30");
    auto c = f.call(api_route::chat, chat_body("oss"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(f.stats(0).faulted.load() == 1);
    CHECK(f.asked(1) == 0);  // served by r2's OpenAI-compatible API, not its native chat
    CHECK(c->req.record.route == "openai");
    CHECK(c->req.record.region == "r2");
    CHECK(c->req.record.failovers == 1);
}

TEST_CASE("failover: a native alias falls back to an openai-route alias", "[api][fallback]")
{
    regions_fixture f;
    f.cfg.oci.project_id = "ocid1.generativeaiproject.oc1..unit";
    f.alias("primary", {"r1"}, {"oss"});
    model_alias oss{.name = "oss", .id = "openai.gpt-oss-120b", .route = model_route::openai};
    oss.regions = {"r2"};
    f.cfg.models.push_back(oss);
    f.start_service();
    f.fault(0, "status", 504);
    auto c = f.call(api_route::chat, chat_body("primary"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    // The openai route relays OCI's answer as it is (its model id).
    CHECK(str_at(r.body, "/model") == "openai.gpt-oss-120b");
    CHECK(c->req.record.fallback == "oss");
    CHECK(c->req.record.route == "openai");
    CHECK(find_header(c->req.answer_headers, "x-ogp-fallback").value_or("") == "oss");
}

TEST_CASE("failover: the next configuration generation sees the circuits of the last",
          "[api][circuit]")
{
    regions_fixture f;
    f.cfg.circuit_breaker.failures = 1;
    f.alias("multi", {"r1", "r2"});
    f.start_service();
    f.fault(0, "status", 503, "30");
    auto c = f.call(api_route::chat, chat_body("multi"));
    REQUIRE(c->resp->status == 200);
    REQUIRE(f.circuit("r1").value().state == api::circuit_state::open);
    // A reload: a new service on the same pools (and breakers), a longer cooldown.
    f.cfg.circuit_breaker.cooldown = 60s;
    f.svc->close_idle();
    f.svc = std::make_unique<api::service>(f.cfg, *f.creds, f.tls, f.svc->pools());
    CHECK(f.circuit("r1").value().state == api::circuit_state::open);
    CHECK(f.circuit("r1").value().retry_in == 60s);
    auto again = f.call(api_route::chat, chat_body("multi"));
    REQUIRE(again->resp->status == 200);
    CHECK(f.stats(0).faulted.load() == 1);  // skipped
    CHECK(again->req.record.region == "r2");
}

TEST_CASE("failover: when the fallbacks fail too the answer names no fallback", "[api][fallback]")
{
    regions_fixture f;
    f.alias("primary", {"r1"}, {"backup"});
    f.alias("backup", {"r2"});
    f.start_service();
    f.fault(0, "status", 503, "30");
    f.fault(1, "status", 503, "30");
    auto c = f.call(api_route::chat, chat_body("primary"));
    const auto& r = *c->resp;
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(f.stats(0).faulted.load() == 1);
    CHECK(f.stats(1).faulted.load() == 1);
    CHECK(c->req.record.fallback.empty());
    CHECK_FALSE(find_header(c->req.answer_headers, "x-ogp-fallback").has_value());
    CHECK(c->req.record.failovers == 1);
}
