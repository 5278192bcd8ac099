#pragma once
// Shared basics of the test harness (integration and e2e): time units, the ASan switch, and
// helpers for bounded waits and readable failure messages.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ogp::test {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
/// True in ASan builds, where RSS says nothing about the daemon's own buffering (quarantine).
inline constexpr bool asan_build = true;
#else
inline constexpr bool asan_build = false;
#endif

/// Seconds elapsed since `start` (for timing assertions).
double seconds_since(steady::time_point start);

/// Milliseconds left until `deadline` for poll(): never negative (which would mean "forever"),
/// at most 60 s.
int remaining_ms(steady::time_point deadline);
/// `timeout` as a poll() argument: clamped to 0..60 s.
int poll_ms(ms timeout);

/// std::runtime_error with `what` and strerror(errno).
std::runtime_error sys_error(const std::string& what);

/// ASCII case-insensitive equality (header names).
bool iequals(std::string_view a, std::string_view b);

/// `bytes` with CR, LF and other control bytes escaped, shortened to `max` characters (for
/// Catch2 INFO messages).
std::string printable(std::string_view bytes, std::size_t max = 600);

}  // namespace ogp::test
