#pragma once
// Child processes for the tests (the daemon, the mock, curl, node): spawned with a cleaned
// environment, stdout and stderr captured by a reader thread, every wait bounded.

#include <sys/types.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/common.hpp"

namespace ogp::test {

/// Outcome of a child process: exit code, or the signal that killed it.
struct exit_status
{
    bool exited = false;  ///< true: `code` is valid; false: killed by `signal`
    int code = -1;
    int signal = 0;

    /// Exited normally with code 0.
    bool success() const { return exited && code == 0; }
};

/// A child process with stdout and stderr captured by a reader thread. The environment is
/// ours without OGP_*, OCI_* and NOTIFY_SOCKET (which would change the daemon's configuration
/// or notify a real systemd), plus `extra_env` ("NAME=value", replacing an inherited NAME);
/// stdin is /dev/null. The
/// destructor calls stop(). Methods: test thread only (the capture is internally locked).
class child
{
public:
    /// Starts `argv` (argv[0] an absolute path); throws std::runtime_error if it cannot fork.
    explicit child(std::vector<std::string> argv, const std::vector<std::string>& extra_env = {});
    ~child();
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    pid_t pid() const { return pid_; }
    bool running() const { return !exit_; }
    std::string out() const;  ///< stdout so far
    std::string err() const;  ///< stderr so far
    /// Waits until stderr (or stdout with `in_stdout`) contains `needle`.
    bool wait_for(std::string_view needle, ms timeout, bool in_stdout = false) const;
    /// Waits until the capture of stderr satisfies `pred` (or the pipes close); true if it did.
    template <class Pred>
    bool wait_err(Pred pred, ms timeout) const
    {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return pred(err_) || eof_; }) && pred(err_);
    }
    /// Sends `sig` (no-op once the child was reaped).
    void signal(int sig);
    /// Waits up to `timeout` for the exit; nullopt while still running. Once it returned a
    /// status, out() and err() hold everything the child wrote.
    std::optional<exit_status> wait_exit(ms timeout);
    /// SIGTERM, then SIGKILL after `grace` (at once for a zero grace); reaps the child.
    exit_status stop(ms grace = 3s);

private:
    void reader_loop(int out_fd, int err_fd);

    pid_t pid_ = -1;
    std::optional<exit_status> exit_;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::string out_;
    std::string err_;
    bool eof_ = false;
    std::thread reader_;
};

/// Outcome of run_program().
struct program_result
{
    std::optional<exit_status> status;  ///< nullopt: did not exit in time (it was killed)
    std::string out;
    std::string err;
    double seconds = 0;
};

/// Runs `argv` (argv[0] an absolute path) to completion with the environment of `child`,
/// killed after `timeout`.
program_result run_program(const std::vector<std::string>& argv, ms timeout,
                           const std::vector<std::string>& extra_env = {});

/// The first AddressSanitizer/LeakSanitizer/UBSan report in `log` (about 4 KiB of it, from
/// the start of its line), or empty.
std::string sanitizer_report(std::string_view log);

}  // namespace ogp::test
