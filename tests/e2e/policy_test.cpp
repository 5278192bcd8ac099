// Traffic policy end to end: named client keys (clients.keys) with model allow-lists, rpm/tpm
// token buckets and concurrency limits, against the real daemon and mock; and the same limits
// shared by two daemons through a real redis-server (limits.store). Every wait is bounded; the
// buckets' own arithmetic (exact refill, reset times) is unit-tested with an injected clock in
// tests/unit/limits, here what a client sees on the wire is.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/redis.hpp"
#include "support/scrape.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";

constexpr std::string_view key_a = "e2e-team-a-key-0123456789";
constexpr std::string_view key_b = "e2e-team-b-key-0123456789";
constexpr std::string_view key_c = "e2e-team-c-key-0123456789";

const std::string long_prompt =
    "please answer with a long text so that the stream is split into many separate writes, "
    "then some more words, and still more words to make it longer";

std::string bearer(std::string_view key)
{
    return "Authorization: Bearer " + std::string(key) + "\r\n";
}

// `o` with `keys` (YAML list items) as `clients.keys`.
daemon_options with_keys(daemon_options o, const std::string& keys)
{
    o.clients_extra = "  keys:\n" + keys;
    return o;
}

// A daemon with named keys.
struct keyed_proxy
{
    keyed_proxy(const mock& m, const daemon_options& o, const std::string& keys)
        : d(m, with_keys(o, keys))
    {
    }
    proxy d;
};

