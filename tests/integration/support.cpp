#include "support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ogp::it {
namespace {

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

int remaining_ms(steady::time_point deadline)
{
    auto left = std::chrono::duration_cast<ms>(deadline - steady::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

// A poll() timeout for `timeout`: never negative (which would mean "wait forever").
int poll_ms(ms timeout)
{
    return static_cast<int>(std::clamp<long long>(timeout.count(), 0, 60'000));
}

std::runtime_error sys_error(const std::string& what)
{
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// The child's environment: ours without the variables that would change the daemon's
// configuration or notify a real systemd, plus `extra`.
std::vector<std::string> child_env(const std::vector<std::string>& extra)
{
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view v(*e);
        if (v.starts_with("OGP_") || v.starts_with("OCI_") || v.starts_with("NOTIFY_SOCKET=")) {
            continue;
        }
        env.emplace_back(v);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

// Forks and execs the daemon with `args`; stdout and stderr of the child go to the given
// descriptors. Everything the child touches between fork and exec is prepared here.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, int out_fd,
            int err_fd)
{
    std::vector<std::string> argv_s{OGP_DAEMON_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> env_s = env;
    std::vector<char*> envp;
    for (auto& e : env_s) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) {
        throw sys_error("fork");
    }
    if (pid == 0) {
        // Child: async-signal-safe calls only.
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        sigset_t all;
        ::sigemptyset(&all);
        ::sigprocmask(SIG_SETMASK, &all, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
        ::signal(SIGINT, SIG_DFL);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    return pid;
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

// Waits for `pid` until `deadline`; nullopt if it is still running.
std::optional<exit_status> wait_pid(pid_t pid, steady::time_point deadline)
{
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return decode(status);
        }
        if (r < 0 && errno != EINTR) {
            return exit_status{};
        }
        if (steady::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(5ms);
    }
}

std::optional<std::uint16_t> parse_port(const std::string& log)
{
    static constexpr std::string_view marker = "listening on 127.0.0.1:";
    auto at = log.find(marker);
    if (at == std::string::npos) {
        return std::nullopt;
    }
    std::size_t i = at + marker.size();
    std::size_t j = i;
    while (j < log.size() && std::isdigit(static_cast<unsigned char>(log[j]))) {
        ++j;
    }
    if (j == i || j == log.size()) {
        return std::nullopt;  // the number may not be complete yet
    }
    return static_cast<std::uint16_t>(std::stoul(log.substr(i, j - i)));
}

}  // namespace

double seconds_since(steady::time_point start)
{
    return std::chrono::duration<double>(steady::now() - start).count();
}

// ---- temp_dir ----------------------------------------------------------------------------

temp_dir::temp_dir()
{
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ogp-it-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw sys_error("mkdtemp");
    }
    path_ = tmpl;
}

temp_dir::~temp_dir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::write(std::string_view name, std::string_view content) const
{
    std::string p = path_ + "/" + std::string(name);
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!f) {
        throw std::runtime_error("cannot write " + p);
    }
    return p;
}

// ---- local OCI stand-ins --------------------------------------------------------------------

std::uint16_t closed_loopback_port()
{
    // Bound without listen(): the kernel refuses connections, and no other process can take
    // the port while we hold it. Deliberately never closed.
    static const std::uint16_t port = [] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            throw sys_error("closed_loopback_port");
        }
        return ntohs(addr.sin_port);
    }();
    return port;
}

namespace {

// An RSA key in PEM and its OCI fingerprint (MD5 of the public key DER, colon-separated).
struct key_material
{
    std::string pem;
    std::string fingerprint;
};

// Loads the RSA key cached by an earlier test process, or generates and caches one (key
// generation costs ~0.4 s, and every ctest test is a process of its own).
EVP_PKEY* cached_or_new_key()
{
    const char* base = std::getenv("TMPDIR");
    const std::string cache = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                              "/ogp-it-rsa-" + std::to_string(::getuid()) + ".pem";
    std::ifstream in(cache, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    const std::string text = pem.str();
    if (!text.empty()) {
        BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        if (key != nullptr) {
            return key;
        }
    }
    EVP_PKEY* key = EVP_RSA_gen(2048);
    if (key == nullptr) {
        throw std::runtime_error("cannot generate the test RSA key");
    }
    // Publish atomically: concurrent test processes may race to create the cache.
    const std::string tmp = cache + "." + std::to_string(::getpid());
    if (FILE* f = std::fopen(tmp.c_str(), "wb")) {
        ::fchmod(::fileno(f), 0600);
        bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
        ok = std::fclose(f) == 0 && ok;
        if (!ok || std::rename(tmp.c_str(), cache.c_str()) != 0) {
            std::remove(tmp.c_str());
        }
    }
    return key;
}

const key_material& test_key_material()
{
    static const key_material m = [] {
        key_material out;
        EVP_PKEY* key = cached_or_new_key();
        BIO* bio = BIO_new(BIO_s_mem());
        unsigned char* der = nullptr;
        int der_len = i2d_PUBKEY(key, &der);
        if (bio == nullptr || der_len <= 0 ||
            PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
            throw std::runtime_error("cannot encode the test RSA key");
        }
        char* data = nullptr;
        long n = BIO_get_mem_data(bio, &data);
        out.pem.assign(data, static_cast<std::size_t>(n));
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        EVP_Digest(der, static_cast<std::size_t>(der_len), md, &md_len, EVP_md5(), nullptr);
        static constexpr char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < md_len; ++i) {
            if (i > 0) {
                out.fingerprint += ':';
            }
            out.fingerprint += hex[md[i] >> 4];
            out.fingerprint += hex[md[i] & 15];
        }
        OPENSSL_free(der);
        BIO_free(bio);
        EVP_PKEY_free(key);
        return out;
    }();
    return m;
}

}  // namespace

std::string write_oci_credentials(const temp_dir& dir)
{
    const auto& k = test_key_material();
    const auto key_path = dir.write("oci_api_key.pem", k.pem);
    ::chmod(key_path.c_str(), 0600);
    const auto path = dir.write("oci_config",
                                "[DEFAULT]\n"
                                "user=ocid1.user.oc1..test\n"
                                "fingerprint=" +
                                    k.fingerprint +
                                    "\n"
                                    "tenancy=ocid1.tenancy.oc1..test\n"
                                    "region=us-chicago-1\n"
                                    "key_file=" +
                                    key_path + "\n");
    ::chmod(path.c_str(), 0600);
    return path;
}

// ---- daemon_config -----------------------------------------------------------------------

std::string daemon_config::yaml() const
{
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\n";
    y << "threads: " << threads << "\n";
    const std::string local = "127.0.0.1:" + std::to_string(closed_loopback_port());
    y << "oci:\n  compartment_id: ocid1.compartment.oc1..test\n";
    y << "  endpoint: https://127.0.0.1:"
      << (upstream_port != 0 ? upstream_port : closed_loopback_port()) << "\n";
    y << "  metadata_url: http://" << local << "/opc/v2\n";
    y << "  federation_url: https://" << local << "\n";
    if (!oci_config_file.empty()) {
        y << "  auth: api_key\n  config_file: " << oci_config_file << "\n";
    }
    // Credentials are fetched at start-up: keep IMDS and federation on loopback (nothing listens).
    y << "  metadata_url: http://127.0.0.1:9/opc/v2\n  federation_url: https://127.0.0.1:9\n";
    y << "clients:\n";
    if (!api_keys.empty()) {
        y << "  api_keys:\n";
        for (const auto& k : api_keys) {
            y << "    - \"" << k << "\"\n";
        }
    }
    y << "  allow_anonymous: " << (allow_anonymous ? "true" : "false") << "\n";
    y << "timeouts:\n";
    y << "  request_header: " << request_header << "\n";
    y << "  request_body: " << request_body << "\n";
    y << "  keepalive_idle: " << keepalive_idle << "\n";
    y << "  drain: " << drain << "\n";
    y << "  upstream_connect: " << upstream_connect << "\n";
    y << "limits:\n";
    y << "  max_body_bytes: " << max_body_bytes << "\n";
    if (max_connections) {
        y << "  max_connections: " << *max_connections << "\n";
    }
    if (max_requests_per_connection) {
        y << "  max_requests_per_connection: " << *max_requests_per_connection << "\n";
    }
    y << limits_extra;
    y << "log:\n  level: " << log_level << "\n";
    y << extra;
    return y.str();
}

// ---- run_daemon --------------------------------------------------------------------------

run_result run_daemon(const std::vector<std::string>& args, ms timeout,
                      const std::vector<std::string>& extra_env)
{
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
    pid_t pid = spawn(args, child_env(extra_env), out[1], err[1]);
    ::close(out[1]);
    ::close(err[1]);

    run_result r;
    const auto deadline = steady::now() + timeout;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open = 2;
    while (open > 0) {
        int n = ::poll(fds, 2, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;  // timeout
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            char chunk[4096];
            ssize_t got = ::read(fds[i].fd, chunk, sizeof chunk);
            if (got > 0) {
                sinks[i]->append(chunk, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open;
            }
        }
    }
    r.status = wait_pid(pid, std::max(deadline, steady::now() + 100ms));
    if (!r.status) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    for (auto& f : fds) {
        if (f.fd >= 0) {
            ::close(f.fd);
        }
    }
    return r;
}

// ---- daemon_process ----------------------------------------------------------------------

daemon_process::daemon_process(const daemon_config& cfg, const std::vector<std::string>& extra_env,
                               ms start_timeout)
{
    daemon_config local = cfg;
    if (local.oci_config_file.empty()) {
        local.oci_config_file = write_oci_credentials(dir_);
    }
    config_path_ = dir_.write("config.yaml", local.yaml());
    int err[2];
    if (::pipe2(err, O_CLOEXEC) != 0) {
        throw sys_error("pipe2");
    }
    int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    try {
        pid_ = spawn({"--config", config_path_}, child_env(extra_env), null_fd, err[1]);
    } catch (...) {
        ::close(err[0]);
        ::close(err[1]);
        ::close(null_fd);
        throw;
    }
    ::close(err[1]);
    ::close(null_fd);
    reader_ = std::thread([this, fd = err[0]] { reader_loop(fd); });

    // Wait for the listening line (or an early exit).
    std::unique_lock lock(mutex_);
    const auto deadline = steady::now() + start_timeout;
    std::optional<std::uint16_t> port;
    changed_.wait_until(lock, deadline, [&] {
        port = parse_port(stderr_);
        return port.has_value() || stderr_eof_;
    });
    if (port) {
        port_ = *port;
        return;
    }
    std::string log = stderr_;
    lock.unlock();
    ::kill(pid_, SIGKILL);
    exit_ = wait_pid(pid_, steady::now() + 5s);
    reader_.join();
    throw std::runtime_error("daemon did not start listening; stderr:\n" + log);
}

daemon_process::~daemon_process()
{
    if (!exit_) {
        ::kill(pid_, SIGKILL);
        exit_ = wait_pid(pid_, steady::now() + 10s);
    }
    if (reader_.joinable()) {
        reader_.join();
    }
    // A sanitizer report from the daemon fails the test that ran it.
    if (std::uncaught_exceptions() == 0) {
        if (auto report = sanitizer_report(); !report.empty()) {
            FAIL_CHECK("sanitizer report in the daemon's stderr:\n" << report);
        }
    }
}

std::string daemon_process::sanitizer_report() const
{
    std::lock_guard lock(mutex_);
    std::size_t at = std::string::npos;
    for (const char* marker :
         {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
        at = std::min(at, stderr_.find(marker));
    }
    if (at == std::string::npos) {
        return {};
    }
    auto line = stderr_.rfind('\n', at);
    line = line == std::string::npos ? 0 : line + 1;
    return stderr_.substr(line, 4096);
}

void daemon_process::reader_loop(int fd)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        std::lock_guard lock(mutex_);
        if (n <= 0) {
            stderr_eof_ = true;
            changed_.notify_all();
            break;
        }
        stderr_.append(chunk, static_cast<std::size_t>(n));
        changed_.notify_all();
    }
    ::close(fd);
}

void daemon_process::stop(int sig)
{
    if (!exit_) {
        ::kill(pid_, sig);
    }
}

std::optional<exit_status> daemon_process::wait_exit(ms timeout)
{
    if (!exit_) {
        exit_ = wait_pid(pid_, steady::now() + timeout);
        if (exit_) {
            // Let the reader catch up with the last lines the daemon wrote.
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, 2s, [&] { return stderr_eof_; });
        }
    }
    return exit_;
}

std::string daemon_process::captured_stderr() const
{
    std::lock_guard lock(mutex_);
    return stderr_;
}

bool daemon_process::wait_for_log(std::string_view needle, ms timeout) const
{
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
        return stderr_.find(needle) != std::string::npos || stderr_eof_;
    }) && stderr_.find(needle) != std::string::npos;
}

