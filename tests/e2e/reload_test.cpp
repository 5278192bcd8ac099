// Reload on SIGHUP end to end: the real daemon on a config file the test rewrites, against the
// mock. What must hold: a stream open across the reload finishes on the old configuration, new
// requests (also on connections opened before) use the new one, a file that fails validation
// changes nothing, and what needs a restart is reported and left alone.
#include <catch2/catch.hpp>

#include <csignal>
#include <string>

#include "support/credentials.hpp"
#include "support/http.hpp"
#include "support/net.hpp"
#include "support/scrape.hpp"
#include "support/stack.hpp"
#include "support/temp_dir.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";
// What the daemon logs once a reload is in effect, and when it rejected one.
constexpr std::string_view reloaded = "configuration reloaded";
constexpr std::string_view reload_failed = "the running configuration stays";

constexpr std::string_view old_key = "e2e-old-client-key";
constexpr std::string_view new_key = "e2e-new-client-key";

const std::string long_prompt =
    "please answer with a long text so that the stream is split into many separate writes, "
    "then some more words, and still more words to make it longer";

const std::string slow_alias = "  - name: slow\n    id: meta.mock-slow-1\n";
const std::string fresh_alias = "  - name: fresh\n    id: cohere.command-r-plus-08-2024\n";

std::string bearer(std::string_view key)
{
    return "Authorization: Bearer " + std::string(key) + "\r\n";
}

// Status of a chat request for `model` with `key` on a new connection.
int chat_status(std::uint16_t port, std::string_view key, std::string_view model)
{
    http_client c(port);
    return c.request("POST", chat_path, chat_body(model, "hello"), 10s, false, bearer(key)).status;
}

// True when GET /v1/models (with `key`) lists `alias`.
bool lists_model(std::uint16_t port, std::string_view key, std::string_view alias)
{
    http_client c(port);
    auto r = c.request("GET", "/v1/models", {}, 5s, false, bearer(key));
    REQUIRE(r.status == 200);
    return r.body.find("\"id\":\"" + std::string(alias) + "\"") != std::string::npos;
}

// Rewrites the daemon's config and sends SIGHUP.
void reload_with(proxy& d, const std::string& yaml)
{
    d.rewrite_config(yaml);
    d.stop(SIGHUP);
}

double reloads(std::uint16_t port, std::string_view result)
{
    auto r = get_metrics(port);
    REQUIRE(r.status == 200);
    return metric_set(r.body).sum("ogp_config_reloads_total", {{"result", result}});
}

}  // namespace

TEST_CASE("reload: SIGHUP adds a key and an alias and removes a key while a stream is open",
          "[e2e][reload]")
{
    mock m;
    daemon_options o;
    o.models = slow_alias;
    o.api_keys = {std::string(test_key), std::string(old_key)};
    proxy d(m, o);
    const auto port = d.port();
    const auto credential_loads = d.log_count("credentials loaded");

    // Before: the new key is refused, the new alias unknown.
    CHECK(chat_status(port, new_key, "gpt-4o-mini") == 401);
    CHECK(!lists_model(port, test_key, "fresh"));
    CHECK(chat_status(port, old_key, "gpt-4o-mini") == 200);
    // A keep-alive connection authenticated with the key that goes away.
    http_client kept(port);
    REQUIRE(kept.request("GET", "/v1/models", {}, 5s, false, bearer(old_key)).status == 200);

    // A stream paced 100 ms a write by the mock (~3 s in all), open across the reload.
    raw_client stream(port);
    REQUIRE(stream.send(
        post_request(chat_path, chat_body("slow", long_prompt, true), "Connection: close\r\n")));
    REQUIRE(stream.readable(10s));
    std::string got = stream.read_until_eof(300ms);
    INFO(printable(got, 1000));
    REQUIRE(got.starts_with("HTTP/1.1 200"));
    REQUIRE(got.find("[DONE]") == std::string::npos);

    daemon_options next = o;
    next.api_keys = {std::string(test_key), std::string(new_key)};
    next.models += fresh_alias;
    reload_with(d, proxy_config(m, next));
    REQUIRE(d.wait_for_log_count(reloaded, 1, 5s));

    // The stream finishes normally on the configuration it started with.
    bool closed = false;
    got += stream.read_until_eof(20s, &closed);
    INFO(printable(got, 3000));
    CHECK(closed);
    CHECK(got.find("data: [DONE]") != std::string::npos);
    CHECK(got.ends_with("0\r\n\r\n"));
    CHECK(got.find("\"error\"") == std::string::npos);

    // New requests use the new configuration.
    CHECK(chat_status(port, new_key, "fresh") == 200);
    CHECK(chat_status(port, new_key, "gpt-4o-mini") == 200);
    CHECK(chat_status(port, test_key, "fresh") == 200);
    CHECK(chat_status(port, old_key, "gpt-4o-mini") == 401);
    // Also on a connection that was authenticated before the reload.
    auto again = kept.request("GET", "/v1/models", {}, 5s, false, bearer(old_key));
    CHECK(again.status == 401);
    // The new alias is listed and maps to its model.
    CHECK(lists_model(port, new_key, "fresh"));
    http_client mapped(port);
    CHECK(mapped
              .request("POST", chat_path, chat_body("fresh", "hello"), 10s, false,
                       bearer(new_key) + "X-Request-Id: reload-fresh-1\r\n")
              .status == 200);
    REQUIRE(d.wait_for_log("request_id=reload-fresh-1"));
    const std::string log = d.captured_stderr();
    const auto at = log.find("request_id=reload-fresh-1");
    CHECK(log.substr(at, log.find('\n', at) - at).find("oci_model=cohere.command-r-plus-08-2024") !=
          std::string::npos);

    CHECK(reloads(port, "success") == 1);
    CHECK(reloads(port, "failure") == 0);
    CHECK(
        metric_set(get_metrics(port).body).sum("ogp_config_last_reload_success_timestamp_seconds") >
        1.7e9);
    // Same auth settings: the credential cache was kept (no new token fetched for the reload).
    CHECK(d.log_count("credentials loaded") == credential_loads);
    CHECK_FALSE(d.wait_exit(0ms));
}

