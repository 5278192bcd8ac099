// Unit tests for routing and client authentication.
// The key names: `key-` + the first 8 hex digits of SHA-256("sk-one") and ("sk-two").
#include <catch2/catch.hpp>

#include "ogp/server/client_auth.hpp"
#include "ogp/server/router.hpp"

using namespace ogp::server;

TEST_CASE("routes, methods and auth requirements", "[router]")
{
    CHECK(match_route("POST", "/v1/chat/completions").target == route::chat_completions);
    CHECK(match_route("POST", "/v1/chat/completions").requires_client_auth);
    CHECK(match_route("POST", "/v1/embeddings").target == route::embeddings);
    CHECK(match_route("GET", "/v1/models").target == route::models);
    CHECK(match_route("GET", "/v1/models/").target == route::models);
    CHECK(match_route("HEAD", "/healthz").target == route::healthz);
    CHECK_FALSE(match_route("GET", "/healthz").requires_client_auth);
    CHECK(match_route("GET", "/readyz").target == route::readyz);

    auto wrong = match_route("GET", "/v1/chat/completions");
    CHECK(wrong.target == route::method_not_allowed);
    CHECK(wrong.allow == "POST");
    CHECK(match_route("DELETE", "/v1/models").allow == "GET, HEAD");

    CHECK(match_route("GET", "/v1/chat").target == route::not_found);
    CHECK(match_route("GET", "/").target == route::not_found);
    CHECK(match_route("POST", "/v1/chat/completions/x").target == route::not_found);
}

TEST_CASE("the Responses routes: POST /v1/responses and the stored-response family", "[router]")
{
    CHECK(match_route("POST", "/v1/responses").target == route::responses);
    CHECK(match_route("POST", "/v1/responses/").target == route::responses);
    CHECK(match_route("POST", "/v1/responses").requires_client_auth);
    CHECK(match_route("GET", "/v1/responses").allow == "POST");
    for (auto [method, path] :
         {std::pair{"GET", "/v1/responses/resp_1"}, std::pair{"HEAD", "/v1/responses/resp_1"},
          std::pair{"DELETE", "/v1/responses/resp_1"},
          std::pair{"POST", "/v1/responses/resp_1/cancel"},
          std::pair{"GET", "/v1/responses/resp_1/input_items"}}) {
        INFO(method << " " << path);
        auto m = match_route(method, path);
        CHECK(m.target == route::stored_response);
        CHECK(m.requires_client_auth);
    }
    CHECK(match_route("PUT", "/v1/responses/resp_1").allow == "GET, HEAD, DELETE");
    CHECK(match_route("GET", "/v1/responses/resp_1/cancel").allow == "POST");
    CHECK(match_route("POST", "/v1/responses/resp_1/input_items").allow == "GET, HEAD");
    CHECK(match_route("GET", "/v1/responses/resp_1/other").target == route::not_found);
    CHECK(match_route("GET", "/v1/responses//cancel").target == route::not_found);
    CHECK(match_route("GET", "/v1/responsesx").target == route::not_found);
}

TEST_CASE("client keys are checked exactly", "[auth]")
{
    client_authenticator auth({"sk-one", "sk-two"}, false);
    CHECK_FALSE(auth.check(std::string_view("Bearer sk-one")));
    CHECK_FALSE(auth.check(std::string_view("bearer sk-two")));
    CHECK_FALSE(auth.check(std::string_view("BEARER sk-two")));

    auto missing = auth.check(std::nullopt);
    REQUIRE(missing);
    CHECK(missing->status == 401);
    CHECK(missing->code == "invalid_api_key");

    for (auto bad : {"Bearer sk-on", "Bearer sk-one ", "Bearer sk-onee", "Basic c2stb25l", "sk-one",
                     "Bearer", "Bearer ", ""}) {
        INFO(bad);
        auto r = auth.check(std::string_view(bad));
        REQUIRE(r);
        CHECK(r->status == 401);
        // The presented key is never echoed.
        CHECK(r->body().find("sk-on") == std::string::npos);
    }
}