std::size_t daemon_process::rss_kib() const
{
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.starts_with("VmRSS:")) {
            return std::strtoull(line.c_str() + 6, nullptr, 10);
        }
    }
    return 0;
}

// ---- http_response -----------------------------------------------------------------------

std::optional<std::string> http_response::header(std::string_view name) const
{
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) {
            return v;
        }
    }
    return std::nullopt;
}

bool http_response::connection_close() const
{
    auto c = header("connection");
    if (!c) {
        return false;
    }
    std::string v = *c;
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return v.find("close") != std::string::npos;
}

// ---- raw_client --------------------------------------------------------------------------

namespace {

int connect_loopback(std::uint16_t port, ms timeout)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno != EINPROGRESS) {
            ::close(fd);
            return -1;
        }
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, poll_ms(timeout)) != 1 ||
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            ::close(fd);
            return -1;
        }
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

}  // namespace

raw_client::raw_client(std::uint16_t port, ms connect_timeout)
    : fd_(connect_loopback(port, connect_timeout))
{
    if (fd_ < 0) {
        throw sys_error("connect to 127.0.0.1:" + std::to_string(port));
    }
}

raw_client::~raw_client()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool raw_client::can_connect(std::uint16_t port, ms timeout)
{
    int fd = connect_loopback(port, timeout);
    if (fd < 0) {
        return false;
    }
    ::close(fd);
    return true;
}

