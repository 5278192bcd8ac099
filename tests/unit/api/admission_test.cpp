// The traffic policy of named client keys in the api handlers (issue 16): model allow-lists
// (404 model_not_found before any upstream request, /v1/models filtered), rate limits (429 with
// Retry-After and x-ratelimit-*; the headers on admitted answers through answer_headers), and
// anonymous keys untouched. In-process against the mock's inference server on loopback.

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fake_oci.hpp"
#include "inference.hpp"
#include "ogp/api/service.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "ogp/limits/limiter.hpp"
#include "ogp/upstream/tls.hpp"
#include "unit/api/handler_call.hpp"
#include "unit/api/loopback_oci.hpp"
#include "unit/auth/test_util.hpp"
#include "unit/transform/support.hpp"

using namespace ogp;
using namespace ogp::auth::test;
using namespace std::chrono_literals;
namespace net = boost::asio;

using ogp_test::api_route;
using ogp_test::find_header;
using ogp_test::handler_call;
using ogp_test::listed_ids;
using ogp_test::run_handler;

namespace {

// A steady clock that moves only when told: the buckets refill exactly as the test says.
struct test_clock
{
    std::chrono::steady_clock::time_point t{std::chrono::hours(1)};
    limits::clock_fn fn()
    {
        return [this] { return t; };
    }
};

std::string chat_body(const std::string& model, bool stream = false)
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}],"stream":)" +
           (stream ? "true" : "false") + "}";
}

client_key_config key(std::string name, std::vector<std::string> models = {})
{
    client_key_config k;
    k.name = std::move(name);
    k.key = "sk-" + k.name + "-secret-value";
    k.models = std::move(models);
    return k;
}

// A service with clients.keys against the mock OCI on loopback, on one io_context.
struct policy_fixture : ogp_test::loopback_base
{
    explicit policy_fixture(std::vector<client_key_config> keys)
    {
        inference = ogp_test::make_inference(ioc, cert_pem, key_pem);

        ogp_test::base_config(cfg, ogp_test::loopback_url(inference->port()), ca_file);
        cfg.models.push_back({.name = "gpt-4o-mini", .id = "meta.llama-3.3-70b-instruct"});
        cfg.models.push_back({.name = "gpt-4o", .id = "meta.llama-3.3-70b-instruct"});
        cfg.models.push_back({.name = "text-embedding-3-small",
                              .id = "cohere.embed-english-v3.0",
                              .input_type = "SEARCH_DOCUMENT"});
        cfg.clients.keys = std::move(keys);

        creds =
            ogp_test::make_credential_cache(ioc, std::make_unique<ogp_test::counting_provider>());
        tls = upstream::make_client_tls_context(cfg.oci.ca_file);
        limiter = std::make_shared<limits::limiter>(nullptr, limits::limiter_options{}, clock.fn());
        svc = std::make_unique<api::service>(cfg, *creds, tls, nullptr, limiter);
    }

    ~policy_fixture()
    {
        ogp_test::tear_down(ioc, svc, creds, [this] { inference.reset(); });
    }

    // Runs one handler to completion (hard bound) as key `client` ("" = anonymous access).
    std::shared_ptr<handler_call> call(api_route r, std::string client, std::string body,
                                       std::string target = "/v1/chat/completions")
    {
        auto c = ogp_test::new_call(r, std::move(body), ++serial);
        c->req.record.client = std::move(client);
        c->req.head.method = r == api_route::models ? "GET" : "POST";
        c->req.head.target = std::move(target);
        net::co_spawn(ioc, run_handler(*svc, r, c), net::detached);
        REQUIRE(run_until(
            ioc, [&c] { return c->resp.has_value(); }, 15s));
        return c;
    }

    std::uint64_t upstream_requests() { return inference->stats().requests.load(); }

    std::unique_ptr<mock::inference_server> inference;
    config cfg;
    test_clock clock;
    std::shared_ptr<limits::limiter> limiter;
    std::unique_ptr<auth::credential_cache> creds;
    std::shared_ptr<net::ssl::context> tls;
    std::unique_ptr<api::service> svc;
    int serial = 0;
};

std::string error_code(const std::string& body)
{
    rapidjson::Document d;
    d.Parse(body.data(), body.size());
    const auto* v = rapidjson::Pointer("/error/code").Get(d);
    return v != nullptr && v->IsString() ? std::string(v->GetString()) : std::string();
}

}  // namespace

