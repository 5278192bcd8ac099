#pragma once
// The server tests' in-process harness: the test thread runs the io_context, a connected
// loopback socket pair stands for an accepted connection (one end goes to server::serve(), the
// test drives the other as a raw HTTP/1.1 client). No daemon, no listener; every wait is
// bounded (5 s).
#include <boost/asio.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "ogp/server/server.hpp"

namespace ogp::server::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

inline bool has(std::string_view s, std::string_view part)
{
    return s.find(part) != std::string_view::npos;
}

/// The io_context the test thread runs, step by step.
struct loop
{
    net::io_context ioc;
    // Keeps run_one_for() from stopping the io_context when nothing is pending for a moment.
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};

    /// Runs the io_context until `done()` (or 5 s); returns done().
    bool run_until(const std::function<bool()>& done)
    {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            ioc.run_one_for(20ms);
        }
        return done();
    }

    /// A connected pair: the server's end, on a strand as the accept loop makes it, is handed
    /// to `srv.serve()`; the client's end is returned.
    tcp::socket connect_to(ogp::server::server& srv)
    {
        tcp::acceptor a(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
        tcp::socket mine(ioc);
        tcp::socket served(net::make_strand(ioc));
        mine.connect(a.local_endpoint());
        a.accept(served);
        srv.serve(std::move(served));
        return mine;
    }
};

/// The test's end of one connection: raw bytes out, responses in.
struct raw_client
{
    loop& l;
    tcp::socket socket;
    std::string in;  // bytes received, not yet taken by next_response()
    bool eof = false;

    explicit raw_client(loop& lp) : l(lp), socket(lp.ioc) {}
    raw_client(loop& lp, tcp::socket s) : l(lp), socket(std::move(s)) {}
    ~raw_client()
    {
        boost::system::error_code ignored;
        socket.close(ignored);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    void send(const std::string& bytes) { net::write(socket, net::buffer(bytes)); }

    /// Receives until `done(in)`, EOF or 5 s.
    bool receive_until(const std::function<bool(const std::string&)>& done)
    {
        char tmp[4096];
        while (!done(in) && !eof) {
            bool pending = true;
            socket.async_read_some(net::buffer(tmp),
                                   [&](boost::system::error_code ec, std::size_t n) {
                                       pending = false;
                                       if (ec) {
                                           eof = true;
                                       } else {
                                           in.append(tmp, n);
                                       }
                                   });
            if (!l.run_until([&] { return !pending; })) {
                socket.cancel();
                l.run_until([&] { return !pending; });
                return false;
            }
        }
        return done(in);
    }

    /// The next whole response (Content-Length or chunked framing), or "" on EOF / timeout.
    std::string next_response()
    {
        std::size_t total = 0;
        auto complete = [&](const std::string& s) {
            auto end = s.find("\r\n\r\n");
            if (end == std::string::npos) {
                return false;
            }
            const std::string head = s.substr(0, end + 4);
            if (auto cl = head.find("Content-Length: "); cl != std::string::npos) {
                total = end + 4 + std::stoul(head.substr(cl + 16));
                return s.size() >= total;
            }
            auto last = s.find("\r\n0\r\n\r\n", end);
            if (last == std::string::npos) {
                return false;
            }
            total = last + 7;
            return true;
        };
        if (!receive_until(complete)) {
            return {};
        }
        std::string r = in.substr(0, total);
        in.erase(0, total);
        return r;
    }

    /// True once the server closed the connection (nothing more was received).
    bool closed_by_server()
    {
        receive_until([](const std::string&) { return false; });
        return eof && in.empty();
    }
};

}  // namespace ogp::server::test
