#pragma once
// Circuit breaking per upstream host (circuit_breaker.*): a pure state machine with an
// injected clock, and a registry of breakers shared by the configuration generations.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ogp::api {

/// A breaker's state (metrics gauge values 0, 1, 2).
enum class circuit_state { closed = 0, half_open = 1, open = 2 };

/// Returns "closed", "half_open" or "open".
std::string_view to_string(circuit_state s);

/// One upstream host's circuit as service::circuits() reports it.
struct circuit_status
{
    std::string upstream;  ///< the region id (or the endpoint's host when no region applies)
    std::string host;      ///< `host:port` of the endpoint
    circuit_state state = circuit_state::closed;
    std::chrono::milliseconds retry_in{0};  ///< open: until the next probe may go
    std::uint64_t opened = 0;               ///< times it opened so far
};

}  // namespace ogp::api
