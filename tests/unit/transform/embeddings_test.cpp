#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <filesystem>

#include "ogp/transform/embeddings.hpp"
#include "ogp/transform/models.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;

namespace {

std::string inputs_json(int count)
{
    std::string s = "[";
    for (int i = 0; i < count; ++i) {
        s += (i > 0 ? ",\"t" : "\"t") + std::to_string(i) + "\"";
    }
    return s + "]";
}

// An OCI EmbedTextResult whose vector i is {base + i, -0.5}.
std::string oci_result(std::size_t count, int base, bool counts_style)
{
    std::string s = "{\"id\":\"x\",\"embeddings\":[";
    for (std::size_t i = 0; i < count; ++i) {
        s += (i > 0 ? ",[" : "[") + std::to_string(base + static_cast<int>(i)) + ".25,-0.5]";
    }
    s += "]";
    if (counts_style) {
        s += ",\"inputTextTokenCounts\":[";
        for (std::size_t i = 0; i < count; ++i) {
            s += i > 0 ? ",2" : "2";
        }
        s += "]";
    } else {
        s += ",\"usage\":{\"promptTokens\":" + std::to_string(count * 3) +
             ",\"totalTokens\":" + std::to_string(count * 3) + "}";
    }
    return s + "}";
}

std::string decode_base64(const std::string& in)
{
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z')
            return c - 'A';
        if (c >= 'a' && c <= 'z')
            return c - 'a' + 26;
        if (c >= '0' && c <= '9')
            return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    std::string out;
    int buf = 0, bits = 0;
    for (char c : in) {
        int v = val(c);
        if (v < 0)
            break;
        buf = (buf << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xFF));
        }
    }
    return out;
}

}  // namespace

TEST_CASE("embeddings request: batches of at most 96, options mapped", "[transform][embeddings]")
{
    auto cfg = ogp_test::test_config();
    SECTION("200 inputs make 96 + 96 + 8, in order")
    {
        auto r = plan_embeddings(
            R"({"model":"embed","input":)" + inputs_json(200) + R"(,"dimensions":512})", cfg);
        REQUIRE(r.ok());
        auto& p = r.value();
        REQUIRE(p.bodies.size() == 3);
        CHECK(p.batch_sizes == std::vector<std::size_t>{96, 96, 8});
        CHECK(p.input_count == 200);
        CHECK(p.path == "/20231130/actions/embedText");
        rapidjson::Document d;
        d.Parse(p.bodies[1].c_str());
        CHECK(std::string(d["inputs"][0].GetString()) == "t96");
        CHECK(d["outputDimensions"].GetInt() == 512);
        CHECK(std::string(d["truncate"].GetString()) == "END");
        CHECK(std::string(d["inputType"].GetString()) == "SEARCH_DOCUMENT");  // alias default
        CHECK(std::string(d["servingMode"]["modelId"].GetString()) == "cohere.embed-v4.0");
        CHECK(std::string(d["compartmentId"].GetString()) == "ocid1.compartment.oc1..test");
    }
    SECTION("request input_type and truncate win")
    {
        auto r = plan_embeddings(
            R"({"model":"embed","input":"hello","input_type":"search_query","truncate":"start","encoding_format":"base64"})",
            cfg);
        REQUIRE(r.ok());
        rapidjson::Document d;
        d.Parse(r.value().bodies[0].c_str());
        CHECK(std::string(d["inputType"].GetString()) == "SEARCH_QUERY");
        CHECK(std::string(d["truncate"].GetString()) == "START");
        CHECK(r.value().base64);
        CHECK_FALSE(d.HasMember("outputDimensions"));
    }
    SECTION("errors")
    {
        auto bad = [&](const std::string& body, const std::string& param) {
            auto r = plan_embeddings(body, cfg);
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().status == 400);
            CHECK(r.error().param == param);
        };
        bad(R"({"model":"embed","input":[1,2,3]})", "input");
        bad(R"({"model":"embed","input":[[1,2],[3]]})", "input");
        bad(R"({"model":"embed","input":[]})", "input");
        bad(R"({"model":"embed"})", "input");
        bad(R"({"input":"x"})", "model");
        bad(R"({"model":"embed","input":"x","encoding_format":"int8"})", "encoding_format");
        bad(R"({"model":"embed","input":"x","input_type":"poetry"})", "input_type");
        bad(R"({"model":"embed","input":"x","truncate":"middle"})", "truncate");
        bad(R"({"model":"embed","input":"x","dimensions":-1})", "dimensions");
        CHECK(plan_embeddings(std::string(5000, '['), cfg).error().status == 400);
    }
}