TEST_CASE("anonymous mode only when no keys are configured", "[auth]")
{
    client_authenticator anon({}, true);
    CHECK_FALSE(anon.check(std::nullopt));
    client_authenticator keyed({"k"}, true);
    CHECK(keyed.check(std::nullopt));
    client_authenticator closed({}, false);
    CHECK(closed.check(std::string_view("Bearer anything")));
}

TEST_CASE("GET /v1/models/{id}: any id, other methods 405", "[router][models]")
{
    for (const char* path : {"/v1/models/gpt-4o-mini", "/v1/models/meta.llama-3.3-70b-instruct",
                             "/v1/models/ft:gpt-4o:org:x", "/v1/models/org/model",
                             "/v1/models/a%2Fb", "/v1/models/x/"}) {
        INFO(path);
        CHECK(match_route("GET", path).target == route::model);
        CHECK(match_route("HEAD", path).target == route::model);
        CHECK(match_route("GET", path).requires_client_auth);
        auto del = match_route("DELETE", path);
        CHECK(del.target == route::method_not_allowed);
        CHECK(del.allow == "GET, HEAD");
    }
    // The list keeps its route, with or without the trailing slash.
    CHECK(match_route("GET", "/v1/models/").target == route::models);
    CHECK(match_route("GET", "/v1/modelsx").target == route::not_found);
}

TEST_CASE("model_id_of decodes the id after /v1/models/", "[router][models]")
{
    CHECK(model_id_of("/v1/models/gpt-4o-mini") == "gpt-4o-mini");
    CHECK(model_id_of("/v1/models/gpt-4o-mini/") == "gpt-4o-mini");
    CHECK(model_id_of("/v1/models/ft%3Agpt-4o%3Aorg") == "ft:gpt-4o:org");
    CHECK(model_id_of("/v1/models/org/model") == "org/model");
    CHECK(model_id_of("/v1/models/org%2fmodel") == "org/model");
    CHECK(model_id_of("/v1/models/a%20b") == "a b");
    CHECK_FALSE(model_id_of("/v1/models/"));
    CHECK_FALSE(model_id_of("/v1/models"));
    CHECK_FALSE(model_id_of("/v1/chat/x"));
    CHECK_FALSE(model_id_of("/v1/models/bad%2"));
    CHECK_FALSE(model_id_of("/v1/models/bad%zz"));
    CHECK_FALSE(model_id_of("/v1/models/nl%0a"));
}

TEST_CASE("the OpenAI-compatible state routes: conversations, files, vector stores",
          "[router][openai_route]")
{
    for (auto [method, path] :
         {std::pair{"POST", "/v1/conversations"}, std::pair{"GET", "/v1/conversations/conv_1"},
          std::pair{"POST", "/v1/conversations/conv_1"},
          std::pair{"DELETE", "/v1/conversations/conv_1"},
          std::pair{"GET", "/v1/conversations/conv_1/items"},
          std::pair{"DELETE", "/v1/conversations/conv_1/items/msg_1"},
          std::pair{"POST", "/v1/files"}, std::pair{"GET", "/v1/files"},
          std::pair{"HEAD", "/v1/files/"}, std::pair{"GET", "/v1/files/file-1"},
          std::pair{"DELETE", "/v1/files/file-1"}, std::pair{"GET", "/v1/files/file-1/content"},
          std::pair{"POST", "/v1/vector_stores"}, std::pair{"GET", "/v1/vector_stores"},
          std::pair{"GET", "/v1/vector_stores/vs_1"},
          std::pair{"POST", "/v1/vector_stores/vs_1/search"},
          std::pair{"DELETE", "/v1/vector_stores/vs_1"}}) {
        INFO(method << " " << path);
        auto m = match_route(method, path);
        CHECK(m.target == route::openai_state);
        CHECK(m.requires_client_auth);
        CHECK(m.takes_body == (std::string_view(method) == "POST"));
    }
    CHECK(match_route("GET", "/v1/conversations").allow == "POST");
    CHECK(match_route("PUT", "/v1/files").allow == "GET, HEAD, POST");
    CHECK(match_route("POST", "/v1/files/file-1").allow == "GET, HEAD, DELETE");
    CHECK(match_route("PATCH", "/v1/vector_stores/vs_1").allow == "GET, HEAD, POST, DELETE");
    CHECK_FALSE(match_route("PATCH", "/v1/vector_stores/vs_1").requires_client_auth);
    CHECK(match_route("GET", "/v1/filesx").target == route::not_found);
    CHECK(match_route("GET", "/v1/files//x").target == route::not_found);
    CHECK(match_route("GET", "/v1/conversationsx/1").target == route::not_found);
    CHECK(match_route("GET", "/v1/containers").target == route::not_found);
}

