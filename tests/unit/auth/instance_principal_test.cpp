// Instance principal end to end against the fake IMDS + federation, and the credential cache:
// background renewal, retries, single flight, readiness, rotation, log hygiene.

#include "fake_oci.hpp"
#include "ogp/auth/credential_cache.hpp"
#include "support/log_capture.hpp"
#include "unit/auth/test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>
#include <thread>

using namespace ogp::auth;
using namespace ogp::mock;
using namespace ogp::auth::test;
using namespace std::chrono_literals;
namespace net = boost::asio;

namespace {

// Test timings: fast backoff, short margins.
cache_options fast_options()
{
    cache_options o;
    o.backoff_initial = 100ms;
    o.backoff_max = 400ms;
    o.min_interval = 20ms;
    o.get_timeout = 10s;
    o.force_refresh_min_age = 0ms;
    return o;
}

std::unique_ptr<credential_provider> ip_provider(const fake_oci& oci)
{
    instance_principal_options o;
    o.metadata_url = oci.metadata_url();
    o.federation_url = oci.federation_url();
    o.ca_file = oci.ca_file();
    o.timeout = 5s;
    return make_instance_principal_provider(o);
}

// get() as a spawned coroutine storing its result.
net::awaitable<void> get_into(credential_cache* cache,
                              std::shared_ptr<std::optional<result<snapshot_ptr>>> out)
{
    auto r = co_await cache->get();
    out->emplace(std::move(r));
}

net::awaitable<void> fetch_into(credential_provider* p,
                                std::shared_ptr<std::optional<result<snapshot_ptr>>> out)
{
    auto r = co_await p->fetch();
    out->emplace(std::move(r));
}

// get() storing its result, then counting completions (safe to poll from another thread).
net::awaitable<void> get_counted(credential_cache* cache,
                                 std::shared_ptr<std::optional<result<snapshot_ptr>>> out,
                                 std::shared_ptr<std::atomic<int>> done)
{
    auto r = co_await cache->get();
    out->emplace(std::move(r));
    ++*done;
}

result<snapshot_ptr> get_now(net::io_context& ioc, credential_cache& cache,
                             std::chrono::milliseconds limit = 15s)
{
    auto out = std::make_shared<std::optional<result<snapshot_ptr>>>();
    net::co_spawn(ioc, get_into(&cache, out), net::detached);
    REQUIRE(run_until(
        ioc, [&] { return out->has_value(); }, limit));
    return std::move(**out);
}

// Verifies a request signed with `snap` the way OCI would for a security token: the session
// public key registered with the token must verify the signature.
bool verifies_with_session_key(const fake_oci& oci, const credential_snapshot& snap)
{
    std::string date = format_http_date(std::chrono::system_clock::now());
    request_to_sign req{.method = "POST",
                        .host = "inference.example",
                        .target = "/20231130/actions/chat",
                        .body = "{}",
                        .date = date};
    auto h = sign_request(snap, req);
    REQUIRE(h);
    auto params = parse_signature_params(h->authorization);
    auto token = params["keyId"].substr(3);
    auto tokens = oci.issued_tokens();
    auto it = tokens.find(token);
    if (params["keyId"].substr(0, 3) != "ST$" || it == tokens.end()) {
        return false;
    }
    auto p = reinterpret_cast<const unsigned char*>(it->second.data());
    EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(it->second.size()));
    bool ok = rsa_sha256_verify(pub, signing_string(req), *base64_decode(params["signature"]));
    EVP_PKEY_free(pub);
    return ok;
}

}  // namespace

