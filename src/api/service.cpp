#include "ogp/api/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include "ogp/auth/credential_cache.hpp"
#include "ogp/auth/signer.hpp"
#include "ogp/config/region.hpp"
#include "ogp/server/handler.hpp"  // model_id_of (router.hpp, through the handler contract)
#include "ogp/transform/chat_request.hpp"
#include "ogp/transform/chat_response.hpp"
#include "ogp/transform/embeddings.hpp"
#include "ogp/transform/models.hpp"
#include "ogp/transform/passthrough.hpp"
#include "ogp/transform/responses.hpp"
#include "ogp/transform/stream_transcoder.hpp"
#include "ogp/upstream/client.hpp"
#include "ogp/upstream/content_decoder.hpp"
#include "ogp/util/json.hpp"
#include "ogp/util/log.hpp"

namespace ogp::api {

using boost::system::error_code;
using server::http_request;
using server::http_response;
using server::response_sink;

namespace {

using ogp::use_nothrow;  // ogp/util/asio.hpp (through ogp/upstream/client.hpp)
constexpr std::size_t max_error_body = 1024 * 1024;
constexpr std::size_t max_result_body = 64 * 1024 * 1024;
constexpr std::chrono::seconds usage_grace{5};

std::int64_t now_unix()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string new_completion_id()
{
    return transform::make_completion_id(random_u64(), static_cast<std::uint32_t>(random_u64()));
}

std::string new_response_id()
{
    return transform::make_response_id(random_u64(), static_cast<std::uint32_t>(random_u64()));
}

// The client's error for a failed exchange: our own words only (the host, its address and
// the socket error go to the log, where call() or the caller wrote them).
api_error upstream_failure(const error_code& ec, upstream::failure_phase phase)
{
    api_error e;
    if (ec == boost::beast::error::timeout) {
        e = make_error(504, {}, error_codes::upstream_timeout);
        switch (phase) {
            case upstream::failure_phase::connect:
                e.message = "Timed out connecting to OCI Generative AI.";
                break;
            case upstream::failure_phase::body:
                e.message = "OCI Generative AI did not finish its answer in time.";
                break;
            default:
                e.message = "OCI Generative AI did not start answering in time.";
                break;
        }
        return e;
    }
    e = make_error(502, {}, error_codes::upstream_unavailable);
    if (ec.category() == net::error::get_ssl_category() ||
        ec.category() == net::ssl::error::get_stream_category()) {
        e.message = "The TLS connection to OCI Generative AI failed.";
    } else if (phase == upstream::failure_phase::body) {
        e.message = "The connection to OCI Generative AI failed during the answer.";
    } else {
        e.message = "Cannot reach OCI Generative AI.";
    }
    return e;
}

// Logs what OCI said about a refused request (never sent to the client).
void log_upstream_refusal(std::string_view what, const api_error& e, unsigned status,
                          const std::string& opc_id, const std::string& request_id)
{
    spdlog::warn("upstream: OCI {} answered {} (opc-request-id={}): {} request_id={}", what, status,
                 opc_id, e.log_detail, request_id);
}

// The usable name of a model OCID in `known` (the catalog's list, alive for the request).
transform::model_name_lookup name_lookup(const model_list& known)
{
    if (!known) {
        return {};
    }
    return [&known](std::string_view ocid) {
        return std::string(transform::model_name_of(*known, ocid));
    };
}

http_response with_request_id(http_response r, const std::string& opc_request_id)
{
    if (!opc_request_id.empty()) {
        r.headers.emplace_back("opc-request-id", opc_request_id);
    }
    return r;
}

// Longest `/v1/...` path plus query forwarded to the OpenAI-compatible endpoint.
constexpr std::size_t max_forward_target = 2048;

int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

// A client path forwarded as is must stay below `/openai/v1`: printable ASCII, bounded, no
// empty, `.` or `..` segment, and no escape that decodes to one of those or to a separator
// or a control byte (`%2e%2e`, `%2f`, `%5c`, `%00`).
bool forwardable_target(std::string_view target)
{
    if (target.size() > max_forward_target) {
        return false;
    }
    for (char c : target) {
        if (c <= 0x20 || c >= 0x7F || c == '\\' || c == '#') {
            return false;
        }
    }
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query =
        path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
    // Every escape anywhere must be well-formed and decode to a printable, non-separator byte.
    auto escapes_ok = [](std::string_view text, bool in_path) {
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] != '%') {
                continue;
            }
            if (i + 2 >= text.size()) {
                return false;
            }
            int hi = hex_value(text[i + 1]);
            int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            char c = static_cast<char>(hi * 16 + lo);
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F ||
                (in_path && (c == '/' || c == '\\'))) {
                return false;
            }
        }
        return true;
    };
    if (!escapes_ok(path, true) || !escapes_ok(query, false)) {
        return false;
    }
    // Segments after the leading '/': none empty, none `.` or `..` once decoded.
    if (path.empty() || path.front() != '/') {
        return false;
    }
    std::string_view rest = path.substr(1);
    while (true) {
        std::size_t slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        if (seg.empty() && slash != std::string_view::npos) {
            return false;
        }
        std::string decoded;
        for (std::size_t i = 0; i < seg.size(); ++i) {
            if (seg[i] == '%') {
                decoded.push_back(
                    static_cast<char>(hex_value(seg[i + 1]) * 16 + hex_value(seg[i + 2])));
                i += 2;
            } else {
                decoded.push_back(seg[i]);
            }
            if (decoded.size() > 2) {
                break;
            }
        }
        if (decoded == "." || decoded == "..") {
            return false;
        }
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    return true;
}

bool starts_with_icase(std::string_view s, std::string_view prefix)
{
    return s.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

// Under `oci.auth: genai_api_key` nothing can go to the native API (a GenAI API key is
// accepted only by the OpenAI-compatible one).
api_error native_refused()
{
    return invalid_request(
        "This model is not served: with oci.auth: genai_api_key the proxy serves only the models "
        "configured with route: openai (GET /v1/models lists them).",
        "model", std::string(error_codes::model_not_found));
}

// An upstream error body relayed as it is: JSON whose `error` is an object.
bool is_openai_error(std::string_view body)
{
    if (body.empty() || body.find("\"error\"") == std::string_view::npos) {
        return false;
    }
    rapidjson::Document d;
    if (!json::parse_bounded(body, json::upstream_max_depth, d) || !d.IsObject()) {
        return false;
    }
    auto it = d.FindMember("error");
    return it != d.MemberEnd() && it->value.IsObject();
}

// The answer headers relayed from OCI's OpenAI-compatible endpoint.
std::vector<std::pair<std::string, std::string>> relayed_headers(const upstream::exchange& ex)
{
    std::vector<std::pair<std::string, std::string>> out;
    for (std::string_view name : {"opc-request-id", "retry-after", "openai-processing-ms"}) {
        std::string v = ex.header(name);
        if (!v.empty()) {
            out.emplace_back(std::string(name), std::move(v));
        }
    }
    return out;
}

using steady = std::chrono::steady_clock;
using micros = std::chrono::microseconds;

micros since(steady::time_point t)
{
    return std::chrono::duration_cast<micros>(steady::now() - t);
}

// Longest model name kept in the record (a label value of the metrics).
constexpr std::size_t max_record_model = 256;
// How far into an answer a model name is looked for (it comes first in every format).
constexpr std::size_t model_scan_window = 4096;
// The bytes of an `openai`-route stream kept to find the final usage in.
constexpr std::size_t usage_tail = 8192;
// Largest `usage` object parsed.
constexpr std::size_t max_usage_object = 4096;

// `123.456`: milliseconds with 3 decimals (negative as 0).
void append_ms(std::string& out, micros us)
{
    const long long n = std::max<long long>(0, us.count());
    char buf[32];
    const int len = std::snprintf(buf, sizeof buf, "%lld.%03lld", n / 1000, n % 1000);
    out.append(buf, static_cast<std::size_t>(len));
}

// The overhead headers: Server-Timing, x-ogp-upstream-ms, x-ogp-proxy-ms and x-oci-request-id
// (when OCI sent an opc-request-id). `upstream`: the upstream time so far (for a stream the time
// to its first byte, since the headers go before the body). proxy = elapsed - upstream.
void add_timing_headers(std::vector<std::pair<std::string, std::string>>& headers,
                        const http_request& req, micros upstream, std::string_view opc_id)
{
    const micros proxy = std::max(micros(0), since(req.started) - upstream);
    std::string timing;
    timing.reserve(64);
    timing += "upstream;dur=";
    append_ms(timing, upstream);
    timing += ", sign;dur=";
    append_ms(timing, req.record.sign);
    timing += ", proxy;dur=";
    append_ms(timing, proxy);
    headers.emplace_back("Server-Timing", std::move(timing));
    std::string up;
    append_ms(up, upstream);
    headers.emplace_back("x-ogp-upstream-ms", std::move(up));
    std::string own;
    append_ms(own, proxy);
    headers.emplace_back("x-ogp-proxy-ms", std::move(own));
    if (!opc_id.empty()) {
        headers.emplace_back("x-oci-request-id", std::string(opc_id));
    }
}

// The OTel `error.type` of an answer the proxy returned with `status`, when nothing more
// precise was recorded.
std::string_view error_type_for(unsigned status)
{
    switch (status) {
        case 401:
        case 403:
            return "unauthorized";
        case 408:
        case 504:
            return "timeout";
        case 429:
            return "rate_limited";
        case 503:
            return "overloaded";
        default:
            return status >= 500 ? "upstream_error" : "invalid_request";
    }
}

// The string value of the first `"<key>":"` in the first model_scan_window bytes of `text`
// (a raw quote cannot occur inside a JSON string, so this is a key); empty when absent, escaped,
// or longer than max_record_model.
std::string_view string_after(std::string_view text, std::string_view quoted_key)
{
    text = text.substr(0, model_scan_window);
    const std::size_t at = text.find(quoted_key);
    if (at == std::string_view::npos) {
        return {};
    }
    std::string_view rest = text.substr(at + quoted_key.size());
    const std::size_t end = rest.find('"');
    if (end == std::string_view::npos || end > max_record_model) {
        return {};
    }
    rest = rest.substr(0, end);
    for (char c : rest) {
        if (c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            return {};
        }
    }
    return rest;
}

// The end (index of the closing brace) of the object starting at `open` in `text`, strings
// respected; npos when it does not close within `limit` bytes.
std::size_t object_end(std::string_view text, std::size_t open, std::size_t limit)
{
    int depth = 0;
    bool in_string = false;
    const std::size_t stop = std::min(text.size(), open + limit);
    for (std::size_t i = open; i < stop; ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}' && --depth == 0) {
            return i;
        }
    }
    return std::string_view::npos;
}

