#include "ogp/api/circuit_breaker.hpp"

#include <algorithm>

namespace ogp::api {

std::string_view to_string(circuit_state s)
{
    switch (s) {
        case circuit_state::closed:
            return "closed";
        case circuit_state::half_open:
            return "half_open";
        case circuit_state::open:
            return "open";
    }
    return "closed";
}

circuit_outcome outcome_of_status(unsigned status)
{
    switch (status) {
        case 429:
            return circuit_outcome::neutral;
        case 500:
        case 502:
        case 503:
        case 504:
            return circuit_outcome::failure;
        default:
            return circuit_outcome::success;
    }
}

namespace {

bool disabled(const circuit_breaker_config& c)
{
    return c.failures == 0;
}

}  // namespace

void circuit_breaker::trip(time_point now)
{
    state_ = circuit_state::open;
    opened_at_ = now;
    probe_out_ = false;
    failures_ = 0;
    ++opened_;
}

circuit_breaker::permit circuit_breaker::allow(time_point now, const circuit_breaker_config& c)
{
    if (disabled(c) || state_ == circuit_state::closed) {
        return permit::granted;
    }
    if (state_ == circuit_state::open) {
        if (now - opened_at_ < c.cooldown) {
            return permit::refused;
        }
        state_ = circuit_state::half_open;
        probe_out_ = false;
    }
    // half_open: one probe at a time; a probe unreported for a whole cooldown is given up.
    if (probe_out_ && now - probe_at_ < c.cooldown) {
        return permit::refused;
    }
    probe_out_ = true;
    probe_at_ = now;
    return permit::probe;
}

bool circuit_breaker::would_allow(time_point now, const circuit_breaker_config& c) const
{
    if (disabled(c) || state_ == circuit_state::closed) {
        return true;
    }
    if (state_ == circuit_state::open) {
        return now - opened_at_ >= c.cooldown;
    }
    return !probe_out_ || now - probe_at_ >= c.cooldown;
}

void circuit_breaker::record(time_point now, circuit_outcome o, bool probe,
                             const circuit_breaker_config& c)
{
    switch (o) {
        case circuit_outcome::success:
            on_success(probe);
            break;
        case circuit_outcome::failure:
            on_failure(now, probe, c);
            break;
        case circuit_outcome::neutral:
            on_neutral(probe);
            break;
    }
}

void circuit_breaker::on_success(bool probe)
{
    if (state_ == circuit_state::closed) {
        failures_ = 0;
    } else if (probe && state_ == circuit_state::half_open) {
        state_ = circuit_state::closed;
        failures_ = 0;
        probe_out_ = false;
    }
}

void circuit_breaker::on_failure(time_point now, bool probe, const circuit_breaker_config& c)
{
    if (disabled(c)) {
        return;
    }
    if (state_ == circuit_state::closed) {
        if (++failures_ >= c.failures) {
            trip(now);
        }
    } else if (probe && state_ == circuit_state::half_open) {
        trip(now);
    }
}

void circuit_breaker::on_neutral(bool probe)
{
    if (probe && state_ == circuit_state::half_open) {
        probe_out_ = false;
    }
}

circuit_state circuit_breaker::state(time_point now, const circuit_breaker_config& c) const
{
    if (disabled(c)) {
        return circuit_state::closed;
    }
    if (state_ == circuit_state::open && now - opened_at_ >= c.cooldown) {
        return circuit_state::half_open;
    }
    return state_;
}

std::chrono::milliseconds circuit_breaker::retry_in(time_point now,
                                                    const circuit_breaker_config& c) const
{
    if (disabled(c) || state_ != circuit_state::open) {
        return std::chrono::milliseconds(0);
    }
    const auto left = opened_at_ + c.cooldown - now;
    // Rounded up: a client told "0" would come back too early.
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::ceil<std::chrono::milliseconds>(left));
}

circuit_breakers::circuit_breakers(steady_clock_fn now, std::size_t max_hosts)
    : now_(now ? std::move(now) : steady_clock_fn([] { return std::chrono::steady_clock::now(); })),
      max_hosts_(max_hosts)
{
}

circuit_breaker::permit circuit_breakers::allow(std::string_view host,
                                                const circuit_breaker_config& c)
{
    if (c.failures == 0 || made_.load(std::memory_order_acquire) == 0) {
        return circuit_breaker::permit::granted;
    }
    const auto now = now_();
    std::lock_guard lock(mutex_);
    auto it = hosts_.find(host);
    if (it == hosts_.end()) {
        // A closed breaker is made by its first failure (see record()).
        return circuit_breaker::permit::granted;
    }
    return it->second.allow(now, c);
}

bool circuit_breakers::would_allow(std::string_view host, const circuit_breaker_config& c) const
{
    if (c.failures == 0 || made_.load(std::memory_order_acquire) == 0) {
        return true;
    }
    const auto now = now_();
    std::lock_guard lock(mutex_);
    auto it = hosts_.find(host);
    return it == hosts_.end() || it->second.would_allow(now, c);
}

void circuit_breakers::record(std::string_view host, circuit_outcome o, circuit_breaker::permit how,
                              const circuit_breaker_config& c)
{
    if (c.failures == 0 || how == circuit_breaker::permit::refused ||
        (o != circuit_outcome::failure && made_.load(std::memory_order_acquire) == 0)) {
        return;
    }
    const auto now = now_();
    std::lock_guard lock(mutex_);
    auto it = hosts_.find(host);
    if (it == hosts_.end()) {
        // Only a failure changes a breaker that does not exist yet (a closed one at count 0).
        if (o != circuit_outcome::failure || hosts_.size() >= max_hosts_) {
            return;
        }
        it = hosts_.emplace(std::string(host), circuit_breaker{}).first;
        made_.store(hosts_.size(), std::memory_order_release);
    }
    it->second.record(now, o, how == circuit_breaker::permit::probe, c);
}

circuit_status circuit_breakers::status(std::string_view host,
                                        const circuit_breaker_config& c) const
{
    circuit_status s;
    s.host.assign(host);
    const auto now = now_();
    std::lock_guard lock(mutex_);
    auto it = hosts_.find(host);
    if (it != hosts_.end()) {
        s.state = it->second.state(now, c);
        s.retry_in = it->second.retry_in(now, c);
        s.opened = it->second.opened();
    }
    return s;
}

std::size_t circuit_breakers::size() const
{
    std::lock_guard lock(mutex_);
    return hosts_.size();
}

}  // namespace ogp::api
