#include "support/stack.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"

namespace ogp::test {
namespace {

std::string proxy_yaml(const mock& m, const daemon_options& o)
{
    std::ostringstream y;
    y << "listen: 127.0.0.1:0\n";
    y << "threads: " << o.threads << "\n";
    y << "oci:\n";
    y << "  region: us-chicago-1\n";
    y << "  compartment_id: ocid1.compartment.oc1..e2e\n";
    if (!o.auth.empty()) {
        y << "  auth: " << o.auth << "\n";
    } else if (o.api_key_config.empty()) {
        y << "  auth: instance_principal\n";
    } else {
        y << "  auth: api_key\n  config_file: " << o.api_key_config << "\n";
    }
    if (!o.genai_api_key.empty()) {
        y << "  genai_api_key_file: " << m.dir().write("genai_api_key", o.genai_api_key) << "\n";
    }
    if (!o.project_id.empty()) {
        y << "  project_id: " << o.project_id << "\n";
    }
    y << o.oci_extra;
    y << "  endpoint: " << (o.endpoint.empty() ? m.endpoint() : o.endpoint) << "\n";
    if (o.use_ca_file) {
        y << "  ca_file: " << m.ca_file() << "\n";
    }
    // Never the real IMDS or federation: the mock's (loopback).
    y << "  metadata_url: " << m.metadata_url() << "\n";
    y << "  federation_url: " << m.federation_url() << "\n";
    y << "clients:\n  api_keys:";
    if (o.api_keys.empty()) {
        y << " []";
    }
    y << "\n";
    for (const auto& k : o.api_keys) {
        y << "    - \"" << k << "\"\n";
    }
    if (!o.api_keys_file.empty()) {
        y << "  api_keys_file: " << o.api_keys_file << "\n";
    }
    y << o.clients_extra;
    y << "models:\n";
    if (o.native_aliases) {
        y << "  - name: gpt-4o-mini\n    id: meta.llama-3.3-70b-instruct\n"
             "  - name: command-r-plus\n    id: cohere.command-r-plus-08-2024\n"
             "  - name: text-embedding-3-small\n    id: cohere.embed-english-v3.0\n"
             "    input_type: SEARCH_DOCUMENT\n";
    }
    y << o.models;
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
    y << "log:\n  level: " << o.log_level << "\n  format: " << o.log_format << "\n";
    y << o.log_extra;
    y << o.extra;
    return y.str();
}

constexpr ms start_timeout = asan_build ? 40s : 20s;

}  // namespace

std::string proxy_config(const mock& m, const daemon_options& o)
{
    return proxy_yaml(m, o);
}

const char* mock_path()
{
    return OGP_MOCK_PATH;
}

// ---- mock ----------------------------------------------------------------------------------

mock::mock(const std::vector<std::string>& extra_args)
{
    const std::string ready = dir_.path() + "/ready";
    std::vector<std::string> argv{mock_path(), "--ready-file", ready, "--ca-out",
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
        } else if (k.size() > 12 && k.size() <= 14 && k.starts_with("OGP_ENDPOINT") &&
                   k.find_first_not_of("0123456789", 12) == std::string::npos) {
            // OGP_ENDPOINT<n>: the extra listener n (--extra-inference).
            const std::size_t n = std::stoul(k.substr(12));
            if (n == 0 || n > 64) {
                throw std::runtime_error("oci-genai-mock ready file: bad key " + k);
            }
            if (endpoints_.size() < n + 1) {
                endpoints_.resize(n + 1);
            }
            endpoints_[n] = v;
        }
    }
    if (endpoints_.empty()) {
        endpoints_.resize(1);
    }
    endpoints_[0] = endpoint_;
    if (metadata_url_.empty() || federation_url_.empty() || ca_file_.empty()) {
        throw std::runtime_error("oci-genai-mock ready file incomplete");
    }
    for (const auto& e : endpoints_) {
        auto colon = e.rfind(':');
        if (!e.starts_with("https://127.0.0.1:") || colon == std::string::npos) {
            throw std::runtime_error("oci-genai-mock ready file: bad or missing endpoint '" + e +
                                     "'");
        }
        ports_.push_back(static_cast<std::uint16_t>(std::stoul(e.substr(colon + 1))));
    }
    calls_.assign(endpoints_.size(), 0);
    port_ = ports_[0];
}

