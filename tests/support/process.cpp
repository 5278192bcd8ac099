#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace ogp::test {
namespace {

// The inherited environment minus OGP_*, OCI_* and NOTIFY_SOCKET, then `extra`: a name in
// `extra` replaces the inherited variable of that name (getenv() would find the first one).
std::vector<std::string> child_env(const std::vector<std::string>& extra)
{
    auto overridden = [&extra](std::string_view v) {
        const auto name = v.substr(0, v.find('=') + 1);  // "NAME="
        for (const auto& x : extra) {
            if (x.starts_with(name)) {
                return true;
            }
        }
        return false;
    };
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view v(*e);
        if (v.starts_with("OGP_") || v.starts_with("OCI_") || v.starts_with("NOTIFY_SOCKET=") ||
            overridden(v)) {
            continue;
        }
        env.emplace_back(v);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

exit_status decode(int status)
{
    exit_status s;
    if (WIFEXITED(status)) {
        s.exited = true;
        s.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        s.signal = WTERMSIG(status);
    }
    return s;
}

}  // namespace

child::child(std::vector<std::string> argv, const std::vector<std::string>& extra_env)
{
    // Everything the child touches between fork and exec is prepared here.
    std::vector<char*> args;
    for (auto& a : argv) {
        args.push_back(a.data());
    }
    args.push_back(nullptr);
    std::vector<std::string> env_s = child_env(extra_env);
    std::vector<char*> envp;
    for (auto& e : env_s) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        throw sys_error("pipe2");
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
        ::close(out[0]);
        ::close(out[1]);
        throw sys_error("pipe2");
    }
    pid_ = ::fork();
    if (pid_ < 0) {
        for (int fd : {out[0], out[1], err[0], err[1]}) {
            ::close(fd);
        }
        throw sys_error("fork");
    }
    if (pid_ == 0) {
        // Child: async-signal-safe calls only.
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(err[1], STDERR_FILENO);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, STDIN_FILENO);
        }
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::signal(SIGINT, SIG_DFL);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    reader_ = std::thread([this, o = out[0], e = err[0]] { reader_loop(o, e); });
}

child::~child()
{
    stop();
    if (reader_.joinable()) {
        reader_.detach();  // only when the pipes outlived the child (never in practice)
    }
}

void child::reader_loop(int out_fd, int err_fd)
{
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open = 2;
    char buf[16384];
    while (open > 0) {
        int n = ::poll(fds, 2, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            auto r = ::read(fds[i].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
                continue;
            }
            std::lock_guard lock(mutex_);
            (i == 0 ? out_ : err_).append(buf, static_cast<std::size_t>(r));
            changed_.notify_all();
        }
    }
    for (auto& f : fds) {
        if (f.fd >= 0) {
            ::close(f.fd);
        }
    }
    std::lock_guard lock(mutex_);
    eof_ = true;
    changed_.notify_all();
}

std::string child::out() const
{
    std::lock_guard lock(mutex_);
    return out_;
}

std::string child::err() const
{
    std::lock_guard lock(mutex_);
    return err_;
}

bool child::wait_for(std::string_view needle, ms timeout, bool in_stdout) const
{
    std::unique_lock lock(mutex_);
    const auto& s = in_stdout ? out_ : err_;
    return changed_.wait_for(lock, timeout, [&] {
        return s.find(needle) != std::string::npos || eof_;
    }) && s.find(needle) != std::string::npos;
}

void child::signal(int sig)
{
    if (pid_ > 0 && !exit_) {
        ::kill(pid_, sig);
    }
}

std::optional<exit_status> child::wait_exit(ms timeout)
{
    if (exit_ || pid_ <= 0) {
        return exit_;
    }
    const auto deadline = steady::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_ = decode(status);
            break;
        }
        if (r < 0 && errno != EINTR) {
            exit_ = exit_status{};
            break;
        }
        if (steady::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(5ms);
    }
    if (reader_.joinable()) {
        // The pipes close with the child (nothing else holds them: O_CLOEXEC everywhere);
        // let the reader catch up with the last lines it wrote.
        std::unique_lock lock(mutex_);
        bool done = changed_.wait_for(lock, 3s, [this] { return eof_; });
        lock.unlock();
        if (done) {
            reader_.join();
        }
    }
    return exit_;
}

exit_status child::stop(ms grace)
{
    if (pid_ <= 0) {
        return {};
    }
    if (!exit_) {
        ::kill(pid_, grace.count() > 0 ? SIGTERM : SIGKILL);
        if (!wait_exit(grace)) {
            ::kill(pid_, SIGKILL);
            wait_exit(10s);
        }
    }
    return exit_.value_or(exit_status{});
}

program_result run_program(const std::vector<std::string>& argv, ms timeout,
                           const std::vector<std::string>& extra_env)
{
    const auto start = steady::now();
    child c(argv, extra_env);
    program_result r;
    r.status = c.wait_exit(timeout);
    if (!r.status) {
        c.stop(0ms);
    }
    r.out = c.out();
    r.err = c.err();
    r.seconds = seconds_since(start);
    return r;
}

std::string sanitizer_report(std::string_view log)
{
    std::size_t at = std::string_view::npos;
    for (const char* marker :
         {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
        at = std::min(at, log.find(marker));
    }
    if (at == std::string_view::npos) {
        return {};
    }
    auto line = log.rfind('\n', at);
    line = line == std::string_view::npos ? 0 : line + 1;
    return std::string(log.substr(line, 4096));
}

}  // namespace ogp::test
