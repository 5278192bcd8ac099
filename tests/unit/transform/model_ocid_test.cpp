// A request that names a model by its OCID (ocid1.generativeaimodel...): sent ON_DEMAND with the
// OCID as modelId, its format (and family) from the usable name OCI's model list gives (the api
// layer's lookup), GENERIC when the name is unknown; chat and Responses alike.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>

#include "ogp/transform/chat_request.hpp"
#include "ogp/transform/responses.hpp"
#include "unit/transform/support.hpp"

using namespace ogp::transform;

namespace {

const std::string cohere_ocid = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaacommandr";
const std::string llama_ocid = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaallama33v2";

std::string lookup_name(std::string_view ocid)
{
    if (ocid == cohere_ocid) {
        return "cohere.command-r-08-2024";
    }
    if (ocid == llama_ocid) {
        return "meta.llama-3.3-70b-instruct";
    }
    return {};
}

struct sent
{
    std::string format;
    std::string serving_type;
    std::string model_id;
};

sent what_is_sent(const std::string& oci_body)
{
    rapidjson::Document d;
    d.Parse(oci_body.c_str());
    REQUIRE(d.IsObject());
    return {d["chatRequest"]["apiFormat"].GetString(), d["servingMode"]["servingType"].GetString(),
            d["servingMode"]["modelId"].GetString()};
}

std::string chat_body(const std::string& model)
{
    return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}]})";
}

}  // namespace

TEST_CASE("resolve_model: a model OCID takes the format of its usable name", "[models][ocid]")
{
    auto cfg = ogp_test::test_config();
    auto r = resolve_model(cohere_ocid, cfg, lookup_name);
    REQUIRE(r.ok());
    CHECK(r.value().format == ogp::api_format::cohere);
    CHECK(r.value().oci_id == "cohere.command-r-08-2024");
    CHECK(r.value().model_ocid == cohere_ocid);
    CHECK(r.value().serving_id() == cohere_ocid);
    CHECK_FALSE(r.value().dedicated);
    // Without a lookup, or for an OCID it does not know: the OCID, GENERIC.
    for (auto rr : {resolve_model(cohere_ocid, cfg),
                    resolve_model("ocid1.generativeaimodel.oc1..unknown", cfg, lookup_name)}) {
        REQUIRE(rr.ok());
        CHECK(rr.value().format == ogp::api_format::generic);
        CHECK(rr.value().model_ocid.empty());
        CHECK(rr.value().serving_id() == rr.value().oci_id);
    }
    // A name that is not a model OCID is never looked up.
    bool asked = false;
    model_name_lookup spy = [&](std::string_view) {
        asked = true;
        return std::string("cohere.command-r-08-2024");
    };
    REQUIRE(resolve_model("meta.llama-3.3-70b-instruct", cfg, spy).ok());
    REQUIRE(resolve_model("my-endpoint", cfg, spy).ok());
    CHECK_FALSE(asked);
    // A name the lookup gives that is unusable is ignored.
    model_name_lookup bad = [](std::string_view) { return std::string("bad\nname"); };
    auto rb = resolve_model(cohere_ocid, cfg, bad);
    REQUIRE(rb.ok());
    CHECK(rb.value().model_ocid.empty());
}

TEST_CASE("resolve_model: an alias to a model OCID - its explicit format wins", "[models][ocid]")
{
    auto cfg = ogp_test::test_config();
    cfg.models.push_back({"cmd", cohere_ocid, std::nullopt, {}, {}});
    cfg.models.push_back({"cmd-v2", cohere_ocid, ogp::api_format::coherev2, {}, {}});
    auto a = resolve_model("cmd", cfg, lookup_name);
    REQUIRE(a.ok());
    CHECK(a.value().format == ogp::api_format::cohere);
    CHECK(a.value().serving_id() == cohere_ocid);
    auto b = resolve_model("cmd-v2", cfg, lookup_name);
    REQUIRE(b.ok());
    CHECK(b.value().format == ogp::api_format::coherev2);
    CHECK(b.value().serving_id() == cohere_ocid);
}

TEST_CASE("chat and Responses by model OCID: ON_DEMAND with the OCID, the name's format",
          "[models][ocid]")
{
    auto cfg = ogp_test::test_config();
    auto chat = plan_chat(chat_body(cohere_ocid), cfg, lookup_name);
    REQUIRE(chat.ok());
    auto s = what_is_sent(chat.value().body);
    CHECK(s.format == "COHERE");
    CHECK(s.serving_type == "ON_DEMAND");
    CHECK(s.model_id == cohere_ocid);
    CHECK(chat.value().client_model == cohere_ocid);

    auto llama = plan_chat(chat_body(llama_ocid), cfg, lookup_name);
    REQUIRE(llama.ok());
    CHECK(what_is_sent(llama.value().body).format == "GENERIC");
    CHECK(what_is_sent(llama.value().body).model_id == llama_ocid);

    auto resp =
        plan_responses(R"({"model":")" + cohere_ocid + R"(","input":"hi"})", cfg, lookup_name);
    REQUIRE(resp.ok());
    s = what_is_sent(resp.value().chat.body);
    CHECK(s.format == "COHERE");
    CHECK(s.model_id == cohere_ocid);

    // Unknown: GENERIC with the OCID (OCI answers for a model that needs another format).
    auto unknown = plan_chat(chat_body(cohere_ocid), cfg);
    REQUIRE(unknown.ok());
    CHECK(what_is_sent(unknown.value().body).format == "GENERIC");
    CHECK(what_is_sent(unknown.value().body).model_id == cohere_ocid);
}

TEST_CASE("a model OCID gets its family's output length and parameter names", "[models][ocid]")
{
    auto cfg = ogp_test::test_config();
    const std::string gpt5 = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaagpt5";
    model_name_lookup names = [&](std::string_view id) {
        return id == gpt5 ? std::string("openai.gpt-5") : std::string();
    };
    auto known = plan_chat(chat_body(gpt5), cfg, names);
    REQUIRE(known.ok());
    rapidjson::Document d;
    d.Parse(known.value().body.c_str());
    // openai.gpt-5 takes maxCompletionTokens, never maxTokens (the family table's entry).
    CHECK(d["chatRequest"].HasMember("maxCompletionTokens"));
    CHECK_FALSE(d["chatRequest"].HasMember("maxTokens"));
    CHECK(std::string(d["servingMode"]["modelId"].GetString()) == gpt5);
    // Unknown, the OCID names no family: no maxCompletionTokens.
    auto unknown = plan_chat(chat_body(gpt5), cfg);
    REQUIRE(unknown.ok());
    d.Parse(unknown.value().body.c_str());
    CHECK_FALSE(d["chatRequest"].HasMember("maxCompletionTokens"));
}
