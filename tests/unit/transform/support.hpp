#pragma once

// Shared helpers for the transform tests: fixture files, a fixed config, JSON comparison, the
// fixture OCI model list and the ids of a /v1/models answer.

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ogp/config/config.hpp"
#include "ogp/transform/models.hpp"
#include "support/transform_config.hpp"

namespace ogp_test {

inline std::filesystem::path fixture_dir(const std::string& sub)
{
    return std::filesystem::path(OGP_TEST_SOURCE_DIR) / "fixtures" / "transform" / sub;
}

inline std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& s)
{
    std::ofstream out(p, std::ios::binary);
    out << s;
}

/// True when golden files should be (re)written instead of compared.
inline bool update_golden()
{
    const char* v = std::getenv("OGP_UPDATE_GOLDEN");
    return v != nullptr && std::string(v) == "1";
}

/// Files in `dir` whose names end with `suffix`, sorted; returns the stems without suffix.
inline std::vector<std::string> fixtures_with(const std::filesystem::path& dir,
                                              const std::string& suffix)
{
    std::vector<std::string> names;
    for (auto& e : std::filesystem::directory_iterator(dir)) {
        std::string n = e.path().filename().string();
        if (n.size() > suffix.size() &&
            n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
            names.push_back(n.substr(0, n.size() - suffix.size()));
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

/// The configuration every transform test uses (shared with the fuzz targets).
inline ogp::config test_config()
{
    return ogp::test::transform_config();
}

/// Pretty JSON, for readable golden files and diffs.
inline std::string pretty(const std::string& json)
{
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    if (d.HasParseError()) {
        return "<<invalid JSON>> " + json;
    }
    rapidjson::StringBuffer sb;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
    w.SetIndent(' ', 1);
    d.Accept(w);
    return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

/// Structural JSON equality (member order ignored).
inline bool json_equal(const std::string& a, const std::string& b)
{
    rapidjson::Document da;
    rapidjson::Document db;
    da.Parse(a.data(), a.size());
    db.Parse(b.data(), b.size());
    return !da.HasParseError() && !db.HasParseError() && da == db;
}

/// Runs `check(dir, name)` for each fixture in `sub` named by `suffix` (requiring at least
/// `at_least` of them), with the fixture's name in the failure message.
template <class Check>
void for_each_fixture(const std::string& sub, const std::string& suffix, std::size_t at_least,
                      Check check)
{
    auto dir = fixture_dir(sub);
    auto names = fixtures_with(dir, suffix);
    REQUIRE(names.size() >= at_least);
    for (const auto& name : names) {
        INFO("fixture " << name);
        check(dir, name);
    }
}

/// `got` must equal the JSON in `golden` (member order ignored); with OGP_UPDATE_GOLDEN=1 the
/// golden file is rewritten from `got` instead.
inline void check_golden_json(const std::string& got, const std::filesystem::path& golden)
{
    if (update_golden()) {
        write_file(golden, pretty(got));
        return;
    }
    INFO("got: " << pretty(got));
    CHECK(json_equal(got, read_file(golden)));
}

/// 2026-01-01T00:00:00Z, "now" for fixture_models(): after cohere.command-r-plus's on-demand
/// retirement (2025-01-15), before cohere.command-r-08-2024's (2030-01-01).
inline constexpr std::int64_t now_2026 = 1767225600;

/// The OCI model list of fixtures/transform/models/oci_list.json, read by models_from_oci_list.
inline std::vector<ogp::transform::oci_model> fixture_models()
{
    return ogp::transform::models_from_oci_list(read_file(fixture_dir("models") / "oci_list.json"));
}

/// The `id`s of a /v1/models list body's `data` array, in order (REQUIREs that shape).
inline std::vector<std::string> listed_ids(const std::string& body)
{
    rapidjson::Document d;
    d.Parse(body.c_str());
    std::vector<std::string> ids;
    REQUIRE(d.IsObject());
    REQUIRE(d["data"].IsArray());
    for (const auto& m : d["data"].GetArray()) {
        ids.emplace_back(m["id"].GetString());
    }
    return ids;
}

}  // namespace ogp_test
