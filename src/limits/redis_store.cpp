// The Redis limits store: one Lua script per admission (EVALSHA; EVAL after NOSCRIPT), one per
// release (sent in the background, bounded). Buckets are Redis hashes (level in 1/60000 of a
// token, ts in ms) with the same integer arithmetic as token_bucket; slots are sorted sets of
// lease ids scored by their expiry, so a replica that dies leaks nothing beyond lease_ttl.
#include <openssl/evp.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ogp/limits/redis_store.hpp"
#include "ogp/util/asio.hpp"
#include "resp.hpp"

namespace ogp::limits {

namespace {

using std::chrono::milliseconds;

// Figures above this are clamped: every level (in 1/60000 token) then stays an exact integer
// in Lua's doubles (< 2^53).
constexpr std::uint64_t max_figure = 10'000'000'000ULL;
// A bucket key lives this long after its last write (a full minute refills any rpm bucket).
constexpr std::int64_t idle_ms = 120'000;
// Same hint as the memory store: a slot frees when some request ends.
constexpr std::int64_t slot_retry_ms = 1000;

// Shared by both scripts: the time (from Redis, so replicas' clocks do not matter) and the
// bucket arithmetic of token_bucket (level in units of 1/60000 token; refill `rate` units/ms).
constexpr std::string_view script_prelude = R"lua(
local unit = 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function load(key, rate)
  local cap = rate * unit
  local v = redis.call('HMGET', key, 'level', 'ts')
  local level = tonumber(v[1])
  local ts = tonumber(v[2])
  if level == nil or ts == nil then return cap end
  if now > ts then level = level + (now - ts) * rate end
  if level > cap then level = cap end
  return level
end
local function wait(level, target, rate)
  if level >= target then return 0 end
  return math.ceil((target - level) / rate)
end
local function store(key, level, ttl)
  redis.call('HSET', key, 'level', string.format('%d', level), 'ts', string.format('%d', now))
  redis.call('PEXPIRE', key, ttl)
end
)lua";

// KEYS: rpm, tpm, slots, streams. ARGV: rpm, tpm, max_concurrent, max_streams, stream (0/1),
// lease id, lease ttl ms, idle ms, slot retry ms.
// Returns {verdict, requests left, requests reset ms, tokens left, tokens reset ms, retry ms};
// verdict 0 admitted, 1 requests, 2 tokens, 3 concurrency, 4 streams.
constexpr std::string_view admit_body = R"lua(
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local maxc = tonumber(ARGV[3])
local maxs = tonumber(ARGV[4])
local stream = ARGV[5] == '1'
local lease = ARGV[6]
local ttl = tonumber(ARGV[7])
local idle = tonumber(ARGV[8])
local hint = tonumber(ARGV[9])
local rl = 0
local tl = 0
if rpm > 0 then rl = load(KEYS[1], rpm) end
if tpm > 0 then tl = load(KEYS[2], tpm) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local slots = redis.call('ZCARD', KEYS[3])
local streams = 0
if stream then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  streams = redis.call('ZCARD', KEYS[4])
end
local verdict = 0
local retry = 0
if maxc > 0 and slots >= maxc then
  verdict = 3
  retry = hint
elseif stream and maxs > 0 and streams >= maxs then
  verdict = 4
  retry = hint
elseif tpm > 0 and tl <= 0 then
  verdict = 2
  retry = math.max(wait(tl, 1, tpm), 1)
elseif rpm > 0 and rl < unit then
  verdict = 1
  retry = math.max(wait(rl, unit, rpm), 1)
else
  if rpm > 0 then
    rl = rl - unit
    store(KEYS[1], rl, idle)
  end
  -- Slots are held whether or not a limit is set (a reload that sets one sees them).
  local function hold(key)
    redis.call('ZADD', key, now + ttl, lease)
    if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  end
  hold(KEYS[3])
  if stream then hold(KEYS[4]) end
end
local rr, rs, tr, ts = 0, 0, 0, 0
if rpm > 0 then
  rr = math.floor(rl / unit)
  rs = wait(rl, rpm * unit, rpm)
end
if tpm > 0 then
  tr = math.max(math.floor(tl / unit), 0)
  ts = wait(tl, tpm * unit, tpm)
end
return {verdict, rr, rs, tr, ts, retry}
)lua";

// KEYS: as admit. ARGV: tpm, tokens, lease id, idle ms. Frees the lease's slots; charges the
// tokens (the level may go below zero; the key then lives until the bucket is full + idle).
constexpr std::string_view release_body = R"lua(
local tpm = tonumber(ARGV[1])
local tokens = tonumber(ARGV[2])
local lease = ARGV[3]
local idle = tonumber(ARGV[4])
redis.call('ZREM', KEYS[3], lease)
redis.call('ZREM', KEYS[4], lease)
if tpm > 0 and tokens > 0 then
  local tl = load(KEYS[2], tpm) - tokens * unit
  store(KEYS[2], tl, wait(tl, tpm * unit, tpm) + idle)
