#include "support/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace ogp::test {
namespace {

// A loopback TCP socket bound to an ephemeral port (listening with `backlog` > 0); returns
// the descriptor and stores the port.
int bind_loopback(std::uint16_t& port, int backlog, int flags, const char* what)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        (backlog > 0 && ::listen(fd, backlog) != 0) ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        throw sys_error(what);
    }
    port = ntohs(addr.sin_port);
    return fd;
}

}  // namespace

int connect_loopback(std::uint16_t port, ms timeout, int rcvbuf)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    if (rcvbuf > 0) {
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            ::close(fd);
            errno = e;
            return -1;
        }
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, poll_ms(timeout)) != 1 ||
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            ::close(fd);
            errno = err != 0 ? err : ETIMEDOUT;
            return -1;
        }
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

std::uint16_t closed_port()
{
    // Bound without listen(): the kernel refuses connections, and no other process can take
    // the port while we hold it. Deliberately never closed.
    static const std::uint16_t port = [] {
        std::uint16_t p = 0;
        bind_loopback(p, 0, 0, "closed_port");
        return p;
    }();
    return port;
}

std::uint16_t free_loopback_port()
{
    // Bound to port 0 and released at once: the kernel hands out ephemeral ports in turn, so
    // the port stays free for the short while until the daemon binds it.
    std::uint16_t p = 0;
    ::close(bind_loopback(p, 0, 0, "free_loopback_port"));
    return p;
}

silent_listener::silent_listener()
{
    // In the body: port_'s default initializer would overwrite a value set in the init list.
    fd_ = bind_loopback(port_, 64, SOCK_NONBLOCK, "silent_listener");
}

silent_listener::~silent_listener()
{
    for (int c : conns_) {
        ::close(c);
    }
    ::close(fd_);
}

std::size_t silent_listener::accepted()
{
    for (;;) {
        int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
            break;
        }
        conns_.push_back(c);
    }
    return conns_.size();
}

std::size_t silent_listener::wait_connections(std::size_t want, ms timeout)
{
    const auto deadline = steady::now() + timeout;
    while (accepted() < want) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
            break;
        }
    }
    return conns_.size();
}

notify_listener::notify_listener(const std::string& path) : path_(path)
{
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw sys_error("socket(AF_UNIX)");
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        ::close(fd_);
        throw std::runtime_error("notify socket path too long: " + path);
    }
    // A leading '@' names an abstract socket (as systemd spells it): NUL in the first byte.
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (path.starts_with('@')) {
        addr.sun_path[0] = '\0';
    }
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
        ::close(fd_);
        throw sys_error("bind " + path);
    }
}

notify_listener::~notify_listener()
{
    ::close(fd_);
    if (!path_.starts_with('@')) {
        ::unlink(path_.c_str());
    }
}

std::optional<std::string> notify_listener::receive(ms timeout)
{
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, poll_ms(timeout)) <= 0) {
        return std::nullopt;
    }
    char msg[4096];
    ssize_t n = ::recv(fd_, msg, sizeof msg, MSG_DONTWAIT);
    if (n < 0) {
        return std::nullopt;
    }
    return std::string(msg, static_cast<std::size_t>(n));
}

}  // namespace ogp::test