std::int64_t int_member(const rapidjson::Value& o, const char* a, const char* b)
{
    for (const char* name : {a, b}) {
        auto it = o.FindMember(name);
        if (it != o.MemberEnd() && it->value.IsInt64() && it->value.GetInt64() >= 0) {
            return it->value.GetInt64();
        }
    }
    return -1;
}

std::int64_t detail_member(const rapidjson::Value& o, const char* a, const char* b,
                           const char* field)
{
    for (const char* name : {a, b}) {
        auto it = o.FindMember(name);
        if (it != o.MemberEnd() && it->value.IsObject()) {
            return int_member(it->value, field, field);
        }
    }
    return -1;
}

// Token counts from the last OpenAI-shaped `"usage":{...}` object in `text` (chat:
// prompt/completion, Responses: input/output, with cached and reasoning details). Only that
// object is parsed (bounded); `"usage":null` is skipped.
void read_openai_usage(std::string_view text, server::exchange_record& rec)
{
    constexpr std::string_view key = "\"usage\":";
    std::size_t at = text.rfind(key);
    for (int tries = 0; at != std::string_view::npos && tries < 4; ++tries) {
        std::size_t p = at + key.size();
        while (p < text.size() && (text[p] == ' ' || text[p] == '\n' || text[p] == '\t')) {
            ++p;
        }
        if (p < text.size() && text[p] == '{') {
            const std::size_t end = object_end(text, p, max_usage_object);
            rapidjson::Document d;
            if (end != std::string_view::npos &&
                json::parse_bounded(text.substr(p, end - p + 1), 8, d) && d.IsObject()) {
                rec.input_tokens = int_member(d, "prompt_tokens", "input_tokens");
                rec.output_tokens = int_member(d, "completion_tokens", "output_tokens");
                rec.cached_tokens = detail_member(d, "prompt_tokens_details",
                                                  "input_tokens_details", "cached_tokens");
                rec.reasoning_tokens = detail_member(d, "completion_tokens_details",
                                                     "output_tokens_details", "reasoning_tokens");
                return;
            }
        }
        if (at == 0) {
            return;
        }
        at = text.rfind(key, at - 1);
    }
}

// `<base>/openai/v1`: OCI's OpenAI-compatible endpoint next to the native one.
std::string openai_base(std::string base)
{
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    base += "/openai/v1";
    return base;
}

void record_usage(const transform::token_usage& u, server::exchange_record& rec)
{
    if (!u.present) {
        return;
    }
    rec.input_tokens = u.prompt_tokens;
    rec.output_tokens = u.completion_tokens;
    rec.cached_tokens = u.cached_tokens;
    rec.reasoning_tokens = u.reasoning_tokens;
}

// The client's model name in the record: a configured alias at once; another name once OCI
// served it (`accepted`), so that arbitrary client strings never become label values.
void record_model(const config& cfg, std::string_view client_model, bool accepted,
                  server::exchange_record& rec)
{
    if (!rec.model.empty() || client_model.empty() || client_model.size() > max_record_model) {
        return;
    }
    if (accepted || cfg.find_model(client_model) != nullptr) {
        rec.model.assign(client_model);
    }
}

}  // namespace

/// Outcome of service::call(): the exchange with a response head, or the error to answer.
/// Holds its in-flight slot until the caller is done with the exchange (body included).
struct service::call_result
{
    resilience::token in_flight;
    std::unique_ptr<upstream::exchange> exchange;
    /// When a non-streamed answer must be complete (timeouts.upstream_total from the call).
    std::chrono::steady_clock::time_point deadline;
    std::optional<api_error> error;
    bool client_gone = false;
    /// The outcome may move on to a fallback alias: `exchange` has a 429/500/502/503/504 head,
    /// or `error` is an upstream failure before the head or every circuit open.
    bool failover = false;
    /// `failover` because every endpoint left was skipped (open circuits, counted already).
    bool all_open = false;
};

std::shared_ptr<upstream::pool> upstream_pools::get(std::string_view role,
                                                    const std::string& base_url,
                                                    const std::shared_ptr<net::ssl::context>& tls,
                                                    const upstream::pool_options& options)
{
    // The deadlines are part of the key: a reload that changes `timeouts.upstream_*` gets a
    // pool with the new ones (the old pool keeps serving the generations that use it).
    std::string key;
    key.reserve(role.size() + base_url.size() + 40);
    key.append(role).append(" ").append(base_url);
    for (auto d : {options.connect_timeout, options.first_byte_timeout, options.idle_timeout}) {
        key.append(" ").append(std::to_string(d.count()));
    }
    std::lock_guard lock(mutex_);
    auto it = pools_.find(key);
    if (it != pools_.end()) {
        return it->second;
    }
    auto url = upstream::parse_url(base_url);
    if (!url) {
        return nullptr;
    }
    auto p = std::make_shared<upstream::pool>(tls, *url, options);
    pools_.emplace(std::move(key), p);
    return p;
}

void upstream_pools::close_idle()
{
    std::vector<std::shared_ptr<upstream::pool>> all;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [url, p] : pools_) {
            all.push_back(p);
        }
    }
    // pool::clear() takes the pool's own lock: not under ours.
    for (const auto& p : all) {
        p->clear();
    }
}

std::size_t upstream_pools::size() const
{
    std::lock_guard lock(mutex_);
    return pools_.size();
}

service::service(const config& cfg, auth::credential_cache& creds,
                 std::shared_ptr<net::ssl::context> tls)
    : service(cfg, creds, std::move(tls), nullptr)
{
}

service::service(const config& cfg, auth::credential_cache& creds,
                 std::shared_ptr<net::ssl::context> tls, std::shared_ptr<upstream_pools> shared,
                 std::shared_ptr<limits::limiter> limiter)
    : cfg_(cfg),
      creds_(creds),
      tls_(std::move(tls)),
      pools_(shared ? std::move(shared) : std::make_shared<upstream_pools>()),
      any_openai_route_(
          std::any_of(cfg.models.begin(), cfg.models.end(),
                      [](const model_alias& a) { return a.route == model_route::openai; })),
      any_fallbacks_(std::any_of(cfg.models.begin(), cfg.models.end(),
                                 [](const model_alias& a) { return !a.fallbacks.empty(); })),
      resilience_(resilience_options{.max_inflight = cfg.limits.max_inflight_upstream}),
      limiter_(std::move(limiter)),
      started_unix_(now_unix())
{
    init_policy();
}

service::~service() = default;

std::shared_ptr<upstream::pool> service::make_pool(std::string_view role,
                                                   const std::string& base_url)
{
    // Shared by base URL across generations: a reload keeps the warm connections.
    upstream::pool_options o;
    o.connect_timeout = cfg_.timeouts.upstream_connect;
    o.first_byte_timeout = cfg_.timeouts.upstream_first_byte;
    o.idle_timeout = cfg_.timeouts.upstream_stream_idle;
    return pools_->get(role, base_url, tls_, o);
}

std::string service::inference_base() const
{
    // Configured, or derived from the region the credentials reported; empty while unknown.
    if (!cfg_.oci.endpoint.empty()) {
        return cfg_.oci.endpoint;
    }
    auto region = resolve_region(creds_.region());
    return region ? inference_endpoint(*region) : std::string();
}

