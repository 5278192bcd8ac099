// /v1/models filtered by a client key's allow-list (issue 16): models_list_json and model_json
// with a visibility predicate.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

#include "ogp/transform/models.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;
using ogp_test::fixture_models;
using ogp_test::listed_ids;
using ogp_test::now_2026;

TEST_CASE("models filter: no predicate lists everything", "[models][filter]")
{
    auto cfg = ogp_test::test_config();
    CHECK(models_list_json(cfg, 1700000000, fixture_models(), now_2026) ==
          models_list_json(cfg, 1700000000, fixture_models(), now_2026, model_filter{}));
}

TEST_CASE("models filter: only visible ids are listed", "[models][filter]")
{
    auto cfg = ogp_test::test_config();
    const model_filter only = [](std::string_view id) {
        return id == "llama" || id.starts_with("cohere.");
    };
    auto ids = listed_ids(models_list_json(cfg, 1700000000, fixture_models(), now_2026, only));
    CHECK(ids ==
          std::vector<std::string>{"llama", "cohere.command-r-08-2024", "cohere.embed-v4.0"});
    const model_filter none = [](std::string_view) { return false; };
    CHECK(models_list_json(cfg, 1700000000, fixture_models(), now_2026, none) ==
          R"({"object":"list","data":[]})");
}

TEST_CASE("models filter: a hidden model is not found", "[models][filter]")
{
    auto cfg = ogp_test::test_config();
    const model_filter only = [](std::string_view id) { return id == "llama"; };
    CHECK(model_json(cfg, 1700000000, fixture_models(), now_2026, "llama", only));
    CHECK_FALSE(model_json(cfg, 1700000000, fixture_models(), now_2026, "embed", only));
    CHECK(model_json(cfg, 1700000000, fixture_models(), now_2026, "embed"));
    CHECK_FALSE(
        model_json(cfg, 1700000000, fixture_models(), now_2026, "cohere.command-r-08-2024", only));
}
