// The model list end to end against oci-genai-mock, whose ListModels answers like OCI's
// management API (model OCIDs as ids, the usable name in displayName, several versions of one
// name, a deprecated and a retired model, states and capabilities the OpenAI API cannot use, a
// fine-tuned model, two pages): GET /v1/models and /v1/models/{id}, requests that name a model
// by OCID, and the embeddings rules (dimensions, truncation).
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

const std::string ocid_prefix = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamock";

// Discovery on: a top-level key after the `models:` list.
daemon_options with_discovery(std::string extra_models = {})
{
    daemon_options o;
    o.models = std::move(extra_models) + "models_discovery: true\n";
    return o;
}

std::vector<std::string> listed_ids(const std::string& body)
{
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        auto id = json_string(body, ("/data/" + std::to_string(i) + "/id").c_str());
        if (id.empty()) {
            break;
        }
        ids.push_back(id);
    }
    return ids;
}

}  // namespace

TEST_CASE("models: OCI's list by usable name, once, without what cannot be used", "[e2e][models]")
{
    e2e_stack s(
        with_discovery("  - name: meta.llama-3.3-70b-instruct\n    id: "
                       "cohere.command-r-plus-08-2024\n"));
    auto r = s.c.request("GET", "/v1/models");
    INFO(printable(r.body));
    REQUIRE(r.status == 200);
    auto ids = listed_ids(r.body);
    // The aliases (one named like a discovered model: the alias wins), then OCI's usable
    // names: llama 3.3 (two versions, two pages) not again, command-r-plus-08-2024 (deprecated,
    // not retired), the embedding models, gpt-oss (page 2). Not: command-r-16k (retired for
    // on-demand use), rerank, the FINE_TUNE-only model, the CREATING one, the fine-tuned
    // (CUSTOM) one, any OCID.
    CHECK(ids == std::vector<std::string>{
                     "gpt-4o-mini", "command-r-plus", "text-embedding-3-small",
                     "meta.llama-3.3-70b-instruct", "cohere.command-r-plus-08-2024",
                     "cohere.embed-english-v3.0", "cohere.embed-v4.0", "openai.gpt-oss-120b"});
    // owned_by = vendor, created = timeCreated (2025-05-20 for embed v4).
    CHECK(json_string(r.body, "/data/6/owned_by") == "cohere");
    CHECK(json_int(r.body, "/data/6/created") == 1747699200);
    CHECK(json_string(r.body, "/data/7/owned_by") == "openai");
    // The alias named like a discovered model keeps its own entry (owned by its model's vendor).
    CHECK(json_string(r.body, "/data/3/owned_by") == "cohere");
}

TEST_CASE("models: GET /v1/models/{id} answers one model or 404 model_not_found", "[e2e][models]")
{
    e2e_stack s(with_discovery());
    auto& c = s.c;
    auto alias = c.request("GET", "/v1/models/gpt-4o-mini");
    INFO(printable(alias.body));
    REQUIRE(alias.status == 200);
    CHECK(json_string(alias.body, "/id") == "gpt-4o-mini");
    CHECK(json_string(alias.body, "/object") == "model");
    CHECK(json_string(alias.body, "/owned_by") == "meta");

    auto discovered = c.request("GET", "/v1/models/cohere.embed-v4.0");
    REQUIRE(discovered.status == 200);
    CHECK(json_string(discovered.body, "/id") == "cohere.embed-v4.0");
    CHECK(json_int(discovered.body, "/created") == 1747699200);
    // By OCID, percent-encoded as the OpenAI SDKs send path parameters.
    auto by_ocid = c.request("GET", "/v1/models/" + ocid_prefix + "gptoss");
    REQUIRE(by_ocid.status == 200);
    CHECK(json_string(by_ocid.body, "/id") == ocid_prefix + "gptoss");
    CHECK(json_string(by_ocid.body, "/owned_by") == "openai");

    for (const char* id :
         {"nope", "cohere.command-r-16k", "cohere.rerank-v3.5", "org%2Fmodel", "ft:gpt-4o:org:x"}) {
        INFO(id);
        auto r = c.request("GET", std::string("/v1/models/") + id);
        CHECK(r.status == 404);
        CHECK(json_string(r.body, "/error/type") == "invalid_request_error");
        CHECK(json_string(r.body, "/error/code") == "model_not_found");
        CHECK(json_string(r.body, "/error/param") == "model");
    }
    CHECK(c.request("GET", "/v1/models/org%2Fmodel").body.find("org/model") != std::string::npos);
    // Other methods: 405 with Allow; without a key: 401.
    auto del = c.request("DELETE", "/v1/models/gpt-4o-mini");
    CHECK(del.status == 405);
    CHECK(del.header("allow").value_or("") == "GET, HEAD");
    CHECK(c.request("GET", "/v1/models/gpt-4o-mini", {}, 5s, false).status == 401);
}