std::shared_ptr<upstream::pool> service::inference_pool()
{
    std::lock_guard lock(mutex_);
    if (pool_) {
        return pool_;
    }
    auto endpoint = inference_base();
    if (endpoint.empty()) {
        return nullptr;
    }
    pool_ = make_pool("inference", endpoint);
    if (pool_) {
        spdlog::info("upstream: OCI Generative AI at {}", endpoint);
    }
    return pool_;
}

std::shared_ptr<upstream::pool> service::control_pool()
{
    std::lock_guard lock(mutex_);
    if (control_pool_) {
        return control_pool_;
    }
    // The model list is on the control plane: `generativeai.<region>...` next to
    // `inference.generativeai.<region>...`; any other endpoint (a gateway, the mock) serves both.
    auto endpoint = inference_base();
    if (endpoint.empty()) {
        return nullptr;
    }
    constexpr std::string_view inference_prefix = "https://inference.generativeai.";
    if (endpoint.starts_with(inference_prefix)) {
        endpoint = "https://generativeai." + endpoint.substr(inference_prefix.size());
    }
    control_pool_ = make_pool("control", endpoint);
    return control_pool_;
}

std::shared_ptr<upstream::pool> service::openai_pool()
{
    std::lock_guard lock(mutex_);
    if (openai_pool_) {
        return openai_pool_;
    }
    auto endpoint = inference_base();
    if (endpoint.empty()) {
        return nullptr;
    }
    endpoint = openai_base(std::move(endpoint));
    openai_pool_ = make_pool("openai", endpoint);
    if (openai_pool_) {
        spdlog::info("upstream: OCI's OpenAI-compatible API at {}", endpoint);
    }
    return openai_pool_;
}

std::shared_ptr<upstream::pool> service::region_pool(const std::string& region, bool openai)
{
    std::string key(openai ? "o " : "i ");
    key += region;
    std::lock_guard lock(mutex_);
    if (auto it = region_pools_.find(key); it != region_pools_.end()) {
        return it->second;
    }
    auto endpoint = region_endpoint(cfg_, region);
    if (endpoint.empty()) {
        return nullptr;  // validated at load: does not happen
    }
    if (openai) {
        endpoint = openai_base(std::move(endpoint));
    }
    auto p = make_pool(openai ? "openai" : "inference", endpoint);
    if (p) {
        spdlog::info("upstream: region {} at {}", region, endpoint);
        region_pools_.emplace(std::move(key), p);
    }
    return p;
}

std::vector<service::candidate> service::candidates_for(const model_alias* alias, bool openai)
{
    std::vector<candidate> out;
    if (alias == nullptr || alias->regions.empty()) {
        auto p = openai ? openai_pool() : inference_pool();
        if (p) {
            out.push_back({{}, std::move(p)});
        }
        return out;
    }
    out.reserve(alias->regions.size());
    for (const auto& r : alias->regions) {
        if (auto p = region_pool(r, openai)) {
            out.push_back({r, std::move(p)});
        }
    }
    return out;
}

std::vector<circuit_status> service::circuits() const
{
    // The endpoints of the aliases' regions, then the default one (when known), each once.
    std::vector<std::pair<std::string, std::string>> hosts;  // upstream, authority
    auto add = [&hosts](std::string upstream, const std::string& base) {
        auto url = upstream::parse_url(base);
        if (!url) {
            return;
        }
        std::string host = url->authority();
        for (const auto& [u, h] : hosts) {
            if (h == host) {
                return;
            }
        }
        hosts.emplace_back(std::move(upstream), std::move(host));
    };
    for (const auto& m : cfg_.models) {
        for (const auto& r : m.regions) {
            add(r, region_endpoint(cfg_, r));
        }
    }
    if (auto base = inference_base(); !base.empty()) {
        add("default", base);
    }
    std::vector<circuit_status> out;
    out.reserve(hosts.size());
    for (auto& [upstream, host] : hosts) {
        auto st = pools_->breakers().status(host, cfg_.circuit_breaker);
        st.upstream = std::move(upstream);
        out.push_back(std::move(st));
    }
    return out;
}

std::optional<std::string> service::readiness() const
{
    if (auto reason = creds_.status()) {
        return reason;
    }
    if (cfg_.oci.endpoint.empty() && !resolve_region(creds_.region())) {
        return std::string("OCI region unknown: set oci.region or oci.endpoint");
    }
    return std::nullopt;
}

void service::close_idle()
{
    // Only the pools this service took (the registry may hold others' too); clear() is
    // idempotent, so two generations closing the same pool is harmless.
    std::vector<std::shared_ptr<upstream::pool>> mine;
    {
        std::lock_guard lock(mutex_);
        for (auto* p : {&pool_, &control_pool_, &openai_pool_}) {
            if (*p) {
                mine.push_back(*p);
            }
        }
        for (const auto& [key, p] : region_pools_) {
            mine.push_back(p);
        }
    }
    for (const auto& p : mine) {
        p->clear();
    }
}

service_stats service::stats() const
{
    service_stats s;
    s.upstream_requests = upstream_requests_.load();
    s.retries = resilience_.retries();
    s.retries_401 = retries_401_.load();
    s.retries_429 = retries_429_.load();
    s.retries_503 = retries_503_.load();
    s.retries_stale = retries_stale_.load();
    std::shared_ptr<upstream::pool> pools[3];
    std::vector<std::pair<int, std::shared_ptr<upstream::pool>>> regional;  // role index, pool
    {
        std::lock_guard lock(mutex_);
        pools[0] = pool_;
        pools[1] = control_pool_;
        pools[2] = openai_pool_;
        for (const auto& [key, p] : region_pools_) {
            regional.emplace_back(key.starts_with("o ") ? 2 : 0, p);
        }
    }
    static constexpr std::string_view names[3] = {"inference", "control", "openai"};
    s.handshakes = pools[0] ? pools[0]->handshakes() : 0;
    // The regions' pools count under their role (inference or openai).
    std::optional<pool_stats> by_role[3];
    auto add = [&by_role](int role, const upstream::pool& p) {
        auto& r = by_role[role];
        if (!r) {
            r = pool_stats{.name = names[role], .open = 0};
        }
        *r->open += p.open_count();
        r->idle += p.idle_count();
        r->handshakes += p.handshakes();
        r->resumed += p.resumptions();
    };
    for (int i = 0; i < 3; ++i) {
        if (pools[i]) {
            add(i, *pools[i]);
        }
    }
    for (const auto& [role, p] : regional) {
        if (p != pools[role]) {
            add(role, *p);
        }
    }
    s.pools.reserve(3);
    for (auto& r : by_role) {
        if (r) {
            s.pools.push_back(std::move(*r));
        }
    }
    return s;
}

net::awaitable<service::call_result> service::call(std::string method, std::string path,
                                                   std::string body, bool stream, http_request& req,
                                                   response_sink& sink,
                                                   std::shared_ptr<upstream::pool> pool,
                                                   call_options options)
{
    std::vector<candidate> endpoints;
    if (!pool) {
        pool = inference_pool();
    }
    if (pool) {
        endpoints.push_back({{}, std::move(pool)});
    }
    co_return co_await call_endpoints(std::move(method), std::move(path), std::move(body), stream,
                                      req, sink, endpoints, options);
}

