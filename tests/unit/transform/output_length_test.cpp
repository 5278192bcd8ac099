// The answer's length and the sampling values sent to OCI: client, alias, configured
// defaults, then the model-family table; sampling only when the client or the configuration
// gives it.

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "ogp/transform/chat_request.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;

namespace {

// The transform test config plus the Traefik plugin's defaults and two aliases with length
// settings: what tests/fixtures/transform/requests_configured translates with.
ogp::config configured()
{
    auto c = ogp_test::test_config();
    c.defaults.max_tokens = 600;
    c.defaults.temperature = 1.0;
    c.defaults.top_p = 0.75;
    c.defaults.top_k = 0;
    c.defaults.frequency_penalty = 0.0;
    c.defaults.presence_penalty = 0.0;
    ogp::model_alias longer{"llama-long", "meta.llama-3.3-70b-instruct"};
    longer.max_tokens = 3000;
    c.models.push_back(longer);
    ogp::model_alias endpoint{"gpt5-endpoint", "ocid1.generativeaiendpoint.oc1.us-chicago-1.gpt5"};
    endpoint.max_completion_tokens = true;
    c.models.push_back(endpoint);
    return c;
}

rapidjson::Document chat_request_of(const std::string& body, const ogp::config& cfg)
{
    auto r = plan_chat(body, cfg);
    if (!r) {
        FAIL("unexpected error: " << r.error().body());
    }
    rapidjson::Document d;
    d.Parse(r.value().body.data(), r.value().body.size());
    REQUIRE(d.IsObject());
    rapidjson::Document cr;
    cr.CopyFrom(d["chatRequest"], cr.GetAllocator());
    return cr;
}

std::string body_for(const std::string& model, const std::string& extra = "")
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"x"}])" + extra +
           "}";
}

}  // namespace

TEST_CASE("configured request golden fixtures: defaults and alias length settings",
          "[transform][request][length]")
{
    const auto cfg = configured();
    ogp_test::for_each_fixture(
        "requests_configured", ".openai.json", 5, [&](const auto& dir, const auto& name) {
            auto r = plan_chat(ogp_test::read_file(dir / (name + ".openai.json")), cfg);
            REQUIRE(r.ok());
            ogp_test::check_golden_json(r.value().body, dir / (name + ".oci.json"));
        });
}

TEST_CASE("without a length from client or configuration, the family's maximum is sent",
          "[transform][request][length]")
{
    const auto cfg = ogp_test::test_config();
    struct row
    {
        const char* model;
        const char* key;
        int max;
    };
    for (const row& r : {
             row{"meta.llama-3.3-70b-instruct", "maxTokens", 4000},
             row{"meta.llama-4-maverick-17b-128e-instruct-fp8", "maxTokens", 4000},
             row{"cohere.command-a-03-2025", "maxTokens", 4000},
             row{"cohere.command-r-08-2024", "maxTokens", 4000},
             row{"google.gemini-2.5-pro", "maxTokens", 65536},
             row{"xai.grok-4", "maxTokens", 16000},
             row{"xai.grok-3-mini-fast", "maxTokens", 16000},
             row{"xai.grok-3", "maxTokens", 4000},
             row{"openai.gpt-oss-20b", "maxTokens", 16000},
             row{"openai.gpt-5-mini", "maxCompletionTokens", 4000},
             row{"openai.o3", "maxCompletionTokens", 4000},
             row{"openai.gpt-4.1", "maxCompletionTokens", 4000},
             row{"acme.unknown-family", "maxTokens", 4000},
             // A dedicated endpoint's OCID names no family.
             row{"my-endpoint", "maxTokens", 4000},
         }) {
        INFO(r.model);
        auto cr = chat_request_of(body_for(r.model), cfg);
        REQUIRE(cr.HasMember(r.key));
        CHECK(cr[r.key].GetInt() == r.max);
        CHECK_FALSE(
            cr.HasMember(std::string(r.key) == "maxTokens" ? "maxCompletionTokens" : "maxTokens"));
        // Nothing configured: no sampling value at all.
        for (const char* k :
             {"temperature", "topP", "topK", "frequencyPenalty", "presencePenalty"}) {
            CHECK_FALSE(cr.HasMember(k));
        }
    }
}

