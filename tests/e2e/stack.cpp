#include "stack.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ogp::e2e {
namespace {

std::runtime_error sys_error(const std::string& what)
{
    return std::runtime_error(what + ": " + std::strerror(errno));
}

int remaining_ms(steady::time_point deadline)
{
    auto left = std::chrono::duration_cast<ms>(deadline - steady::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

std::string lower(std::string_view s)
{
    std::string o(s);
    for (auto& c : o) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return o;
}

std::string trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

// Our environment without the variables that would change a child's configuration.
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

int decode_status(int status)
{
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

// Sends all of `bytes` within `deadline`; false on error or timeout.
bool send_all(int fd, std::string_view bytes, steady::time_point deadline)
{
    while (!bytes.empty()) {
        pollfd p{fd, POLLOUT, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

int connect_loopback(std::uint16_t port, int rcvbuf = 0)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw sys_error("socket");
    }
    if (rcvbuf > 0) {
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        throw sys_error("connect to 127.0.0.1:" + std::to_string(port));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

}  // namespace

double seconds_since(steady::time_point start)
{
    return std::chrono::duration<double>(steady::now() - start).count();
}

std::string printable(std::string_view bytes, std::size_t max)
{
    std::string out;
    for (char c : bytes) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n\n";
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
            out += hex;
        } else {
            out += c;
        }
    }
    return out;
}

// ---- temp_dir ----------------------------------------------------------------------------

temp_dir::temp_dir()
{
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ogp-e2e-XXXXXX";
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
    {
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!f) {
            throw std::runtime_error("cannot write " + p);
        }
    }
    ::chmod(p.c_str(), 0600);
    return p;
}

// ---- child -------------------------------------------------------------------------------

child::child(std::vector<std::string> argv, const std::vector<std::string>& extra_env)
{
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
    return changed_.wait_for(lock, timeout, [&] {
        const auto& s = in_stdout ? out_ : err_;
        return s.find(needle) != std::string::npos || eof_;
    }) && (in_stdout ? out_ : err_).find(needle) != std::string::npos;
}

std::optional<int> child::wait_exit(ms timeout)
{
    if (exit_code_) {
        return exit_code_;
    }
    const auto deadline = steady::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            exit_code_ = decode_status(status);
            break;
        }
        if (r < 0 && errno != EINTR) {
            exit_code_ = -1;
            break;
        }
        if (steady::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(5ms);
    }
    if (reader_.joinable()) {
        // The pipes close with the child (nothing else holds them: O_CLOEXEC everywhere).
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, 3s, [this] { return eof_; });
        bool done = eof_;
        lock.unlock();
        if (done) {
            reader_.join();
        } else {
            reader_.detach();  // never happens in practice; do not hang the test
        }
    }
    return exit_code_;
}

int child::stop(ms grace)
{
    if (pid_ <= 0) {
        return -1;
    }
    if (!exit_code_) {
        ::kill(pid_, SIGTERM);
        if (!wait_exit(grace)) {
            ::kill(pid_, SIGKILL);
            wait_exit(10s);
        }
    }
    return exit_code_.value_or(-1);
}

program_result run_program(const std::vector<std::string>& argv, ms timeout,
                           const std::vector<std::string>& extra_env)
{
    const auto start = steady::now();
    child c(argv, extra_env);
    program_result r;
    r.exit_code = c.wait_exit(timeout);
    if (!r.exit_code) {
        c.stop(0ms);
    }
    r.out = c.out();
    r.err = c.err();
    r.seconds = seconds_since(start);
    return r;
}

// ---- mock ----------------------------------------------------------------------------------

mock::mock(const std::vector<std::string>& extra_args)
{
    const std::string ready = dir_.path() + "/ready";
    std::vector<std::string> argv{OGP_MOCK_PATH, "--ready-file", ready, "--ca-out",
                                  dir_.path() + "/ca.pem"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    proc_ = std::make_unique<child>(argv);
    const auto deadline = steady::now() + 20s;
    while (!std::filesystem::exists(ready)) {
        if (proc_->wait_exit(0ms) || steady::now() >= deadline) {
            throw std::runtime_error("oci-genai-mock did not become ready:\n" + proc_->out() +
                                     proc_->err());
        }
        std::this_thread::sleep_for(10ms);
    }
    std::ifstream in(ready);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        std::string k = line.substr(0, eq);
        std::string v = line.substr(eq + 1);
        if (k == "OGP_METADATA_URL") {
            metadata_url_ = v;
        } else if (k == "OGP_FEDERATION_URL") {
            federation_url_ = v;
        } else if (k == "OGP_ENDPOINT") {
            endpoint_ = v;
        } else if (k == "OGP_CA_FILE") {
            ca_file_ = v;
        }
    }
    auto colon = endpoint_.rfind(':');
    if (metadata_url_.empty() || federation_url_.empty() || ca_file_.empty() ||
        !endpoint_.starts_with("https://127.0.0.1:") || colon == std::string::npos) {
        throw std::runtime_error("oci-genai-mock ready file incomplete");
    }
    port_ = static_cast<std::uint16_t>(std::stoul(endpoint_.substr(colon + 1)));
}

mock_stats mock::stats()
{
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr || SSL_CTX_load_verify_locations(ctx, ca_file_.c_str(), nullptr) != 1) {
        SSL_CTX_free(ctx);
        throw std::runtime_error("mock stats: cannot load the mock CA");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int fd = connect_loopback(port_);
    ++stats_calls_;
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    std::string got;
    bool ok = SSL_connect(ssl) == 1;
    if (ok) {
        std::string req = "GET /mock/stats HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                          "\r\nConnection: close\r\n\r\n";
        ok = SSL_write(ssl, req.data(), static_cast<int>(req.size())) ==
             static_cast<int>(req.size());
        char buf[4096];
        for (int n = 0; ok && (n = SSL_read(ssl, buf, sizeof buf)) > 0;) {
            got.append(buf, static_cast<std::size_t>(n));
        }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
    auto at = got.find("\r\n\r\n");
    if (!ok || !got.starts_with("HTTP/1.1 200") || at == std::string::npos) {
        throw std::runtime_error("mock stats: bad answer: " + printable(got));
    }
    std::string body = got.substr(at + 4);
    mock_stats s;
    auto num = [&](const char* ptr) {
        long long v = json_int(body, ptr);
        if (v < 0) {
            throw std::runtime_error(std::string("mock stats: no ") + ptr + " in " + body);
        }
        return static_cast<std::uint64_t>(v);
    };
    s.connections = num("/connections") - stats_calls_;
    s.resumed = num("/resumed");
    s.requests = num("/requests");
    s.chat = num("/chat");
    s.embed = num("/embed");
    s.rejected_signatures = num("/rejected_signatures");
    s.closed_by_client = num("/closed_by_client");
    s.open_connections = num("/open_connections") - 1;
    s.open_used = num("/open_used") - 1;
    s.stale_drops = num("/stale_drops");
    return s;
}

mock_stats mock::wait_stats(const std::function<bool(const mock_stats&)>& pred, ms timeout)
{
    const auto deadline = steady::now() + timeout;
    for (;;) {
        auto s = stats();
        if (pred(s) || steady::now() >= deadline) {
            return s;
        }
        std::this_thread::sleep_for(20ms);
    }
}

// ---- local stand-ins -----------------------------------------------------------------------

std::uint16_t closed_port()
{
    // Bound without listen(): connections are refused at once; deliberately never closed.
    static const std::uint16_t port = [] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            throw sys_error("closed_port");
        }
        return ntohs(addr.sin_port);
    }();
    return port;
}

