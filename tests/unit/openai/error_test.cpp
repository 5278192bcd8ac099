// Unit tests for the OpenAI error vocabulary: bodies, helpers, and the status-to-type rule.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

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

TEST_CASE("one status, one type: every helper and make_error agree", "[errors]")
{
    // The server's own refusals (guard) and the handlers' errors meet here; a 501 from either
    // must carry the same type (it was server_error in one and not_implemented_error in the other).
    CHECK(to_string(make_error(501, "x").type()) == "not_implemented_error");
    CHECK(to_string(not_implemented("x").type()) == "not_implemented_error");
    CHECK(to_string(make_error(503, "x").type()) == "service_unavailable_error");
    CHECK(to_string(service_unavailable("x").type()) == "service_unavailable_error");
    CHECK(to_string(make_error(429, "x").type()) == "rate_limit_error");
    CHECK(to_string(make_error(403, "x").type()) == "permission_error");
    for (unsigned s : {400u, 401u, 404u, 405u, 408u, 411u, 413u, 414u, 431u}) {
        INFO(s);
        CHECK(to_string(make_error(s, "x").type()) == "invalid_request_error");
    }
    for (unsigned s : {500u, 502u, 504u, 505u}) {
        INFO(s);
        CHECK(to_string(make_error(s, "x").type()) == "api_error");
    }
    const auto e = make_error(502, "m", error_codes::upstream_error, "p");
    CHECK(e.status == 502);
    CHECK(e.code == "upstream_error");
    CHECK(e.param == "p");
}

TEST_CASE("a specific type overrides the status type in the body", "[openai][error]")
{
    auto e = make_error(429, "slow down", "rate_limit_exceeded");
    CHECK(e.body().find(R"("type":"rate_limit_error")") != std::string::npos);
    e.type_name = "tokens";
    CHECK(e.body().find(R"("type":"tokens")") != std::string::npos);
    CHECK(e.body().find("rate_limit_error") == std::string::npos);
}
