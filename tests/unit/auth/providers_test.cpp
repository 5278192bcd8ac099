// Resource principal v2.2, the provider factory, and the cache with file-based providers.

#include "ogp/auth/credential_cache.hpp"
#include "unit/auth/test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace ogp::auth;
using namespace ogp::auth::test;
using namespace std::chrono_literals;
namespace net = boost::asio;

TEST_CASE("resource principal v2.2: inline values and absolute paths", "[auth][rp]")
{
    temp_dir dir;
    auto key = shared_test_key();
    auto exp = std::chrono::system_clock::now() + 1h;
    std::string rpst =
        make_jwt(exp, {{"res_tenant", "ocid1.tenancy.oc1..rp"}, {"res_compartment", "c"}});
    std::string pem = key_pem(key.get(), pem_kind::pkcs8);

    SECTION("inline")
    {
        auto p =
            make_resource_principal_provider(map_env({{"OCI_RESOURCE_PRINCIPAL_VERSION", "2.2"},
                                                      {"OCI_RESOURCE_PRINCIPAL_RPST", rpst},
                                                      {"OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", pem},
                                                      {"OCI_RESOURCE_PRINCIPAL_REGION", "iad"}}));
        auto s = run_fetch(*p);
        REQUIRE(s);
        CHECK((*s)->key_id() == "ST$" + rpst);
        CHECK((*s)->tenancy() == "ocid1.tenancy.oc1..rp");
        CHECK((*s)->region() == "us-ashburn-1");
        CHECK((*s)->expiry() == std::chrono::time_point_cast<std::chrono::seconds>(exp));
    }
    SECTION("paths, encrypted key with a passphrase file, re-read on each fetch")
    {
        std::string rpst_path = dir.write("rpst", rpst + "\n");
        std::string pem_path =
            dir.write("key.pem", key_pem(key.get(), pem_kind::pkcs8_encrypted, "pw"));
        std::string pass_path = dir.write("pass", "pw\n");
        auto p = make_resource_principal_provider(
            map_env({{"OCI_RESOURCE_PRINCIPAL_VERSION", "2.2"},
                     {"OCI_RESOURCE_PRINCIPAL_RPST", rpst_path},
                     {"OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", pem_path},
                     {"OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE", pass_path},
                     {"OCI_RESOURCE_PRINCIPAL_REGION", "us-chicago-1"}}));
        auto s = run_fetch(*p);
        REQUIRE(s);
        CHECK((*s)->key_id() == "ST$" + rpst);
        auto sig = rsa_sha256_sign((*s)->key(), "x");
        REQUIRE(sig);
        CHECK(rsa_sha256_verify(key.get(), "x", *sig));
        // A renewed token file is picked up.
        std::string rpst2 = make_jwt(exp + 1h, {{"res_tenant", "ocid1.tenancy.oc1..rp"}});
        dir.write("rpst", rpst2);
        auto s2 = run_fetch(*p);
        REQUIRE(s2);
        CHECK((*s2)->key_id() == "ST$" + rpst2);
    }
    SECTION("errors name the variable")
    {
        auto none = run_fetch(*make_resource_principal_provider(map_env({})));
        REQUIRE_FALSE(none);
        CHECK(none.error().message ==
              "resource principal: OCI_RESOURCE_PRINCIPAL_VERSION must be 2.2 (is unset)");
        auto v1 = run_fetch(*make_resource_principal_provider(
            map_env({{"OCI_RESOURCE_PRINCIPAL_VERSION", "1.1"}})));
        REQUIRE_FALSE(v1);
        CHECK_THAT(v1.error().message, Catch::Contains("(is `1.1`)"));
        auto no_key = run_fetch(*make_resource_principal_provider(map_env(
            {{"OCI_RESOURCE_PRINCIPAL_VERSION", "2.2"}, {"OCI_RESOURCE_PRINCIPAL_RPST", rpst}})));
        REQUIRE_FALSE(no_key);
        CHECK(no_key.error().message ==
              "resource principal: OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM is not set");
        auto bad_path = run_fetch(*make_resource_principal_provider(
            map_env({{"OCI_RESOURCE_PRINCIPAL_VERSION", "2.2"},
                     {"OCI_RESOURCE_PRINCIPAL_RPST", dir.path() + "/missing"},
                     {"OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", pem}})));
        REQUIRE_FALSE(bad_path);
        CHECK_THAT(
            bad_path.error().message,
            Catch::Contains("cannot read OCI_RESOURCE_PRINCIPAL_RPST " + dir.path() + "/missing"));
        auto expired = run_fetch(*make_resource_principal_provider(map_env(
            {{"OCI_RESOURCE_PRINCIPAL_VERSION", "2.2"},
             {"OCI_RESOURCE_PRINCIPAL_RPST", make_jwt(std::chrono::system_clock::now() - 1s)},
             {"OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", pem}})));
        REQUIRE_FALSE(expired);
        CHECK(expired.error().code == errc::token);
    }
}