end
return 1
)lua";

std::string sha1_hex(std::string_view text)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha1(), nullptr) != 1) {
        return {};  // EVALSHA then answers NOSCRIPT every time: EVAL still works
    }
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        hex += digits[md[i] >> 4];
        hex += digits[md[i] & 0xf];
    }
    return hex;
}

struct script
{
    explicit script(std::string_view body) : text(std::string(script_prelude) + std::string(body))
    {
        sha = sha1_hex(text);
    }
    std::string text;
    std::string sha;
};

// State shared by the store and its pending operations (which keep it alive).
struct shared_state
{
    std::shared_ptr<resp::client> client;
    milliseconds timeout{250};
    std::size_t max_pending = 0;
    script admit{admit_body};
    script release{release_body};
    std::atomic<std::size_t> pending{0};
    std::atomic<std::uint64_t> dropped{0};
};

struct keys
{
    explicit keys(std::string_view name)
    {
        const std::string base = "ogp:{" + std::string(name) + "}:";
        rpm = base + "rpm";
        tpm = base + "tpm";
        slots = base + "slots";
        streams = base + "streams";
    }
    std::string rpm, tpm, slots, streams;
};

std::string figure(std::uint64_t v)
{
    return std::to_string(std::min(v, max_figure));
}

// EVALSHA `s` with `keys` and `argv`; after NOSCRIPT (Redis restarted, SCRIPT FLUSH) once more
// with EVAL, which also caches the script again.
net::awaitable<std::optional<resp::value>> evaluate(resp::client::session& session, const script& s,
                                                    const keys& k,
                                                    std::span<const std::string> argv)
{
    const auto command = [&](std::string_view verb, std::string_view what) {
        std::vector<std::string_view> args{verb, what, "4", k.rpm, k.tpm, k.slots, k.streams};
        for (const auto& a : argv) {
            args.emplace_back(a);
        }
        std::string out;
        resp::encode_command(out, args);
        return out;
    };
    auto reply = co_await session.call(command("EVALSHA", s.sha));
    if (reply && reply->is_error() && reply->text.starts_with("NOSCRIPT")) {
        reply = co_await session.call(command("EVAL", s.text));
    }
    if (reply && reply->is_error()) {
        spdlog::debug("redis store: script failed: {}", reply->text.substr(0, 200));
        co_return std::nullopt;
    }
    co_return reply;
}

struct admit_args
{
    key_limits limits;
    bool stream = false;
    std::string lease;
    std::int64_t lease_ttl_ms = 1;
};

std::optional<admit_answer> to_answer(const resp::value& v)
{
    if (v.type != resp::kind::array || v.elements.size() != 6) {
        return std::nullopt;
    }
    std::array<std::int64_t, 6> n{};
    for (std::size_t i = 0; i < n.size(); ++i) {
        if (v.elements[i].type != resp::kind::integer || v.elements[i].integer < 0) {
            return std::nullopt;
        }
        n[i] = v.elements[i].integer;
    }
    admit_answer a;
    switch (n[0]) {
        case 0:
            a.what = verdict::admitted;
            break;
        case 1:
            a.what = verdict::over_requests;
            break;
        case 2:
            a.what = verdict::over_tokens;
            break;
        case 3:
            a.what = verdict::over_concurrency;
            break;
        case 4:
            a.what = verdict::over_streams;
            break;
        default:
            return std::nullopt;
    }
    a.requests_remaining = n[1];
    a.requests_reset = milliseconds(n[2]);
    a.tokens_remaining = n[3];
    a.tokens_reset = milliseconds(n[4]);
    a.retry_after = milliseconds(n[5]);
    if (a.what != verdict::admitted && a.retry_after < milliseconds(1)) {
        return std::nullopt;
    }
    return a;
}

net::awaitable<std::optional<admit_answer>> admit_on_strand(std::shared_ptr<shared_state> st,
                                                            admit_args a)
{
    const auto deadline = std::chrono::steady_clock::now() + st->timeout;
    auto session = co_await st->client->acquire(deadline);
    if (!session) {
        co_return std::nullopt;
    }
    const keys k(a.limits.name);
    const std::array<std::string, 9> argv{
        figure(a.limits.rpm),           figure(a.limits.tpm),    figure(a.limits.max_concurrent),
        figure(a.limits.max_streams),   a.stream ? "1" : "0",    a.lease,
        std::to_string(a.lease_ttl_ms), std::to_string(idle_ms), std::to_string(slot_retry_ms)};
    auto reply = co_await evaluate(session, st->admit, k, argv);
    if (!reply) {
        co_return std::nullopt;
    }
    auto answer = to_answer(*reply);
    if (!answer) {
        spdlog::debug("redis store: unexpected admission reply");
    }
    co_return answer;
}