net::awaitable<service::call_result> service::call_endpoints(
    std::string method, std::string path, std::string body, bool stream, http_request& req,
    response_sink& sink, const std::vector<candidate>& endpoints, call_options options)
{
    call_result out;
    const bool fixed_deadline = options.deadline != steady::time_point{};
    out.deadline = fixed_deadline ? options.deadline : steady::now() + cfg_.timeouts.upstream_total;
    // Admission: a fixed cap on concurrent upstream exchanges, no queue.
    out.in_flight = resilience_.acquire();
    if (!out.in_flight) {
        out.error = service_unavailable("Too many requests in flight to OCI; retry shortly.",
                                        std::string(resilience_.options().overload_retry_after),
                                        "overloaded");
        req.record.error_type = "overloaded";
        co_return out;
    }
    if (endpoints.empty()) {
        out.error = service_unavailable(
            "The OCI endpoint is not known yet (no oci.endpoint or oci.region, and the "
            "credentials have not reported a region).",
            "5", "not_ready");
        req.record.error_type = "upstream_error";
        co_return out;
    }
    auto ex = co_await net::this_coro::executor;
    auto& breakers = pools_->breakers();
    const auto& thresholds = cfg_.circuit_breaker;

    auto attempt = resilience_.begin(cfg_.timeouts.upstream_total);
    if (fixed_deadline) {
        attempt.deadline = std::min(attempt.deadline, options.deadline);
    }
    auth::snapshot_ptr renewed;  // newer credentials after a 401
    // Open circuits skipped: the soonest a probe may go (the Retry-After when all are open).
    std::optional<std::chrono::milliseconds> soonest;
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
        const candidate& endpoint = endpoints[i];
        const auto& pool = endpoint.pool;
        const std::string host = pool->target().authority();
        const std::string target = pool->target().base_path + path;
        for (;;) {
            const auto pass = breakers.allow(host, thresholds);
            if (pass == circuit_breaker::permit::refused) {
                const auto wait = breakers.status(host, thresholds).retry_in;
                soonest = soonest ? std::min(*soonest, wait) : wait;
                ++req.record.failovers;
                spdlog::debug("upstream: circuit of {} open, skipped request_id={}", host,
                              req.request_id);
                break;
            }
            // Another endpoint to move on to (its circuit lets requests through now)?
            bool more = false;
            for (std::size_t j = i + 1; j < endpoints.size() && !more; ++j) {
                more = breakers.would_allow(endpoints[j].pool->target().authority(), thresholds);
            }
            req.record.region.assign(endpoint.region);
            // Credentials: the ones renewed after a 401, else the current snapshot or the
            // single in-flight renewal.
            auth::snapshot_ptr snap = std::move(renewed);
            if (!snap) {
                auto creds = co_await creds_.get();
                if (!creds) {
                    breakers.record(host, circuit_outcome::neutral, pass, thresholds);
                    // The reason (file paths, IMDS addresses) is for the operator's log only.
                    spdlog::warn("upstream: no OCI credentials: {} request_id={}",
                                 creds.error().message, req.request_id);
                    out.error = service_unavailable("OCI credentials are not available yet.", "5",
                                                    "credentials_unavailable");
                    req.record.error_type = "upstream_error";
                    co_return out;
                }
                snap = std::move(creds.value());
            }
            std::vector<std::pair<std::string, std::string>> headers;
            const std::string_view accept = !options.accept.empty() ? options.accept
                                            : stream                ? "text/event-stream"
                                                                    : "application/json";
            if (!snap->bearer().empty()) {
                // A GenAI API key: no signature, no private-key operation.
                headers = {
                    {"host", host},
                    {"authorization", "Bearer " + snap->bearer()},
                    {"accept", std::string(accept)},
                    {"opc-request-id", req.request_id},
                    {"user-agent", std::string("oci-genai-proxy/") + OGP_VERSION},
                };
                if (auth::method_signs_body(method) || !body.empty() ||
                    options.spooled != nullptr) {
                    headers.emplace_back("content-type", std::string(options.content_type));
                }
            } else {
                // Sign exactly what is sent.
                std::string date = auth::format_http_date(std::chrono::system_clock::now());
                auth::request_to_sign to_sign{method, host, target,
                                              body,   date, options.content_type};
                // A spooled upload is signed from the hash taken while it was written.
                std::string spooled_sha;
                if (options.spooled != nullptr) {
                    spooled_sha = options.spooled->sha256_base64();
                    to_sign.body = {};
                    to_sign.digest = auth::body_digest{options.spooled->size(), spooled_sha};
                }
                const auto sign_start = steady::now();
                auto signed_headers = auth::sign_request(*snap, to_sign);
                req.record.sign += since(sign_start);
                if (!signed_headers) {
                    breakers.record(host, circuit_outcome::neutral, pass, thresholds);
                    out.error = make_error(500, "Signing the OCI request failed.",
                                           error_codes::signing_failed);
                    req.record.error_type = "upstream_error";
                    co_return out;
                }
                const auto& sh = signed_headers.value();
                headers = {
                    {"date", sh.date},
                    {"host", sh.host},
                    {"authorization", sh.authorization},
                    {"accept", std::string(accept)},
                    {"opc-request-id", req.request_id},
                    {"user-agent", std::string("oci-genai-proxy/") + OGP_VERSION},
                };
                if (sh.has_body) {
                    headers.emplace_back("content-type", sh.content_type);
                    headers.emplace_back("content-length", sh.content_length);
                    headers.emplace_back("x-content-sha256", sh.x_content_sha256);
                }
            }
            if (options.extra != nullptr) {
                headers.insert(headers.end(), options.extra->begin(), options.extra->end());
            }

            // Send; a client disconnect aborts the exchange at once.
            auto exchange = std::make_unique<upstream::exchange>(pool);
            auto* raw = exchange.get();
            sink.on_disconnect([raw] { raw->abort(); });
            ++upstream_requests_;
            const auto sent_at = steady::now();
            error_code ec;
            if (options.spooled != nullptr) {
                // From the spool file, in pieces; each attempt starts again at its beginning.
                ec = co_await exchange->start_file(
                    method, target, headers,
                    upstream::file_body{options.spooled->fd(), options.spooled->size()});
            } else {
                ec = co_await exchange->start(method, target, headers, body);
            }
            req.record.upstream += since(sent_at);
            if (exchange->retried()) {
                // A pooled connection the upstream had closed: resent on a fresh one.
                ++retries_stale_;
                ++req.record.retries;
            }
            if (sink.client_gone()) {
                breakers.record(host, circuit_outcome::neutral, pass, thresholds);
                sink.on_disconnect(nullptr);
                out.client_gone = true;
                req.record.error_type = "client_closed";
                co_return out;
            }
            if (ec) {
                // Connect, TLS, timeout or a broken exchange: the host failed.
                breakers.record(host, circuit_outcome::failure, pass, thresholds);
                req.record.error_type =
                    ec == boost::beast::error::timeout ? "timeout" : "upstream_error";
                sink.on_disconnect(nullptr);
                spdlog::warn(
                    "upstream: {} {}{} failed ({}): {} request_id={}", method, host, path,
                    exchange->phase() == upstream::failure_phase::connect ? "connect" : "exchange",
                    ec.message(), req.request_id);
                if (more) {
                    ++req.record.failovers;
                    break;
                }
                out.error = upstream_failure(ec, exchange->phase());
                out.failover = true;
                co_return out;
            }
            const unsigned status = exchange->status();
            req.record.upstream_status = status;
            const bool failover_status =
                status == 429 || outcome_of_status(status) == circuit_outcome::failure;
            breakers.record(host, outcome_of_status(status), pass, thresholds);
            if (failover_status && more) {
                // Another region is left: go there at once, no Retry-After wait.
                spdlog::warn(
                    "upstream: {} answered {} (opc-request-id={}); trying the next "
                    "endpoint request_id={}",
                    host, status, exchange->header("opc-request-id"), req.request_id);
                sink.on_disconnect(nullptr);
                exchange->abort();
                ++req.record.failovers;
                break;
            }
            if (stream) {
                // This connection will not come back (OCI never ends a stream): have the next
                // stream's connection ready, its TLS session resumed off the critical path.
                exchange->keep_spare_ready(ex);
            }

            // Nothing went to the client yet: resilience decides whether this answer is
            // retried.
            auto decision = resilience_.on_status(attempt, status, exchange->header("retry-after"));
            if (decision.what == resilience::action::renew_credentials) {
                // The token may have been revoked or rotated: retry only with newer credentials.
                ++retries_401_;
                sink.on_disconnect(nullptr);
                spdlog::warn(
                    "upstream: OCI answered 401 (opc-request-id={}); refreshing credentials",
                    exchange->header("opc-request-id"));
                auto fresh = co_await creds_.renew_after_rejection(
                    snap, resilience_.options().credential_wait);
                if (sink.client_gone()) {
                    out.client_gone = true;
                    req.record.error_type = "client_closed";
                    co_return out;
                }
                if (fresh) {
                    renewed = std::move(fresh.value());
                    ++req.record.retries;
                    continue;
                }
                // The same credentials would be refused again: answer this 401 (mapped to 502).
                spdlog::warn("upstream: no newer OCI credentials ({}); not retrying request_id={}",
                             fresh.error().message, req.request_id);
                sink.on_disconnect([raw] { raw->abort(); });
            } else if (decision.what == resilience::action::wait_and_retry) {
                ++(status == 429 ? retries_429_ : retries_503_);
                sink.on_disconnect(nullptr);
                exchange.reset();
                net::steady_timer wait(ex);
                wait.expires_after(decision.delay);
                co_await wait.async_wait(use_nothrow);
                decision.ticket.release();
                if (sink.client_gone()) {
                    out.client_gone = true;
                    req.record.error_type = "client_closed";
                    co_return out;
                }
                ++req.record.retries;
                continue;
            }
            out.failover = failover_status;
            out.exchange = std::move(exchange);
            co_return out;
        }
    }
    // Every endpoint left was skipped (open circuit): the soonest probe is when to come back.
    const auto wait = soonest.value_or(std::chrono::milliseconds(1000));
    const auto seconds =
        std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
    out.error = service_unavailable(
        "OCI Generative AI is unavailable for this model (its endpoints are failing); retry "
        "later.",
        std::to_string(seconds), error_codes::upstream_unavailable);
    out.failover = true;
    out.all_open = true;
    req.record.error_type = "upstream_unavailable";
    co_return out;
}