bool raw_client::send(std::string_view bytes)
{
    const auto deadline = steady::now() + 5s;
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_, POLLOUT, 0};
            if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
                return false;
            }
            if ((p.revents & (POLLERR | POLLHUP)) != 0 && (p.revents & POLLOUT) == 0) {
                return false;
            }
            continue;
        }
        return false;
    }
    return true;
}

bool raw_client::send_slowly(std::string_view bytes, std::size_t piece, ms delay)
{
    while (!bytes.empty()) {
        auto n = std::min(piece, bytes.size());
        if (!send(bytes.substr(0, n))) {
            return false;
        }
        bytes.remove_prefix(n);
        if (!bytes.empty()) {
            std::this_thread::sleep_for(delay);
        }
    }
    return true;
}

void raw_client::shutdown_write()
{
    ::shutdown(fd_, SHUT_WR);
}

long raw_client::fill(steady::time_point deadline)
{
    for (;;) {
        char chunk[64 * 1024];
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n > 0) {
            buf_.append(chunk, static_cast<std::size_t>(n));
            return n;
        }
        if (n == 0) {
            return 0;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return 0;  // reset or other error: the peer is gone
        }
        pollfd p{fd_, POLLIN, 0};
        int left = remaining_ms(deadline);
        if (left == 0) {
            return -1;
        }
        int r = ::poll(&p, 1, left);
        if (r == 0) {
            return -1;
        }
        if (r < 0 && errno != EINTR) {
            return 0;
        }
    }
}