struct release_args
{
    std::string name;
    std::uint64_t tpm = 0;
    std::string lease;
    std::uint64_t tokens = 0;
};

// Counts the release as finished however the coroutine ends.
struct pending_guard
{
    explicit pending_guard(std::shared_ptr<shared_state> s) : st(std::move(s)) {}
    ~pending_guard() { st->pending.fetch_sub(1); }
    pending_guard(const pending_guard&) = delete;
    pending_guard& operator=(const pending_guard&) = delete;
    std::shared_ptr<shared_state> st;
};

net::awaitable<void> release_on_strand(std::shared_ptr<shared_state> st, release_args a)
{
    const pending_guard guard(st);
    const auto deadline = std::chrono::steady_clock::now() + st->timeout;
    auto session = co_await st->client->acquire(deadline);
    if (!session) {
        co_return;  // the lease expires with its TTL
    }
    const keys k(a.name);
    const std::array<std::string, 4> argv{figure(a.tpm), figure(a.tokens), a.lease,
                                          std::to_string(idle_ms)};
    auto reply = co_await evaluate(session, st->release, k, argv);
    if (!reply) {
        spdlog::debug("redis store: a release was lost (the lease expires with its TTL)");
    }
}

class redis_store final : public store
{
public:
    redis_store(net::any_io_executor ex, redis_options o) : describe_(description(o))
    {
        st_ = std::make_shared<shared_state>();
        st_->timeout = std::max(o.timeout, milliseconds(1));
        st_->max_pending = o.max_pending_releases;
        resp::client_options co;
        co.host = o.host;
        co.port = o.port;
        co.db = o.db;
        co.password = std::move(o.password);
        co.max_connections = std::max<std::size_t>(o.max_connections, 1);
        st_->client = std::make_shared<resp::client>(std::move(ex), std::move(co));
    }

    net::awaitable<std::optional<admit_answer>> admit(const admit_request& r) override
    {
        if (r.limits == nullptr) {
            co_return std::nullopt;
        }
        admit_args a;
        a.limits = *r.limits;
        a.stream = r.stream;
        a.lease.assign(r.lease_id.data(), r.lease_id.size());
        a.lease_ttl_ms = std::max<std::int64_t>(r.lease_ttl.count(), 1);
        // All Redis work runs on the client's strand; we resume on our own executor.
        auto [ep, answer] = co_await net::co_spawn(st_->client->strand(),
                                                   admit_on_strand(st_, std::move(a)), use_nothrow);
        if (ep) {
            co_return std::nullopt;
        }
        co_return answer;
    }

    void release(const key_limits& l, std::string_view lease_id, bool stream,
                 std::uint64_t tokens) override
    {
        (void)stream;  // the script removes the lease from both sets
        if (st_->pending.fetch_add(1) >= st_->max_pending) {
            st_->pending.fetch_sub(1);
            const auto n = st_->dropped.fetch_add(1) + 1;
            if ((n & (n - 1)) == 0) {  // 1, 2, 4, 8, ...: rate-limited
                spdlog::warn(
                    "redis store: {} release(s) dropped ({} in flight); their leases expire "
                    "with their TTL",
                    n, st_->max_pending);
            }
            return;
        }
        try {
            release_args a;
            a.name = l.name;
            a.tpm = l.tpm;
            a.lease.assign(lease_id.data(), lease_id.size());
            a.tokens = tokens;
            net::co_spawn(st_->client->strand(), release_on_strand(st_, std::move(a)),
                          net::detached);
        } catch (const std::exception&) {  // std::bad_alloc: the lease expires with its TTL
            st_->pending.fetch_sub(1);
        }
    }

    std::string describe() const override { return describe_; }
    void shutdown() override { st_->client->close_idle(); }

private:
    static std::string description(const redis_options& o)
    {
        boost::system::error_code ec;
        const auto address = net::ip::make_address(o.host, ec);
        const bool v6 = !ec && address.is_v6();
        return "redis://" + (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port) +
               "/" + std::to_string(o.db);
    }

    std::shared_ptr<shared_state> st_;
    std::string describe_;
};

}  // namespace

std::unique_ptr<store> make_redis_store(net::any_io_executor ex, redis_options o)
{
    return std::make_unique<redis_store>(std::move(ex), std::move(o));
}

}  // namespace ogp::limits