namespace {

// Starts the record of a proxied exchange (the clock too when the server did not set it).
void begin_exchange(http_request& req, std::string_view operation)
{
    if (req.started == steady::time_point{}) {
        req.started = steady::now();
    }
    req.record.operation = operation;
}

// Completes the record (error.type when nothing more precise was recorded) and, for an answer
// returned rather than streamed, adds the overhead headers (a stream had them in its head).
void end_exchange(http_request& req, response_sink& sink, http_response& r)
{
    auto& rec = req.record;
    if (sink.client_gone()) {
        if (rec.error_type.empty()) {
            rec.error_type = "client_closed";
        }
        return;
    }
    if (sink.streaming()) {
        return;
    }
    if (r.status >= 400 && rec.error_type.empty()) {
        rec.error_type = error_type_for(r.status);
    } else if (r.status < 400) {
        rec.error_type = {};  // answered after all (e.g. a retry succeeded)
    }
    std::string_view opc_id;
    for (const auto& [k, v] : r.headers) {
        if (k == "opc-request-id") {
            opc_id = v;
            break;
        }
    }
    // The headers vector may grow: keep the id by value.
    std::string id(opc_id);
    add_timing_headers(r.headers, req, rec.upstream, id);
}

}  // namespace

net::awaitable<http_response> service::chat(http_request& req, response_sink& sink)
{
    begin_exchange(req, "chat");
    // Traffic policy first (allow-list, rate limits); the lease is held until the answer (a
    // stream: its end) and then charged with the tokens.
    limits::limiter::lease hold;
    auto refused = co_await admit(req, hold);
    if (refused) {
        end_exchange(req, sink, *refused);
        co_return std::move(*refused);
    }
    auto r = co_await chat_impl(req, sink);
    end_exchange(req, sink, r);
    settle(req, hold);
    co_return r;
}

net::awaitable<http_response> service::responses(http_request& req, response_sink& sink)
{
    begin_exchange(req, "responses");
    // Traffic policy first (allow-list, rate limits); the lease is held until the answer (a
    // stream: its end) and then charged with the tokens.
    limits::limiter::lease hold;
    auto refused = co_await admit(req, hold);
    if (refused) {
        end_exchange(req, sink, *refused);
        co_return std::move(*refused);
    }
    auto r = co_await responses_impl(req, sink);
    end_exchange(req, sink, r);
    settle(req, hold);
    co_return r;
}

net::awaitable<http_response> service::embeddings(http_request& req, response_sink& sink)
{
    begin_exchange(req, "embeddings");
    // Traffic policy first (allow-list, rate limits); the lease is held until the answer (a
    // stream: its end) and then charged with the tokens.
    limits::limiter::lease hold;
    auto refused = co_await admit(req, hold);
    if (refused) {
        end_exchange(req, sink, *refused);
        co_return std::move(*refused);
    }
    auto r = co_await embeddings_impl(req, sink);
    end_exchange(req, sink, r);
    settle(req, hold);
    co_return r;
}

net::awaitable<http_response> service::chat_impl(http_request& req, response_sink& sink)
{
    co_return co_await serve_with_fallbacks(req, sink, operation::chat);
}

net::awaitable<http_response> service::responses_impl(http_request& req, response_sink& sink)
{
    co_return co_await serve_with_fallbacks(req, sink, operation::responses);
}

net::awaitable<http_response> service::embeddings_impl(http_request& req, response_sink& sink)
{
    co_return co_await serve_with_fallbacks(req, sink, operation::embeddings);
}

net::awaitable<http_response> service::serve_with_fallbacks(http_request& req, response_sink& sink,
                                                            operation what)
{
    route_state route;
    // The alias' fallbacks: the model located (one SAX pass) only when some alias has any,
    // and the client's body kept only when this one has (serving may consume it).
    const model_alias* alias = nullptr;
    transform::model_field at;
    std::string original;
    if (any_fallbacks_) {
        auto found = transform::locate_model(req.body, cfg_.limits.max_json_depth);
        if (found) {
            alias = cfg_.find_model(found.value().value);
            if (alias != nullptr && !alias->fallbacks.empty()) {
                at = std::move(found.value());
                original = req.body;
            } else {
                alias = nullptr;
            }
        }
    }
    // The whole request, fallbacks included, within timeouts.upstream_total of the first call.
    const auto deadline = steady::now() + cfg_.timeouts.upstream_total;
    auto r = co_await serve_once(req, sink, what, route);
    if (alias == nullptr) {
        co_return r;
    }
    // Only the listed aliases, in order: their own fallbacks are not followed.
    for (const auto& name : alias->fallbacks) {
        if (!route.exhausted || sink.client_gone() || sink.streaming()) {
            break;
        }
        const model_alias* fallback = cfg_.find_model(name);
        if (fallback == nullptr || steady::now() >= deadline) {
            continue;
        }
        spdlog::warn("upstream: model '{}' unavailable; falling back to '{}' request_id={}",
                     alias->name, name, req.request_id);
        if (route.last_failed) {
            ++req.record.failovers;  // the last region tried is given up on too
        }
        req.body = transform::splice_model(original, at, name);
        route = route_state{.deadline = deadline};
        auto& rec = req.record;
        rec.error_type = {};
        rec.model.clear();
        rec.oci_model.clear();
        rec.upstream_status = 0;
        // Named before serving: a stream's head carries it.
        rec.fallback = name;
        auto named = std::find_if(req.answer_headers.begin(), req.answer_headers.end(),
                                  [](const auto& h) { return h.first == "x-ogp-fallback"; });
        if (named != req.answer_headers.end()) {
            named->second = name;
        } else {
            req.answer_headers.emplace_back("x-ogp-fallback", name);
        }
        r = co_await serve_once(req, sink, what, route);
        // The request is counted under the model the client asked for.
        rec.model = alias->name;
    }
    if (route.exhausted && !req.record.fallback.empty()) {
        // The fallbacks failed too: no fallback answered (nothing was streamed either).
        req.record.fallback.clear();
        std::erase_if(req.answer_headers,
                      [](const auto& h) { return h.first == "x-ogp-fallback"; });
    }
    co_return r;
}

net::awaitable<http_response> service::serve_once(http_request& req, response_sink& sink,
                                                  operation what, route_state& route)
{
    if (any_openai_route_) {
        transform::model_field at;
        if (const model_alias* alias = openai_alias(req, at)) {
            if (what == operation::embeddings) {
                co_return server::error_response(invalid_request(
                    "The model '" + alias->name +
                        "' is served through OCI's OpenAI-compatible API (route: openai), which "
                        "has no embeddings endpoint; use an embedding model on the native route.",
                    "model", std::string(error_codes::model_not_found)));
            }
            co_return co_await forward_model(
                req, sink, *alias, at, what == operation::chat ? "/chat/completions" : "/responses",
                route);
        }
        if (cfg_.oci.auth == auth_mode::genai_api_key) {
            co_return server::error_response(native_refused());
        }
    }
    if (what == operation::embeddings) {
        co_return co_await embed(req, sink, route);
    }
    model_list known = co_await models_named_in(req, sink);
    if (what == operation::chat) {
        auto plan = transform::plan_chat(req.body, cfg_, name_lookup(known));
        if (!plan) {
            co_return server::error_response(plan.error());
        }
        co_return co_await converse(req, sink, plan.value(), nullptr, route);
    }
    auto plan = transform::plan_responses(req.body, cfg_, name_lookup(known));
    if (!plan) {
        co_return server::error_response(plan.error());
    }
    co_return co_await converse(req, sink, plan.value().chat, &plan.value(), route);
}

net::awaitable<http_response> service::stored_response(http_request& req, response_sink& sink)
{
    if (!cfg_.oci.project_id.empty()) {
        begin_exchange(req, {});
        auto r = co_await forward_state(req, sink);
        end_exchange(req, sink, r);
        co_return r;
    }
    // The id goes into the message only when it is short and printable.
    std::string_view path = req.head.path();
    std::string_view id =
        path.substr(std::min(path.size(), std::string_view("/v1/responses/").size()));
    id = id.substr(0, id.find('/'));
    bool printable = id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
                         return c > 0x20 && c < 0x7F && c != '\'' && c != '"';
                     });
    std::string name =
        printable ? "Response '" + std::string(id) + "'" : std::string("This response");
    co_return server::error_response(make_error(
        404,
        name + " is not stored: on this model route the proxy translates the Responses API to "
               "OCI Generative AI's native chat API, which keeps no state. Send the whole "
               "conversation as `input` instead of referring to an earlier response. (Stored "
               "responses need a model on `route: openai` and a GenAI project in "
               "`oci.project_id`.)",
        error_codes::not_found));
}

net::awaitable<http_response> service::openai_state(http_request& req, response_sink& sink)
{
    if (!cfg_.oci.project_id.empty()) {
        begin_exchange(req, {});
        auto r = co_await forward_state(req, sink);
        end_exchange(req, sink, r);
        co_return r;
    }
    co_return server::error_response(make_error(
        404,
        "Conversations, files and vector stores are kept by OCI Generative AI in a GenAI "
        "project, and this proxy has none configured: set `oci.project_id`.",
        error_codes::not_found));
}

