// The api handlers (ogp::api::service: chat, embeddings) in-process, against the mock's
// inference server as a loopback fake OCI (TLS on 127.0.0.1 with a test CA, strict signature
// checks, fault models): translation, streaming through the sink, retries, the 401 renewal,
// client disconnects and the in-flight cap, without a daemon process (issue 11).

#include "ogp/api/service.hpp"
#include "fake_oci.hpp"
#include "inference.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "ogp/upstream/tls.hpp"
#include "ogp/util/asio.hpp"
#include "unit/api/handler_call.hpp"
#include "unit/api/loopback_oci.hpp"
#include "unit/api/recording_sink.hpp"
#include "unit/auth/test_util.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
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
using steady = std::chrono::steady_clock;

using ogp_test::api_route;
using ogp_test::check_overhead;
using ogp_test::counting_provider;
using ogp_test::find_header;
using ogp_test::handler_call;
using ogp_test::recording_sink;
using ogp_test::run_handler;

namespace {

std::string chat_body(const std::string& model, const std::string& prompt, bool stream = false)
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":")" + prompt +
           R"("}],"stream":)" + (stream ? "true" : "false") + "}";
}

rapidjson::Document parse(const std::string& body)
{
    rapidjson::Document d;
    d.Parse(body.data(), body.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

std::string str_at(const rapidjson::Document& d, const char* pointer)
{
    const auto* v = rapidjson::Pointer(pointer).Get(d);
    return v != nullptr && v->IsString() ? std::string(v->GetString()) : std::string();
}

// A service against an in-process mock OCI, everything on one io_context run by the test.
struct loopback_oci : ogp_test::loopback_base
{
    explicit loopback_oci(std::size_t max_inflight = 256)
    {
        inference = ogp_test::make_inference(ioc, cert_pem, key_pem);

        ogp_test::base_config(cfg, ogp_test::loopback_url(inference->port()), ca_file);
        cfg.models.push_back({.name = "gpt-4o-mini", .id = "meta.llama-3.3-70b-instruct"});
        cfg.models.push_back({.name = "text-embedding-3-small",
                              .id = "cohere.embed-english-v3.0",
                              .input_type = "SEARCH_DOCUMENT"});
        cfg.limits.max_inflight_upstream = max_inflight;

        auto p = std::make_unique<counting_provider>();
        provider = p.get();
        creds = ogp_test::make_credential_cache(ioc, std::move(p));  // renews on demand only
        tls = upstream::make_client_tls_context(cfg.oci.ca_file);
        svc = std::make_unique<api::service>(cfg, *creds, tls);
    }

    ~loopback_oci()
    {
        ogp_test::tear_down(ioc, svc, creds, [this] { inference.reset(); });
    }

    // Starts a handler; the test runs the io_context.
    std::shared_ptr<handler_call> start(api_route r, std::string body)
    {
        auto c = ogp_test::new_call(r, std::move(body), ++serial);
        net::co_spawn(ioc, run_handler(*svc, r, c), net::detached);
        return c;
    }

    // Runs a handler to completion with a hard bound.
    std::shared_ptr<handler_call> call(api_route r, std::string body,
                                       std::chrono::milliseconds limit = 15s)
    {
        auto c = start(r, std::move(body));
        REQUIRE(run_until(
            ioc, [&c] { return c->resp.has_value(); }, limit));
        return c;
    }

    mock::inference_stats& mock_stats() { return inference->stats(); }

    std::unique_ptr<mock::inference_server> inference;
    config cfg;
    counting_provider* provider = nullptr;
    std::unique_ptr<auth::credential_cache> creds;
    std::shared_ptr<net::ssl::context> tls;
    std::unique_ptr<api::service> svc;
    int serial = 0;
};

// The `data:` payloads of an SSE body, in order.
std::vector<std::string> sse_events(const std::string& body)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
        auto end = body.find("\n\n", pos);
        REQUIRE(end != std::string::npos);
        out.push_back(body.substr(pos + 6, end - pos - 6));
        pos = end + 2;
    }
    return out;
}

}  // namespace

TEST_CASE("service: non-streamed chat answers an OpenAI chat.completion", "[api][service]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, chat_body("gpt-4o-mini", "hello"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK_FALSE(c->sink.began);
    CHECK(r.content_type == "application/json");
    auto d = parse(r.body);
    CHECK(str_at(d, "/object") == "chat.completion");
    CHECK(str_at(d, "/model") == "gpt-4o-mini");
    CHECK(str_at(d, "/id").starts_with("chatcmpl-"));
    CHECK(str_at(d, "/choices/0/message/role") == "assistant");
    CHECK(str_at(d, "/choices/0/message/content") == mock::replies::reply_text("hello"));
    CHECK(str_at(d, "/choices/0/finish_reason") == "stop");
    CHECK(find_header(r, "opc-request-id").has_value());
    CHECK(f.svc->stats().upstream_requests == 1);
    CHECK(f.svc->stats().retries == 0);
    CHECK(f.mock_stats().chat.load() == 1);
    CHECK(f.mock_stats().rejected_signatures.load() == 0);
    CHECK(f.provider->calls.load() == 1);
}