// A raw streamed chat request for `model` with `key`, closing the connection after.
std::string raw_stream_request(std::string_view key, std::string_view model,
                               std::string_view prompt)
{
    const std::string body = chat_body(model, prompt, true);
    return "POST " + std::string(chat_path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + bearer(key) +
           "Content-Type: application/json\r\nConnection: close\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

daemon_options slow_options(std::string limits = {})
{
    daemon_options o;
    o.models = "  - name: slow\n    id: meta.mock-slow-1\n";
    o.limits = std::move(limits);
    return o;
}

http_response chat(std::uint16_t port, std::string_view key, std::string_view model,
                   std::string_view prompt = "hello")
{
    http_client c(port);
    return c.request("POST", chat_path, chat_body(model, prompt), 15s, false, bearer(key));
}

std::string header_or_empty(const http_response& r, std::string_view name)
{
    return r.header(name).value_or("");
}

// The ids of GET /v1/models with `key`.
std::vector<std::string> listed_models(std::uint16_t port, std::string_view key)
{
    http_client c(port);
    auto r = c.request("GET", "/v1/models", {}, 5s, false, bearer(key));
    REQUIRE(r.status == 200);
    std::vector<std::string> ids;
    for (int i = 0;; ++i) {
        const std::string p = "/data/" + std::to_string(i) + "/id";
        auto id = json_string(r.body, p.c_str());
        if (id.empty()) {
            break;
        }
        ids.push_back(id);
    }
    return ids;
}

// A 429 of the key's own limits (Retry-After: whole seconds, at most `max_wait`).
void check_rate_limit_error(const http_response& r, std::string_view type, int max_wait = 60)
{
    INFO(r.body);
    CHECK(r.status == 429);
    CHECK(is_openai_error(r.body));
    CHECK(json_string(r.body, "/error/code") == "rate_limit_exceeded");
    CHECK(json_string(r.body, "/error/type") == type);
    const auto retry_after = header_or_empty(r, "retry-after");
    REQUIRE(!retry_after.empty());
    CHECK(std::stoi(retry_after) >= 1);
    CHECK(std::stoi(retry_after) <= max_wait);
}

}  // namespace

TEST_CASE("policy: a key limited to one model gets 404 for another and sees only that model",
          "[e2e][policy]")
{
    mock m;
    keyed_proxy k(m, {},
                  "    - name: team-a\n      key: \"" + std::string(key_a) +
                      "\"\n      models: [gpt-4o-mini]\n"
                      "    - name: team-b\n      key_sha256: \"" +
                      sha256_hex(key_b) + "\"\n      models: [\"command-*\"]\n");
    const auto port = k.d.port();
    const auto before = m.stats();

    // Allowed model: served.
    CHECK(chat(port, key_a, "gpt-4o-mini").status == 200);
    // Another model, existing: the same 404 as an unknown one, and OCI is never asked.
    auto refused = chat(port, key_a, "command-r-plus");
    INFO(refused.body);
    CHECK(refused.status == 404);
    CHECK(json_string(refused.body, "/error/code") == "model_not_found");
    auto unknown = chat(port, key_a, "no-such-model");
    CHECK(unknown.status == 404);
    CHECK(json_string(unknown.body, "/error/code") == "model_not_found");
    CHECK(m.stats().chat == before.chat + 1);

    // /v1/models shows only the key's model; /v1/models/{id} hides the others.
    CHECK(listed_models(port, key_a) == std::vector<std::string>{"gpt-4o-mini"});
    http_client c(port);
    CHECK(c.request("GET", "/v1/models/command-r-plus", {}, 5s, false, bearer(key_a)).status ==
          404);
    CHECK(c.request("GET", "/v1/models/gpt-4o-mini", {}, 5s, false, bearer(key_a)).status == 200);

    // A key given only by its SHA-256 authenticates; its glob admits command-r-plus only.
    CHECK(chat(port, key_b, "command-r-plus").status == 200);
    CHECK(chat(port, key_b, "gpt-4o-mini").status == 404);
    CHECK(listed_models(port, key_b) == std::vector<std::string>{"command-r-plus"});

    // The anonymous test key keeps every model.
    CHECK(listed_models(port, test_key).size() >= 3);
    CHECK(chat(port, test_key, "command-r-plus").status == 200);

    // The access log names the key, never the key itself.
    const std::string log = k.d.captured_stderr();
    CHECK(log.find("client=team-a") != std::string::npos);
    CHECK(log.find(key_a) == std::string::npos);
    CHECK(log.find(key_b) == std::string::npos);
}

TEST_CASE("policy: rpm 5 gives the sixth request in a minute a 429 with rate-limit headers",
          "[e2e][policy]")
{
    mock m;
    keyed_proxy k(m, {},
                  "    - name: team-a\n      key: \"" + std::string(key_a) +
                      "\"\n      rpm: 5\n"
                      "    - name: team-b\n      key: \"" +
                      std::string(key_b) + "\"\n      rpm: 100\n");
    const auto port = k.d.port();
    const auto before = m.stats();

    for (int i = 0; i < 5; ++i) {
        auto r = chat(port, key_a, "gpt-4o-mini");
        INFO("request " << i + 1 << ": " << r.body);
        REQUIRE(r.status == 200);
        CHECK(header_or_empty(r, "x-ratelimit-limit-requests") == "5");
        CHECK(header_or_empty(r, "x-ratelimit-remaining-requests") == std::to_string(4 - i));
        CHECK(!header_or_empty(r, "x-ratelimit-reset-requests").empty());
        // No tpm on this key: no token headers.
        CHECK(!r.header("x-ratelimit-limit-tokens"));
    }
    auto sixth = chat(port, key_a, "gpt-4o-mini");
    check_rate_limit_error(sixth, "requests");
    CHECK(header_or_empty(sixth, "x-ratelimit-limit-requests") == "5");
    CHECK(header_or_empty(sixth, "x-ratelimit-remaining-requests") == "0");
    // One request comes back every 12 s: the client is told to wait about that long.
    CHECK(std::stoi(header_or_empty(sixth, "retry-after")) >= 10);
    CHECK(std::stoi(header_or_empty(sixth, "retry-after")) <= 12);
    const auto reset = header_or_empty(sixth, "x-ratelimit-reset-requests");
    INFO(reset);
    CHECK(reset.ends_with("s"));
    // The refused request never reached OCI.
    CHECK(m.stats().chat == before.chat + 5);

    // Another key has its own bucket.
    CHECK(chat(port, key_b, "gpt-4o-mini").status == 200);
    // A stream is refused the same way, as a plain 429 before any event.
    http_client c(port);
    auto stream = c.request("POST", chat_path, chat_body("gpt-4o-mini", "hi", true), 10s, false,
                            bearer(key_a));
    check_rate_limit_error(stream, "requests");

    // Per-key figures in the metrics.
    auto r = get_metrics(port);
    REQUIRE(r.status == 200);
    metric_set s(r.body);
    CHECK(s.sum("ogp_client_rate_limited_total", {{"client", "team-a"}, {"limit", "requests"}}) ==
          2);
    CHECK(s.sum("ogp_client_limit", {{"client", "team-a"}, {"limit", "requests"}}) == 5);
    CHECK(s.sum("ogp_client_requests_total", {{"client", "team-a"}}) >= 7);
    CHECK(k.d.captured_stderr().find("rate_limited=requests") != std::string::npos);
}

TEST_CASE("policy: tpm is charged from OCI usage and refuses once the key is over", "[e2e][policy]")
{
    mock m;
    keyed_proxy k(m, {},
                  "    - name: team-c\n      key: \"" + std::string(key_c) + "\"\n      tpm: 10\n");
    const auto port = k.d.port();

    // The first request is admitted (the bucket is full) and uses more than 10 tokens.
    auto first = chat(port, key_c, "gpt-4o-mini", long_prompt);
    INFO(first.body);
    REQUIRE(first.status == 200);
    CHECK(header_or_empty(first, "x-ratelimit-limit-tokens") == "10");
    const auto used = json_int(first.body, "/usage/total_tokens");
    REQUIRE(used > 10);

    // Now the key is over: refused until the bucket refills above zero, which takes
    // (used - 10) tokens at 10 a minute.
    auto second = chat(port, key_c, "gpt-4o-mini");
    const int debt_seconds = static_cast<int>((used - 10) * 60 / 10);
    check_rate_limit_error(second, "tokens", debt_seconds + 1);
    CHECK(std::stoi(header_or_empty(second, "retry-after")) >= debt_seconds - 5);
    CHECK(header_or_empty(second, "x-ratelimit-limit-tokens") == "10");
    CHECK(header_or_empty(second, "x-ratelimit-remaining-tokens") == "0");
    CHECK(!header_or_empty(second, "x-ratelimit-reset-tokens").empty());

    // A stream is charged when it ends: the usage of its final event.
    keyed_proxy k2(
        m, {}, "    - name: team-c\n      key: \"" + std::string(key_c) + "\"\n      tpm: 10\n");
    http_client c(k2.d.port());
    auto stream = c.request(
        "POST", chat_path,
        chat_body("gpt-4o-mini", long_prompt, true, R"("stream_options":{"include_usage":true})"),
        15s, false, bearer(key_c));
    REQUIRE(stream.status == 200);
    CHECK(stream_content(stream.sse_data()).size() > 0);
    // The charge lands when the handler ends, just after the stream's last byte went out.
    REQUIRE(k2.d.wait_for_log("client=team-c"));
    auto after_stream = chat(k2.d.port(), key_c, "gpt-4o-mini");
    check_rate_limit_error(after_stream, "tokens", 3600);
    auto m2 = get_metrics(k2.d.port());
    CHECK(metric_set(m2.body).sum("ogp_client_tokens_total", {{"client", "team-c"}}) > 10);

    auto r = get_metrics(port);
    metric_set s(r.body);
    CHECK(s.sum("ogp_client_tokens_total", {{"client", "team-c"}}) == double(used));
    CHECK(s.sum("ogp_client_rate_limited_total", {{"client", "team-c"}, {"limit", "tokens"}}) == 1);
}

TEST_CASE("policy: max_concurrent and max_streams refuse at once while a request is open",
          "[e2e][policy]")
{
    mock m;
    keyed_proxy k(m, slow_options(),
                  "    - name: team-a\n      key: \"" + std::string(key_a) +
                      "\"\n      max_concurrent: 1\n"
                      "    - name: team-b\n      key: \"" +
                      std::string(key_b) + "\"\n      max_streams: 1\n");
    const auto port = k.d.port();

    for (std::string_view key : {key_a, key_b}) {
        INFO(key);
        // A slow stream (the mock paces its writes) holds the key's slot.
        raw_client open(port);
        REQUIRE(open.send(raw_stream_request(key, "slow", long_prompt)));
        REQUIRE(open.readable(10s));
        std::string got = open.read_until_eof(200ms);
        REQUIRE(got.starts_with("HTTP/1.1 200"));

        const auto start = steady::now();
        http_client c(port);
        auto second =
            c.request("POST", chat_path, chat_body("slow", "hi", true), 10s, false, bearer(key));
        INFO(second.body);
        CHECK(second.status == 429);
        CHECK(json_string(second.body, "/error/code") == "rate_limit_exceeded");
        CHECK(seconds_since(start) < 5);  // refused at once, not queued behind the stream
        if (key == key_b) {
            // max_streams: a request that does not stream still passes.
            CHECK(chat(port, key, "gpt-4o-mini").status == 200);
        }

        // Once the stream ended the slot is free again.
        bool closed = false;
        got += open.read_until_eof(20s, &closed);
        REQUIRE(closed);
        CHECK(got.find("[DONE]") != std::string::npos);
        bool served = false;
        for (int i = 0; i < 50 && !served; ++i) {
            served = chat(port, key, "gpt-4o-mini").status == 200;
            if (!served) {
                std::this_thread::sleep_for(50ms);
            }
        }
        CHECK(served);
    }
}

TEST_CASE("policy: two daemons sharing one Redis hold rpm 5 together", "[e2e][policy][redis]")
{
    redis_server redis;
    mock m;
    const std::string keys = "    - name: team-a\n      key: \"" + std::string(key_a) +
                             "\"\n      rpm: 5\n      max_concurrent: 4\n";
    daemon_options o = slow_options("  store: " + redis.url() + "\n");
    keyed_proxy one(m, o, keys);
    keyed_proxy two(m, o, keys);
    REQUIRE(one.d.port() != two.d.port());
    const auto before = m.stats();

    // Alternating between the replicas: five admitted in all, then both refuse.
    int ok = 0;
    std::vector<int> statuses;
    for (int i = 0; i < 8; ++i) {
        auto r = chat(i % 2 == 0 ? one.d.port() : two.d.port(), key_a, "gpt-4o-mini");
        statuses.push_back(r.status);
        if (r.status == 200) {
            ++ok;
        } else {
            check_rate_limit_error(r, "requests");
            CHECK(header_or_empty(r, "x-ratelimit-remaining-requests") == "0");
        }
    }
    INFO(::Catch::Detail::stringify(statuses));
    CHECK(ok == 5);
    CHECK(statuses[5] == 429);
    CHECK(m.stats().chat == before.chat + 5);
    // Both replicas refused some: the bucket is really shared.
    for (auto* p : {&one.d, &two.d}) {
        auto r = get_metrics(p->port());
        metric_set s(r.body);
        CHECK(s.sum("ogp_client_rate_limited_total", {{"client", "team-a"}}) >= 1);
        CHECK(s.sum("ogp_limits_store_errors_total") == 0);
        CHECK(s.has("ogp_limits_store_info", {{"kind", "redis"}}));
    }
}

TEST_CASE("policy: an unreachable Redis fails open by default and closed when configured",
          "[e2e][policy][redis]")
{
    mock m;
    const std::string keys =
        "    - name: team-a\n      key: \"" + std::string(key_a) + "\"\n      rpm: 2\n";
    const std::string store = "  store: redis://127.0.0.1:" + std::to_string(closed_port()) +
                              "\n  store_timeout: 200ms\n";
    {
        // Open: the in-process buckets take over (rpm 2 still holds), counted and logged.
        keyed_proxy k(m, slow_options(store), keys);
        CHECK(chat(k.d.port(), key_a, "gpt-4o-mini").status == 200);
        CHECK(chat(k.d.port(), key_a, "gpt-4o-mini").status == 200);
        check_rate_limit_error(chat(k.d.port(), key_a, "gpt-4o-mini"), "requests");
        auto r = get_metrics(k.d.port());
        metric_set s(r.body);
        CHECK(s.sum("ogp_limits_store_errors_total") >= 3);
        CHECK(s.sum("ogp_limits_store_fallbacks_total") >= 3);
        CHECK(k.d.wait_for_log("redis://127.0.0.1:"));
    }
    {
        // Closed: refused with a 503 that says why.
        keyed_proxy k(m, slow_options(store + "  store_failure: closed\n"), keys);
        auto r = chat(k.d.port(), key_a, "gpt-4o-mini");
        INFO(r.body);
        CHECK(r.status == 503);
        CHECK(json_string(r.body, "/error/code") == "rate_limit_store_unavailable");
        CHECK(!header_or_empty(r, "retry-after").empty());
        // Keys without limits are not affected by the store.
        CHECK(chat(k.d.port(), test_key, "gpt-4o-mini").status == 200);
    }
}
