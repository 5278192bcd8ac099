#include "support/daemon_checks.hpp"

#include <catch2/catch.hpp>

namespace ogp::test {

double expect_exit(daemon_process& d, int code, ms timeout, steady::time_point since)
{
    const auto status = d.wait_exit(timeout);
    const double took = seconds_since(since);
    INFO("exit after " << took << " s");
    REQUIRE(status);
    INFO("exited " << status->exited << ", code " << status->code << ", signal " << status->signal);
    CHECK(status->exited);
    CHECK(status->code == code);
    return took;
}

void check_rss_growth(const daemon_process& d, std::size_t rss_before_kib,
                      std::size_t max_growth_kib)
{
    const auto rss_after = d.rss_kib();
    INFO("RSS before " << rss_before_kib << " KiB, after " << rss_after << " KiB");
    if (!asan_build) {
        CHECK(rss_after < rss_before_kib + max_growth_kib);
    }
}

}  // namespace ogp::test
