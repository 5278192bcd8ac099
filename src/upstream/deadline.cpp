// timed_phase: a deadline that does not depend on the bounded operation honouring cancellation.

#include "ogp/upstream/deadline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <exception>
#include <optional>

#include "ogp/util/asio.hpp"

namespace ogp::upstream {

namespace net = boost::asio;
using boost::system::error_code;

// One run(): the wake-up timer (expires at the deadline; cancelled when the steps finish or on
// abort) and the steps' result. Shared with the steps' completion handler, which may run after
// run() returned.
struct timed_phase::waiter
{
    explicit waiter(const net::any_io_executor& ex) : wake(ex) {}
    net::steady_timer wake;
    std::optional<error_code> result;
};

struct timed_phase::state
{
    bool aborted = false;
    std::shared_ptr<waiter> current;  ///< the pending run(), if any
};

timed_phase::timed_phase() : state_(std::make_shared<state>()) {}

void timed_phase::abort()
{
    state_->aborted = true;
    if (state_->current) {
        state_->current->wake.cancel();
    }
}

bool timed_phase::aborted() const
{
    return state_->aborted;
}

net::awaitable<error_code> timed_phase::run(net::awaitable<error_code> steps,
                                            std::chrono::steady_clock::time_point deadline)
{
    auto s = state_;  // this handle may be gone when the wait ends; the state is not
    if (s->aborted) {
        co_return error_code(net::error::operation_aborted);
    }
    auto ex = co_await net::this_coro::executor;
    auto w = std::make_shared<waiter>(ex);
    w->wake.expires_at(deadline);
    s->current = w;
    net::co_spawn(ex, std::move(steps), [w](std::exception_ptr e, error_code ec) {
        // The data path never throws; should a step do so anyway, it is a failure, not a crash.
        w->result =
            e ? error_code(make_error_code(boost::system::errc::state_not_recoverable)) : ec;
        w->wake.cancel();
    });
    error_code out;
    for (;;) {
        // Checked before every wait: a cancel() that came before the wait began is lost.
        if (s->aborted) {
            out = net::error::operation_aborted;
            break;
        }
        if (w->result) {
            out = *w->result;
            break;
        }
        auto [ec] = co_await w->wake.async_wait(use_nothrow);
        if (!ec && !w->result && !s->aborted) {
            out = boost::beast::error::timeout;
            break;
        }
    }
    if (s->current == w) {
        s->current.reset();
    }
    co_return out;
}

}  // namespace ogp::upstream
