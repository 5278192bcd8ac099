#pragma once
// A real redis-server for the Redis limits store's tests: on a free loopback port, nothing
// persisted, stopped on destruction.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/common.hpp"
#include "support/process.hpp"

namespace ogp::test {

/// Runs `redis-server --bind 127.0.0.1 --port P --save '' --appendonly no` (with
/// `--requirepass` when `password` is not empty) and waits (up to 10 s) until it answers
/// PING. Throws std::runtime_error when redis-server is not installed (scripts/install-deps
/// --test installs it) or does not come up. Not copyable; test thread only.
class redis_server
{
public:
    explicit redis_server(std::string password = {});
    ~redis_server();
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    std::uint16_t port() const { return port_; }
    /// `redis://127.0.0.1:P`
    std::string url() const;
    /// Sends one command on a new connection (AUTH first when a password is set, SELECT `db`
    /// when not 0) and returns the raw RESP reply (e.g. "+PONG\r\n"). Throws
    /// std::runtime_error on a connection failure or when no whole reply arrives within
    /// `timeout`.
    std::string command(const std::vector<std::string>& args, unsigned db = 0,
                        ms timeout = 5s) const;
    /// Stops the server now (SIGTERM); later commands fail.
    void stop();

private:
    std::string password_;
    std::uint16_t port_ = 0;
    std::unique_ptr<child> process_;
};

}  // namespace ogp::test
