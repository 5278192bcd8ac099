// Fuzzes what clients and OCI can put into the metrics: the scrape's `Accept` header
// (metrics::negotiate) and label values (the model OCI's answer names, the alias, the client
// name, error and reject tokens) through proxy_metrics::observe(). Property: no crash or
// sanitizer report, and every scrape, in both formats, passes the strict exposition parser of
// the tests (escaping, UTF-8, no duplicate series, histogram rules) however hostile the values.
// The input is split at 0x00 bytes into: accept, route, client, operation, request model,
// response model, error type, reject reason; the last byte varies status and figures.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ogp/metrics/metrics.hpp"
#include "support/exposition.hpp"

namespace {

void check(std::string_view text, ogp::test::expo_format fmt)
{
    auto r = ogp::test::parse_exposition(text, fmt);
    if (!r.ok()) {
        std::fprintf(stderr, "invalid exposition: %s\n", r.describe().c_str());
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    std::string_view in(reinterpret_cast<const char*>(data), size - 1);
    const std::uint8_t knob = data[size - 1];
    std::vector<std::string_view> f;
    while (f.size() < 8) {
        const auto nul = in.find('\0');
        f.push_back(in.substr(0, nul));
        if (nul == std::string_view::npos) {
            in = {};
        } else {
            in.remove_prefix(nul + 1);
        }
    }
    const auto fmt = ogp::metrics::negotiate(f[0]);

    ogp::metrics::request_sample s;
    s.route = f[1];
    s.client = f[2];
    s.operation = f[3];
    s.request_model = f[4];
    s.response_model = f[5];
    s.error_type = f[6];
    s.reject_reason = f[7];
    s.status = 100u + (knob % 5) * 100u + (knob >> 5);
    s.stream = (knob & 1) != 0;
    s.duration = std::chrono::nanoseconds(std::int64_t(knob) * 7919 * 1000);
    s.input_tokens = (knob & 2) ? std::int64_t(knob) * 1000003 : -1;
    s.output_tokens = (knob & 4) ? std::int64_t(knob) : -1;
    s.cached_tokens = (knob & 8) ? 0 : -1;
    s.reasoning_tokens = (knob & 16) ? std::int64_t(knob) << 40 : -1;
    s.ttft = std::chrono::microseconds((knob & 32) ? std::int64_t(knob) * 13 : -1);
    s.upstream = std::chrono::microseconds(std::int64_t(knob) * 3000);
    // A registry per input keeps each scrape small; a cap of 2 reaches the overflow series
    // with the second label set. observe() runs on a thread of its own: its per-thread cache
    // goes with the thread, so nothing outlives the input (libFuzzer would otherwise run a
    // whole-heap leak scan after every input that left allocations behind).
    ogp::metrics::proxy_metrics m(2);
    std::thread t([&m, &s, &f] {
        m.observe(s);
        auto again = s;
        again.request_model = f[5];
        again.response_model = f[4];
        again.client = f[1];
        m.observe(again);
    });
    t.join();

    std::string out;
    m.write(out, fmt);
    check(out, fmt == ogp::metrics::exposition::openmetrics_1_0_0
                   ? ogp::test::expo_format::openmetrics_1_0_0
                   : ogp::test::expo_format::text_0_0_4);
    return 0;
}