TEST_CASE("make_provider picks the provider named by oci.auth", "[auth][factory]")
{
    ogp::config cfg;
    auto env = map_env({});
    CHECK(make_provider(cfg, env)->name() == "instance_principal");
    cfg.oci.auth = ogp::auth_mode::api_key;
    CHECK(make_provider(cfg, env)->name() == "api_key");
    cfg.oci.auth = ogp::auth_mode::session_token;
    CHECK(make_provider(cfg, env)->name() == "session_token");
    CHECK(make_provider(cfg, env)->recheck_interval().has_value());
    cfg.oci.auth = ogp::auth_mode::resource_principal;
    CHECK(make_provider(cfg, env)->name() == "resource_principal");
}

TEST_CASE("make_provider: config_file default ~/.oci/config, OCI_CONFIG_FILE, profile",
          "[auth][factory]")
{
    temp_dir home;
    auto key = shared_test_key();
    std::string fp = fingerprint_of(key.get());
    std::filesystem::create_directories(home.path() + "/.oci");
    home.write(".oci/key.pem", key_pem(key.get(), pem_kind::pkcs1));
    std::string profile_text =
        "tenancy=ocid1.tenancy.oc1..t\nuser=ocid1.user.oc1..u\nfingerprint=" + fp +
        "\nkey_file=~/.oci/key.pem\nregion=eu-frankfurt-1\n";
    home.write(".oci/config", "[DEFAULT]\n" + profile_text);
    home.write("other", "[OTHER]\n" + profile_text);

    ogp::config cfg;
    cfg.oci.auth = ogp::auth_mode::api_key;
    // Default file and profile.
    auto s = run_fetch(*make_provider(cfg, map_env({{"HOME", home.path()}})));
    REQUIRE(s);
    CHECK((*s)->region() == "eu-frankfurt-1");
    // OCI_CONFIG_FILE when oci.config_file is empty; oci.profile selects the section.
    cfg.oci.profile = "OTHER";
    auto e = run_fetch(
        *make_provider(cfg, map_env({{"HOME", home.path()}, {"OCI_CONFIG_FILE", "~/other"}})));
    REQUIRE(e);
    // oci.config_file wins over the environment.
    cfg.oci.config_file = home.path() + "/.oci/config";
    auto c = run_fetch(
        *make_provider(cfg, map_env({{"HOME", home.path()}, {"OCI_CONFIG_FILE", "~/other"}})));
    REQUIRE_FALSE(c);
    CHECK(c.error().message == home.path() + "/.oci/config: profile [OTHER] not found");
}

TEST_CASE("credential cache with api_key: ready once loaded, errors reported for /readyz",
          "[auth][cache]")
{
    temp_dir dir;
    auto key = shared_test_key();
    std::string key_path = dir.write("key.pem", key_pem(key.get(), pem_kind::pkcs8));
    dir.write("config",
              "[DEFAULT]\ntenancy=t\nuser=u\nfingerprint=00:11\nkey_file=" + key_path + "\n");

    net::io_context ioc;
    cache_options opts;
    opts.backoff_initial = 50ms;
    opts.backoff_max = 100ms;
    credential_cache cache(ioc.get_executor(),
                           make_api_key_provider(dir.path() + "/config", "DEFAULT", map_env({})),
                           opts);
    cache.start();
    REQUIRE(run_until(
        ioc, [&] { return cache.last_error().has_value(); }, 5s));
    auto status = cache.status();
    REQUIRE(status);
    CHECK_THAT(*status, Catch::StartsWith("api_key: " + dir.path() +
                                          "/config [DEFAULT]: fingerprint 00:11 "
                                          "does not match"));
    // Fixing the file: the retry loop picks it up.
    dir.write("config", "[DEFAULT]\ntenancy=t\nuser=u\nfingerprint=" + fingerprint_of(key.get()) +
                            "\nkey_file=" + key_path + "\n");
    REQUIRE(run_until(
        ioc, [&] { return cache.current() != nullptr; }, 5s));
    CHECK(cache.status() == std::nullopt);
    CHECK(cache.current()->key_id() == "t/u/" + fingerprint_of(key.get()));
    // No expiry: no further renewals.
    auto n = cache.renewals();
    ioc.restart();
    ioc.run_for(300ms);
    CHECK(cache.renewals() == n);
    cache.stop();
    ioc.restart();
    ioc.run_for(50ms);
}

TEST_CASE("credential cache with session_token: a changed token file is picked up", "[auth][cache]")
{
    temp_dir dir;
    auto key = shared_test_key();
    dir.write("key.pem", key_pem(key.get(), pem_kind::pkcs1));
    std::string token1 = make_jwt(std::chrono::system_clock::now() + 1h);
    dir.write("token", token1);
    dir.write("config", "[S]\nkey_file=" + dir.path() +
                            "/key.pem\nsecurity_token_file=" + dir.path() + "/token\n");
    net::io_context ioc;
    credential_cache cache(
        ioc.get_executor(),
        make_session_token_provider(dir.path() + "/config", "S", map_env({}), 100ms));
    cache.start();
    REQUIRE(run_until(
        ioc, [&] { return cache.current() != nullptr; }, 5s));
    CHECK(cache.current()->key_id() == "ST$" + token1);
    std::string token2 = make_jwt(std::chrono::system_clock::now() + 2h);
    dir.write("token", token2);
    REQUIRE(run_until(
        ioc, [&] { return cache.current()->key_id() == "ST$" + token2; }, 5s));
    cache.stop();
    ioc.restart();
    ioc.run_for(50ms);
}

