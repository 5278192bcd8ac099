#pragma once

// A steady clock for the api tests that moves only when told (issue 11).

#include <chrono>

#include "ogp/api/resilience.hpp"

namespace ogp_test {

struct fake_clock
{
    std::chrono::steady_clock::time_point t{std::chrono::hours(1)};
    ogp::api::steady_clock_fn fn()
    {
        return [this] { return t; };
    }
};

}  // namespace ogp_test
