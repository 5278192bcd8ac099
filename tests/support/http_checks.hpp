#pragma once
// Catch2 checks on how the daemon frames requests: refused ones close the connection, accepted
// ones consume exactly their body.

#include <cstdint>
#include <initializer_list>
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

}  // namespace ogp::test
