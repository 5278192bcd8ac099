#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>

namespace ogp::upstream {

/// One deadline and one abort switch for a phase made of several asynchronous steps (resolve,
/// connect and TLS handshake; or a whole small request). run() starts the steps as their own
/// coroutine and returns when they finish, the deadline passes or abort() is called, whichever
/// comes first. It never waits for steps that ignore cancellation: a DNS lookup blocks a
/// resolver thread in getaddrinfo until the system gives up. Steps left behind keep running,
/// so they must own (share) what they use and stop on their own once the caller closed their
/// socket. Copies share one switch (a connection keeps one so closing it aborts its connect).
/// Single-threaded: use from the executor the steps run on.
class timed_phase
{
public:
    timed_phase();

    /// The steps' own result; beast::error::timeout when `deadline` passed first;
    /// net::error::operation_aborted after abort() (also when it came before run()).
    boost::asio::awaitable<boost::system::error_code> run(
        boost::asio::awaitable<boost::system::error_code> steps,
        std::chrono::steady_clock::time_point deadline);

    /// Ends a pending run() at once, and every later one. Idempotent.
    void abort();
    bool aborted() const;

private:
    struct waiter;
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace ogp::upstream