std::vector<std::string> api_key_credentials::mock_args() const
{
    return {"--api-key", key_id + "=" + public_key_file};
}

api_key_credentials write_api_key_credentials(const temp_dir& dir)
{
    // One RSA key per test process (generation takes a moment).
    struct material
    {
        std::string private_pem;
        std::string public_pem;
        std::string fingerprint;
    };
    static const material m = [] {
        material out;
        EVP_PKEY* key = EVP_RSA_gen(2048);
        if (key == nullptr) {
            throw std::runtime_error("cannot generate an RSA key");
        }
        auto to_string = [](BIO* bio) {
            char* data = nullptr;
            long n = BIO_get_mem_data(bio, &data);
            std::string s(data, static_cast<std::size_t>(n));
            BIO_free(bio);
            return s;
        };
        BIO* priv = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
        out.private_pem = to_string(priv);
        BIO* pub = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(pub, key);
        out.public_pem = to_string(pub);
        unsigned char* der = nullptr;
        int der_len = i2d_PUBKEY(key, &der);
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
        EVP_PKEY_free(key);
        return out;
    }();
    api_key_credentials c;
    const std::string tenancy = "ocid1.tenancy.oc1..e2e";
    const std::string user = "ocid1.user.oc1..e2e";
    const auto key_path = dir.write("oci_api_key.pem", m.private_pem);
    c.public_key_file = dir.write("oci_api_key_public.pem", m.public_pem);
    c.config_file =
        dir.write("oci_config", "[DEFAULT]\nuser=" + user + "\nfingerprint=" + m.fingerprint +
                                    "\ntenancy=" + tenancy +
                                    "\nregion=us-chicago-1\nkey_file=" + key_path + "\n");
    c.key_id = tenancy + "/" + user + "/" + m.fingerprint;
    return c;
}

