#include "support/http_checks.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "support/json.hpp"

namespace ogp::test {

exchange_result exchange_once(std::uint16_t port, std::string_view bytes, ms timeout,
                              ms close_timeout)
{
    raw_client c(port);
    c.send(bytes);
    exchange_result r;
    r.response = c.read_response(timeout);
    if (r.response) {
        r.closed_after = c.is_closed(close_timeout);
    }
    return r;
}

void check_refused(std::uint16_t port, std::string_view bytes, std::initializer_list<int> statuses)
{
    INFO("request: " << printable(bytes));
    auto r = exchange_once(port, bytes);
    REQUIRE(r.response.has_value());
    INFO("response: " << r.response->status << " " << printable(r.response->body));
    CHECK(std::find(statuses.begin(), statuses.end(), r.response->status) != statuses.end());
    CHECK(r.response->connection_close());
    CHECK(is_openai_error(r.response->body));
    CHECK(r.response->header("content-type") == std::string("application/json"));
    CHECK(r.response->header("x-request-id").has_value());
    CHECK(r.closed_after);
}

std::optional<http_response> check_accepted(raw_client& c, std::string_view request)
{
    INFO("request: " << printable(request));
    static const std::string probe = get_request("/healthz", "X-Request-Id: accepted-probe\r\n");
    if (!c.send(std::string(request) + probe)) {
        FAIL_CHECK("send failed");
        return std::nullopt;
    }
    auto first = c.read_response();
    if (!first) {
        FAIL_CHECK("no response to the request");
        return std::nullopt;
    }
    INFO("response: " << first->status << " " << printable(first->body));
    CHECK_FALSE(first->connection_close());
    CHECK(first->status != 408);
    CHECK(first->status != 413);
    auto second = c.read_response();
    if (!second) {
        FAIL_CHECK("no response to the GET /healthz behind the request");
        return std::nullopt;
    }
    CHECK(second->status == 200);
    CHECK(second->header("x-request-id") == std::string("accepted-probe"));
    CHECK(second->body == R"({"status":"ok"})");
    return first;
}

}  // namespace ogp::test