TEST_CASE("reload: a file that fails validation changes nothing", "[e2e][reload]")
{
    mock m;
    daemon_options o;
    proxy d(m, o);
    const auto port = d.port();

    daemon_options next = o;
    next.api_keys = {std::string(test_key), std::string(new_key)};
    const std::string good = proxy_config(m, next);

    SECTION("a YAML syntax error")
    {
        std::string broken = good;
        broken.replace(broken.find("clients:\n"), 9, "clients: [\n");
        reload_with(d, broken);
        REQUIRE(d.wait_for_log_count(reload_failed, 1, 5s));
    }
    SECTION("semantic errors: every problem is logged")
    {
        next.models =
            "  - name: bad-compartment\n    id: meta.llama-3.3-70b-instruct\n"
            "    compartment_id: not-an-ocid\n"
            "  - name: gpt-4o-mini\n    id: meta.llama-3.1-8b-instruct\n";
        reload_with(d, proxy_config(m, next));
        REQUIRE(d.wait_for_log_count(reload_failed, 1, 5s));
        const std::string log = d.captured_stderr();
        INFO(log);
        CHECK(log.find("compartment_id") != std::string::npos);
        CHECK(log.find("duplicate model name") != std::string::npos);
        CHECK(!lists_model(port, test_key, "bad-compartment"));
    }
    // Nothing changed: the old key works, the new one does not, the daemon runs.
    CHECK_FALSE(d.wait_exit(200ms));
    CHECK(chat_status(port, test_key, "gpt-4o-mini") == 200);
    CHECK(chat_status(port, new_key, "gpt-4o-mini") == 401);
    CHECK(d.log_count(reloaded) == 0);
    CHECK(reloads(port, "failure") == 1);
    CHECK(reloads(port, "success") == 0);

    // And a good file after the bad one is taken.
    reload_with(d, good);
    REQUIRE(d.wait_for_log_count(reloaded, 1, 5s));
    CHECK(chat_status(port, new_key, "gpt-4o-mini") == 200);
    CHECK(reloads(port, "success") == 1);
    CHECK(reloads(port, "failure") == 1);
}

