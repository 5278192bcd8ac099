#include "support/http_checks.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <thread>

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

void check_window(double seconds, seconds_window w, std::string_view what)
{
    INFO(what << " " << seconds << " s (expected " << w.min << " to " << w.max << " s)");
    CHECK(seconds >= w.min);
    CHECK(seconds <= w.max);
}

http_response expect_refused_and_closed(raw_client& c, std::initializer_list<int> statuses,
                                        ms timeout, bool head_request)
{
    auto r = c.read_response(timeout, head_request);
    REQUIRE(r);
    INFO("response: " << r->status << " " << printable(r->body));
    CHECK(std::find(statuses.begin(), statuses.end(), r->status) != statuses.end());
    CHECK(r->connection_close());
    CHECK(c.is_closed(2s));
    return *r;
}

http_response expect_refused_within(raw_client& c, std::initializer_list<int> statuses,
                                    steady::time_point start, seconds_window window, ms timeout)
{
    auto r = c.read_response(timeout);
    const double at = seconds_since(start);
    INFO("answered after " << at << " s");
    REQUIRE(r);
    INFO("response: " << r->status << " " << printable(r->body));
    CHECK(std::find(statuses.begin(), statuses.end(), r->status) != statuses.end());
    CHECK(r->connection_close());
    CHECK(c.is_closed(2s));
    check_window(at, window, "answered after");
    return *r;
}

double expect_silent_close(raw_client& c, ms timeout, steady::time_point start)
{
    bool closed = false;
    const auto bytes = c.read_until_eof(timeout, &closed);
    const double at = seconds_since(start);
    INFO("closed after " << at << " s; bytes before the close: " << printable(bytes));
    CHECK(closed);
    CHECK(bytes.empty());
    return at;
}

http_response expect_ok(raw_client& c, std::string_view request)
{
    const std::string bytes = request.empty() ? get_request() : std::string(request);
    INFO("request: " << printable(bytes));
    REQUIRE(c.send(bytes));
    auto r = c.read_response();
    REQUIRE(r);
    INFO("response: " << r->status << " " << printable(r->body));
    CHECK(r->status == 200);
    return *r;
}

http_response require_keepalive_ok(raw_client& c, std::string_view request)
{
    REQUIRE(c.send(request.empty() ? get_request() : std::string(request)));
    auto r = c.read_response();
    REQUIRE(r);
    INFO("response: " << r->status << " " << printable(r->body));
    REQUIRE(r->status == 200);
    REQUIRE_FALSE(r->connection_close());
    return *r;
}

std::unique_ptr<raw_client> idle_connection(std::uint16_t port)
{
    auto c = std::make_unique<raw_client>(port);
    require_keepalive_ok(*c);
    return c;
}

bool served_within(std::uint16_t port, ms budget)
{
    const auto deadline = steady::now() + budget;
    while (steady::now() < deadline) {
        raw_client c(port);
        c.send(get_request());
        auto r = c.read_response(1s);
        if (r && r->status == 200) {
            return true;
        }
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

}  // namespace ogp::test