TEST_CASE("service: streamed chat writes SSE chunks through the sink, then [DONE]",
          "[api][service][stream]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, chat_body("gpt-4o-mini", "stream me", true));
    const auto& s = c->sink;
    INFO(s.data);
    REQUIRE(s.began);
    CHECK(s.status == 200);
    CHECK(s.content_type == "text/event-stream");
    CHECK(s.ended);
    CHECK(s.writes >= 2);
    auto events = sse_events(s.data);
    REQUIRE(events.size() >= 2);
    CHECK(events.back() == "[DONE]");
    CHECK(s.data.ends_with("data: [DONE]\n\n"));
    std::string text;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        auto d = parse(events[i]);
        CHECK(str_at(d, "/object") == "chat.completion.chunk");
        CHECK(str_at(d, "/model") == "gpt-4o-mini");
        text += str_at(d, "/choices/0/delta/content");
    }
    CHECK(text == mock::replies::reply_text("stream me"));
    CHECK(f.svc->stats().upstream_requests == 1);
    CHECK(f.mock_stats().rejected_signatures.load() == 0);
}

TEST_CASE("service: POST /v1/responses answers a Response object from the same OCI chat",
          "[api][service][responses]")
{
    loopback_oci f;
    auto c = f.call(api_route::responses,
                    R"({"model":"gpt-4o-mini","input":"hello","instructions":"Be brief."})");
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "application/json");
    auto d = parse(r.body);
    CHECK(str_at(d, "/object") == "response");
    CHECK(str_at(d, "/id").starts_with("resp_"));
    CHECK(str_at(d, "/status") == "completed");
    CHECK(str_at(d, "/instructions") == "Be brief.");
    CHECK(str_at(d, "/output/0/type") == "message");
    CHECK(str_at(d, "/output/0/content/0/text") == mock::replies::reply_text("hello"));
    CHECK(find_header(r, "opc-request-id").has_value());
    CHECK(f.mock_stats().chat.load() == 1);
    CHECK(f.mock_stats().rejected_signatures.load() == 0);
}

TEST_CASE("service: a streamed Response: events with sequence numbers, no [DONE]",
          "[api][service][responses][stream]")
{
    loopback_oci f;
    auto c = f.call(api_route::responses,
                    R"({"model":"command-r-plus","input":"stream me","stream":true})");
    const auto& s = c->sink;
    INFO(s.data);
    REQUIRE(s.began);
    CHECK(s.status == 200);
    CHECK(s.content_type == "text/event-stream");
    CHECK(s.ended);
    auto events = sse_events(s.data);
    REQUIRE(events.size() >= 6);
    std::string text;
    for (std::size_t i = 0; i < events.size(); ++i) {
        auto d = parse(events[i]);
        CHECK(d["sequence_number"].GetInt64() == static_cast<std::int64_t>(i));
        // Each data line is announced by its `event:` line.
        CHECK(s.data.find("event: " + str_at(d, "/type") + "\ndata: ") != std::string::npos);
        if (str_at(d, "/type") == "response.output_text.delta") {
            text += str_at(d, "/delta");
        }
    }
    CHECK(str_at(parse(events.front()), "/type") == "response.created");
    CHECK(str_at(parse(events.back()), "/type") == "response.completed");
    CHECK(text == mock::replies::reply_text("stream me"));
    CHECK(s.data.find("[DONE]") == std::string::npos);
    CHECK(f.mock_stats().rejected_signatures.load() == 0);
}

TEST_CASE("service: a 429 is retried per the policy, then answered 429 with Retry-After",
          "[api][service][retry]")
{
    loopback_oci f;
    const auto start = steady::now();
    auto c = f.call(api_route::chat, chat_body("meta.mock-429", "x"), 20s);
    const auto took = steady::now() - start;
    const auto& r = *c->resp;
    INFO(r.body);
    CHECK(r.status == 429);
    auto d = parse(r.body);
    CHECK(str_at(d, "/error/type") == "rate_limit_error");
    CHECK(str_at(d, "/error/code") == "rate_limit_exceeded");
    CHECK(find_header(r, "Retry-After").has_value());
    // Two retries, each after the mock's Retry-After: 1.
    CHECK(f.svc->stats().retries == 2);
    CHECK(f.svc->stats().upstream_requests == 3);
    CHECK(f.mock_stats().requests.load() == 3);
    CHECK(took >= 1900ms);
}