std::optional<http_response> raw_client::read_response(ms timeout, bool head_request)
{
    const auto deadline = steady::now() + timeout;
    for (;;) {
        auto end = buf_.find("\r\n\r\n");
        if (end != std::string::npos) {
            http_response r;
            std::string_view head(buf_.data(), end + 2);
            auto eol = head.find("\r\n");
            std::string_view line = head.substr(0, eol);
            auto sp1 = line.find(' ');
            if (sp1 == std::string_view::npos) {
                return std::nullopt;
            }
            r.version = std::string(line.substr(0, sp1));
            auto sp2 = line.find(' ', sp1 + 1);
            r.status = std::atoi(std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)).c_str());
            if (sp2 != std::string_view::npos) {
                r.reason = std::string(line.substr(sp2 + 1));
            }
            std::size_t pos = eol + 2;
            while (pos < head.size()) {
                auto e = head.find("\r\n", pos);
                std::string_view f = head.substr(pos, e - pos);
                pos = e + 2;
                auto colon = f.find(':');
                if (colon == std::string_view::npos) {
                    continue;
                }
                std::string_view v = f.substr(colon + 1);
                while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
                    v.remove_prefix(1);
                }
                while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
                    v.remove_suffix(1);
                }
                r.headers.emplace_back(std::string(f.substr(0, colon)), std::string(v));
            }
            std::size_t body_len = 0;
            bool no_body = head_request || (r.status >= 100 && r.status < 200) || r.status == 204 ||
                           r.status == 304;
            if (!no_body) {
                if (auto cl = r.header("content-length")) {
                    body_len = std::strtoull(cl->c_str(), nullptr, 10);
                }
            }
            const std::size_t total = end + 4 + body_len;
            while (buf_.size() < total) {
                if (fill(deadline) <= 0) {
                    return std::nullopt;
                }
            }
            r.body = buf_.substr(end + 4, body_len);
            buf_.erase(0, total);
            return r;
        }
        if (fill(deadline) <= 0) {
            return std::nullopt;
        }
    }
}

