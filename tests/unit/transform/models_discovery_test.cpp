// Unit tests for reading OCI's model list (models_discovery: the management API's
// ModelCollection of ModelSummary items) and merging it into /v1/models and /v1/models/{id}.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ogp/transform/models.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::fixture_models;
using ogp_test::listed_ids;
using ogp_test::now_2026;

TEST_CASE("RFC 3339 dates as OCI writes them", "[models]")
{
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
    CHECK(parse_rfc3339("2026-01-01T00:00:00Z") == now_2026);
    CHECK(parse_rfc3339("2024-12-18T20:40:50.123Z") == 1734554450);
    CHECK(parse_rfc3339("2024-09-05T12:00:00+02:00") == 1725530400);
    CHECK(parse_rfc3339("2024-09-05T08:30:00-01:30") == 1725530400);
    CHECK(parse_rfc3339("2024-02-29T00:00:00Z") == 1709164800);
    for (const char* bad : {"", "2024-12-18", "2024-12-18T20:40:50", "2024-13-01T00:00:00Z",
                            "2024-12-18T20:40:50.Z", "2024-12-18T20:40:50Zjunk", "yesterday"}) {
        INFO(bad);
        CHECK_FALSE(parse_rfc3339(bad));
    }
}

TEST_CASE("OCI ModelCollection: ACTIVE base models with CHAT or TEXT_EMBEDDINGS, by OCID",
          "[models]")
{
    auto models = fixture_models();
    std::vector<std::string> ids;
    for (const auto& m : models) {
        ids.push_back(m.id);
    }
    const std::string p = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaa";
    // Not: TEXT_RERANK only, FINE_TUNE only, CREATING, CUSTOM (fine-tuned), DELETED, and the
    // grok-4 OCID a second time.
    CHECK(ids == std::vector<std::string>{p + "llama33v1", p + "llama33v2", p + "commandr",
                                          p + "commandrplus", p + "embedv4", p + "grok4",
                                          p + "embedalias"});
    REQUIRE(models.size() == 7);
    CHECK(models[0].name == "meta.llama-3.3-70b-instruct");
    CHECK(models[0].vendor == "meta");
    CHECK(models[0].created == 1734554450);
    CHECK_FALSE(models[0].retired);
    CHECK(models[2].retired == 1893456000);  // 2030-01-01

    CHECK(models_from_oci_list("not json").empty());
    CHECK(models_from_oci_list(R"({"items":{}})").empty());
    CHECK(models_from_oci_list(R"({"items":[1,"x",null]})").empty());
    // The bound on the count.
    CHECK(models_from_oci_list(
              ogp_test::read_file(ogp_test::fixture_dir("models") / "oci_list.json"), 2)
              .size() == 2);
}

TEST_CASE("OCI ModelCollection: unusable or oversized fields are skipped", "[models]")
{
    std::string long_name(300, 'x');
    auto models = models_from_oci_list(
        R"({"items":[
        {"id":"ocid1.generativeaimodel.a","capabilities":["CHAT"],"lifecycleState":"ACTIVE","displayName":"bad name"},
        {"id":"ocid1.generativeaimodel.b","capabilities":["CHAT"],"lifecycleState":"ACTIVE","displayName":")" +
        long_name + R"("},
        {"id":"ocid1.generativeaimodel.c","capabilities":["CHAT"],"lifecycleState":"ACTIVE","displayName":"x\u0001"},
        {"id":"ocid1.generativeaimodel.d","capabilities":["CHAT"],"displayName":"no.state"},
        {"id":"ocid1.generativeaimodel.e","capabilities":"CHAT","lifecycleState":"ACTIVE","displayName":"caps.not-array"},
        {"capabilities":["CHAT"],"lifecycleState":"ACTIVE","displayName":"no.id"},
        {"id":"ocid1.generativeaimodel.f","capabilities":["CHAT"],"lifecycleState":"ACTIVE","timeCreated":"garbage"}
    ]})");
    REQUIRE(models.size() == 1);
    // No displayName: the OCID is the name; an unreadable date is 0.
    CHECK(models[0].name == "ocid1.generativeaimodel.f");
    CHECK(models[0].created == 0);
}

