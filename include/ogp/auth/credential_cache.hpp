#pragma once

#include "ogp/auth/provider.hpp"
#include "ogp/auth/signer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace ogp::auth {

/// Timing of a credential_cache. Defaults suit production; tests shrink them.
struct cache_options
{
    /// Renew at the earlier of `expiry - refresh_margin` and half the token's lifetime, but not
    /// before a quarter of the lifetime has passed (matters only for tokens under ~7 min).
    std::chrono::milliseconds refresh_margin{std::chrono::minutes(5)};
    /// A snapshot is handed out only while `now + expiry_margin < expiry` (capped at a tenth of
    /// its lifetime), so a signed request still reaches OCI before the token expires.
    std::chrono::milliseconds expiry_margin{std::chrono::seconds(30)};
    /// Retry after a failed renewal: initial delay, doubled per failure up to max, +-50% jitter.
    std::chrono::milliseconds backoff_initial{std::chrono::seconds(1)};
    std::chrono::milliseconds backoff_max{std::chrono::seconds(60)};
    /// Shortest gap between two renewals (guards against a tight loop).
    std::chrono::milliseconds min_interval{std::chrono::milliseconds(200)};
    /// How long get() waits for an in-flight renewal before giving up.
    std::chrono::milliseconds get_timeout{std::chrono::seconds(30)};
    /// force_refresh() is ignored while the current snapshot is younger than this (a burst of
    /// 401s must not hammer the credential source).
    std::chrono::milliseconds force_refresh_min_age{std::chrono::seconds(10)};
    /// renew_after_rejection() starts at most this many renewals per force_refresh_min_age
    /// (a key OCI keeps refusing must not turn every request into a renewal).
    unsigned max_forced_renewals = 3;
    /// Renew in the background before expiry (tests disable it to exercise on-demand renewal).
    bool proactive = true;
};

/// Owns the current credentials of one provider and keeps them fresh.
///
/// - start() spawns a background loop (never blocks) that renews at the earlier of
///   `exp - refresh_margin` and half the lifetime; failures retry with jittered exponential
///   backoff while the last good snapshot stays in use until it expires.
/// - current() is non-blocking: the valid snapshot or nullptr.
/// - get() waits only when no valid snapshot exists; then exactly one renewal runs (single
///   flight) and every caller waits for it.
/// - renew_after_rejection() (after an HTTP 401 from OCI) hands out credentials newer than the
///   refused snapshot, renewing once for all requests refused with it; never the refused one.
///   With a fixed provider (credential_provider::fixed(), a GenAI API key) it fails at once.
/// - force_refresh() renews now without waiting; requests keep using the current snapshot
///   (ignored for a fixed provider that has its snapshot).
/// - status() is the not-ready reason for /readyz (nullopt = ready).
///
/// Thread-safe: every member may be called from any thread. The provider runs on an internal
/// strand of the given executor. Destruction calls stop(); destroy the cache before its
/// io_context. The loop's frame is released once the executor runs it to completion (at most one
/// provider timeout after stop()) or when the io_context is destroyed.
class credential_cache
{
public:
    credential_cache(net::any_io_executor ex, std::unique_ptr<credential_provider> provider,
                     cache_options options = {});
    ~credential_cache();
    credential_cache(const credential_cache&) = delete;
    credential_cache& operator=(const credential_cache&) = delete;

    /// Spawns the background refresh loop; the first renewal starts immediately. Idempotent.
    void start();
    /// Stops the loop and fails waiting get() calls with errc::stopped. Idempotent.
    void stop();

    /// The current snapshot if valid now, else nullptr. Never blocks.
    snapshot_ptr current() const;

    /// The current snapshot; when none is valid, waits (at most get_timeout) for the single
    /// in-flight renewal, starting one if needed. Fails with the last renewal error.
    net::awaitable<result<snapshot_ptr>> get();

    /// OCI refused `rejected` (HTTP 401): returns a valid snapshot installed after `rejected`, at
    /// once when there is one, else from the renewal in flight or one started now (shared by
    /// every caller refused with the same snapshot), waiting at most `timeout`. Never returns
    /// `rejected`: fails when the renewal fails or times out, when the cache is stopped, or when
    /// cache_options::max_forced_renewals were started within force_refresh_min_age.
    net::awaitable<result<snapshot_ptr>> renew_after_rejection(snapshot_ptr rejected,
                                                               std::chrono::milliseconds timeout);

    /// Requests an immediate renewal. Non-blocking; coalesced with any renewal already in
    /// flight; ignored while the snapshot is younger than cache_options::force_refresh_min_age.
    void force_refresh();

    /// Why credentials are not usable yet (`instance_principal: IMDS GET ... failed: ...`), or
    /// nullopt when a valid snapshot exists.
    std::optional<std::string> status() const;

    /// The region the credentials reported (IMDS for instance principal, profile region for
    /// config-file modes); empty until known.
    std::string region() const;

    /// The message of the last failed renewal, cleared by a success (diagnostics: a failure
    /// while the previous snapshot is still valid does not show in status()).
    std::optional<std::string> last_error() const;

    /// Number of renewals attempted so far (diagnostics and tests).
    std::uint64_t renewals() const;
    /// Number of renewals that failed so far (metrics).
    std::uint64_t failed_renewals() const;
    /// Number of renewals that installed new credentials so far (metrics).
    std::uint64_t succeeded_renewals() const;

    /// The provider's name.
    std::string_view provider_name() const;

private:
    struct state;
    std::shared_ptr<state> s_;
};

/// Builds the provider for `cfg.oci.auth` (see make_provider()) and a cache around it. Does no
/// network I/O (throws only for an unloadable `oci.ca_file`); call start() afterwards.
std::unique_ptr<credential_cache> make_credential_cache(const config& cfg, net::any_io_executor ex,
                                                        const env_lookup& env,
                                                        cache_options options = {});

}  // namespace ogp::auth