std::pair<unsigned, std::string> mock::call(std::size_t i, std::string_view method,
                                            std::string_view path, std::string_view body,
                                            bool need_200)
{
    const std::uint16_t port = ports_.at(i);
    int fd = connect_loopback(port, 5s);
    if (fd < 0) {
        throw sys_error("mock " + std::string(path) + ": connect");
    }
    // OpenSSL on a blocking socket, bounded by socket timeouts.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ++calls_[i];
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr || SSL_CTX_load_verify_locations(ctx, ca_file_.c_str(), nullptr) != 1) {
        SSL_CTX_free(ctx);
        ::close(fd);
        throw std::runtime_error("mock: cannot load the mock CA");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    std::string got;
    bool ok = SSL_connect(ssl) == 1;
    if (ok) {
        std::string req = std::string(method) + " " + std::string(path) +
                          " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n";
        if (!body.empty() || method == "POST") {
            req +=
                "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n";
        }
        req += "\r\n";
        req += body;
        ok = SSL_write(ssl, req.data(), static_cast<int>(req.size())) ==
             static_cast<int>(req.size());
        char buf[16384];
        // Bounded: the mock's answers to these paths are small (last answer at most 1 MiB).
        for (int n = 0;
             ok && got.size() < (4u << 20) && (n = SSL_read(ssl, buf, sizeof buf)) > 0;) {
            got.append(buf, static_cast<std::size_t>(n));
        }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
    auto at = got.find("\r\n\r\n");
    if (!ok || !got.starts_with("HTTP/1.1 ") || got.size() < 12 || at == std::string::npos ||
        (need_200 && !got.starts_with("HTTP/1.1 200"))) {
        throw std::runtime_error("mock " + std::string(method) + " " + std::string(path) +
                                 ": bad answer: " + printable(got));
    }
    const auto status = static_cast<unsigned>(std::stoul(got.substr(9, 3)));
    auto parsed = parse_head(std::string_view(got).substr(0, at));
    std::string answer = got.substr(at + 4);
    if (parsed && parsed->chunked) {
        // De-chunk (Connection: close, so the whole body is here).
        std::string plain;
        std::size_t pos = 0;
        while (pos < answer.size()) {
            auto eol = answer.find("\r\n", pos);
            if (eol == std::string::npos) {
                break;
            }
            std::size_t size = std::stoul(answer.substr(pos, eol - pos), nullptr, 16);
            if (size == 0 || eol + 2 + size > answer.size()) {
                break;
            }
            plain.append(answer, eol + 2, size);
            pos = eol + 2 + size + 2;
        }
        answer = std::move(plain);
    }
    return {status, std::move(answer)};
}

void mock::set_fault(std::size_t i, std::string_view json)
{
    auto [status, answer] = call(i, "POST", "/mock/fault", json, false);
    if (status < 200 || status > 299) {
        throw std::runtime_error("mock set_fault(" + std::to_string(i) +
                                 "): " + std::to_string(status) + " " + printable(answer));
    }
}

void mock::clear_fault(std::size_t i)
{
    call(i, "DELETE", "/mock/fault", {}, true);
}

mock_stats mock::stats(std::size_t i)
{
    const std::string body = call(i, "GET", "/mock/stats", {}, true).second;
    mock_stats s;
    auto num = [&](const char* ptr) {
        long long v = json_int(body, ptr);
        if (v < 0) {
            throw std::runtime_error(std::string("mock stats: no ") + ptr + " in " + body);
        }
        return static_cast<std::uint64_t>(v);
    };
    // Counters a mock without the OpenAI-compatible paths does not report.
    auto optional_num = [&](const char* ptr) {
        long long v = json_int(body, ptr);
        return v < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(v);
    };
    s.connections = num("/connections") - calls_.at(i);
    s.resumed = num("/resumed");
    s.requests = num("/requests");
    s.chat = num("/chat");
    s.embed = num("/embed");
    s.rejected_signatures = num("/rejected_signatures");
    s.closed_by_client = num("/closed_by_client");
    s.open_connections = num("/open_connections") - 1;
    s.open_used = num("/open_used") - 1;
    s.stale_drops = num("/stale_drops");
    s.faulted = num("/faulted");
    s.openai_requests = optional_num("/openai_requests");
    s.openai_bearer = optional_num("/openai_bearer");
    s.openai_signed = optional_num("/openai_signed");
    s.openai_rejected = optional_num("/openai_rejected");
    s.openai_compressed = optional_num("/openai_compressed");
    return s;
}

std::string mock::openai_last()
{
    return get("/mock/openai/last");
}

mock_stats mock::wait_stats(std::size_t i, const std::function<bool(const mock_stats&)>& pred,
                            ms timeout)
{
    const auto deadline = steady::now() + timeout;
    for (;;) {
        auto s = stats(i);
        if (pred(s) || steady::now() >= deadline) {
            return s;
        }
        std::this_thread::sleep_for(20ms);
    }
}

// ---- proxy ---------------------------------------------------------------------------------

proxy::proxy(const mock& m, const daemon_options& o, bool wait_ready)
    : daemon_process(proxy_yaml(m, o), start_timeout, 5s)
{
    if (!wait_ready) {
        return;
    }
    const auto ready_deadline = steady::now() + start_timeout;
    for (;;) {
        try {
            http_client c(port());
            if (c.request("GET", "/readyz", {}, 5s, false).status == 200) {
                return;
            }
        } catch (const std::exception&) {
            // not yet
        }
        if (steady::now() >= ready_deadline) {
            throw std::runtime_error("the daemon did not become ready:\n" + captured_stderr());
        }
        std::this_thread::sleep_for(20ms);
    }
}

// ---- chat helpers --------------------------------------------------------------------------

std::uint64_t wait_used_closed(mock& m, ms timeout)
{
    return m.wait_stats([](const mock_stats& s) { return s.open_used == 0; }, timeout).open_used;
}

std::uint64_t wait_all_closed(mock& m, ms timeout)
{
    return m.wait_stats([](const mock_stats& s) { return s.open_connections == 0; }, timeout)
        .open_connections;
}

e2e_stack::e2e_stack(const daemon_options& o, const std::vector<std::string>& mock_args)
    : m(mock_args), d(m, o), c(d.port())
{
}

std::string openai_alias(std::string_view name, std::string_view id, std::string_view project)
{
    std::string y =
        "  - name: " + std::string(name) + "\n    id: " + std::string(id) + "\n    route: openai\n";
    if (!project.empty()) {
        y += "    project_id: " + std::string(project) + "\n";
    }
    return y;
}

std::string sha256_hex(std::string_view bytes)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

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

}  // namespace ogp::test