TEST_CASE("only the POST API routes take a request body", "[router]")
{
    CHECK(match_route("POST", "/v1/chat/completions").takes_body);
    CHECK(match_route("POST", "/v1/responses").takes_body);
    CHECK(match_route("POST", "/v1/embeddings").takes_body);
    CHECK(match_route("POST", "/v1/responses/resp_1/cancel").takes_body);
    CHECK_FALSE(match_route("GET", "/v1/models").takes_body);
    CHECK_FALSE(match_route("DELETE", "/v1/responses/resp_1").takes_body);
    CHECK_FALSE(match_route("GET", "/healthz").takes_body);
}

TEST_CASE("router: /metrics is GET and HEAD outside /v1", "[router]")
{
    CHECK(match_route("GET", "/metrics").target == route::metrics);
    CHECK(match_route("HEAD", "/metrics").target == route::metrics);
    CHECK(match_route("GET", "/metrics/").target == route::metrics);
    // The key requirement is the server's decision (listener kind, metrics.require_key).
    CHECK_FALSE(match_route("GET", "/metrics").requires_client_auth);
    CHECK_FALSE(match_route("GET", "/metrics").takes_body);
    auto post = match_route("POST", "/metrics");
    CHECK(post.target == route::method_not_allowed);
    CHECK(post.allow == "GET, HEAD");
    CHECK(match_route("GET", "/v1/metrics").target == route::not_found);
    CHECK(match_route("GET", "/metricsx").target == route::not_found);
    CHECK(route_name(route::metrics) == "metrics");
    CHECK(route_name(route::chat_completions) == "chat_completions");
    CHECK(route_name(route::method_not_allowed) == "method_not_allowed");
}

TEST_CASE("client keys: authenticate() names the key that matched", "[auth]")
{
    client_authenticator auth({"sk-one", "sk-two"}, false);
    REQUIRE(auth.size() == 2);
    auto first = auth.authenticate(std::string_view("Bearer sk-one"));
    CHECK_FALSE(first.denied);
    REQUIRE(first.key);
    CHECK(*first.key == 0);
    auto second = auth.authenticate(std::string_view("Bearer sk-two"));
    REQUIRE(second.key);
    CHECK(*second.key == 1);
    CHECK(auth.name(0) == "key-456f1612");
    CHECK(auth.name(1) == "key-5e312785");

    auto wrong = auth.authenticate(std::string_view("Bearer sk-three"));
    CHECK(wrong.denied);
    CHECK_FALSE(wrong.key);
    auto missing = auth.authenticate(std::nullopt);
    CHECK(missing.denied);
    CHECK_FALSE(missing.key);

    // Anonymous access: admitted without a key.
    client_authenticator anon({}, true);
    auto a = anon.authenticate(std::nullopt);
    CHECK_FALSE(a.denied);
    CHECK_FALSE(a.key);

    // Named keys (the next configuration format): a name, or the hash-prefix default.
    auto named = client_authenticator::named({{"sk-one", "alice"}, {"sk-two", ""}}, false);
    auto alice = named.authenticate(std::string_view("Bearer sk-one"));
    REQUIRE(alice.key);
    CHECK(named.name(*alice.key) == "alice");
    CHECK(named.name(1) == "key-5e312785");
}