net::awaitable<http_response> service::converse(http_request& req, response_sink& sink,
                                                transform::chat_plan& p,
                                                const transform::responses_plan* responses,
                                                route_state& route)
{
    // One exchange for both APIs; only the writers of the answer differ.
    const char* what = responses != nullptr ? "responses" : "chat";
    auto& rec = req.record;
    rec.route = "native";
    rec.oci_model.assign(p.model.serving_id());
    record_model(cfg_, p.client_model, false, rec);
    call_options options;
    options.deadline = route.deadline;
    const auto endpoints = candidates_for(cfg_.find_model(p.client_model), false);
    auto call_out = co_await call_endpoints("POST", p.path, std::move(p.body), p.stream, req, sink,
                                            endpoints, options);
    route.exhausted = call_out.failover;
    route.last_failed = call_out.failover && !call_out.all_open;
    if (call_out.client_gone) {
        co_return http_response{};
    }
    if (call_out.error) {
        co_return server::error_response(*call_out.error);
    }
    auto& ex = *call_out.exchange;
    struct unregister
    {
        response_sink& s;
        ~unregister() { s.on_disconnect(nullptr); }
    } guard{sink};
    const std::string opc_id = ex.header("opc-request-id");

    // OCI refused: map its error body.
    if (ex.status() != 200) {
        std::string body;
        const auto read_at = steady::now();
        co_await ex.read_all(body, max_error_body);
        rec.upstream += since(read_at);
        ex.finish();
        auto err = transform::map_oci_error(ex.status(), body, ex.header("retry-after"), opc_id);
        log_upstream_refusal(what, err, ex.status(), opc_id, req.request_id);
        co_return with_request_id(server::error_response(err), opc_id);
    }
    record_model(cfg_, p.client_model, true, rec);
    const std::string id = responses != nullptr ? new_response_id() : new_completion_id();

    // Non-streaming: read (whole answer under timeouts.upstream_total), translate, answer.
    if (!p.stream) {
        std::string body;
        const auto read_at = steady::now();
        auto ec = co_await ex.read_all(body, max_result_body, call_out.deadline);
        rec.upstream += since(read_at);
        if (ec) {
            rec.error_type = ec == boost::beast::error::timeout ? "timeout" : "upstream_error";
            spdlog::warn("upstream: {} answer failed: {} request_id={}", what, ec.message(),
                         req.request_id);
            co_return with_request_id(server::error_response(upstream_failure(ec, ex.phase())),
                                      opc_id);
        }
        ex.finish();
        rec.response_model.assign(string_after(body, "\"modelId\":\""));
        // Parsed once: the usage goes to the record, the answer to the writer.
        const auto now = now_unix();
        auto answer =
            transform::parse_chat_answer(body, responses != nullptr ? responses->chat : p, id, now);
        using text_result = transform::result<std::string>;
        if (answer) {
            record_usage(answer.value().usage, rec);
        }
        text_result r =
            !answer ? text_result(answer.error())
            : responses != nullptr
                ? text_result(transform::write_response(answer.value(), *responses, id, now))
                : text_result(transform::write_chat_completion(answer.value(), p, id));
        if (!r) {
            if (!r.error().log_detail.empty()) {
                spdlog::warn("upstream: OCI {} failed (opc-request-id={}): {} request_id={}", what,
                             opc_id, r.error().log_detail, req.request_id);
            }
            co_return with_request_id(server::error_response(r.error()), opc_id);
        }
        co_return with_request_id(http_response{200, "application/json", {}, std::move(r.value())},
                                  opc_id);
    }

    // Streaming: one downstream write per upstream read, the next read only after the write.
    std::optional<transform::stream_transcoder> transcoder;
    if (responses != nullptr) {
        // The final event restates the whole output: bounded like a non-streamed answer.
        transcoder.emplace(
            p, id,
            transform::make_responses_stream_writer(*responses, id, now_unix(), max_result_body));
    } else {
        transcoder.emplace(p, id, now_unix());
    }
    auto& tc = *transcoder;
    std::vector<std::pair<std::string, std::string>> headers{{"Cache-Control", "no-cache"},
                                                             {"X-Accel-Buffering", "no"}};
    if (!opc_id.empty()) {
        headers.emplace_back("opc-request-id", opc_id);
    }
    add_timing_headers(headers, req, rec.upstream, opc_id);
    if (!co_await sink.begin_stream(200, "text/event-stream", std::move(headers))) {
        ex.abort();
        co_return http_response{};
    }
    std::string in;
    std::string out;
    bool first_event = true;
    // Progress is what reaches the client: SSE comments or empty events do not hold a stream.
    const auto idle = cfg_.timeouts.upstream_stream_idle;
    auto last_progress = std::chrono::steady_clock::now();
    while (!tc.done()) {
        in.clear();
        out.clear();
        auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - last_progress);
        std::optional<std::chrono::milliseconds> wait =
            std::max(std::chrono::milliseconds(1), idle - quiet);
        if (tc.awaiting_usage()) {
            wait = std::min(*wait, std::chrono::milliseconds(usage_grace));  // should follow
        }
        const auto read_at = steady::now();
        auto ec = co_await ex.read_some(in, wait);
        rec.upstream += since(read_at);
        if (sink.client_gone()) {
            ex.abort();
            co_return http_response{};
        }
        // Shutdown reached its deadline: end the stream with an error, not with a bare EOF.
        if (sink.cut()) {
            spdlog::warn("upstream: {} stream cut at the drain deadline request_id={}", what,
                         req.request_id);
            tc.fail(out, "The proxy is shutting down; this stream ended before its answer did.",
                    "server_shutting_down");
            co_await sink.write(out);
            break;
        }
        if (ec || (in.empty() && ex.complete())) {
            if (ec) {
                spdlog::warn("upstream: {} stream ended early: {} request_id={}", what,
                             ec.message(), req.request_id);
                rec.error_type = ec == boost::beast::error::timeout ? "timeout" : "upstream_error";
            }
            tc.finish_on_eof(out);
            if (!out.empty()) {
                co_await sink.write(out);
            }
            break;
        }
        tc.feed(in, out);
        if (!tc.upstream_error().empty()) {
            spdlog::warn("upstream: OCI stream error (opc-request-id={}): {} request_id={}", opc_id,
                         tc.upstream_error(), req.request_id);
            rec.error_type = "upstream_error";
        }
        if (out.empty()) {
            continue;
        }
        last_progress = std::chrono::steady_clock::now();
        if (first_event) {
            first_event = false;
            rec.ttft = since(req.started);
        }
        if (!co_await sink.write(out)) {
            ex.abort();
            co_return http_response{};
        }
    }
    record_usage(tc.usage(), rec);
    // OCI keeps the stream open after its last event: reuse only a completed response.
    if (ex.complete()) {
        ex.finish();
    } else {
        ex.abort();
    }
    co_await sink.end_stream();
    co_return http_response{};
}

net::awaitable<http_response> service::embed(http_request& req, response_sink& sink,
                                             route_state& route)
{
    model_list known = co_await models_named_in(req, sink);
    auto plan = transform::plan_embeddings(req.body, cfg_, name_lookup(known));
    if (!plan) {
        co_return server::error_response(plan.error());
    }
    auto& p = plan.value();
    // Batches of at most 96 inputs, sent one after another; each is translated into the
    // answer as it arrives and its OCI body dropped.
    transform::embeddings_merger merger(p);
    std::string opc_id;
    auto& rec = req.record;
    rec.route = "native";
    rec.oci_model = p.oci_model;
    record_model(cfg_, p.client_model, false, rec);
    const auto endpoints = candidates_for(cfg_.find_model(p.client_model), false);
    call_options options;
    options.deadline = route.deadline;
    bool first = true;
    for (auto& body : p.bodies) {
        auto call_out =
            co_await call_endpoints("POST", p.path, body, false, req, sink, endpoints, options);
        // A fallback model only while no batch was answered (embeddings of one model each).
        route.exhausted = first && call_out.failover;
        route.last_failed = route.exhausted && !call_out.all_open;
        first = false;
        if (call_out.client_gone) {
            co_return http_response{};
        }
        if (call_out.error) {
            co_return server::error_response(*call_out.error);
        }
        auto& ex = *call_out.exchange;
        sink.on_disconnect(nullptr);
        opc_id = ex.header("opc-request-id");
        std::string out;
        const auto read_at = steady::now();
        if (ex.status() != 200) {
            co_await ex.read_all(out, max_error_body);
            rec.upstream += since(read_at);
            ex.finish();
            auto err = transform::map_oci_error(ex.status(), out, ex.header("retry-after"), opc_id);
            log_upstream_refusal("embeddings", err, ex.status(), opc_id, req.request_id);
            co_return with_request_id(server::error_response(err), opc_id);
        }
        auto ec = co_await ex.read_all(out, max_result_body, call_out.deadline);
        rec.upstream += since(read_at);
        if (ec) {
            rec.error_type = ec == boost::beast::error::timeout ? "timeout" : "upstream_error";
            spdlog::warn("upstream: embeddings answer failed: {} request_id={}", ec.message(),
                         req.request_id);
            co_return with_request_id(server::error_response(upstream_failure(ec, ex.phase())),
                                      opc_id);
        }
        ex.finish();
        if (rec.response_model.empty()) {
            rec.response_model.assign(string_after(out, "\"modelId\":\""));
        }
        if (auto bad = merger.add(out)) {
            co_return with_request_id(server::error_response(*bad), opc_id);
        }
    }
    auto merged = merger.finish();
    if (!merged) {
        co_return with_request_id(server::error_response(merged.error()), opc_id);
    }
    record_model(cfg_, p.client_model, true, rec);
    // The merged answer ends with its usage: only that object is read.
    read_openai_usage(merged.value(), rec);
    co_return with_request_id(http_response{200, "application/json", {}, std::move(merged.value())},
                              opc_id);
}

