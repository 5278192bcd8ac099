#pragma once

#include "ogp/api/resilience.hpp"

#include <boost/asio/awaitable.hpp>

#include "ogp/transform/models.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ogp::api {

/// One page of OCI's model list, as the fetch callback of model_catalog reports it.
struct model_page
{
    enum class outcome {
        ok,       ///< `models` hold the page; `next_page` the `opc-next-page` token (empty: last)
        failed,   ///< OCI or the network failed (already logged by the callback)
        aborted,  ///< the client went away: says nothing about OCI
    };
    outcome status = outcome::ok;
    std::vector<transform::oci_model> models;
    std::string next_page;
};

/// Fetches the page with token `page` (empty: the first). Must not throw.
using fetch_model_page = std::function<boost::asio::awaitable<model_page>(std::string page)>;

/// Timing and bounds of model_catalog.
struct model_catalog_options
{
    /// A successful discovery is served this long before the next one.
    std::chrono::seconds ttl{std::chrono::minutes(10)};
    /// After a failed discovery, no new attempt for this long (the last good list is served).
    std::chrono::seconds failure_ttl{30};
    /// Paging stops after this many pages or once this many models were gathered (with a
    /// warning; what was gathered is served).
    std::size_t max_pages = 100;
    std::size_t max_models = 10000;
};

/// Discovered OCI models, as listed: shared and never modified once published.
using model_list = std::shared_ptr<const std::vector<transform::oci_model>>;

/// The cache of discovered OCI models behind `/v1/models` and model OCIDs in requests: follows
/// `opc-next-page` within bounds, serves the list for `ttl`, remembers a failure for `failure_ttl`
/// (no discovery in that window) and serves the last good list when a refresh fails. While one
/// discovery runs, other callers get the cached answer (when there is one) instead of starting
/// another. Thread-safe; no I/O of its own (the callback does it), time from the injected clock.
class model_catalog
{
public:
    explicit model_catalog(model_catalog_options o = {}, steady_clock_fn now = {});

    /// The models, from the cache or discovered through `fetch` (never null; empty when OCI
    /// never answered).
    boost::asio::awaitable<model_list> get(fetch_model_page fetch);

    /// Pages requested from `fetch` so far (tests and diagnostics).
    std::uint64_t pages_fetched() const;

private:
    // Decides under the lock: the cached answer, or nullopt when this caller must discover.
    std::optional<model_list> cached_or_claim();

    model_catalog_options o_;
    steady_clock_fn now_;
    mutable std::mutex mutex_;
    model_list models_;  // last good list
    bool have_list_ = false;
    bool have_failure_ = false;
    int refreshing_ = 0;                                // discoveries running
    std::chrono::steady_clock::time_point fetched_at_;  // last success
    std::chrono::steady_clock::time_point failed_at_;   // last failure
    std::uint64_t pages_ = 0;
};

}  // namespace ogp::api