TEST_CASE("instance principal: full flow against fake IMDS and federation", "[auth][ip]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    oci.set_region("phx");  // short code, mapped to the id
    credential_cache cache(ioc.get_executor(), ip_provider(oci), fast_options());
    CHECK(cache.status() == "instance_principal: credentials not loaded yet");
    CHECK(cache.current() == nullptr);
    cache.start();

    auto snap = get_now(ioc, cache);
    REQUIRE(snap);
    CHECK((*snap)->key_id().starts_with("ST$"));
    CHECK((*snap)->tenancy() == "ocid1.tenancy.oc1..faketenancy");
    CHECK((*snap)->region() == "us-phoenix-1");
    CHECK(cache.region() == "us-phoenix-1");
    CHECK(cache.status() == std::nullopt);
    CHECK(cache.current() == *snap);
    CHECK(oci.federation_calls() == 1);
    CHECK(oci.federation_verified() == 1);
    CHECK(oci.last_rejection().empty());
    // Expiry comes from the JWT (1 h by default).
    auto left = (*snap)->expiry() - std::chrono::system_clock::now();
    CHECK(left > 3500s);
    CHECK(left <= 3600s);
    // The session key is the one the token was issued for.
    CHECK(verifies_with_session_key(oci, **snap));
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("instance principal: tenancy from opc-identity when opc-tenant is absent", "[auth][ip]")
{
    test_pki pki;
    auto [cert, key] = pki.instance_leaf("ocid1.tenancy.oc1..viaidentity", true);
    auto c = load_cert_pem(cert, "leaf");
    REQUIRE(c);
    CHECK(tenancy_from_cert(c->get()) == "ocid1.tenancy.oc1..viaidentity");
}

TEST_CASE(
    "instance principal: a 6 s token is renewed in the background, no caller sees an expired one",
    "[auth][ip][slow]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    // 6 s rather than 3 s: a renewal (RSA-2048 key generation plus federation, on this one io
    // thread) can take over a second on a loaded 2-core CI machine.
    oci.set_token_lifetime(6s);
    credential_cache cache(ioc.get_executor(), ip_provider(oci), fast_options());
    cache.start();
    REQUIRE(get_now(ioc, cache));

    // Poll current() for 13 s from the io thread; every answer must be a valid snapshot.
    std::set<std::string> tokens;
    int polls = 0, missing = 0, expired = 0;
    auto end = std::chrono::steady_clock::now() + 13s;
    while (std::chrono::steady_clock::now() < end) {
        ioc.restart();
        ioc.run_for(25ms);
        auto s = cache.current();
        ++polls;
        if (!s) {
            ++missing;
            continue;
        }
        if (!s->valid_at(std::chrono::system_clock::now())) {
            ++expired;
        }
        tokens.insert(s->key_id());
    }
    CHECK(polls > 100);
    CHECK(missing == 0);
    CHECK(expired == 0);
    CHECK(tokens.size() >= 3);  // renewed about every 3 s
    CHECK(oci.federation_verified() == oci.federation_calls());
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("instance principal: IMDS down at start, then up", "[auth][ip]")
{
    ogp::test::log_capture logs;
    net::io_context ioc;
    fake_oci oci(ioc);
    oci.imds().pause();
    ioc.run_for(50ms);
    credential_cache cache(ioc.get_executor(), ip_provider(oci), fast_options());
    auto t0 = std::chrono::steady_clock::now();
    cache.start();  // must not block
    CHECK(std::chrono::steady_clock::now() - t0 < 50ms);
    CHECK(cache.status() == "instance_principal: waiting for the first credentials");

    // Not ready, with the URL and the cause.
    auto failed_lines = [&] {
        std::string text = logs.text();
        std::size_t lines = 0;
        for (std::size_t pos = 0;
             (pos = text.find("credential renewal failed", pos)) != std::string::npos; ++pos) {
            ++lines;
        }
        return lines;
    };
    REQUIRE(run_until(
        ioc, [&] { return failed_lines() >= 2; }, 10s));
    auto status = cache.status();
    REQUIRE(status);
    CHECK_THAT(*status, Catch::StartsWith("instance_principal: IMDS GET " + oci.metadata_url() +
                                          "/instance/region failed: "));
    CHECK_THAT(*status, Catch::Contains("refused"));
    CHECK(cache.current() == nullptr);

    // IMDS comes up: the background retry succeeds without any caller.
    oci.imds().resume();
    REQUIRE(run_until(
        ioc, [&] { return cache.current() != nullptr; }, 10s));
    CHECK(cache.status() == std::nullopt);
    // One log line per failed attempt (all attempts but the last, successful one).
    CHECK(failed_lines() == cache.renewals() - 1);
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("instance principal: federation 500 is retried, 400 is a clear error", "[auth][ip]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    credential_cache cache(ioc.get_executor(), ip_provider(oci), fast_options());

    SECTION("500, 500, then success")
    {
        oci.script_federation({500, 500});
        cache.start();
        REQUIRE(run_until(
            ioc, [&] { return cache.current() != nullptr; }, 10s));
        CHECK(oci.federation_calls() == 3);
        CHECK(cache.renewals() == 3);
        CHECK(cache.last_error() == std::nullopt);
    }
    SECTION("400 is reported with URL, status and OCI's message")
    {
        oci.script_federation(
            {400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400});
        cache.start();
        auto r = get_now(ioc, cache);
        REQUIRE_FALSE(r);
        std::string expected = "instance_principal: federation POST " + oci.federation_url() +
                               "/v1/x509 returned HTTP 400: Scripted: scripted failure";
        CHECK(r.error().message == expected);
        CHECK(cache.status() == expected);
    }
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("instance principal: federation TLS is verified", "[auth][ip]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    instance_principal_options o;
    o.metadata_url = oci.metadata_url();
    o.federation_url = oci.federation_url();  // test CA not trusted: no ca_file
    o.timeout = 5s;
    auto provider = make_instance_principal_provider(o);
    auto out = std::make_shared<std::optional<result<snapshot_ptr>>>();
    net::co_spawn(ioc, fetch_into(provider.get(), out), net::detached);
    REQUIRE(run_until(
        ioc, [&] { return out->has_value(); }, 10s));
    auto r = std::move(**out);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::network);
    CHECK_THAT(r.error().message, Catch::Contains("certificate verify failed"));
    CHECK(oci.federation_calls() == 0);
}

TEST_CASE("credential cache: 100 concurrent callers trigger exactly one federation call",
          "[auth][ip][cache]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    oci.set_federation_delay(300ms);
    auto opts = fast_options();

    SECTION("at start-up")
    {
        credential_cache cache(ioc.get_executor(), ip_provider(oci), opts);
        cache.start();
        std::vector<std::shared_ptr<std::optional<result<snapshot_ptr>>>> outs;
        auto done = std::make_shared<std::atomic<int>>(0);
        for (int i = 0; i < 100; ++i) {
            outs.push_back(std::make_shared<std::optional<result<snapshot_ptr>>>());
            net::co_spawn(ioc, get_counted(&cache, outs.back(), done), net::detached);
        }
        // Four io threads make the callers truly concurrent.
        std::atomic<bool> stop{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                while (!stop) {
                    ioc.run_for(10ms);
                }
            });
        }
        auto all_done = [&] { return *done == 100; };
        auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!all_done() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(10ms);
        }
        cache.stop();
        stop = true;
        for (auto& t : threads) {
            t.join();
        }
        REQUIRE(all_done());
        snapshot_ptr first = ***outs.front();
        for (auto& o : outs) {
            REQUIRE(**o);
            CHECK(***o == first);
        }
        CHECK(oci.federation_calls() == 1);
    }
    SECTION("after the snapshot expired (no proactive renewal)")
    {
        oci.set_token_lifetime(2s);
        opts.proactive = false;
        credential_cache cache(ioc.get_executor(), ip_provider(oci), opts);
        cache.start();
        REQUIRE(get_now(ioc, cache));
        CHECK(oci.federation_calls() == 1);
        REQUIRE(run_until(
            ioc, [&] { return cache.current() == nullptr; }, 5s));
        CHECK(cache.status() == "instance_principal: credentials expired; renewal in progress");
        std::vector<std::shared_ptr<std::optional<result<snapshot_ptr>>>> outs;
        for (int i = 0; i < 100; ++i) {
            outs.push_back(std::make_shared<std::optional<result<snapshot_ptr>>>());
            net::co_spawn(ioc, get_into(&cache, outs.back()), net::detached);
        }
        REQUIRE(run_until(
            ioc,
            [&] {
                return std::all_of(outs.begin(), outs.end(),
                                   [](auto& o) { return o->has_value(); });
            },
            15s));
        for (auto& o : outs) {
            REQUIRE(**o);
            CHECK((***o)->valid_at(std::chrono::system_clock::now()));
        }
        CHECK(oci.federation_calls() == 2);
        cache.stop();
    }
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("credential cache: failed renewal keeps the last good snapshot until it expires",
          "[auth][ip][cache]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    oci.set_token_lifetime(3s);
    credential_cache cache(ioc.get_executor(), ip_provider(oci), fast_options());
    cache.start();
    auto first = get_now(ioc, cache);
    REQUIRE(first);
    // Federation fails from now on; the snapshot stays in use while valid.
    oci.script_federation(std::deque<unsigned>(200, 503));
    REQUIRE(run_until(
        ioc, [&] { return cache.last_error().has_value(); }, 5s));
    CHECK(cache.current() == *first);
    CHECK(cache.status() == std::nullopt);
    // After expiry: not ready, with the reason.
    REQUIRE(run_until(
        ioc, [&] { return cache.current() == nullptr; }, 5s));
    auto status = cache.status();
    REQUIRE(status);
    CHECK_THAT(*status, Catch::Contains("returned HTTP 503"));
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("instance principal: certificate rotation and tenancy change", "[auth][ip]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    credential_cache cache(ioc.get_executor(), ip_provider(oci), fast_options());
    cache.start();
    auto first = get_now(ioc, cache);
    REQUIRE(first);

    // A rotated leaf is fetched on the next renewal (force_refresh, as after a 401).
    oci.rotate_leaf();
    cache.force_refresh();
    REQUIRE(run_until(
        ioc, [&] { return cache.current() && cache.current() != *first; }, 10s));
    CHECK(oci.federation_verified() == 2);
    auto second = cache.current();
    CHECK(verifies_with_session_key(oci, *second));
    CHECK(second->key() != (*first)->key());  // a fresh session key per renewal

    // A different tenancy is refused; the current snapshot stays.
    oci.rotate_leaf("ocid1.tenancy.oc1..other");
    cache.force_refresh();
    REQUIRE(run_until(
        ioc, [&] { return cache.last_error().has_value(); }, 10s));
    CHECK(*cache.last_error() ==
          "the instance certificate's tenancy changed from ocid1.tenancy.oc1..faketenancy to "
          "ocid1.tenancy.oc1..other");
    CHECK(cache.current() == second);
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("auth logs at debug level contain no key, token or signature", "[auth][ip][logs]")
{
    ogp::test::log_capture logs;
    net::io_context ioc;
    fake_oci oci(ioc);
    oci.script_federation({500, 400});
    credential_cache cache(ioc.get_executor(), ip_provider(oci), fast_options());
    cache.start();
    REQUIRE(run_until(
        ioc, [&] { return cache.current() != nullptr; }, 10s));
    cache.force_refresh();
    REQUIRE(run_until(
        ioc, [&] { return oci.federation_verified() == 2; }, 10s));
    ioc.restart();
    ioc.run_for(50ms);
    auto snap = cache.current();
    REQUIRE(snap);
    std::string date = format_http_date(std::chrono::system_clock::now());
    auto h = sign_request(*snap, {.method = "GET", .host = "h", .target = "/", .date = date});
    REQUIRE(h);
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);

    std::string text = logs.text();
    CHECK_THAT(text, Catch::Contains("credentials loaded"));  // logging did happen
    CHECK_THAT(text, Catch::Contains("returned HTTP 500"));
    for (auto& [token, pub] : oci.issued_tokens()) {
        CHECK(text.find(token) == std::string::npos);
        CHECK(text.find(token.substr(token.find('.') + 1, 40)) == std::string::npos);
    }
    auto leaf_key = pem_body(oci.leaf_key_pem());
    CHECK(text.find(leaf_key.substr(0, 40)) == std::string::npos);
    CHECK(text.find("PRIVATE KEY") == std::string::npos);
    CHECK(text.find("ST$") == std::string::npos);
    CHECK(text.find("Signature version") == std::string::npos);
    CHECK(text.find("signature=") == std::string::npos);
    CHECK(text.find("Bearer") == std::string::npos);
    auto sig = parse_signature_params(h->authorization)["signature"];
    CHECK(text.find(sig.substr(0, 40)) == std::string::npos);
}

TEST_CASE("make_credential_cache: instance principal endpoints from the SDK environment variables",
          "[auth][ip][factory]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    oci.set_region("ord");
    ogp::config cfg;  // oci.auth defaults to instance_principal; URLs left empty
    cfg.oci.ca_file = oci.ca_file();
    auto env = map_env({{"OCI_METADATA_BASE_URL", oci.metadata_url() + "/"},
                        {"OCI_SDK_AUTH_CLIENT_REGION_URL", oci.federation_url()}});
    auto cache = make_credential_cache(cfg, ioc.get_executor(), env, fast_options());
    CHECK(cache->provider_name() == "instance_principal");
    cache->start();
    auto snap = get_now(ioc, *cache);
    REQUIRE(snap);
    CHECK(cache->region() == "us-chicago-1");
    CHECK(oci.federation_verified() == 1);
    cache->stop();
    ioc.restart();
    ioc.run_for(100ms);
}

TEST_CASE("credential cache: force_refresh is throttled for young snapshots", "[auth][ip][cache]")
{
    net::io_context ioc;
    fake_oci oci(ioc);
    auto opts = fast_options();
    opts.force_refresh_min_age = 500ms;
    credential_cache cache(ioc.get_executor(), ip_provider(oci), opts);
    cache.start();
    REQUIRE(get_now(ioc, cache));
    // Too young: ignored.
    cache.force_refresh();
    ioc.restart();
    ioc.run_for(300ms);
    CHECK(oci.federation_calls() == 1);
    // Old enough: renewed.
    std::this_thread::sleep_for(300ms);
    cache.force_refresh();
    REQUIRE(run_until(
        ioc, [&] { return oci.federation_calls() == 2 && cache.renewals() == 2; }, 10s));
    REQUIRE(run_until(
        ioc, [&] { return oci.federation_verified() == 2; }, 10s));
    cache.stop();
    ioc.restart();
    ioc.run_for(100ms);
}