TEST_CASE("admission: a model outside the key's list is a 404 before any upstream request",
          "[api][admission]")
{
    policy_fixture f({key("team-a", {"gpt-4o-mini"})});
    auto c = f.call(api_route::chat, "team-a", chat_body("gpt-4o"));
    const auto& r = *c->resp;
    INFO(r.body);
    CHECK(r.status == 404);
    CHECK(error_code(r.body) == "model_not_found");
    CHECK(r.body.find("The model 'gpt-4o' does not exist or you do not have access to it.") !=
          std::string::npos);
    CHECK(r.body.find(R"("param":"model")") != std::string::npos);
    CHECK(f.upstream_requests() == 0);

    // A model name that is not printable is not echoed.
    auto odd = f.call(api_route::chat, "team-a", chat_body("x\\u0001y"));
    CHECK(odd->resp->status == 404);
    CHECK(odd->resp->body.find("This model does not exist") != std::string::npos);

    // Embeddings and responses are policed alike.
    auto e = f.call(api_route::embeddings, "team-a",
                    R"({"model":"text-embedding-3-small","input":"x"})", "/v1/embeddings");
    CHECK(e->resp->status == 404);
    CHECK(f.upstream_requests() == 0);
}

TEST_CASE("admission: the allowed model passes", "[api][admission]")
{
    policy_fixture f({key("team-a", {"gpt-4o-mini"})});
    auto c = f.call(api_route::chat, "team-a", chat_body("gpt-4o-mini"));
    INFO(c->resp->body);
    CHECK(c->resp->status == 200);
    CHECK(f.upstream_requests() == 1);
    // No limits: no rate-limit headers.
    CHECK(c->req.answer_headers.empty());
}

TEST_CASE("admission: glob patterns allow matching models only", "[api][admission]")
{
    policy_fixture f({key("team-g", {"text-*", "gpt-4o-mi?i"})});
    CHECK(f.call(api_route::chat, "team-g", chat_body("gpt-4o-mini"))->resp->status == 200);
    CHECK(f.call(api_route::chat, "team-g", chat_body("gpt-4o"))->resp->status == 404);
    auto e = f.call(api_route::embeddings, "team-g",
                    R"({"model":"text-embedding-3-small","input":"x"})", "/v1/embeddings");
    CHECK(e->resp->status == 200);
}

TEST_CASE("admission: anonymous keys pass every model without limits", "[api][admission]")
{
    auto limited = key("team-a", {"gpt-4o-mini"});
    limited.rpm = 1;
    policy_fixture f({limited});
    for (const std::string client : {"", "key-0123abcd"}) {
        for (int i = 0; i < 3; ++i) {
            auto c = f.call(api_route::chat, client, chat_body("gpt-4o"));
            INFO(c->resp->body);
            CHECK(c->resp->status == 200);
            CHECK(c->req.answer_headers.empty());
            CHECK(c->req.record.rate_limited.empty());
        }
    }
}

TEST_CASE("admission: rpm 2 refuses the third request with 429 Retry-After and x-ratelimit",
          "[api][admission]")
{
    auto k = key("team-r");
    k.rpm = 2;
    policy_fixture f({k});
    auto first = f.call(api_route::chat, "team-r", chat_body("gpt-4o"));
    REQUIRE(first->resp->status == 200);
    // An admitted answer carries the headers through answer_headers (the server adds them).
    CHECK(find_header(first->req.answer_headers, "x-ratelimit-limit-requests") == "2");
    CHECK(find_header(first->req.answer_headers, "x-ratelimit-remaining-requests") == "1");
    CHECK(find_header(first->req.answer_headers, "x-ratelimit-reset-requests") == "30s");
    CHECK_FALSE(find_header(first->req.answer_headers, "x-ratelimit-limit-tokens"));
    REQUIRE(f.call(api_route::chat, "team-r", chat_body("gpt-4o"))->resp->status == 200);
    const auto before = f.upstream_requests();

    f.clock.t += 6s;  // 0.2 of a request refilled: still refused, 24 s to wait
    auto third = f.call(api_route::chat, "team-r", chat_body("gpt-4o"));
    const auto& r = *third->resp;
    INFO(r.body);
    CHECK(r.status == 429);
    CHECK(error_code(r.body) == "rate_limit_exceeded");
    CHECK(r.body.find("Rate limit reached for key 'team-r' on requests per minute (rpm): limit 2. "
                      "Please try again in 24s.") != std::string::npos);
    CHECK(find_header(r, "Retry-After") == "24");
    CHECK(find_header(r, "x-ratelimit-limit-requests") == "2");
    CHECK(find_header(r, "x-ratelimit-remaining-requests") == "0");
    CHECK(find_header(r, "x-ratelimit-reset-requests") == "54s");
    CHECK(third->req.record.rate_limited == "requests");
    CHECK(third->req.record.error_type == "rate_limited");
    CHECK(f.upstream_requests() == before);

    f.clock.t += 24s;
    CHECK(f.call(api_route::chat, "team-r", chat_body("gpt-4o"))->resp->status == 200);
}

