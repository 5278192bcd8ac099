#pragma once
// Scraping the daemon's /metrics in the end-to-end tests: the GET itself and a lookup of the
// samples by name and labels (to compare counters before and after). Validation of the format
// is support/exposition.hpp's job (a strict parser); this lookup is lenient on purpose, so that
// a format error is reported once by the strict check, not as a missing series everywhere.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/common.hpp"
#include "support/http.hpp"

namespace ogp::test {

/// One sample line: `name{labels} value`.
struct metric_sample
{
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;

    /// The value of label `key`, or nullopt.
    std::optional<std::string> label(std::string_view key) const;
};

/// Label constraints: each (name, value) must be present with that value.
using label_match = std::vector<std::pair<std::string_view, std::string_view>>;

/// The samples of one scrape (text 0.0.4 or OpenMetrics); lines that do not parse are skipped.
class metric_set
{
public:
    metric_set() = default;
    explicit metric_set(std::string_view body);

    /// Every sample named `name` whose labels include `labels`.
    std::vector<const metric_sample*> find(std::string_view name,
                                           const label_match& labels = {}) const;
    /// The sum of find(name, labels) values (0 when none).
    double sum(std::string_view name, const label_match& labels = {}) const;
    /// True when at least one sample matches.
    bool has(std::string_view name, const label_match& labels = {}) const;
    const std::vector<metric_sample>& samples() const { return samples_; }

private:
    std::vector<metric_sample> samples_;
};

/// GET /metrics on 127.0.0.1:`port` on a new connection, with the test API key when `key`,
/// with `Accept: accept` when non-empty. Throws on connection errors and timeouts.
http_response get_metrics(std::uint16_t port, bool key = true, std::string_view accept = {},
                          ms timeout = 5s);

/// Scrapes (with the test key) every 20 ms until `pred` holds on the samples or `timeout`
/// passes; returns the last scrape (the observer runs once an exchange is logged, which may
/// trail the answer's last byte at the client). Throws when a scrape is not a 200.
metric_set scrape_until(std::uint16_t port, const std::function<bool(const metric_set&)>& pred,
                        ms timeout = 3s);

}  // namespace ogp::test