TEST_CASE("service: an upstream 401 renews the credentials once, retries once, then 502",
          "[api][service][401]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, chat_body("meta.mock-401", "x"));
    const auto& r = *c->resp;
    INFO(r.body);
    CHECK(r.status == 502);
    auto d = parse(r.body);
    CHECK(str_at(d, "/error/type") == "api_error");
    CHECK(str_at(d, "/error/code") == "upstream_authentication_failed");
    CHECK(r.body.find("authentication was not") == std::string::npos);  // our words only
    CHECK(f.svc->stats().upstream_requests == 2);
    CHECK(f.svc->stats().retries == 1);
    CHECK(f.mock_stats().requests.load() == 2);
    CHECK(f.provider->calls.load() == 2);  // v1 refused, v2 fetched for the one retry
}

TEST_CASE("service: a client disconnect mid-stream aborts the upstream exchange",
          "[api][service][disconnect]")
{
    loopback_oci f;
    // mock-slow: 100 ms between upstream writes, one per token of a long answer (seconds).
    std::string prompt;
    for (int i = 0; i < 40; ++i) {
        prompt += "word" + std::to_string(i) + " ";
    }
    auto c = f.start(api_route::chat, chat_body("meta.mock-slow-1", prompt, true));
    REQUIRE(run_until(
        f.ioc, [&c] { return c->sink.writes >= 1; }, 10s));
    REQUIRE_FALSE(c->resp.has_value());
    // The server notices the disconnect while the handler waits for the next upstream bytes.
    const auto gone_at = steady::now();
    c->sink.disconnect();
    REQUIRE(run_until(
        f.ioc, [&c] { return c->resp.has_value(); }, 5s));
    CHECK(c->finished - gone_at < 1s);
    CHECK_FALSE(c->sink.data.ends_with("data: [DONE]\n\n"));
    CHECK_FALSE(c->sink.ended);
    // The mock sees its stream closed by the client (its next writes fail).
    CHECK(run_until(
        f.ioc, [&f] { return f.mock_stats().closed_by_client.load() == 1; }, 5s));
    CHECK(f.mock_stats().chat.load() == 1);
    CHECK(f.svc->stats().upstream_requests == 1);
}

TEST_CASE("service: the in-flight cap answers 503 with Retry-After while the slot is held",
          "[api][service][overload]")
{
    loopback_oci f(1);
    // mock-hang: the request is read and never answered; it holds the only slot.
    auto busy = f.start(api_route::chat, chat_body("meta.mock-hang-1", "x"));
    REQUIRE(run_until(
        f.ioc, [&f] { return f.mock_stats().requests.load() == 1; }, 10s));
    REQUIRE_FALSE(busy->resp.has_value());

    auto refused = f.call(api_route::chat, chat_body("gpt-4o-mini", "second"), 5s);
    const auto& r = *refused->resp;
    INFO(r.body);
    CHECK(r.status == 503);
    CHECK(find_header(r, "Retry-After").value_or("") == "1");
    auto d = parse(r.body);
    CHECK(str_at(d, "/error/type") == "service_unavailable_error");
    CHECK(f.svc->stats().upstream_requests == 1);
    CHECK(f.mock_stats().requests.load() == 1);
    CHECK_FALSE(busy->resp.has_value());

    // The hanging request's client goes away: its exchange is aborted and the slot freed.
    const auto gone_at = steady::now();
    busy->sink.disconnect();
    REQUIRE(run_until(
        f.ioc, [&busy] { return busy->resp.has_value(); }, 5s));
    CHECK(busy->finished - gone_at < 1s);
    auto ok = f.call(api_route::chat, chat_body("gpt-4o-mini", "third"));
    CHECK(ok->resp->status == 200);
    CHECK(f.svc->stats().upstream_requests == 2);
}

