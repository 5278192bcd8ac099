// oci-genai-mock: a faithful local stand-in for OCI (IMDS, X.509 federation, GenAI inference)
// for the demo, the end-to-end tests and the benchmarks. Loopback only; nothing secret on disk
// except a throw-away test CA certificate.

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fake_oci.hpp"
#include "inference.hpp"

namespace net = boost::asio;

namespace {

constexpr std::string_view usage =
    "Usage: oci-genai-mock [options]\n"
    "  --inference-port N     GenAI inference HTTPS port (default 0: any free port)\n"
    "  --extra-inference N    N (0..8) more inference listeners on free ports, as more regions:\n"
    "                         same CA, certificate and keys, own stats and fault switch\n"
    "                         (ready file OGP_ENDPOINT1.., ready line inference1=..)\n"
    "  --ca-out FILE          write the test CA certificate (PEM) here\n"
    "  --ready-file FILE      write the endpoints as KEY=VALUE lines here once serving\n"
    "  --token-lifetime SEC   lifetime of issued security tokens (default 3600)\n"
    "  --region REGION        region IMDS reports (default us-chicago-1)\n"
    "  --token-delay-ms N     delay between streamed writes (default 0)\n"
    "  --api-key ID=PEMFILE   also accept API-key signatures with this keyId and public key\n"
    "  --genai-api-key K      accept `Authorization: Bearer K` on the OpenAI-compatible API\n"
    "                         (repeatable)\n"
    "  --threads N            io threads (default 1)\n"
    "  --stale-after-ms N     drop a request arriving on a connection idle for N ms or more\n"
    "                         (since its handshake or last answer), unanswered, and close it\n"
    "                         (default 0: never)\n"
    "Faults by model id substring: mock-429, mock-500, mock-503, mock-401, mock-reset,\n"
    "mock-stall, mock-slow, mock-hang, mock-long, mock-cl-te, mock-bad-chunk, mock-comments\n"
    "(a stream of SSE comments only), mock-drip (a body one byte per 200 ms), mock-1xx\n"
    "(100 and 103 heads first), unknown (404);\n"
    "mock-slow combined with mock-reset or mock-stall paces their writes.\n"
    "OCI's OpenAI-compatible API on the inference port, under /openai/v1/: chat/completions,\n"
    "responses[/{id}[/input_items]], files[/{id}[/content]] (multipart upload),\n"
    "conversations[/{id}], vector_stores[/{id}]. Auth: an OCI signature plus the headers\n"
    "openai-project (ocid1.generativeaiproject.*) and opc-compartment-id, or a Bearer key from\n"
    "--genai-api-key; objects live per project. Answers are gzip/zstd encoded when\n"
    "accept-encoding asks (zstd preferred). Faults by model substring there: mock-gzip,\n"
    "mock-zstd (that coding, asked or not), mock-429 (retry-after: 1), mock-503, mock-500\n"
    "(plain-text body), mock-stall (a stream sends one event, then stalls);\n"
    "--token-delay-ms paces its streams. GET /mock/openai/last: the last /openai/v1 request\n"
    "and its answer (JSON). GET /mock/stats: counters (unsigned).\n"
    "Fault switch per inference listener (unsigned): POST /mock/fault with\n"
    "{\"mode\":\"status\"|\"reset\"|\"reset_after_first\"|\"hang\",\"status\":503,\n"
    "\"retry_after\":\"1\",\"count\":2} (status: that answer with an error body; reset: no\n"
    "answer, a TCP reset; reset_after_first: 200 and the first SSE event or half the body, then\n"
    "a reset; hang: never an answer; count: that many requests, else until DELETE /mock/fault).\n"
    "It takes chat, embedText, /openai/v1/chat/completions and /openai/v1/responses POSTs\n"
    "before the signature check, counted in stats `faulted`. GET /mock/fault: the one set.\n"
    "Prints one line `ready imds=... federation=... inference=... ca=...` when serving;\n"
    "stops on SIGINT/SIGTERM.\n";

// Looks up signing keys: tokens the fake federation issued (until they expire), API keys given
// on the command line.
class key_registry
{
public:
    explicit key_registry(ogp::mock::fake_oci& oci) : oci_(oci) {}

    void add_api_key(std::string id, ogp::auth::pkey_ptr key)
    {
        std::lock_guard l(mu_);
        api_keys_[std::move(id)] = std::move(key);
    }

    ogp::auth::pkey_ptr lookup(std::string_view key_id, std::string& why)
    {
        std::lock_guard l(mu_);
        if (auto it = api_keys_.find(std::string(key_id)); it != api_keys_.end()) {
            return it->second;
        }
        if (!key_id.starts_with("ST$")) {
            why = "unknown keyId";
            return nullptr;
        }
        std::string token(key_id.substr(3));
        // Expired tokens are refused like OCI does.
        auto claims = ogp::auth::decode_jwt(token);
        if (!claims || claims->exp <= std::chrono::system_clock::now()) {
            why = "security token expired or malformed";
            return nullptr;
        }
        if (auto it = cache_.find(token); it != cache_.end()) {
            return it->second;
        }
        auto issued = oci_.issued_tokens();
        auto it = issued.find(token);
        if (it == issued.end()) {
            why = "security token was not issued by this federation";
            return nullptr;
        }
        const auto* p = reinterpret_cast<const unsigned char*>(it->second.data());
        auto key =
            ogp::auth::adopt_pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(it->second.size())));
        if (!key) {
            why = "session key unreadable";
            return nullptr;
        }
        cache_[token] = key;
        return key;
    }

private:
    ogp::mock::fake_oci& oci_;
    std::mutex mu_;
    std::map<std::string, ogp::auth::pkey_ptr> api_keys_;
    std::map<std::string, ogp::auth::pkey_ptr> cache_;
};