TEST_CASE("embeddings response: merged in order, float and base64, usage",
          "[transform][embeddings]")
{
    auto cfg = ogp_test::test_config();
    auto r = plan_embeddings(R"({"model":"embed","input":)" + inputs_json(100) + "}", cfg);
    REQUIRE(r.ok());
    auto plan = r.value();
    std::vector<std::string> bodies = {oci_result(96, 0, false), oci_result(4, 96, true)};
    SECTION("float")
    {
        auto out = embeddings_response_to_openai(bodies, plan);
        REQUIRE(out.ok());
        rapidjson::Document d;
        d.Parse(out.value().c_str());
        CHECK(std::string(d["object"].GetString()) == "list");
        REQUIRE(d["data"].Size() == 100);
        for (rapidjson::SizeType i = 0; i < 100; ++i) {
            CHECK(d["data"][i]["index"].GetInt() == static_cast<int>(i));
            CHECK(d["data"][i]["embedding"][0].GetDouble() == static_cast<double>(i) + 0.25);
        }
        CHECK(std::string(d["data"][0]["object"].GetString()) == "embedding");
        CHECK(std::string(d["model"].GetString()) == "embed");
        CHECK(d["usage"]["prompt_tokens"].GetInt() == 96 * 3 + 4 * 2);
        CHECK(d["usage"]["total_tokens"].GetInt() == 96 * 3 + 4 * 2);
    }
    SECTION("base64 is little-endian float32")
    {
        plan.base64 = true;
        auto out = embeddings_response_to_openai(bodies, plan);
        REQUIRE(out.ok());
        rapidjson::Document d;
        d.Parse(out.value().c_str());
        std::string raw = decode_base64(d["data"][97]["embedding"].GetString());
        REQUIRE(raw.size() == 8);
        unsigned char b[4];
        std::memcpy(b, raw.data(), 4);
        std::uint32_t u =
            b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
        float f;
        std::memcpy(&f, &u, 4);
        CHECK(f == 97.25f);
    }
    SECTION("mismatched batches are a 502")
    {
        CHECK(embeddings_response_to_openai({bodies[0]}, plan).error().status == 502);
        CHECK(embeddings_response_to_openai({bodies[0], oci_result(3, 0, true)}, plan)
                  .error()
                  .status == 502);
        CHECK(embeddings_response_to_openai({bodies[0], "nope"}, plan).error().status == 502);
    }
}

TEST_CASE("base64", "[transform][embeddings]")
{
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(decode_base64(base64_encode(std::string("\x00\xff\x10", 3))) ==
          std::string("\x00\xff\x10", 3));
}

TEST_CASE("models list from the alias table, mergeable with OCI ids", "[transform][models]")
{
    auto cfg = ogp_test::test_config();
    std::string json =
        models_list_json(cfg, 1700000000, {"meta.llama-3.3-70b-instruct", "llama", "bad\nid"});
    rapidjson::Document d;
    d.Parse(json.c_str());
    REQUIRE(d.IsObject());
    CHECK(std::string(d["object"].GetString()) == "list");
    const auto& data = d["data"];
    REQUIRE(data.Size() == cfg.models.size() + 1);
    CHECK(std::string(data[0]["id"].GetString()) == "my-endpoint");
    CHECK(std::string(data[0]["owned_by"].GetString()) == "oci");
    CHECK(std::string(data[1]["owned_by"].GetString()) == "cohere");
    CHECK(std::string(data[0]["object"].GetString()) == "model");
    CHECK(data[0]["created"].GetInt64() == 1700000000);
    CHECK(std::string(data[cfg.models.size()]["id"].GetString()) == "meta.llama-3.3-70b-instruct");
    CHECK(std::string(data[cfg.models.size()]["owned_by"].GetString()) == "meta");
}

TEST_CASE("embeddings golden fixtures in both directions", "[transform][embeddings]")
{
    ogp_test::for_each_fixture(
        "embeddings", ".openai.json", 3, [](const auto& dir, const auto& name) {
            auto r = plan_embeddings(ogp_test::read_file(dir / (name + ".openai.json")),
                                     ogp_test::test_config());
            REQUIRE(r.ok());
            // Request bodies, as one JSON array.
            std::string bodies = "[";
            for (std::size_t i = 0; i < r.value().bodies.size(); ++i) {
                bodies += (i > 0 ? "," : "") + r.value().bodies[i];
            }
            bodies += "]";
            // Response: the OCI results merged.
            rapidjson::Document results;
            std::string raw = ogp_test::read_file(dir / (name + ".oci_results.json"));
            results.Parse(raw.c_str());
            REQUIRE(results.IsArray());
            std::vector<std::string> oci;
            for (auto& v : results.GetArray()) {
                rapidjson::StringBuffer sb;
                rapidjson::Writer<rapidjson::StringBuffer> w(sb);
                v.Accept(w);
                oci.emplace_back(sb.GetString(), sb.GetSize());
            }
            auto merged = embeddings_response_to_openai(oci, r.value());
            REQUIRE(merged.ok());
            ogp_test::check_golden_json(bodies, dir / (name + ".oci.json"));
            ogp_test::check_golden_json(merged.value(), dir / (name + ".response.json"));
        });
}

TEST_CASE("models list golden fixture", "[transform][models]")
{
    auto path = ogp_test::fixture_dir("models") / "aliases_and_oci.json";
    std::string json = models_list_json(ogp_test::test_config(), 1700000000,
                                        {"cohere.command-a-03-2025", "xai.grok-4", "embed"});
    if (ogp_test::update_golden()) {
        std::filesystem::create_directories(path.parent_path());
        ogp_test::write_file(path, ogp_test::pretty(json));
        return;
    }
    CHECK(ogp_test::json_equal(json, ogp_test::read_file(path)));
}