TEST_CASE("service: embeddings answer an OpenAI list", "[api][service][embeddings]")
{
    loopback_oci f;
    auto c = f.call(api_route::embeddings,
                    R"({"model":"text-embedding-3-small","input":["first","second"]})");
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto d = parse(r.body);
    CHECK(str_at(d, "/object") == "list");
    CHECK(str_at(d, "/model") == "text-embedding-3-small");
    const auto* data = rapidjson::Pointer("/data").Get(d);
    REQUIRE(data != nullptr);
    REQUIRE(data->IsArray());
    REQUIRE(data->Size() == 2);
    for (rapidjson::SizeType i = 0; i < 2; ++i) {
        const auto& item = (*data)[i];
        CHECK(std::string(item["object"].GetString()) == "embedding");
        CHECK(item["index"].GetInt() == static_cast<int>(i));
        REQUIRE(item["embedding"].IsArray());
        CHECK(item["embedding"].Size() > 0);
    }
    CHECK(f.mock_stats().embed.load() == 1);
    CHECK(f.svc->stats().upstream_requests == 1);
}

TEST_CASE("service: a request body that is not JSON is a 400 without any upstream request",
          "[api][service][validation]")
{
    loopback_oci f;
    for (auto r : {api_route::chat, api_route::embeddings}) {
        auto c = f.call(r, "{not json", 5s);
        INFO(c->resp->body);
        CHECK(c->resp->status == 400);
        auto d = parse(c->resp->body);
        CHECK(str_at(d, "/error/type") == "invalid_request_error");
    }
    CHECK(f.svc->stats().upstream_requests == 0);
    CHECK(f.mock_stats().requests.load() == 0);
}

// --- issue 15: the exchange record, the overhead headers, retries by reason, shared pools ---

TEST_CASE("service record: a native chat fills models tokens route and status",
          "[api][service][record]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, chat_body("gpt-4o-mini", "hello"));
    const auto& r = *c->resp;
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto& rec = c->req.record;
    CHECK(rec.operation == "chat");
    CHECK(rec.model == "gpt-4o-mini");
    CHECK(rec.oci_model == "meta.llama-3.3-70b-instruct");
    CHECK(rec.response_model == "meta.llama-3.3-70b-instruct");  // the mock's modelId
    CHECK(rec.route == "native");
    CHECK(rec.input_tokens > 0);
    CHECK(rec.output_tokens > 0);
    CHECK(rec.cached_tokens == 0);
    CHECK(rec.reasoning_tokens == 0);
    CHECK(rec.ttft.count() < 0);  // not a stream
    CHECK(rec.upstream.count() > 0);
    CHECK(rec.sign.count() > 0);  // API-key signing
    CHECK(rec.upstream_status == 200);
    CHECK(rec.retries == 0);
    CHECK(rec.error_type.empty());
    check_overhead(r.headers, *c);
    // OCI's request id, as opc-request-id (kept) and as x-oci-request-id.
    auto opc = find_header(r, "opc-request-id");
    REQUIRE(opc.has_value());
    CHECK(find_header(r, "x-oci-request-id") == opc);
}

TEST_CASE("service record: a streamed chat has ttft and the final usage",
          "[api][service][record][stream]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, chat_body("gpt-4o-mini", "stream me please", true));
    const auto& s = c->sink;
    REQUIRE(s.began);
    REQUIRE(s.ended);
    const auto& rec = c->req.record;
    CHECK(rec.operation == "chat");
    CHECK(rec.route == "native");
    CHECK(rec.model == "gpt-4o-mini");
    CHECK(rec.ttft.count() >= 0);
    CHECK(rec.ttft <=
          std::chrono::duration_cast<std::chrono::microseconds>(c->finished - c->started));
    CHECK(rec.input_tokens > 0);
    CHECK(rec.output_tokens > 0);
    CHECK(rec.upstream_status == 200);
    CHECK(rec.error_type.empty());
    // The headers went first: upstream is the time to OCI's first byte.
    check_overhead(s.headers, *c);
    auto o = ogp_test::read_overhead(s.headers);
    REQUIRE(o.has_value());
    CHECK(o->upstream_ms <= std::chrono::duration<double, std::milli>(rec.upstream).count());
    CHECK(ogp_test::find_header(s.headers, "x-oci-request-id") ==
          ogp_test::find_header(s.headers, "opc-request-id"));
}

TEST_CASE("service record: 429 and 401 retries are counted by reason",
          "[api][service][record][retry]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, chat_body("meta.mock-429", "x"), 20s);
    CHECK(c->resp->status == 429);
    CHECK(c->req.record.retries == 2);
    CHECK(c->req.record.upstream_status == 429);
    CHECK(c->req.record.error_type == "rate_limited");
    CHECK(c->req.record.model.empty());  // not an alias, and OCI never served it
    CHECK(c->req.record.oci_model == "meta.mock-429");
    check_overhead(c->resp->headers, *c);
    auto s = f.svc->stats();
    CHECK(s.retries_429 == 2);
    CHECK(s.retries_503 == 0);
    CHECK(s.retries_401 == 0);

    auto d = f.call(api_route::chat, chat_body("meta.mock-401", "x"));
    CHECK(d->resp->status == 502);
    CHECK(d->req.record.retries == 1);
    CHECK(d->req.record.error_type == "upstream_error");
    s = f.svc->stats();
    CHECK(s.retries_401 == 1);
    CHECK(s.retries == s.retries_401 + s.retries_429 + s.retries_503);
}

