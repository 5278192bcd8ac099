#pragma once

// One api handler call as the service tests drive it: the request, the recording sink, the
// returned response and when it returned. run_handler() is the coroutine the tests co_spawn;
// the request's `started` is set at the call (the server sets it at the request's first byte).

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ogp/api/service.hpp"
#include "ogp/server/handler.hpp"
#include "unit/api/recording_sink.hpp"

namespace ogp_test {

/// The handler a test calls.
enum class api_route { chat, responses, embeddings, stored_response, openai_state, models };

struct handler_call
{
    ogp::server::http_request req;
    recording_sink sink;
    std::optional<ogp::server::http_response> resp;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point finished;
};

inline net::awaitable<void> run_handler(ogp::api::service& svc, api_route r,
                                        std::shared_ptr<handler_call> c)
{
    c->req.started = std::chrono::steady_clock::now();
    c->started = c->req.started;
    ogp::server::http_response resp;
    switch (r) {
        case api_route::chat:
            resp = co_await svc.chat(c->req, c->sink);
            break;
        case api_route::responses:
            resp = co_await svc.responses(c->req, c->sink);
            break;
        case api_route::embeddings:
            resp = co_await svc.embeddings(c->req, c->sink);
            break;
        case api_route::stored_response:
            resp = co_await svc.stored_response(c->req, c->sink);
            break;
        case api_route::openai_state:
            resp = co_await svc.openai_state(c->req, c->sink);
            break;
        case api_route::models:
            resp = co_await svc.models(c->req, c->sink);
            break;
    }
    c->finished = std::chrono::steady_clock::now();
    c->resp = std::move(resp);
}

/// One `name;dur=<ms>` item of a Server-Timing header.
struct timing_item
{
    std::string name;
    double ms = 0;
};

/// Parses a Server-Timing value strictly as the proxy writes it: `name;dur=<digits>.<3
/// digits>` items separated by `, `; nullopt on anything else.
inline std::optional<std::vector<timing_item>> parse_server_timing(std::string_view v)
{
    std::vector<timing_item> out;
    while (!v.empty()) {
        std::string_view item = v.substr(0, v.find(", "));
        v.remove_prefix(std::min(v.size(), item.size() + 2));
        const auto semi = item.find(";dur=");
        if (semi == std::string_view::npos || semi == 0) {
            return std::nullopt;
        }
        timing_item t;
        t.name = std::string(item.substr(0, semi));
        for (char c : t.name) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
                return std::nullopt;
            }
        }
        std::string_view num = item.substr(semi + 5);
        const auto dot = num.find('.');
        if (dot == std::string_view::npos || dot == 0 || num.size() - dot - 1 != 3) {
            return std::nullopt;
        }
        for (std::size_t i = 0; i < num.size(); ++i) {
            if (i != dot && !std::isdigit(static_cast<unsigned char>(num[i]))) {
                return std::nullopt;
            }
        }
        auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), t.ms);
        if (ec != std::errc() || p != num.data() + num.size() || t.ms < 0) {
            return std::nullopt;
        }
        out.push_back(std::move(t));
    }
    return out;
}

/// A header's value (case-insensitive name), or nullopt.
inline std::optional<std::string> find_header(
    const std::vector<std::pair<std::string, std::string>>& hs, std::string_view name)
{
    for (const auto& [k, v] : hs) {
        if (k.size() == name.size() &&
            std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            })) {
            return v;
        }
    }
    return std::nullopt;
}

/// A response's header value (case-insensitive name), or nullopt.
inline std::optional<std::string> find_header(const ogp::server::http_response& r,
                                              std::string_view name)
{
    return find_header(r.headers, name);
}

/// The upstream and proxy durations of the overhead headers, checked for consistency: the
/// Server-Timing items are exactly upstream, sign, proxy; x-ogp-upstream-ms and x-ogp-proxy-ms
/// repeat theirs. nullopt when anything is missing or malformed.
struct overhead
{
    double upstream_ms = 0;
    double sign_ms = 0;
    double proxy_ms = 0;
};

inline std::optional<overhead> read_overhead(
    const std::vector<std::pair<std::string, std::string>>& hs)
{
    auto st = find_header(hs, "Server-Timing");
    auto up = find_header(hs, "x-ogp-upstream-ms");
    auto own = find_header(hs, "x-ogp-proxy-ms");
    if (!st || !up || !own) {
        return std::nullopt;
    }
    auto items = parse_server_timing(*st);
    if (!items || items->size() != 3 || (*items)[0].name != "upstream" ||
        (*items)[1].name != "sign" || (*items)[2].name != "proxy") {
        return std::nullopt;
    }
    auto same = [](const std::string& header, double ms) {
        auto parsed = parse_server_timing("x;dur=" + header);
        return parsed && parsed->size() == 1 && (*parsed)[0].ms == ms;
    };
    if (!same(*up, (*items)[0].ms) || !same(*own, (*items)[2].ms)) {
        return std::nullopt;
    }
    return overhead{(*items)[0].ms, (*items)[1].ms, (*items)[2].ms};
}

/// Milliseconds of a steady-clock duration, as a double.
inline double ms_of(std::chrono::steady_clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

/// The overhead headers of `hs` are well-formed and fit in the call's elapsed time.
inline void check_overhead(const std::vector<std::pair<std::string, std::string>>& hs,
                           const handler_call& c)
{
    auto o = read_overhead(hs);
    REQUIRE(o.has_value());
    CHECK(o->upstream_ms >= 0);
    CHECK(o->sign_ms >= 0);
    CHECK(o->proxy_ms >= 0);
    // Each figure is rounded down to the microsecond: their sum cannot exceed the elapsed time.
    CHECK(o->upstream_ms + o->proxy_ms <= ms_of(c.finished - c.started) + 0.002);
}

}  // namespace ogp_test