ogp::auth::pkey_ptr read_public_key(const std::string& path)
{
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) {
        return nullptr;
    }
    EVP_PKEY* k = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    return ogp::auth::adopt_pkey(k);
}

}  // namespace

int main(int argc, char** argv)
{
    std::uint16_t inference_port = 0;
    unsigned extra_inference = 0;
    std::string ca_out;
    std::string ready_file;
    long token_lifetime = 3600;
    std::string region = "us-chicago-1";
    long token_delay = 0;
    long stale_after = 0;
    unsigned threads = 1;
    std::vector<std::pair<std::string, std::string>> api_keys;
    std::vector<std::string> genai_api_keys;
    // Command line: every option takes one value.
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage;
            return 0;
        }
        if (i + 1 >= argc) {
            std::cerr << "oci-genai-mock: " << a << " needs a value (see --help)\n";
            return 2;
        }
        std::string v = argv[++i];
        try {
            if (a == "--inference-port") {
                inference_port = static_cast<std::uint16_t>(std::stoul(v));
            } else if (a == "--extra-inference") {
                extra_inference = static_cast<unsigned>(std::stoul(v));
                if (extra_inference > 8) {
                    throw std::out_of_range(v);
                }
            } else if (a == "--ca-out") {
                ca_out = v;
            } else if (a == "--ready-file") {
                ready_file = v;
            } else if (a == "--token-lifetime") {
                token_lifetime = std::stol(v);
            } else if (a == "--region") {
                region = v;
            } else if (a == "--token-delay-ms") {
                token_delay = std::stol(v);
            } else if (a == "--stale-after-ms") {
                stale_after = std::stol(v);
            } else if (a == "--threads") {
                threads = static_cast<unsigned>(std::max(1ul, std::stoul(v)));
            } else if (a == "--genai-api-key") {
                if (v.empty()) {
                    throw std::invalid_argument(v);
                }
                genai_api_keys.push_back(v);
            } else if (a == "--api-key") {
                auto eq = v.find('=');
                if (eq == std::string::npos) {
                    throw std::invalid_argument(v);
                }
                api_keys.emplace_back(v.substr(0, eq), v.substr(eq + 1));
            } else {
                std::cerr << "oci-genai-mock: unknown option " << a << " (see --help)\n";
                return 2;
            }
        } catch (const std::exception&) {
            std::cerr << "oci-genai-mock: bad value for " << a << ": " << v << "\n";
            return 2;
        }
    }
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ mock %l %v", spdlog::pattern_time_type::utc);

    net::io_context ioc(static_cast<int>(threads));
    // IMDS and federation (one PKI), then inference with a server cert from the same root.
    ogp::mock::fake_oci oci(ioc, "ocid1.tenancy.oc1..mocktenancy");
    oci.set_region(region);
    oci.set_token_lifetime(std::chrono::seconds(token_lifetime));
    key_registry keys(oci);
    for (const auto& [id, path] : api_keys) {
        auto k = read_public_key(path);
        if (!k) {
            std::cerr << "oci-genai-mock: --api-key: cannot read public key " << path << "\n";
            return 2;
        }
        keys.add_api_key(id, std::move(k));
    }
    auto [cert, key] = oci.pki().server_cert();
    ogp::mock::inference_options opts;
    opts.cert_pem = cert;
    opts.key_pem = key;
    opts.token_delay = std::chrono::milliseconds(token_delay);
    opts.stale_after = std::chrono::milliseconds(stale_after);
    opts.genai_api_keys = genai_api_keys;
    opts.lookup = [&keys](std::string_view id, std::string& why) { return keys.lookup(id, why); };
    ogp::mock::inference_server inference(ioc, opts, inference_port);
    // More regions: listeners of their own (stats, fault switch) on free ports.
    std::vector<std::unique_ptr<ogp::mock::inference_server>> extra;
    for (unsigned i = 0; i < extra_inference; ++i) {
        extra.push_back(std::make_unique<ogp::mock::inference_server>(ioc, opts, 0));
    }

    std::string ca = oci.ca_file();
    if (!ca_out.empty()) {
        std::filesystem::copy_file(ca, ca_out, std::filesystem::copy_options::overwrite_existing);
        ca = ca_out;
    }
    std::string inference_url = "https://127.0.0.1:" + std::to_string(inference.port());
    std::string extra_file;
    std::string extra_line;
    for (std::size_t i = 0; i < extra.size(); ++i) {
        const std::string n = std::to_string(i + 1);
        const std::string url = "https://127.0.0.1:" + std::to_string(extra[i]->port());
        extra_file += "OGP_ENDPOINT" + n + "=" + url + "\n";
        extra_line += " inference" + n + "=" + url;
    }
    if (!ready_file.empty()) {
        std::ofstream(ready_file + ".tmp") << "OGP_METADATA_URL=" << oci.metadata_url()
                                           << "\nOGP_FEDERATION_URL=" << oci.federation_url()
                                           << "\nOGP_ENDPOINT=" << inference_url << "\n"
                                           << extra_file << "OGP_CA_FILE=" << ca << "\n";
        std::filesystem::rename(ready_file + ".tmp", ready_file);
    }
    std::cout << "ready imds=" << oci.metadata_url() << " federation=" << oci.federation_url()
              << " inference=" << inference_url << extra_line << " ca=" << ca << std::endl;

    // Serve until SIGINT/SIGTERM.
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&ioc](boost::system::error_code, int) { ioc.stop(); });
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) {
        pool.emplace_back([&ioc] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : pool) {
        t.join();
    }
    std::filesystem::remove(oci.ca_file());
    return 0;
}