// ---- daemon --------------------------------------------------------------------------------

proxy::proxy(const mock& m, const daemon_options& o, bool wait_ready)
{
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\n";
    y << "threads: " << o.threads << "\n";
    y << "oci:\n";
    y << "  region: us-chicago-1\n";
    y << "  compartment_id: ocid1.compartment.oc1..e2e\n";
    if (o.api_key_config.empty()) {
        y << "  auth: instance_principal\n";
    } else {
        y << "  auth: api_key\n  config_file: " << o.api_key_config << "\n";
    }
    y << "  endpoint: " << (o.endpoint.empty() ? m.endpoint() : o.endpoint) << "\n";
    if (o.use_ca_file) {
        y << "  ca_file: " << m.ca_file() << "\n";
    }
    // Never the real IMDS or federation: the mock's (loopback).
    y << "  metadata_url: " << m.metadata_url() << "\n";
    y << "  federation_url: " << m.federation_url() << "\n";
    y << "clients:\n  api_keys: [\"" << api_key << "\"]\n";
    y << "models:\n"
         "  - name: gpt-4o-mini\n    id: meta.llama-3.3-70b-instruct\n"
         "  - name: command-r-plus\n    id: cohere.command-r-plus-08-2024\n"
         "  - name: text-embedding-3-small\n    id: cohere.embed-english-v3.0\n"
         "    input_type: SEARCH_DOCUMENT\n"
      << o.models;
    y << "timeouts:\n";
    y << "  upstream_connect: " << o.upstream_connect << "\n";
    y << "  upstream_first_byte: " << o.upstream_first_byte << "\n";
    y << "  upstream_stream_idle: " << o.upstream_stream_idle << "\n";
    y << "  upstream_total: " << o.upstream_total << "\n";
    y << "  write_stall: " << o.write_stall << "\n";
    y << "  drain: 2s\n";
    if (!o.limits.empty()) {
        y << "limits:\n" << o.limits;
    }
    y << "log:\n  level: " << o.log_level << "\n  format: text\n";
    config_ = y.str();
    const auto path = dir_.write("config.yaml", config_);

    proc_ = std::make_unique<child>(std::vector<std::string>{OGP_DAEMON_PATH, "--config", path});
    static constexpr std::string_view marker = "listening on 127.0.0.1:";
    const auto start_timeout = asan_build ? 40s : 20s;
    if (!proc_->wait_for(marker, start_timeout)) {
        proc_->stop(1s);
        throw std::runtime_error("the daemon did not start listening:\n" + proc_->err() +
                                 "\nconfig:\n" + config_);
    }
    // The port: digits after the marker (wait until the line is complete).
    const auto deadline = steady::now() + 5s;
    for (;;) {
        std::string log = proc_->err();
        auto at = log.find(marker) + marker.size();
        auto end = at;
        while (end < log.size() && std::isdigit(static_cast<unsigned char>(log[end]))) {
            ++end;
        }
        if (end > at && end < log.size()) {
            port_ = static_cast<std::uint16_t>(std::stoul(log.substr(at, end - at)));
            break;
        }
        if (steady::now() >= deadline) {
            throw std::runtime_error("cannot read the daemon port:\n" + log);
        }
        std::this_thread::sleep_for(5ms);
    }
    if (!wait_ready) {
        return;
    }
    const auto ready_deadline = steady::now() + start_timeout;
    for (;;) {
        try {
            client c(port_);
            if (c.request("GET", "/readyz", {}, 5s, false).status == 200) {
                return;
            }
        } catch (const std::exception&) {
            // not yet
        }
        if (steady::now() >= ready_deadline) {
            throw std::runtime_error("the daemon did not become ready:\n" + proc_->err());
        }
        std::this_thread::sleep_for(20ms);
    }
}