net::awaitable<http_response> service::models(http_request& req, response_sink& sink)
{
    model_list discovered = co_await discover_models(req, sink);
    // A named key sees only the models it may use (no filter for anonymous access).
    transform::model_filter visible;
    if (client_policy(req) != nullptr) {
        visible = [this, &req](std::string_view m) { return model_visible(req, m); };
    }
    co_return http_response{
        200,
        "application/json",
        {},
        transform::models_list_json(cfg_, started_unix_, *discovered, now_unix(), visible)};
}

net::awaitable<http_response> service::model(http_request& req, response_sink& sink)
{
    auto id = server::model_id_of(req.head.path());
    std::optional<std::string> body;
    if (id) {
        model_list discovered = co_await discover_models(req, sink);
        transform::model_filter visible;
        if (client_policy(req) != nullptr) {
            visible = [this, &req](std::string_view m) { return model_visible(req, m); };
        }
        body = transform::model_json(cfg_, started_unix_, *discovered, now_unix(), *id, visible);
    }
    if (!body) {
        // OpenAI's answer for an unknown model; the id is echoed only when short and decoded.
        std::string name = id && id->size() <= 256 ? "The model '" + *id + "'" : "This model";
        co_return server::error_response(
            make_error(404, name + " does not exist.", error_codes::model_not_found, "model"));
    }
    co_return http_response{200, "application/json", {}, std::move(*body)};
}

net::awaitable<model_list> service::models_named_in(http_request& req, response_sink& sink)
{
    // Only a body that may name a model OCID waits for the list (cached for ten minutes).
    if (!cfg_.oci.models_discovery ||
        req.body.find("ocid1.generativeaimodel.") == std::string::npos) {
        co_return nullptr;
    }
    co_return co_await discover_models(req, sink);
}

net::awaitable<model_list> service::discover_models(http_request& req, response_sink& sink)
{
    static const model_list none = std::make_shared<const std::vector<transform::oci_model>>();
    auto pool = cfg_.oci.models_discovery ? control_pool() : nullptr;
    if (!pool) {
        co_return none;
    }
    // Paging bounds, the ten-minute cache and the failure window are model_catalog's; the
    // callback only forwards (a capturing lambda must not be a coroutine itself).
    fetch_model_page fetch = [this, &req, &sink, pool](std::string page) {
        return fetch_models_page(pool, std::move(page), req, sink);
    };
    co_return co_await models_.get(std::move(fetch));
}

net::awaitable<model_page> service::fetch_models_page(std::shared_ptr<upstream::pool> pool,
                                                      std::string page, http_request& req,
                                                      response_sink& sink)
{
    model_page out;
    std::string path = "/20231130/models?compartmentId=" + cfg_.oci.compartment_id +
                       "&lifecycleState=ACTIVE&limit=1000";
    if (!page.empty()) {
        path += "&page=" + page;
    }
    auto call_out = co_await call("GET", path, {}, false, req, sink, std::move(pool));
    if (call_out.client_gone) {
        out.status = model_page::outcome::aborted;
        co_return out;
    }
    if (call_out.error) {
        spdlog::warn("upstream: model discovery failed: {} {} request_id={}",
                     call_out.error->status, call_out.error->code, req.request_id);
        out.status = model_page::outcome::failed;
        co_return out;
    }
    auto& ex = *call_out.exchange;
    sink.on_disconnect(nullptr);
    std::string body;
    const auto read_at = steady::now();
    auto ec = co_await ex.read_all(body, max_result_body, call_out.deadline);
    req.record.upstream += since(read_at);
    if (ec || ex.status() != 200) {
        spdlog::warn("upstream: model discovery answered {} ({})", ex.status(),
                     ec ? ec.message() : "HTTP error");
        out.status = model_page::outcome::failed;
        co_return out;
    }
    ex.finish();
    out.models = transform::models_from_oci_list(body);
    out.next_page = ex.header("opc-next-page");
    co_return out;
}

const model_alias* service::openai_alias(const http_request& req, transform::model_field& at) const
{
    // One SAX pass over the body; a body that does not parse goes the native way, whose
    // validation answers it.
    auto found = transform::locate_model(req.body, cfg_.limits.max_json_depth);
    if (!found) {
        return nullptr;
    }
    const model_alias* alias = cfg_.find_model(found.value().value);
    if (alias == nullptr || alias->route != model_route::openai) {
        return nullptr;
    }
    at = std::move(found.value());
    return alias;
}

net::awaitable<http_response> service::forward_model(http_request& req, response_sink& sink,
                                                     const model_alias& alias,
                                                     const transform::model_field& at,
                                                     std::string_view path, route_state& route)
{
    auto& rec = req.record;
    rec.model = alias.name;  // a configured alias
    rec.oci_model = alias.id;
    std::string body = transform::splice_model(req.body, at, alias.id);
    // The client's body is not needed any more: free it before the exchange.
    std::string().swap(req.body);
    const std::string& project = alias.project_id.empty() ? cfg_.oci.project_id : alias.project_id;
    const std::string& compartment =
        alias.compartment_id.empty() ? cfg_.oci.compartment_id : alias.compartment_id;
    co_return co_await forward(req, sink, "POST", std::string(path), std::move(body), project,
                               compartment, &alias, &route);
}

net::awaitable<http_response> service::forward_state(http_request& req, response_sink& sink)
{
    // The path after `/v1` and the query, as the client sent them.
    std::string_view target = req.head.target;
    constexpr std::string_view v1 = "/v1";
    if (!target.starts_with(v1) || !forwardable_target(target.substr(v1.size()))) {
        co_return server::error_response(invalid_request(
            "The request path is not valid: it must be printable ASCII of at most " +
            std::to_string(max_forward_target) +
            " bytes, without empty, `.` or `..` segments or encoded "
            "separators."));
    }
    // HEAD is GET without a body: the server drops the body of the answer.
    std::string method = req.head.method == "HEAD" ? std::string("GET") : req.head.method;
    std::string body = std::move(req.body);
    co_return co_await forward(req, sink, std::move(method), std::string(target.substr(v1.size())),
                               std::move(body), cfg_.oci.project_id, cfg_.oci.compartment_id);
}