TEST_CASE("credential cache: get() before start and after stop fail fast", "[auth][cache]")
{
    net::io_context ioc;
    credential_cache cache(ioc.get_executor(), make_resource_principal_provider(map_env({})));
    std::optional<result<snapshot_ptr>> out;
    net::co_spawn(ioc, cache.get(),
                  [&](std::exception_ptr, result<snapshot_ptr> r) { out.emplace(std::move(r)); });
    ioc.run_for(1s);
    REQUIRE(out);
    REQUIRE_FALSE(*out);
    CHECK(out->error().code == errc::not_ready);
    cache.stop();
    out.reset();
    ioc.restart();
    net::co_spawn(ioc, cache.get(),
                  [&](std::exception_ptr, result<snapshot_ptr> r) { out.emplace(std::move(r)); });
    ioc.run_for(1s);
    REQUIRE(out);
    REQUIRE_FALSE(*out);
    CHECK(out->error().code == errc::stopped);
    CHECK(cache.status() == "resource_principal: stopped");
}

TEST_CASE("inference_base_url: endpoint, configured region, credentials' region", "[auth][region]")
{
    ogp::oci_config oci;
    CHECK(inference_base_url(oci, "") == std::nullopt);
    CHECK(inference_base_url(oci, "phx") ==
          "https://inference.generativeai.us-phoenix-1.oci.oraclecloud.com");
    oci.region = "us-chicago-1";
    CHECK(inference_base_url(oci, "phx") ==
          "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com");
    oci.region = "uk-gov-london-1";
    CHECK(inference_base_url(oci, "") ==
          "https://inference.generativeai.uk-gov-london-1.oci.oraclegovcloud.uk");
    oci.region = "not a region";
    CHECK(inference_base_url(oci, "phx") == std::nullopt);
    oci.endpoint = "https://mock.local:8443/";
    CHECK(inference_base_url(oci, "") == "https://mock.local:8443");
}

namespace {

// A provider whose fetch() takes `delay` and then fails (never yields credentials).
class slow_provider final : public credential_provider
{
public:
    explicit slow_provider(std::chrono::milliseconds delay) : delay_(delay) {}
    std::string_view name() const override { return "slow"; }
    net::awaitable<result<snapshot_ptr>> fetch() override
    {
        ++calls;
        net::steady_timer t(co_await net::this_coro::executor, delay_);
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
        co_return error{errc::network, "slow source failed"};
    }
    std::atomic<int> calls{0};

private:
    std::chrono::milliseconds delay_;
};

}  // namespace

TEST_CASE("credential cache: get() gives up after get_timeout", "[auth][cache]")
{
    net::io_context ioc;
    cache_options opts;
    opts.get_timeout = 200ms;
    credential_cache cache(ioc.get_executor(), std::make_unique<slow_provider>(5s), opts);
    cache.start();
    std::optional<result<snapshot_ptr>> out;
    auto t0 = std::chrono::steady_clock::now();
    net::co_spawn(ioc, cache.get(),
                  [&](std::exception_ptr, result<snapshot_ptr> r) { out.emplace(std::move(r)); });
    REQUIRE(run_until(
        ioc, [&] { return out.has_value(); }, 3s));
    auto took = std::chrono::steady_clock::now() - t0;
    REQUIRE_FALSE(*out);
    CHECK(out->error().message == "slow: timed out waiting for credentials");
    CHECK(took >= 150ms);
    CHECK(took < 2s);
    CHECK(cache.status() == "slow: waiting for the first credentials");
    cache.stop();
}

TEST_CASE("credential cache may outlive its io_context (no I/O object in shared state)",
          "[auth][cache]")
{
    // The cache is declared before the io_context, so the io_context dies first while the refresh
    // loop is inside fetch() and a get() is waiting. Under ASan this catches use-after-free.
    auto provider = std::make_unique<slow_provider>(10s);
    auto* raw = provider.get();
    std::unique_ptr<credential_cache> cache;
    {
        net::io_context ioc;
        cache = std::make_unique<credential_cache>(ioc.get_executor(), std::move(provider));
        cache->start();
        net::co_spawn(ioc, cache->get(), net::detached);
        ioc.run_for(100ms);
        CHECK(raw->calls == 1);
    }
    // Every entry point still works (and does nothing harmful) after the io_context is gone.
    CHECK(cache->current() == nullptr);
    CHECK(cache->status().has_value());
    cache->force_refresh();
    cache->stop();
    cache.reset();
}