proxy::~proxy()
{
    proc_->stop(5s);
    const std::string log = proc_->err();
    if (std::getenv("OGP_E2E_VERBOSE") != nullptr) {
        std::fprintf(stderr, "---- daemon log ----\n%s---- end ----\n", log.c_str());
    }
    for (const char* marker :
         {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
        auto at = log.find(marker);
        if (at != std::string::npos && std::uncaught_exceptions() == 0) {
            FAIL_CHECK("sanitizer report in the daemon's stderr:\n" + log.substr(at, 4000));
            break;
        }
    }
}

std::string proxy::base_url() const
{
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

std::size_t proxy::rss_kib() const
{
    std::ifstream in("/proc/" + std::to_string(proc_->pid()) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("VmRSS:")) {
            return std::stoul(line.substr(6));
        }
    }
    return 0;
}

bool proxy::wait_log(std::string_view needle, ms timeout) const
{
    return proc_->wait_for(needle, timeout);
}

std::size_t proxy::log_count(std::string_view needle) const
{
    const std::string log = proc_->err();
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

// ---- response and client -------------------------------------------------------------------

std::optional<std::string> response::header(std::string_view name) const
{
    const std::string l = lower(name);
    for (const auto& [k, v] : headers) {
        if (k == l) {
            return v;
        }
    }
    return std::nullopt;
}

std::vector<std::string> response::sse_data() const
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto end = body.find('\n', pos);
        std::string_view line(body.data() + pos,
                              (end == std::string::npos ? body.size() : end) - pos);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.starts_with("data:")) {
            line.remove_prefix(5);
            if (line.starts_with(" ")) {
                line.remove_prefix(1);
            }
            out.emplace_back(line);
        }
        if (end == std::string::npos) {
            break;
        }
        pos = end + 1;
    }
    return out;
}

client::client(std::uint16_t port, int rcvbuf) : fd_(connect_loopback(port, rcvbuf)) {}

client::~client()
{
    close();
}

void client::close()
{
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool client::fill(steady::time_point deadline, bool* eof)
{
    if (eof != nullptr) {
        *eof = false;
    }
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;  // timeout
        }
        char buf[65536];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (n <= 0) {
            if (eof != nullptr) {
                *eof = true;
            }
            return false;
        }
        buf_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
}

void client::send_request(std::string_view method, std::string_view path, std::string_view body,
                          bool auth, std::string_view extra_headers)
{
    std::string req =
        std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (auth) {
        req += "Authorization: Bearer " + std::string(api_key) + "\r\n";
    }
    if (!body.empty() || method == "POST") {
        req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n";
    }
    req += extra_headers;
    req += "\r\n";
    req += body;
    sent_at_ = steady::now();
    if (!send_all(fd_, req, steady::now() + 5s)) {
        throw std::runtime_error("cannot send the request");
    }
}