TEST_CASE("service record: an upstream error sets error_type and the status",
          "[api][service][record]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, chat_body("meta.mock-500", "x"));
    INFO(c->resp->body);
    CHECK(c->resp->status >= 500);
    CHECK(c->req.record.upstream_status == 500);
    CHECK(c->req.record.error_type == "upstream_error");
    CHECK(c->req.record.route == "native");
    check_overhead(c->resp->headers, *c);
}

TEST_CASE("service record: a 400 of the proxy has the headers with no upstream time",
          "[api][service][record][validation]")
{
    loopback_oci f;
    auto c = f.call(api_route::chat, "{not json", 5s);
    CHECK(c->resp->status == 400);
    CHECK(c->req.record.error_type == "invalid_request");
    CHECK(c->req.record.upstream_status == 0);
    CHECK(c->req.record.route.empty());
    auto o = ogp_test::read_overhead(c->resp->headers);
    REQUIRE(o.has_value());
    CHECK(o->upstream_ms == 0);
    CHECK_FALSE(find_header(*c->resp, "x-oci-request-id").has_value());
}

TEST_CASE("service record: embeddings fill the record", "[api][service][record][embeddings]")
{
    loopback_oci f;
    auto c = f.call(api_route::embeddings,
                    R"({"model":"text-embedding-3-small","input":["first","second"]})");
    REQUIRE(c->resp->status == 200);
    const auto& rec = c->req.record;
    CHECK(rec.operation == "embeddings");
    CHECK(rec.model == "text-embedding-3-small");
    CHECK(rec.oci_model == "cohere.embed-english-v3.0");
    CHECK(rec.route == "native");
    CHECK(rec.input_tokens > 0);
    CHECK(rec.upstream_status == 200);
    check_overhead(c->resp->headers, *c);
}

TEST_CASE("service: two services share pools and one credential cache", "[api][service][reload]")
{
    loopback_oci f;
    auto first = f.call(api_route::chat, chat_body("gpt-4o-mini", "one"));
    REQUIRE(first->resp->status == 200);
    REQUIRE(f.svc->stats().handshakes == 1);

    // The next generation: same registry, same credentials, its own (copied) config.
    config cfg2 = f.cfg;
    cfg2.models.push_back({.name = "new-alias", .id = "meta.llama-3.3-70b-instruct"});
    auto svc2 = std::make_unique<api::service>(cfg2, *f.creds, f.tls, f.svc->pools());
    CHECK(svc2->pools() == f.svc->pools());

    auto c = std::make_shared<handler_call>();
    c->req.body = chat_body("new-alias", "two");
    c->req.request_id = "req-gen2";
    net::co_spawn(f.ioc, run_handler(*svc2, api_route::chat, c), net::detached);
    REQUIRE(run_until(
        f.ioc, [&c] { return c->resp.has_value(); }, 15s));
    INFO(c->resp->body);
    CHECK(c->resp->status == 200);
    CHECK(c->req.record.model == "new-alias");
    // The warm connection of the first generation served the second: no new handshake, and
    // the credentials were fetched once.
    auto s2 = svc2->stats();
    CHECK(s2.handshakes == 1);
    CHECK(s2.upstream_requests == 1);
    REQUIRE(s2.pools.size() == 1);
    CHECK(s2.pools[0].name == "inference");
    CHECK(s2.pools[0].handshakes == 1);
    CHECK(s2.pools[0].idle == 1);
    CHECK(s2.pools[0].open == 1);  // the idle one
    CHECK(f.provider->calls.load() == 1);
    CHECK(f.svc->stats().upstream_requests == 1);  // counters stay per service

    // Both close their idle connections (the same pool): no harm, both keep working.
    svc2->close_idle();
    f.svc->close_idle();
    CHECK(f.svc->stats().pools.at(0).idle == 0);
    CHECK(f.svc->stats().pools.at(0).open == 0);  // closed and freed
    svc2.reset();  // the old generation ends while the other serves on
    auto third = f.call(api_route::chat, chat_body("gpt-4o-mini", "three"));
    CHECK(third->resp->status == 200);
    CHECK(f.svc->stats().handshakes == 2);
    CHECK(f.mock_stats().rejected_signatures.load() == 0);
}
