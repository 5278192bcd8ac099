#pragma once

// The connection as an api handler sees it, for the service tests: records what was streamed;
// disconnect() plays the server noticing the client went away (client_gone, then the registered
// hook).

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ogp/server/handler.hpp"

namespace ogp_test {

namespace net = boost::asio;

class recording_sink final : public ogp::server::response_sink
{
public:
    net::awaitable<bool> begin_stream(
        unsigned s, std::string type,
        std::vector<std::pair<std::string, std::string>> hdrs) override
    {
        if (gone) {
            co_return false;
        }
        began = true;
        status = s;
        content_type = std::move(type);
        headers = std::move(hdrs);
        co_return true;
    }
    net::awaitable<bool> write(std::string_view d) override
    {
        if (gone) {
            co_return false;
        }
        data.append(d.data(), d.size());
        ++writes;
        co_return true;
    }
    net::awaitable<bool> end_stream() override
    {
        ended = true;
        co_return !gone;
    }
    bool streaming() const override { return began; }
    bool client_gone() const override { return gone; }
    void on_disconnect(std::function<void()> fn) override { hook = std::move(fn); }

    void disconnect()
    {
        gone = true;
        if (hook) {
            auto fn = hook;
            fn();
        }
    }

    bool began = false;
    bool ended = false;
    bool gone = false;
    unsigned status = 0;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string data;
    int writes = 0;
    std::function<void()> hook;
};

}  // namespace ogp_test
