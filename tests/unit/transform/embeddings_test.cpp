#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstring>
#include <filesystem>

#include "ogp/transform/embeddings.hpp"
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
        CHECK(std::string(d["truncate"].GetString()) == "NONE");  // OpenAI: too long is a 400
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

TEST_CASE("embeddings truncate: NONE unless the request or defaults.embeddings_truncate says",
          "[transform][embeddings]")
{
    auto cfg = ogp_test::test_config();
    auto truncate_of = [&](const std::string& body) {
        auto r = plan_embeddings(body, cfg);
        REQUIRE(r.ok());
        rapidjson::Document d;
        d.Parse(r.value().bodies[0].c_str());
        return std::string(d["truncate"].GetString());
    };
    CHECK(truncate_of(R"({"model":"embed","input":"x"})") == "NONE");
    cfg.defaults.embeddings_truncate = "end";
    CHECK(truncate_of(R"({"model":"embed","input":"x"})") == "END");
    CHECK(truncate_of(R"({"model":"embed","input":"x","truncate":"none"})") == "NONE");
    cfg.defaults.embeddings_truncate = "start";
    CHECK(truncate_of(R"({"model":"embed","input":"x"})") == "START");
}

TEST_CASE("embeddings dimensions: only what the model produces", "[transform][embeddings]")
{
    auto cfg = ogp_test::test_config();
    // outputDimensions sent, or absent (0); a 400 naming `dimensions` is -1.
    auto dims_sent = [&](const std::string& model, int dims) -> long {
        auto r = plan_embeddings(
            R"({"model":")" + model + R"(","input":"x","dimensions":)" + std::to_string(dims) + "}",
            cfg);
        if (!r.ok()) {
            CHECK(r.error().status == 400);
            CHECK(r.error().param == "dimensions");
            CHECK(r.error().message.find(std::to_string(dims)) != std::string::npos);
            return -1;
        }
        rapidjson::Document d;
        d.Parse(r.value().bodies[0].c_str());
        return d.HasMember("outputDimensions") ? d["outputDimensions"].GetInt() : 0;
    };
    // embed v4 (the alias `embed` and the model name): 256, 512, 1024, 1536.
    for (int n : {256, 512, 1024, 1536}) {
        CHECK(dims_sent("embed", n) == n);
        CHECK(dims_sent("cohere.embed-v4.0", n) == n);
    }
    for (int n : {8, 100, 384, 768, 2048, 3072}) {
        CHECK(dims_sent("cohere.embed-v4.0", n) == -1);
    }
    // v3: only the model's own size, which is then not sent (OCI takes no outputDimensions).
    CHECK(dims_sent("cohere.embed-english-v3.0", 1024) == 0);
    CHECK(dims_sent("cohere.embed-multilingual-v3.0", 1024) == 0);
    CHECK(dims_sent("cohere.embed-english-light-v3.0", 384) == 0);
    CHECK(dims_sent("cohere.embed-english-v3.0", 8) == -1);
    CHECK(dims_sent("cohere.embed-english-v3.0", 512) == -1);
    CHECK(dims_sent("cohere.embed-multilingual-light-v3.0", 1024) == -1);
    // Models this table does not know, dedicated endpoints: OCI decides.
    CHECK(dims_sent("vendor.embed-next", 8) == 8);
    CHECK(dims_sent("my-endpoint", 8) == 8);
}

TEST_CASE("embeddings: a model OCID goes as the OCID, its dimensions by its name",
          "[transform][embeddings][models]")
{
    auto cfg = ogp_test::test_config();
    const std::string ocid = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaaembedv4";
    ogp::transform::model_name_lookup names = [&](std::string_view id) {
        return id == ocid ? std::string("cohere.embed-v4.0") : std::string();
    };
    auto r =
        plan_embeddings(R"({"model":")" + ocid + R"(","input":"x","dimensions":256})", cfg, names);
    REQUIRE(r.ok());
    rapidjson::Document d;
    d.Parse(r.value().bodies[0].c_str());
    CHECK(std::string(d["servingMode"]["servingType"].GetString()) == "ON_DEMAND");
    CHECK(std::string(d["servingMode"]["modelId"].GetString()) == ocid);
    CHECK(d["outputDimensions"].GetInt() == 256);
    CHECK(r.value().client_model == ocid);
    auto bad =
        plan_embeddings(R"({"model":")" + ocid + R"(","input":"x","dimensions":300})", cfg, names);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().param == "dimensions");
    // Unknown OCID: sent as is, dimensions passed through.
    auto unknown = plan_embeddings(
        R"({"model":"ocid1.generativeaimodel.oc1..other","input":"x","dimensions":300})", cfg,
        names);
    REQUIRE(unknown.ok());
    d.Parse(unknown.value().bodies[0].c_str());
    CHECK(std::string(d["servingMode"]["modelId"].GetString()) ==
          "ocid1.generativeaimodel.oc1..other");
}