TEST_CASE("models list: each usable name once, deprecated kept, retired dropped, aliases first",
          "[models]")
{
    auto cfg = ogp_test::test_config();
    auto body = models_list_json(cfg, 1700000000, fixture_models(), now_2026);
    auto ids = listed_ids(body);
    // The aliases (my-endpoint, command-v2, embed, llama), then the discovered names: llama 3.3
    // once for its two versions, command-r (deprecated, retired only in 2030), embed-v4, grok-4;
    // not command-r-plus (retired in 2025), not the OCI model named like the alias `embed`.
    CHECK(ids == std::vector<std::string>{"my-endpoint", "command-v2", "embed", "llama",
                                          "meta.llama-3.3-70b-instruct", "cohere.command-r-08-2024",
                                          "cohere.embed-v4.0", "xai.grok-4"});
    ogp_test::check_golden_json(body, ogp_test::fixture_dir("models") / "aliases_and_oci.json");

    // The same list before command-r-plus's retirement (2025-01-01) lists it.
    auto before = listed_ids(models_list_json(cfg, 1700000000, fixture_models(), 1735689600));
    CHECK(std::count(before.begin(), before.end(), "cohere.command-r-plus") == 1);
    // And after command-r's (2030-06-01) drops that one too.
    auto after = listed_ids(models_list_json(cfg, 1700000000, fixture_models(), 1906502400));
    CHECK(std::count(after.begin(), after.end(), "cohere.command-r-08-2024") == 0);
}

TEST_CASE("models list: created and owned_by come from OCI's list", "[models]")
{
    ogp::config cfg;
    // An alias whose id is a listed OCID is owned by that model's vendor.
    cfg.models.push_back(
        {"grok", "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaagrok4", std::nullopt, {}, {}});
    auto one = [&](std::string_view id) {
        auto j = model_json(cfg, 1700000000, fixture_models(), now_2026, id);
        REQUIRE(j);
        rapidjson::Document d;
        d.Parse(j->c_str());
        REQUIRE(d.IsObject());
        CHECK(std::string(d["object"].GetString()) == "model");
        return std::make_tuple(std::string(d["id"].GetString()), d["created"].GetInt64(),
                               std::string(d["owned_by"].GetString()));
    };
    CHECK(one("grok") ==
          std::make_tuple(std::string("grok"), std::int64_t{1700000000}, std::string("xai")));
    // The newest version of a name speaks for it (2025-02-01, not 2024-12-18).
    CHECK(one("meta.llama-3.3-70b-instruct") ==
          std::make_tuple(std::string("meta.llama-3.3-70b-instruct"), std::int64_t{1738396800},
                          std::string("meta")));
    CHECK(one("cohere.command-r-08-2024") ==
          std::make_tuple(std::string("cohere.command-r-08-2024"), std::int64_t{1725530400},
                          std::string("cohere")));
    // A listed model's OCID: that model, under the OCID the client asked for.
    const std::string ocid = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaaembedv4";
    CHECK(one(ocid) == std::make_tuple(ocid, std::int64_t{1747699200}, std::string("cohere")));
    // Unknown, retired, filtered out, or only an OCI model id in a URL: none.
    for (const char* id : {"nope", "cohere.command-r-plus", "cohere.rerank-v3.5",
                           "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaacommandrplus",
                           "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaarerank", ""}) {
        INFO(id);
        CHECK_FALSE(model_json(cfg, 1700000000, fixture_models(), now_2026, id));
    }
}

TEST_CASE("model_name_of: the displayName of a listed OCID", "[models]")
{
    auto models = fixture_models();
    CHECK(model_name_of(models, "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaacommandr") ==
          "cohere.command-r-08-2024");
    CHECK(model_name_of(models, "ocid1.generativeaimodel.oc1.us-chicago-1.nope").empty());
    CHECK(model_name_of(models, "meta.llama-3.3-70b-instruct").empty());
}

TEST_CASE("models list without discovery: the aliases only", "[models]")
{
    auto cfg = ogp_test::test_config();
    auto ids = listed_ids(models_list_json(cfg, 1700000000));
    CHECK(ids == std::vector<std::string>{"my-endpoint", "command-v2", "embed", "llama"});
}
