// Unit tests for the region table.
#include <catch2/catch.hpp>

#include "ogp/config/region.hpp"

using namespace ogp;

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