TEST_CASE("models: without discovery, /v1/models/{id} knows the aliases only", "[e2e][models]")
{
    e2e_stack s;
    CHECK(s.c.request("GET", "/v1/models/command-r-plus").status == 200);
    CHECK(s.c.request("GET", "/v1/models/cohere.embed-v4.0").status == 404);
    CHECK(s.m.stats().requests == 0);  // OCI's list was not asked for
}

TEST_CASE("models: chat, Responses and embeddings by model OCID", "[e2e][models]")
{
    e2e_stack s(with_discovery());
    auto& c = s.c;
    // A Cohere model by OCID: COHERE format (the mock refuses GENERIC for it), its OCID sent.
    const std::string cohere = ocid_prefix + "cmdrplus";
    for (bool stream : {false, true}) {
        auto r = c.request("POST", "/v1/chat/completions", chat_body(cohere, "hello", stream), 15s);
        INFO(printable(r.body));
        CHECK(r.status == 200);
    }
    auto chat = c.request("POST", "/v1/chat/completions", chat_body(cohere, "hello"), 15s);
    CHECK(json_string(chat.body, "/model") == cohere);
    auto resp =
        c.request("POST", "/v1/responses", R"({"model":")" + cohere + R"(","input":"hello"})", 15s);
    INFO(printable(resp.body));
    CHECK(resp.status == 200);
    CHECK(json_string(resp.body, "/status") == "completed");
    // A GENERIC model by OCID.
    CHECK(c.request("POST", "/v1/chat/completions", chat_body(ocid_prefix + "llama33b", "hi"), 15s)
              .status == 200);
    // Embeddings: embed v4 by OCID takes its dimensions.
    auto e =
        c.request("POST", "/v1/embeddings",
                  R"({"model":")" + ocid_prefix + R"(embedv4","input":"x","dimensions":256})", 15s);
    INFO(printable(e.body));
    REQUIRE(e.status == 200);
    CHECK(json_string(e.body, "/model") == ocid_prefix + "embedv4");
}

TEST_CASE("models: without discovery a Cohere OCID is sent GENERIC and refused by OCI",
          "[e2e][models]")
{
    e2e_stack s;
    auto r =
        s.c.request("POST", "/v1/chat/completions", chat_body(ocid_prefix + "cmdrplus", "x"), 15s);
    CHECK(r.status == 400);
}

TEST_CASE("embeddings: dimensions the model does not produce and too-long inputs are 400s",
          "[e2e][embeddings]")
{
    e2e_stack s({.models = "  - name: embed-v4\n    id: cohere.embed-v4.0\n"});
    auto& c = s.c;
    // embed v4: 256..1536 reach OCI as outputDimensions.
    auto ok = c.request("POST", "/v1/embeddings",
                        R"({"model":"embed-v4","input":"x","dimensions":512})", 15s);
    INFO(printable(ok.body));
    REQUIRE(ok.status == 200);
    const auto before = s.m.stats().embed;
    for (const char* body :
         {R"({"model":"embed-v4","input":"x","dimensions":8})",
          R"({"model":"text-embedding-3-small","input":"x","dimensions":512})"}) {
        INFO(body);
        auto r = c.request("POST", "/v1/embeddings", body, 15s);
        CHECK(r.status == 400);
        CHECK(json_string(r.body, "/error/param") == "dimensions");
    }
    CHECK(s.m.stats().embed == before);  // refused before OCI
    // The v3 model's own size is accepted.
    CHECK(c.request("POST", "/v1/embeddings",
                    R"({"model":"text-embedding-3-small","input":"x","dimensions":1024})", 15s)
              .status == 200);
    // An input longer than the model takes: 400 as OpenAI answers, unless truncation is asked.
    std::string words;
    for (int i = 0; i < 600; ++i) {
        words += "word ";
    }
    auto too_long = c.request("POST", "/v1/embeddings",
                              R"({"model":"embed-v4","input":")" + words + R"("})", 15s);
    CHECK(too_long.status == 400);
    CHECK(json_string(too_long.body, "/error/type") == "invalid_request_error");
    CHECK(c.request("POST", "/v1/embeddings",
                    R"({"model":"embed-v4","input":")" + words + R"(","truncate":"end"})", 15s)
              .status == 200);
}

TEST_CASE("embeddings: defaults.embeddings_truncate end cuts too-long inputs", "[e2e][embeddings]")
{
    daemon_options o;
    o.models = "defaults:\n  embeddings_truncate: end\n";
    e2e_stack s(o);
    std::string words;
    for (int i = 0; i < 600; ++i) {
        words += "word ";
    }
    auto r = s.c.request("POST", "/v1/embeddings",
                         R"({"model":"text-embedding-3-small","input":")" + words + R"("})", 15s);
    INFO(printable(r.body));
    CHECK(r.status == 200);
}
