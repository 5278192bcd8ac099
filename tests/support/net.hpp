#pragma once
// Loopback network stand-ins: a closed port, a listener that never answers, and a stand-in for
// systemd's notify socket. Nothing here ever leaves 127.0.0.1.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/common.hpp"

namespace ogp::test {

/// Connects a non-blocking TCP socket to 127.0.0.1:`port` within `timeout` (TCP_NODELAY,
/// SO_RCVBUF `rcvbuf` when non-zero, set before connecting so it shapes the window); returns
/// the descriptor, or -1 when refused or timed out.
int connect_loopback(std::uint16_t port, ms timeout, int rcvbuf = 0);

/// A loopback TCP port that is bound but never listens, held for the life of the test process:
/// connecting to it is refused at once. Used for OCI URLs that must never be reached.
std::uint16_t closed_port();

/// A loopback TCP port that was free a moment ago (bound to port 0, then released): for a
/// second listener of the daemon, which cannot report a port 0 it resolved. Racy in theory
/// (another process may take it), fine on a test machine.
std::uint16_t free_loopback_port();

/// A loopback TCP listener whose connections complete (the kernel does the handshake) but
/// never receive a byte: as `oci.endpoint` it keeps an upstream exchange in flight (the TLS
/// handshake never completes). Holds accepted sockets until destruction. Not copyable.
class silent_listener
{
public:
    silent_listener();
    ~silent_listener();
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;

    std::uint16_t port() const { return port_; }
    /// Accepts pending connections without blocking; returns how many are held.
    std::size_t accepted();
    /// Accepts (and holds) connections until `want` are held or `timeout` passes; returns how
    /// many are held.
    std::size_t wait_connections(std::size_t want, ms timeout);

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> conns_;
};

/// A unix datagram socket standing in for systemd's $NOTIFY_SOCKET (a path, or `@name` for
/// an abstract socket). Not copyable.
class notify_listener
{
public:
    explicit notify_listener(const std::string& path);
    ~notify_listener();
    notify_listener(const notify_listener&) = delete;
    notify_listener& operator=(const notify_listener&) = delete;

    const std::string& path() const { return path_; }
    /// The next datagram, or nullopt after `timeout`.
    std::optional<std::string> receive(ms timeout);

private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace ogp::test
