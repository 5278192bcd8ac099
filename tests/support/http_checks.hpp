#pragma once
// Catch2 checks on how the daemon frames requests: refused ones close the connection, accepted
// ones consume exactly their body.

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>

#include "support/http.hpp"

namespace ogp::test {

/// The outcome of one request on a fresh connection: the first response (nullopt if none
/// came within the timeout) and whether the server then closed without sending more.
struct exchange_result
{
    std::optional<http_response> response;
    bool closed_after = false;
};

/// Connects, sends `bytes` (a failed send is tolerated: the server may close first), reads
/// one response and then waits up to `close_timeout` for the connection to close.
exchange_result exchange_once(std::uint16_t port, std::string_view bytes, ms timeout = 3s,
                              ms close_timeout = 2s);

/// Catch2 checks for a refused request on a fresh connection: exactly one response whose
/// status is one of `statuses`, with `Connection: close` and an OpenAI error body, then the
/// connection closes with no further byte (anything pipelined behind it is never answered).
void check_refused(std::uint16_t port, std::string_view bytes, std::initializer_list<int> statuses);

/// The contrary of check_refused, for requests the framing layer must accept: sends
/// `request` and a `GET /healthz` behind it in one write on `c`, and checks that the first is
/// answered by its route (no `Connection: close`, any status the API handler chooses) and the
/// second with 200, which proves that exactly the first request's body was consumed. Returns
/// the first response (nullopt after a failed check).
std::optional<http_response> check_accepted(raw_client& c, std::string_view request);

/// An inclusive range of seconds for a timing assertion; `max` defaults to no bound.
struct seconds_window
{
    double min = 0;
    double max = std::numeric_limits<double>::infinity();
};

/// CHECKs that `seconds` lies within `w`; a failure reports "<what> <seconds> s".
void check_window(double seconds, seconds_window w, std::string_view what);

/// Reads the next response on `c` within `timeout` (REQUIREd; `head_request` as in
/// raw_client::read_response) and checks a refusal that ends the connection: a status in
/// `statuses`, `Connection: close`, then the peer closes within 2 s without a further byte.
/// Returns the response for the caller's own checks.
http_response expect_refused_and_closed(raw_client& c, std::initializer_list<int> statuses,
                                        ms timeout = 3s, bool head_request = false);

/// expect_refused_and_closed for a refusal sent when a deadline fires: the response must also
/// arrive within `window` seconds after `start` (timed on arrival, before the wait for the
/// close).
http_response expect_refused_within(raw_client& c, std::initializer_list<int> statuses,
                                    steady::time_point start, seconds_window window,
                                    ms timeout = 5s);

/// Checks that the peer closes `c` within `timeout` without sending any byte; returns the
/// seconds from `start` until the close (or the timeout).
double expect_silent_close(raw_client& c, ms timeout, steady::time_point start = steady::now());

/// Sends `request` (empty: `GET /healthz`) on `c`, REQUIREs a response within 3 s and checks
/// that its status is 200. Returns it.
http_response expect_ok(raw_client& c, std::string_view request = {});

/// Sends `request` (empty: `GET /healthz`) on `c` and REQUIREs a 200 that keeps the connection
/// open (keep-alive).
http_response require_keepalive_ok(raw_client& c, std::string_view request = {});

/// A fresh connection to `port` that was served one `GET /healthz` (require_keepalive_ok) and
/// now idles in keep-alive.
std::unique_ptr<raw_client> idle_connection(std::uint16_t port);

/// True once a fresh connection to `port` is served a `GET /healthz` with 200 (1 s per try),
/// tried every 50 ms for up to `budget`: e.g. once a connection slot is free again.
bool served_within(std::uint16_t port, ms budget);

}  // namespace ogp::test