TEST_CASE("admission: tokens used are charged to the key's tpm bucket", "[api][admission]")
{
    auto k = key("team-t");
    k.tpm = 1;  // any answer with usage puts the bucket in debt
    policy_fixture f({k});
    auto first = f.call(api_route::chat, "team-t", chat_body("gpt-4o"));
    REQUIRE(first->resp->status == 200);
    REQUIRE(first->req.record.input_tokens + first->req.record.output_tokens > 1);
    CHECK(find_header(first->req.answer_headers, "x-ratelimit-limit-tokens") == "1");
    auto second = f.call(api_route::chat, "team-t", chat_body("gpt-4o"));
    INFO(second->resp->body);
    CHECK(second->resp->status == 429);
    CHECK(second->req.record.rate_limited == "tokens");
    CHECK(find_header(*second->resp, "x-ratelimit-remaining-tokens") == "0");
}

TEST_CASE("admission: max_streams counts streamed requests only", "[api][admission]")
{
    auto k = key("team-s");
    k.max_streams = 1;
    policy_fixture f({k});
    // Completed streams free their slot: sequential streams all pass.
    for (int i = 0; i < 2; ++i) {
        auto c = f.call(api_route::chat, "team-s", chat_body("gpt-4o", true));
        CHECK(c->sink.began);
    }
    // A held stream slot refuses the next stream, not a plain request.
    limits::key_limits same;  // what the service passes for team-s (the bucket is the name's)
    same.name = "team-s";
    same.max_streams = 1;
    auto held = f.limiter->admit(same, true);
    std::optional<limits::limiter::admission> slot;
    net::co_spawn(f.ioc, std::move(held), [&](std::exception_ptr, limits::limiter::admission a) {
        slot.emplace(std::move(a));
    });
    REQUIRE(run_until(
        f.ioc, [&] { return slot.has_value(); }, 5s));
    REQUIRE_FALSE(slot->refused);
    auto refused = f.call(api_route::chat, "team-s", chat_body("gpt-4o", true));
    CHECK(refused->resp->status == 429);
    CHECK(refused->req.record.rate_limited == "streams");
    CHECK(f.call(api_route::chat, "team-s", chat_body("gpt-4o"))->resp->status == 200);
}

TEST_CASE("admission: a body that does not parse still counts against rpm", "[api][admission]")
{
    auto k = key("team-b", {"gpt-4o-mini"});
    k.rpm = 1;
    policy_fixture f({k});
    auto bad = f.call(api_route::chat, "team-b", "{not json");
    CHECK(bad->resp->status == 400);
    auto next = f.call(api_route::chat, "team-b", chat_body("gpt-4o-mini"));
    CHECK(next->resp->status == 429);
    CHECK(f.upstream_requests() == 0);
}

TEST_CASE("admission: /v1/models lists only the key's models", "[api][admission][models]")
{
    policy_fixture f({key("team-a", {"gpt-4o-mini", "text-*"})});
    auto mine = f.call(api_route::models, "team-a", "", "/v1/models");
    INFO(mine->resp->body);
    REQUIRE(mine->resp->status == 200);
    auto ids = listed_ids(mine->resp->body);
    CHECK(std::count(ids.begin(), ids.end(), "gpt-4o-mini") == 1);
    CHECK(std::count(ids.begin(), ids.end(), "text-embedding-3-small") == 1);
    CHECK(std::count(ids.begin(), ids.end(), "gpt-4o") == 0);
    for (const auto& id : ids) {
        CHECK((id == "gpt-4o-mini" || id.starts_with("text-")));
    }
    auto all = f.call(api_route::models, "", "", "/v1/models");
    auto all_ids = listed_ids(all->resp->body);
    CHECK(std::count(all_ids.begin(), all_ids.end(), "gpt-4o") == 1);
}