TEST_CASE("length precedence: client, alias, defaults.max_tokens, family",
          "[transform][request][length]")
{
    auto cfg = configured();
    CHECK(chat_request_of(body_for("llama-long", R"(,"max_completion_tokens":7)"), cfg)["maxTokens"]
              .GetInt() == 7);
    CHECK(chat_request_of(body_for("llama-long"), cfg)["maxTokens"].GetInt() == 3000);
    CHECK(chat_request_of(body_for("llama"), cfg)["maxTokens"].GetInt() == 600);
    cfg.defaults.max_tokens.reset();
    CHECK(chat_request_of(body_for("llama"), cfg)["maxTokens"].GetInt() == 4000);
    CHECK(chat_request_of(body_for("llama-long"), cfg)["maxTokens"].GetInt() == 3000);
}

TEST_CASE("the length key: per alias, else by family, never from an endpoint OCID",
          "[transform][request][length]")
{
    auto cfg = configured();
    SECTION("a dedicated alias says maxCompletionTokens, and takes no sampling defaults")
    {
        auto cr = chat_request_of(body_for("gpt5-endpoint"), cfg);
        CHECK(cr["maxCompletionTokens"].GetInt() == 600);
        CHECK_FALSE(cr.HasMember("maxTokens"));
        CHECK_FALSE(cr.HasMember("temperature"));
        CHECK_FALSE(cr.HasMember("topP"));
        // The client's own values still go.
        auto sent = chat_request_of(body_for("gpt5-endpoint", R"(,"temperature":0.2)"), cfg);
        CHECK(sent["temperature"].GetDouble() == 0.2);
    }
    SECTION("a dedicated alias without the setting says maxTokens")
    {
        auto cr = chat_request_of(body_for("my-endpoint"), cfg);
        CHECK(cr["maxTokens"].GetInt() == 600);
        CHECK(cr["temperature"].GetDouble() == 1.0);
    }
    SECTION("an alias can turn the family's choice off")
    {
        ogp::model_alias a{"gpt5-plain", "openai.gpt-5"};
        a.max_completion_tokens = false;
        cfg.models.push_back(a);
        auto cr = chat_request_of(body_for("gpt5-plain"), cfg);
        CHECK(cr["maxTokens"].GetInt() == 600);
        CHECK_FALSE(cr.HasMember("maxCompletionTokens"));
    }
    SECTION("the public predicate reads the same table")
    {
        CHECK(uses_max_completion_tokens("openai.gpt-5.1"));
        CHECK(uses_max_completion_tokens("openai.o4-mini"));
        CHECK_FALSE(uses_max_completion_tokens("openai.gpt-oss-120b"));
        CHECK_FALSE(uses_max_completion_tokens("xai.grok-4"));
        CHECK_FALSE(uses_max_completion_tokens("google.gemini-2.5-flash"));
        CHECK_FALSE(uses_max_completion_tokens("ocid1.generativeaiendpoint.oc1.x.y"));
    }
}

TEST_CASE("configured sampling defaults: sent when set, 0 means off for top_k and penalties",
          "[transform][request][length]")
{
    auto cfg = ogp_test::test_config();
    cfg.defaults.top_k = 40;
    cfg.defaults.frequency_penalty = 0.5;
    cfg.defaults.presence_penalty = 0.0;
    auto cr = chat_request_of(body_for("llama"), cfg);
    CHECK(cr["topK"].GetInt() == 40);
    CHECK(cr["frequencyPenalty"].GetDouble() == 0.5);
    CHECK_FALSE(cr.HasMember("presencePenalty"));
    CHECK_FALSE(cr.HasMember("temperature"));
    CHECK_FALSE(cr.HasMember("topP"));
    // The client's 0 is sent: it is a value, not the configuration's "off".
    auto zero = chat_request_of(body_for("llama", R"(,"top_k":0,"presence_penalty":0)"), cfg);
    CHECK(zero["topK"].GetInt() == 0);
    CHECK(zero["presencePenalty"].GetDouble() == 0.0);
    // OpenAI reasoning models get none of the configured values.
    auto gpt5 = chat_request_of(body_for("openai.gpt-5"), cfg);
    CHECK_FALSE(gpt5.HasMember("topK"));
    CHECK_FALSE(gpt5.HasMember("frequencyPenalty"));
}