std::string raw_client::read_until_eof(ms timeout, bool* closed)
{
    const auto deadline = steady::now() + timeout;
    long r = 1;
    while (r > 0) {
        r = fill(deadline);
    }
    if (closed != nullptr) {
        *closed = r == 0;
    }
    std::string out = std::move(buf_);
    buf_.clear();
    return out;
}

bool raw_client::is_closed(ms timeout)
{
    bool closed = false;
    auto extra = read_until_eof(timeout, &closed);
    return closed && extra.empty();
}

bool raw_client::readable(ms timeout)
{
    if (!buf_.empty()) {
        return true;
    }
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, poll_ms(timeout)) > 0;
}

// ---- silent_upstream ---------------------------------------------------------------------

silent_upstream::silent_upstream()
{
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        throw sys_error("silent_upstream");
    }
    port_ = ntohs(addr.sin_port);
}

silent_upstream::~silent_upstream()
{
    for (int fd : accepted_) {
        ::close(fd);
    }
    ::close(fd_);
}

std::size_t silent_upstream::wait_connections(std::size_t want, ms timeout)
{
    const auto deadline = steady::now() + timeout;
    while (accepted_.size() < want) {
        int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
            accepted_.push_back(fd);
            continue;
        }
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
            break;
        }
    }
    return accepted_.size();
}

// ---- notify_listener ---------------------------------------------------------------------

