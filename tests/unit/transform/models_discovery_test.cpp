// Unit tests for reading OCI's model list (models_discovery) and merging it into /v1/models.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "ogp/transform/models.hpp"

using namespace ogp::transform;

TEST_CASE("OCI model collection: active chat and embedding models, deduplicated", "[models]")
{
    auto ids = model_ids_from_oci_list(R"({"items":[
        {"id":"meta.llama-3.3-70b-instruct","capabilities":["CHAT"],"lifecycleState":"ACTIVE"},
        {"id":"cohere.embed-english-v3.0","capabilities":["TEXT_EMBEDDINGS"],"lifecycleState":"ACTIVE"},
        {"id":"cohere.rerank","capabilities":["TEXT_RERANK"],"lifecycleState":"ACTIVE"},
        {"id":"old.model","capabilities":["CHAT"],"lifecycleState":"DELETED"},
        {"id":"meta.llama-3.3-70b-instruct","capabilities":["CHAT","FINE_TUNE"]},
        {"id":"bad id","capabilities":["CHAT"]},
        {"capabilities":["CHAT"]}
    ]})");
    REQUIRE(ids ==
            std::vector<std::string>{"meta.llama-3.3-70b-instruct", "cohere.embed-english-v3.0"});
    CHECK(model_ids_from_oci_list("not json").empty());
    CHECK(model_ids_from_oci_list(R"({"items":{}})").empty());
}

TEST_CASE("discovered ids follow the aliases in /v1/models without duplicates", "[models]")
{
    ogp::config cfg;
    cfg.models.push_back({"fast", "meta.llama-3.3-70b-instruct", std::nullopt, {}, {}});
    auto body = models_list_json(cfg, 1700000000,
                                 {"meta.llama-3.3-70b-instruct", "fast", "cohere.command-r"});
    rapidjson::Document d;
    d.Parse(body.c_str());
    REQUIRE(d["data"].IsArray());
    std::vector<std::string> ids;
    for (const auto& m : d["data"].GetArray()) {
        ids.push_back(m["id"].GetString());
    }
    CHECK(ids.front() == "fast");
    CHECK(std::count(ids.begin(), ids.end(), "fast") == 1);
    CHECK(std::count(ids.begin(), ids.end(), "cohere.command-r") == 1);
}