bool client::read_head(response& r, steady::time_point deadline)
{
    std::size_t end;
    bool eof = false;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill(deadline, &eof)) {
            r.closed = eof;
            return false;
        }
    }
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::istringstream lines(head);
    std::string line;
    std::getline(lines, line);
    if (!line.starts_with("HTTP/1.1 ") || line.size() < 12) {
        throw std::runtime_error("bad status line: " + printable(line));
    }
    r.status = std::stoi(line.substr(9, 3));
    while (std::getline(lines, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        r.headers.emplace_back(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    auto te = r.header("transfer-encoding");
    r.chunked = te && lower(*te).find("chunked") != std::string::npos;
    return true;
}

response client::read_head_and_chunks(std::size_t chunks, ms timeout)
{
    const auto deadline = steady::now() + timeout;
    response r;
    if (!read_head(r, deadline)) {
        throw std::runtime_error(r.closed ? "connection closed before a response"
                                          : "no response head in time");
    }
    if (r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) {
        r.complete = true;
        return r;
    }
    bool eof = false;
    if (!r.chunked) {
        auto cl = r.header("content-length");
        if (!cl) {
            // Until close.
            while (fill(deadline, &eof)) {
            }
            r.body = std::move(buf_);
            buf_.clear();
            r.closed = eof;
            r.complete = eof;
            return r;
        }
        const std::size_t n = std::stoul(*cl);
        while (buf_.size() < n && fill(deadline, &eof)) {
        }
        r.closed = eof;
        r.complete = buf_.size() >= n;
        r.body = buf_.substr(0, std::min(n, buf_.size()));
        buf_.erase(0, r.body.size());
        return r;
    }
    // Chunked: size line, data, CRLF; a zero size ends the body (no trailers expected).
    std::size_t got = 0;
    for (;;) {
        auto eol = buf_.find("\r\n");
        if (eol != std::string::npos) {
            std::size_t size = std::strtoul(buf_.substr(0, eol).c_str(), nullptr, 16);
            if (size == 0) {
                if (buf_.size() >= eol + 4) {
                    buf_.erase(0, eol + 4);  // "0\r\n\r\n"
                    r.complete = true;
                    return r;
                }
            } else if (buf_.size() >= eol + 2 + size + 2) {
                r.body.append(buf_, eol + 2, size);
                buf_.erase(0, eol + 2 + size + 2);
                r.arrivals.push_back(seconds_since(sent_at_));
                if (++got >= chunks) {
                    return r;
                }
                continue;
            }
        }
        if (!fill(deadline, &eof)) {
            r.closed = eof;
            return r;
        }
    }
}

response client::read_response(ms timeout)
{
    return read_head_and_chunks(static_cast<std::size_t>(-1), timeout);
}

response client::request(std::string_view method, std::string_view path, std::string_view body,
                         ms timeout, bool auth, std::string_view extra_headers)
{
    send_request(method, path, body, auth, extra_headers);
    return read_response(timeout);
}

bool client::wait_closed(ms timeout)
{
    const auto deadline = steady::now() + timeout;
    bool eof = false;
    while (fill(deadline, &eof)) {
        buf_.clear();
    }
    return eof;
}

// ---- JSON helpers -------------------------------------------------------------------------

std::string chat_body(std::string_view model, std::string_view prompt, bool stream,
                      std::string_view extra)
{
    // Test prompts are plain ASCII without quotes or backslashes.
    std::string json = "{\"model\":\"" + std::string(model) +
                       "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + std::string(prompt) +
                       "\"}]";
    if (stream) {
        json += ",\"stream\":true";
    }
    if (!extra.empty()) {
        json += ",";
        json += extra;
    }
    json += "}";
    return json;
}

bool json_ok(std::string_view text)
{
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    return !d.HasParseError();
}

std::string json_string(std::string_view text, const char* pointer)
{
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (d.HasParseError()) {
        return {};
    }
    const auto* v = rapidjson::Pointer(pointer).Get(d);
    return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                         : std::string();
}

long long json_int(std::string_view text, const char* pointer)
{
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (d.HasParseError()) {
        return -1;
    }
    const auto* v = rapidjson::Pointer(pointer).Get(d);
    return v != nullptr && v->IsInt64() ? v->GetInt64() : -1;
}

std::string chat_content(std::string_view body)
{
    return json_string(body, "/choices/0/message/content");
}

std::string stream_content(const std::vector<std::string>& events)
{
    std::string out;
    for (const auto& e : events) {
        if (e != "[DONE]") {
            out += json_string(e, "/choices/0/delta/content");
        }
    }
    return out;
}

// ---- silent_listener -------------------------------------------------------------------------

silent_listener::silent_listener()
{
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw sys_error("silent_listener");
    }
    port_ = ntohs(addr.sin_port);
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

}  // namespace ogp::e2e