TEST_CASE("reload: a listen or threads change is reported as needing a restart", "[e2e][reload]")
{
    mock m;
    daemon_options o;
    proxy d(m, o);
    const auto port = d.port();
    const std::uint16_t other = free_loopback_port();

    daemon_options next = o;
    next.threads = o.threads + 1;
    next.api_keys = {std::string(test_key), std::string(new_key)};
    std::string yaml = proxy_config(m, next);
    const std::string listen = "listen: 127.0.0.1:0\n";
    yaml.replace(yaml.find(listen), listen.size(),
                 "listen: 127.0.0.1:" + std::to_string(other) + "\n");
    reload_with(d, yaml);
    REQUIRE(d.wait_for_log_count(reloaded, 1, 5s));
    // Each key that needs a restart is named.
    const std::string log = d.captured_stderr();
    INFO(log);
    CHECK(log.find("reload: listen changed: it takes effect after a restart") != std::string::npos);
    CHECK(log.find("reload: threads changed: it takes effect after a restart") !=
          std::string::npos);

    // Still on the old port, not on the new one; the rest of the file is in effect.
    CHECK_FALSE(raw_client::can_connect(other));
    CHECK(chat_status(port, test_key, "gpt-4o-mini") == 200);
    CHECK(chat_status(port, new_key, "gpt-4o-mini") == 200);
    CHECK_FALSE(d.wait_exit(0ms));
}

TEST_CASE("reload: the key file is read again", "[e2e][reload]")
{
    mock m;
    daemon_options o;
    o.api_keys = {};
    o.api_keys_file = m.dir().write("client-keys", std::string(test_key) + "\n");
    proxy d(m, o);
    const auto port = d.port();
    CHECK(chat_status(port, new_key, "gpt-4o-mini") == 401);

    // Only the key file changes; the config file is the same.
    m.dir().write("client-keys", std::string(new_key) + "\n");
    d.stop(SIGHUP);
    REQUIRE(d.wait_for_log_count(reloaded, 1, 5s));
    CHECK(chat_status(port, new_key, "gpt-4o-mini") == 200);
    CHECK(chat_status(port, test_key, "gpt-4o-mini") == 401);
}

TEST_CASE("reload: a log.level change takes effect", "[e2e][reload]")
{
    // 4 s tokens: the daemon renews them every ~2 s and logs the request for one at debug.
    mock m({"--token-lifetime", "4"});
    daemon_options o;
    proxy d(m, o);
    constexpr std::string_view debug_line = " debug auth: requesting a security token";
    const auto loads = d.log_count("credentials loaded");
    REQUIRE(d.wait_for_log_count("credentials loaded", loads + 1, 5s));
    CHECK(d.log_count(debug_line) == 0);

    daemon_options verbose = o;
    verbose.log_level = "debug";
    reload_with(d, proxy_config(m, verbose));
    REQUIRE(d.wait_for_log_count(reloaded, 1, 5s));
    CHECK(d.wait_for_log(debug_line, 5s));

    reload_with(d, proxy_config(m, o));
    REQUIRE(d.wait_for_log_count(reloaded, 2, 5s));
    const auto debug_lines = d.log_count(debug_line);
    const auto renewed = d.log_count("credentials loaded");
    // At least one more renewal at info: no new debug line for it.
    REQUIRE(d.wait_for_log_count("credentials loaded", renewed + 1, 5s));
    CHECK(d.log_count(debug_line) == debug_lines);
}

TEST_CASE("reload: an oci.auth change builds new credentials and open streams finish on the old",
          "[e2e][reload][credentials]")
{
    temp_dir keys;
    auto creds = write_api_key_credentials(keys);
    mock m(creds.mock_args());
    daemon_options o;
    o.models = slow_alias;
    proxy d(m, o);  // instance principal
    const auto port = d.port();

    raw_client stream(port);
    REQUIRE(stream.send(
        post_request(chat_path, chat_body("slow", long_prompt, true), "Connection: close\r\n")));
    REQUIRE(stream.readable(10s));
    std::string got = stream.read_until_eof(300ms);
    REQUIRE(got.find("[DONE]") == std::string::npos);

    daemon_options next = o;
    next.api_key_config = creds.config_file;
    reload_with(d, proxy_config(m, next));
    REQUIRE(d.wait_for_log_count(reloaded, 1, 5s));
    CHECK(d.log_count("reload: oci.auth or its files changed") == 1);

    bool closed = false;
    got += stream.read_until_eof(20s, &closed);
    INFO(printable(got, 2000));
    CHECK(closed);
    CHECK(got.find("data: [DONE]") != std::string::npos);
    // New requests are signed with the API key; the mock verifies every signature.
    CHECK(chat_status(port, test_key, "gpt-4o-mini") == 200);
    CHECK(m.stats().rejected_signatures == 0);
    auto s = metric_set(get_metrics(port).body);
    // The metrics follow the new provider (an API key has no expiry: no expiry series).
    CHECK(s.has("ogp_credential_renewals_total", {{"provider", "api_key"}}));
    CHECK(!s.has("ogp_credential_renewals_total", {{"provider", "instance_principal"}}));
}