net::awaitable<http_response> service::forward(http_request& req, response_sink& sink,
                                               std::string method, std::string rest,
                                               std::string body, std::string_view project,
                                               std::string_view compartment,
                                               const model_alias* alias, route_state* route)
{
    // The headers of the contract, and of the client's only these: content-type, accept,
    // openai-beta, idempotency-key (never its Authorization).
    std::vector<std::pair<std::string, std::string>> extra;
    extra.reserve(6);
    if (!project.empty()) {
        extra.emplace_back("openai-project", std::string(project));
    }
    if (!compartment.empty()) {
        extra.emplace_back("opc-compartment-id", std::string(compartment));
    }
    extra.emplace_back("accept-encoding", "identity");
    for (std::string_view name : {"openai-beta", "idempotency-key"}) {
        if (auto v = req.head.find(name)) {
            extra.emplace_back(std::string(name), std::string(*v));
        }
    }
    call_options options;
    options.extra = &extra;
    auto& rec = req.record;
    rec.route = "openai";
    // An upload (POST /v1/files) arrives spooled, not in `body`.
    if (req.spooled.valid()) {
        options.spooled = &req.spooled;
    }
    auto content_type = req.head.find("content-type");
    if (content_type && !content_type->empty()) {
        options.content_type = *content_type;
    }
    auto accept = req.head.find("accept");
    options.accept = accept && !accept->empty() ? *accept : std::string_view("application/json");

    if (route != nullptr) {
        options.deadline = route->deadline;
    }
    const auto endpoints = candidates_for(alias, true);
    auto call_out = co_await call_endpoints(std::move(method), std::move(rest), std::move(body),
                                            false, req, sink, endpoints, options);
    if (route != nullptr) {
        route->exhausted = call_out.failover;
        route->last_failed = call_out.failover && !call_out.all_open;
    }
    if (call_out.client_gone) {
        co_return http_response{};
    }
    if (call_out.error) {
        co_return server::error_response(*call_out.error);
    }
    auto& ex = *call_out.exchange;
    struct unregister
    {
        response_sink& s;
        ~unregister() { s.on_disconnect(nullptr); }
    } guard{sink};
    const unsigned status = ex.status();
    const std::string opc_id = ex.header("opc-request-id");
    std::string answer_type = ex.header("content-type");
    const bool ok = status >= 200 && status < 300;
    const bool event_stream = ok && starts_with_icase(answer_type, "text/event-stream");
    const std::size_t limit = ok ? max_result_body : max_error_body;
    auto decoder = upstream::content_decoder::create(ex.header("content-encoding"), limit);
    if (!decoder) {
        ex.abort();
        spdlog::warn(
            "upstream: OpenAI-compatible answer in an unknown content-encoding "
            "(opc-request-id={}) request_id={}",
            opc_id, req.request_id);
        co_return with_request_id(
            server::error_response(make_error(
                502, "OCI Generative AI answered in a content encoding the proxy cannot decode.",
                error_codes::bad_upstream_response)),
            opc_id);
    }
    auto headers = relayed_headers(ex);

    if (!event_stream) {
        // Whole answers: read (bounded, under timeouts.upstream_total), decode, relay.
        std::string raw;
        const auto read_at = steady::now();
        auto ec = co_await ex.read_all(raw, limit, call_out.deadline);
        rec.upstream += since(read_at);
        if (ec) {
            rec.error_type = ec == boost::beast::error::timeout ? "timeout" : "upstream_error";
            spdlog::warn("upstream: OpenAI-compatible answer failed: {} request_id={}",
                         ec.message(), req.request_id);
            api_error e = ec == boost::beast::http::error::body_limit
                              ? make_error(502, "OCI Generative AI's answer is too large.",
                                           error_codes::upstream_response_too_large)
                              : upstream_failure(ec, ex.phase());
            co_return with_request_id(server::error_response(e), opc_id);
        }
        ex.finish();
        std::string body;
        if (upstream::content_decoder::is_identity(ex.header("content-encoding"))) {
            body = std::move(raw);
        } else if (!raw.empty()) {
            auto st = decoder->feed(raw, body);
            if (st == upstream::content_decoder::status::ok) {
                st = decoder->finish(body);
            }
            if (st != upstream::content_decoder::status::ok) {
                spdlog::warn(
                    "upstream: OpenAI-compatible answer not decodable: {} "
                    "(opc-request-id={}) request_id={}",
                    upstream::to_string(st), opc_id, req.request_id);
                co_return with_request_id(
                    server::error_response(make_error(
                        502,
                        st == upstream::content_decoder::status::too_large
                            ? "OCI Generative AI's answer is too large."
                            : "OCI Generative AI's compressed answer could not be decoded.",
                        st == upstream::content_decoder::status::too_large
                            ? error_codes::upstream_response_too_large
                            : error_codes::bad_upstream_response)),
                    opc_id);
            }
        }
        if (!ok && !is_openai_error(body)) {
            // Not OpenAI's error shape: mapped like the native route, the status kept.
            auto err = transform::map_oci_error(status, body, {}, opc_id);
            log_upstream_refusal("OpenAI-compatible API", err, status, opc_id, req.request_id);
            err.status = status;
            auto r = server::error_response(err);
            r.headers.insert(r.headers.end(), headers.begin(), headers.end());
            co_return r;
        }
        if (!ok) {
            spdlog::warn(
                "upstream: OCI OpenAI-compatible API answered {} (opc-request-id={}) "
                "request_id={}",
                status, opc_id, req.request_id);
        }
        if (ok && !rec.operation.empty()) {
            // The model OCI names comes first, the usage last: neither needs a parse of it all.
            rec.response_model.assign(string_after(body, "\"model\":\""));
            read_openai_usage(body, rec);
        }
        if (answer_type.empty()) {
            answer_type = body.empty() ? "application/json" : "application/octet-stream";
        }
        co_return http_response{status, std::move(answer_type), std::move(headers),
                                std::move(body)};
    }

    // SSE: relayed byte for byte as it arrives; one downstream write per upstream read, the
    // next read only after the write (backpressure).
    headers.emplace_back("Cache-Control", "no-cache");
    headers.emplace_back("X-Accel-Buffering", "no");
    add_timing_headers(headers, req, rec.upstream, opc_id);
    if (!co_await sink.begin_stream(status, std::move(answer_type), std::move(headers))) {
        ex.abort();
        co_return http_response{};
    }
    const bool identity = upstream::content_decoder::is_identity(ex.header("content-encoding"));
    std::string in;
    std::string out;
    bool at_boundary = true;  // the bytes relayed so far end with a whole event
    // GenAI streams: the model named by an early event, the usage by the last one (found in
    // the last usage_tail bytes, so no event is parsed).
    const bool genai = !rec.operation.empty();
    std::size_t model_scanned = genai ? 0 : model_scan_window;
    std::string tail;
    const auto idle = cfg_.timeouts.upstream_stream_idle;
    auto last_progress = std::chrono::steady_clock::now();
    // Ends the stream with an OpenAI error event, when the relayed bytes allow one.
    auto fail_event = [&](std::string_view message, std::string_view code) {
        std::string ev;
        if (at_boundary) {
            ev = "data: " + make_error(502, std::string(message), code).body() + "\n\n";
        }
        return ev;
    };
    for (;;) {
        in.clear();
        out.clear();
        auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - last_progress);
        std::optional<std::chrono::milliseconds> wait =
            std::max(std::chrono::milliseconds(1), idle - quiet);
        const auto read_at = steady::now();
        auto ec = co_await ex.read_some(in, wait);
        rec.upstream += since(read_at);
        if (sink.client_gone()) {
            ex.abort();
            co_return http_response{};
        }
        if (sink.cut()) {
            spdlog::warn(
                "upstream: OpenAI-compatible stream cut at the drain deadline "
                "request_id={}",
                req.request_id);
            auto ev =
                fail_event("The proxy is shutting down; this stream ended before its answer did.",
                           "server_shutting_down");
            if (!ev.empty()) {
                co_await sink.write(ev);
            }
            break;
        }
        if (ec) {
            rec.error_type = ec == boost::beast::error::timeout ? "timeout" : "upstream_error";
            spdlog::warn("upstream: OpenAI-compatible stream ended early: {} request_id={}",
                         ec.message(), req.request_id);
            auto ev =
                fail_event(ec == boost::beast::error::timeout
                               ? "OCI Generative AI stopped sending its answer."
                               : "The connection to OCI Generative AI failed during the "
                                 "answer.",
                           ec == boost::beast::error::timeout ? error_codes::upstream_timeout
                                                              : error_codes::upstream_incomplete);
            if (!ev.empty()) {
                co_await sink.write(ev);
            }
            break;
        }
        if (in.empty() && ex.complete()) {
            if (!identity) {
                auto st = decoder->finish(out);
                if (st != upstream::content_decoder::status::ok) {
                    spdlog::warn(
                        "upstream: OpenAI-compatible stream not decodable: {} "
                        "request_id={}",
                        upstream::to_string(st), req.request_id);
                }
            }
            break;
        }
        std::string_view piece = in;
        if (!identity) {
            auto st = decoder->feed(in, out);
            if (st != upstream::content_decoder::status::ok) {
                spdlog::warn("upstream: OpenAI-compatible stream not decodable: {} request_id={}",
                             upstream::to_string(st), req.request_id);
                ex.abort();
                break;
            }
            piece = out;
        }
        if (piece.empty()) {
            continue;
        }
        at_boundary = piece.ends_with("\n\n") || piece.ends_with("\r\n\r\n");
        last_progress = std::chrono::steady_clock::now();
        if (rec.ttft.count() < 0) {
            rec.ttft = since(req.started);
        }
        if (genai) {
            if (model_scanned < model_scan_window) {
                rec.response_model.assign(string_after(piece, "\"model\":\""));
                model_scanned =
                    rec.response_model.empty() ? model_scanned + piece.size() : model_scan_window;
            }
            if (piece.size() >= usage_tail) {
                tail.assign(piece.substr(piece.size() - usage_tail));
            } else {
                if (tail.size() + piece.size() > 2 * usage_tail) {
                    tail.erase(0, tail.size() - usage_tail);
                }
                tail.append(piece);
            }
        }
        if (!co_await sink.write(piece)) {
            ex.abort();
            co_return http_response{};
        }
    }
    if (genai) {
        read_openai_usage(tail, rec);
    }
    if (ex.complete()) {
        ex.finish();
    } else {
        ex.abort();
    }
    co_await sink.end_stream();
    co_return http_response{};
}

}  // namespace ogp::api
