#include "support/e2e_checks.hpp"

#include <catch2/catch.hpp>

#include <thread>

#include "support/json.hpp"

namespace ogp::test {

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";

}  // namespace

timed_response timed_request(http_client& c, std::string_view method, std::string_view path,
                             std::string_view body, ms timeout)
{
    const auto start = steady::now();
    timed_response out;
    out.response = c.request(method, path, body, timeout);
    out.seconds = seconds_since(start);
    return out;
}

http_response expect_upstream_timeout(http_client& c, std::string_view body, seconds_window window,
                                      ms timeout)
{
    auto [r, took] = timed_request(c, "POST", chat_path, body, timeout);
    INFO(printable(r.body) << " after " << took << " s");
    CHECK(r.status == 504);
    CHECK(json_string(r.body, "/error/code") == "upstream_timeout");
    check_window(took, window, "answered after");
    return r;
}

std::vector<std::string> expect_stream_ended_by_error(const http_response& r)
{
    INFO(printable(r.body, 2000));
    REQUIRE(r.status == 200);
    CHECK(r.complete);  // a terminated chunked body: no hang, not a bare EOF
    auto events = r.sse_data();
    REQUIRE(events.size() >= 1);
    CHECK(events.back() != "[DONE]");
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
        CHECK(json_string(events[i], "/object") == "chat.completion.chunk");
    }
    return events;
}

int status_until_ok(http_client& c, std::string_view body, ms budget, ms timeout)
{
    int status = 0;
    const auto deadline = steady::now() + budget;
    while (status != 200 && steady::now() < deadline) {
        status = c.request("POST", chat_path, body, timeout).status;
        if (status != 200) {
            std::this_thread::sleep_for(50ms);
        }
    }
    return status;
}

}  // namespace ogp::test
