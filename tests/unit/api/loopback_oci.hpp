#pragma once

// The loopback fake OCI the api service tests share: a credential provider handing out API-key
// style credentials (keyIds key_prefix + "1", "2", ..., all with the shared test key), mock
// inference listeners on 127.0.0.1 (TLS with a test CA's certificate) that accept exactly those
// keyIds, a base for fixtures with one such listener, the base config fields every such test sets,
// the credential cache the tests run (renewal on demand only), a new handler call, and the teardown
// order. Each test keeps its own models, limits, service construction and request fields.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "fake_oci.hpp"
#include "inference.hpp"
#include "ogp/api/service.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "ogp/auth/provider.hpp"
#include "ogp/config/config.hpp"
#include "unit/api/handler_call.hpp"
#include "unit/auth/test_util.hpp"

namespace ogp_test {

namespace net = boost::asio;

/// The keyId prefix of counting_provider's credentials; make_inference() accepts every keyId
/// with it and no other.
inline constexpr std::string_view key_prefix = "ocid1.tenancy.oc1..unit/ocid1.user.oc1..unit/fp-v";

/// API-key style credentials: v1, v2, ... (one per fetch, one hour valid), all with the shared
/// test key; `calls` counts the fetches.
class counting_provider final : public ogp::auth::credential_provider
{
public:
    std::string_view name() const override { return "api_key"; }
    net::awaitable<ogp::auth::result<ogp::auth::snapshot_ptr>> fetch() override
    {
        int n = ++calls;
        co_return ogp::auth::credential_snapshot::create(
            {.key_id = std::string(key_prefix) + std::to_string(n),
             .key = ogp::auth::test::shared_test_key(),
             .expiry = std::chrono::system_clock::now() + std::chrono::hours(1)});
    }
    std::atomic<int> calls{0};
};

/// A mock inference listener on 127.0.0.1 (a free port) on `ioc`, TLS with `cert_pem` and
/// `key_pem` (from mock::test_pki::server_cert), strict signature checks: keyIds with
/// key_prefix verify against the shared test key, any other is an unknown keyId.
inline std::unique_ptr<ogp::mock::inference_server> make_inference(net::io_context& ioc,
                                                                   std::string cert_pem,
                                                                   std::string key_pem)
{
    ogp::mock::inference_options o;
    o.cert_pem = std::move(cert_pem);
    o.key_pem = std::move(key_pem);
    o.lookup = [](std::string_view id, std::string& why) -> ogp::auth::pkey_ptr {
        if (id.starts_with(key_prefix)) {
            return ogp::auth::test::shared_test_key();
        }
        why = "unknown keyId";
        return nullptr;
    };
    return std::make_unique<ogp::mock::inference_server>(ioc, std::move(o), 0);
}

/// The first members of a fixture: its io_context (so destroyed last), a test CA, a temp dir
/// holding the CA's certificate (`ca_file`), and a certificate and key for 127.0.0.1 signed by
/// the CA (`cert_pem`, `key_pem`) for make_inference().
struct loopback_base
{
    loopback_base()
    {
        ca_file = dir.write("ca.pem", pki.ca_pem());
        std::tie(cert_pem, key_pem) = pki.server_cert("IP:127.0.0.1");
    }

    net::io_context ioc;
    ogp::mock::test_pki pki;
    ogp::auth::test::temp_dir dir;
    std::string ca_file;
    std::string cert_pem;
    std::string key_pem;
};

/// "https://127.0.0.1:<port>".
inline std::string loopback_url(std::uint16_t port)
{
    return "https://127.0.0.1:" + std::to_string(port);
}

/// The fields every loopback test sets: region us-chicago-1, a unit compartment, api_key auth,
/// the default `endpoint` and the `ca_file` trusting it, and upstream timeouts (connect 5 s,
/// first byte and stream idle 10 s, total 30 s). Models, endpoints and limits stay the test's.
inline void base_config(ogp::config& cfg, std::string endpoint, std::string ca_file)
{
    using namespace std::chrono_literals;
    cfg.oci.region = "us-chicago-1";
    cfg.oci.compartment_id = "ocid1.compartment.oc1..unit";
    cfg.oci.auth = ogp::auth_mode::api_key;
    cfg.oci.endpoint = std::move(endpoint);
    cfg.oci.ca_file = std::move(ca_file);
    cfg.timeouts.upstream_connect = 5s;
    cfg.timeouts.upstream_first_byte = 10s;
    cfg.timeouts.upstream_stream_idle = 10s;
    cfg.timeouts.upstream_total = 30s;
}

/// A started credential cache over `provider` on `ioc`: not proactive (renews on demand only),
/// 50 ms initial backoff, 10 ms between renewals.
inline std::unique_ptr<ogp::auth::credential_cache> make_credential_cache(
    net::io_context& ioc, std::unique_ptr<ogp::auth::credential_provider> provider)
{
    using namespace std::chrono_literals;
    ogp::auth::cache_options co;
    co.proactive = false;
    co.backoff_initial = 50ms;
    co.min_interval = 10ms;
    auto creds =
        std::make_unique<ogp::auth::credential_cache>(ioc.get_executor(), std::move(provider), co);
    creds->start();
    return creds;
}

/// A new call of route `r` (chat, responses, models; any other is embeddings) with `body`,
/// request id "req-<serial>" and remote 127.0.0.1:1; the test sets its own fields, then
/// co_spawns run_handler.
inline std::shared_ptr<handler_call> new_call(api_route r, std::string body, int serial)
{
    using ogp::server::route;
    auto c = std::make_shared<handler_call>();
    c->req.body = std::move(body);
    c->req.request_id = "req-" + std::to_string(serial);
    c->req.remote = "127.0.0.1:1";
    c->req.target = r == api_route::chat        ? route::chat_completions
                    : r == api_route::responses ? route::responses
                    : r == api_route::models    ? route::models
                                                : route::embeddings;
    return c;
}

/// Tears a loopback fixture down in the order its io_context needs: the service's idle upstream
/// connections closed (50 ms to settle), the service destroyed, the credential cache stopped
/// (20 ms) and destroyed, then `close_listeners()` (the mock listeners) and 20 ms more. A null
/// service or cache is skipped.
inline void tear_down(net::io_context& ioc, std::unique_ptr<ogp::api::service>& svc,
                      std::unique_ptr<ogp::auth::credential_cache>& creds,
                      const std::function<void()>& close_listeners)
{
    using namespace std::chrono_literals;
    using ogp::auth::test::run_until;
    auto idle = [] { return false; };
    if (svc) {
        svc->close_idle();
    }
    run_until(ioc, idle, 50ms);
    svc.reset();
    if (creds) {
        creds->stop();
    }
    run_until(ioc, idle, 20ms);
    creds.reset();
    close_listeners();
    run_until(ioc, idle, 20ms);
}

}  // namespace ogp_test
