#pragma once
// spdlog's default logger routed to a string, for unit tests that check what is logged (and
// what never is: keys, tokens). Header-only: the unit test programs do not link
// ogp_test_support.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace ogp::test {

/// Captures every line at `level` and up while alive; the previous default logger comes back
/// on destruction. Test thread only; text() flushes first.
class log_capture
{
public:
    explicit log_capture(spdlog::level::level_enum level = spdlog::level::debug)
    {
        previous_ = spdlog::default_logger();
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        auto logger = std::make_shared<spdlog::logger>("capture", sink);
        logger->set_level(level);
        spdlog::set_default_logger(logger);
    }
    ~log_capture() { spdlog::set_default_logger(previous_); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;

    /// Everything logged so far.
    std::string text()
    {
        spdlog::default_logger()->flush();
        return out_.str();
    }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace ogp::test
