#pragma once
// Catch2 checks on the daemon's answers in the end-to-end tests (daemon against the mock).

#include <string>
#include <string_view>
#include <vector>

#include "support/http.hpp"
#include "support/http_checks.hpp"

namespace ogp::test {

/// A response and the seconds from sending its request to its end.
struct timed_response
{
    http_response response;
    double seconds = 0;
};

/// http_client::request, timed.
timed_response timed_request(http_client& c, std::string_view method, std::string_view path,
                             std::string_view body, ms timeout);

/// POSTs chat `body` to /v1/chat/completions on `c` and checks that it is answered 504 with
/// the OpenAI error code `upstream_timeout` within `window` seconds. Returns the response.
http_response expect_upstream_timeout(http_client& c, std::string_view body, seconds_window window,
                                      ms timeout);

/// Checks a stream that the daemon ended with an error event: 200 (REQUIREd), a terminated
/// chunked body, at least one SSE event (REQUIREd), the last of which is not [DONE], all
/// earlier ones chat.completion.chunk objects. Returns the events; the caller checks the error.
std::vector<std::string> expect_stream_ended_by_error(const http_response& r);

/// POSTs chat `body` to /v1/chat/completions on `c` every 50 ms until one is answered 200 or
/// `budget` passes (each try bounded by `timeout`); returns the last status (e.g. once a
/// limit's slot is free again).
int status_until_ok(http_client& c, std::string_view body, ms budget, ms timeout = 10s);

}  // namespace ogp::test
