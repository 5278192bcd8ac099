#pragma once
// Catch2 checks on the daemon process: how it ends (signals, drain) and what memory it holds.

#include <cstddef>

#include "support/common.hpp"
#include "support/daemon.hpp"

namespace ogp::test {

/// Waits up to `timeout` for `d` to exit (REQUIREd) and checks that it exited normally with
/// `code`; returns the seconds from `since` to the exit, for the caller's timing checks.
double expect_exit(daemon_process& d, int code, ms timeout,
                   steady::time_point since = steady::now());

/// Checks that the daemon's resident set grew by less than `max_growth_kib` since
/// `rss_before_kib` (daemon_process::rss_kib). Skipped in ASan builds, whose quarantine and
/// shadow memory make RSS meaningless.
void check_rss_growth(const daemon_process& d, std::size_t rss_before_kib,
                      std::size_t max_growth_kib);

}  // namespace ogp::test