notify_listener::notify_listener(const std::string& path) : path_(path)
{
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw sys_error("socket(AF_UNIX)");
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
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

// ---- request builders --------------------------------------------------------------------

exchange_result exchange_once(std::uint16_t port, std::string_view bytes, ms timeout,
                              ms close_timeout)
{
    raw_client c(port);
    c.send(bytes);
    exchange_result r;
    r.response = c.read_response(timeout);
    if (r.response) {
        r.closed_after = c.is_closed(close_timeout);
    }
    return r;
}

void check_refused(std::uint16_t port, std::string_view bytes, std::initializer_list<int> statuses)
{
    INFO("request: " << printable(bytes));
    auto r = exchange_once(port, bytes);
    REQUIRE(r.response.has_value());
    INFO("response: " << r.response->status << " " << printable(r.response->body));
    CHECK(std::find(statuses.begin(), statuses.end(), r.response->status) != statuses.end());
    CHECK(r.response->connection_close());
    CHECK(is_openai_error(r.response->body));
    CHECK(r.response->header("content-type") == std::string("application/json"));
    CHECK(r.response->header("x-request-id").has_value());
    CHECK(r.closed_after);
}

std::optional<http_response> check_accepted(raw_client& c, std::string_view request)
{
    INFO("request: " << printable(request));
    static const std::string probe = get_request("/healthz", "X-Request-Id: accepted-probe\r\n");
    if (!c.send(std::string(request) + probe)) {
        FAIL_CHECK("send failed");
        return std::nullopt;
    }
    auto first = c.read_response();
    if (!first) {
        FAIL_CHECK("no response to the request");
        return std::nullopt;
    }
    INFO("response: " << first->status << " " << printable(first->body));
    CHECK_FALSE(first->connection_close());
    CHECK(first->status != 408);
    CHECK(first->status != 413);
    auto second = c.read_response();
    if (!second) {
        FAIL_CHECK("no response to the GET /healthz behind the request");
        return std::nullopt;
    }
    CHECK(second->status == 200);
    CHECK(second->header("x-request-id") == std::string("accepted-probe"));
    CHECK(second->body == R"({"status":"ok"})");
    return first;
}

bool is_openai_error(std::string_view body)
{
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error")) {
        return false;
    }
    const auto& e = doc["error"];
    if (!e.IsObject()) {
        return false;
    }
    for (const char* key : {"message", "type", "param", "code"}) {
        if (!e.HasMember(key)) {
            return false;
        }
    }
    return e["message"].IsString() && e["message"].GetStringLength() > 0 && e["type"].IsString() &&
           e["type"].GetStringLength() > 0 && (e["param"].IsNull() || e["param"].IsString()) &&
           (e["code"].IsNull() || e["code"].IsString());
}

std::string printable(std::string_view bytes, std::size_t max)
{
    std::string out;
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        if (out.size() >= max) {
            out += "...(" + std::to_string(bytes.size()) + " bytes)";
            break;
        }
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c >= 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

std::string chat_head(std::string_view extra, std::string_view version)
{
    std::string r = "POST /v1/chat/completions ";
    r += version;
    r += "\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ";
    r += test_key;
    r += "\r\nContent-Type: application/json\r\n";
    r += extra;
    r += "\r\n";
    return r;
}

std::string get_request(std::string_view target, std::string_view extra)
{
    std::string r = "GET ";
    r += target;
    r += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    r += extra;
    r += "\r\n";
    return r;
}

std::string post_request(std::string_view target, std::string_view body, std::string_view extra)
{
    std::string r = "POST ";
    r += target;
    r += " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ";
    r += test_key;
    r += "\r\nContent-Type: application/json\r\nContent-Length: ";
    r += std::to_string(body.size());
    r += "\r\n";
    r += extra;
    r += "\r\n";
    r += body;
    return r;
}

}  // namespace ogp::it
