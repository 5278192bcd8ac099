// Unit tests for OpenAI error bodies and the region table.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "ogp/config/region.hpp"
#include "ogp/openai/error.hpp"

using namespace ogp;

TEST_CASE("error body has the four OpenAI fields, null when absent", "[errors]")
{
    auto e = invalid_request("messages must not be empty", "messages");
    CHECK(e.status == 400);
    rapidjson::Document d;
    d.Parse(e.body().c_str());
    REQUIRE_FALSE(d.HasParseError());
    const auto& err = d["error"];
    CHECK(std::string(err["message"].GetString()) == "messages must not be empty");
    CHECK(std::string(err["type"].GetString()) == "invalid_request_error");
    CHECK(std::string(err["param"].GetString()) == "messages");
    CHECK(err["code"].IsNull());
    CHECK(d.MemberCount() == 1);
    CHECK(err.MemberCount() == 4);
}

TEST_CASE("error messages are escaped into valid JSON", "[errors]")
{
    auto e = not_found(std::string("bad \"quote\" \\ and \n newline \x01 ctl"));
    rapidjson::Document d;
    d.Parse(e.body().c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["error"]["message"].GetString()) ==
          std::string("bad \"quote\" \\ and \n newline \x01 ctl"));
    CHECK(json_quote("a\"b") == "\"a\\\"b\"");
}

TEST_CASE("status and codes of the helpers", "[errors]")
{
    CHECK(invalid_api_key("x").status == 401);
    CHECK(invalid_api_key("x").code == "invalid_api_key");
    CHECK(method_not_allowed("x").status == 405);
    CHECK(not_implemented("x").status == 501);
    auto u = service_unavailable("busy", "3");
    CHECK(u.status == 503);
    CHECK(u.retry_after == "3");
}

TEST_CASE("regions resolve by id and short code to realm hosts", "[region]")
{
    auto chicago = resolve_region("us-chicago-1");
    REQUIRE(chicago);
    CHECK(chicago->realm == "oc1");
    CHECK(inference_endpoint(*chicago) ==
          "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com");
    CHECK(auth_endpoint(*chicago) == "https://auth.us-chicago-1.oraclecloud.com");

    auto phx = resolve_region("PHX");
    REQUIRE(phx);
    CHECK(phx->id == "us-phoenix-1");

    auto gov = resolve_region("us-gov-ashburn-1");
    REQUIRE(gov);
    CHECK(gov->realm == "oc3");
    CHECK(inference_endpoint(*gov) ==
          "https://inference.generativeai.us-gov-ashburn-1.oci.oraclegovcloud.com");

    auto uk = resolve_region("ltn");
    REQUIRE(uk);
    CHECK(uk->domain == "oraclegovcloud.uk");

    auto eu = resolve_region("eu-frankfurt-2");
    REQUIRE(eu);
    CHECK(eu->domain == "oraclecloud.eu");
}

TEST_CASE("unknown regions: well-formed ids fall back to a realm, garbage is refused", "[region]")
{
    auto fresh = resolve_region("xx-newcity-1");
    REQUIRE(fresh);
    CHECK(fresh->realm == "oc1");
    CHECK(fresh->domain == "oraclecloud.com");

    auto eu = resolve_region("xx-newcity-1", "oraclecloud.eu");
    REQUIRE(eu);
    CHECK(eu->realm == "oc19");

    CHECK_FALSE(resolve_region(""));
    CHECK_FALSE(resolve_region("zzz"));
    CHECK_FALSE(resolve_region("us chicago 1"));
    CHECK_FALSE(resolve_region("evil.com/x-1"));
}
