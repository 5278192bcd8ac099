#include "support/redis.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "support/net.hpp"

namespace ogp::test {
namespace {

std::string find_redis_server()
{
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::string_view rest = path;
        while (!rest.empty()) {
            const auto colon = rest.find(':');
            dirs.emplace_back(rest.substr(0, colon));
            rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
        }
    }
    dirs.emplace_back("/usr/bin");
    dirs.emplace_back("/usr/sbin");
    for (const auto& d : dirs) {
        const auto candidate = std::filesystem::path(d) / "redis-server";
        if (!d.empty() && ::access(candidate.c_str(), X_OK) == 0) {
            return candidate.string();
        }
    }
    throw std::runtime_error(
        "redis-server is not installed (the Redis limits store tests need it): run "
        "scripts/install-deps --test");
}

void encode(std::string& out, const std::vector<std::string>& args)
{
    out += "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) {
        out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    }
}

// Index just past the reply that starts at `pos`, or npos while it is incomplete.
std::size_t reply_end(std::string_view b, std::size_t pos)
{
    const auto crlf = b.find("\r\n", pos);
    if (crlf == std::string_view::npos || pos >= b.size()) {
        return std::string_view::npos;
    }
    const char type = b[pos];
    const std::string line(b.substr(pos + 1, crlf - pos - 1));
    const std::size_t after = crlf + 2;
    switch (type) {
        case '+':
        case '-':
        case ':':
            return after;
        case '$': {
            const long long n = std::stoll(line);
            if (n < 0) {
                return after;
            }
            const std::size_t end = after + static_cast<std::size_t>(n) + 2;
            return end <= b.size() ? end : std::string_view::npos;
        }
        case '*': {
            const long long n = std::stoll(line);
            std::size_t p = after;
            for (long long i = 0; i < n; ++i) {
                p = reply_end(b, p);
                if (p == std::string_view::npos) {
                    return p;
                }
            }
            return p;
        }
        default:
            throw std::runtime_error("redis: malformed reply " + printable(b));
    }
}

}  // namespace

redis_server::redis_server(std::string password) : password_(std::move(password))
{
    const std::string binary = find_redis_server();
    std::string last_output;
    // free_loopback_port() is racy: another process may take the port; try a few.
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_loopback_port();
        std::vector<std::string> argv{binary,
                                      "--bind",
                                      "127.0.0.1",
                                      "--port",
                                      std::to_string(port_),
                                      "--save",
                                      "",
                                      "--appendonly",
                                      "no",
                                      "--daemonize",
                                      "no",
                                      "--enable-debug-command",
                                      "local"};
        if (!password_.empty()) {
            argv.emplace_back("--requirepass");
            argv.push_back(password_);
        }
        process_ = std::make_unique<child>(argv);
        const auto deadline = steady::now() + 10s;
        while (steady::now() < deadline && process_->running()) {
            try {
                if (command({"PING"}, 0, 1s) == "+PONG\r\n") {
                    return;
                }
            } catch (const std::runtime_error&) {
                // not listening yet
            }
            if (process_->wait_exit(50ms)) {
                break;
            }
        }
        process_->stop(0ms);
        last_output = process_->out() + process_->err();
    }
    throw std::runtime_error("redis-server did not answer PING within 10 s: " +
                             printable(last_output));
}

redis_server::~redis_server() = default;

std::string redis_server::url() const
{
    return "redis://127.0.0.1:" + std::to_string(port_);
}

void redis_server::stop()
{
    if (process_) {
        process_->stop();
    }
}

std::string redis_server::command(const std::vector<std::string>& args, unsigned db,
                                  ms timeout) const
{
    const auto deadline = steady::now() + timeout;
    const int fd = connect_loopback(port_, timeout);
    if (fd < 0) {
        throw sys_error("redis: cannot connect to 127.0.0.1:" + std::to_string(port_));
    }
    struct closer
    {
        int fd;
        ~closer() { ::close(fd); }
    } guard{fd};

    std::string request;
    std::size_t replies = 1;
    if (!password_.empty()) {
        encode(request, {"AUTH", password_});
        ++replies;
    }
    if (db != 0) {
        encode(request, {"SELECT", std::to_string(db)});
        ++replies;
    }
    encode(request, args);
    std::size_t sent = 0;
    while (sent < request.size()) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) != 1) {
            throw std::runtime_error("redis: timed out sending a command");
        }
        const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            throw sys_error("redis: send");
        }
        sent += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    std::string in;
    std::size_t start = 0;  // of the reply being read
    std::string last;
    for (std::size_t got = 0; got < replies;) {
        const auto end = reply_end(in, start);
        if (end != std::string_view::npos) {
            last = in.substr(start, end - start);
            if (got + 1 < replies && last != "+OK\r\n") {
                throw std::runtime_error("redis: AUTH/SELECT refused: " + printable(last));
            }
            start = end;
            ++got;
            continue;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) != 1) {
            throw std::runtime_error("redis: no whole reply in time: " + printable(in));
        }
        char buf[4096];
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) {
            throw std::runtime_error("redis: connection closed: " + printable(in));
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            throw sys_error("redis: recv");
        }
        if (n > 0) {
            in.append(buf, static_cast<std::size_t>(n));
        }
    }
    return last;
}

}  // namespace ogp::test
