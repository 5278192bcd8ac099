// Signer cost next to a bare OpenSSL RSA-2048 signature over the same signing string.
// Target: BM_sign_request <= 1.1x BM_bare_openssl_rsa2048_sign.

#include "ogp/auth/signer.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using namespace ogp::auth;

// A typical chat request: ~1 KiB JSON body, fixed date.
struct fixture
{
    pkey_ptr key = *generate_rsa_key(2048);
    snapshot_ptr snap =
        *credential_snapshot::create({.key_id = "ST$" + std::string(1200, 't'), .key = key});
    std::string body =
        R"({"compartmentId":"ocid1.compartment.oc1..aaaa","servingMode":{"servingType":"ON_DEMAND","modelId":"cohere.command-r-plus"},"chatRequest":{"apiFormat":"GENERIC","messages":[{"role":"USER","content":[{"type":"TEXT","text":")" +
        std::string(800, 'x') + R"("}]}],"maxTokens":600}})";
    std::string date = "Thu, 26 Nov 2026 02:00:00 GMT";
    request_to_sign req{.method = "POST",
                        .host = "inference.generativeai.us-chicago-1.oci.oraclecloud.com",
                        .target = "/20231130/actions/chat",
                        .body = body,
                        .date = date};
    std::string signing = signing_string(req);
};

fixture& fx()
{
    static fixture f;
    return f;
}

// The reference: what any caller pays for one RSA-2048/SHA-256 signature with OpenSSL 3.
void BM_bare_openssl_rsa2048_sign(benchmark::State& state)
{
    auto& f = fx();
    for (auto _ : state) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        unsigned char sig[512];
        std::size_t len = sizeof sig;
        EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, f.key.get());
        EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(f.signing.data()),
                       f.signing.size());
        EVP_MD_CTX_free(ctx);
        benchmark::DoNotOptimize(sig);
    }
}
BENCHMARK(BM_bare_openssl_rsa2048_sign);

// The whole signer: body SHA-256, signing string, RSA sign, Base64, Authorization header.
void BM_sign_request(benchmark::State& state)
{
    auto& f = fx();
    for (auto _ : state) {
        auto h = sign_request(*f.snap, f.req);
        benchmark::DoNotOptimize(h);
    }
}
BENCHMARK(BM_sign_request);

// The per-request work around the RSA operation, for scale.
void BM_signing_string_only(benchmark::State& state)
{
    auto& f = fx();
    for (auto _ : state) {
        auto s = signing_string(f.req);
        benchmark::DoNotOptimize(s);
    }
}
BENCHMARK(BM_signing_string_only);

// Snapshot preparation (once per credential renewal, not per request).
void BM_snapshot_create(benchmark::State& state)
{
    auto& f = fx();
    for (auto _ : state) {
        auto s = credential_snapshot::create({.key_id = "ST$token", .key = f.key});
        benchmark::DoNotOptimize(s);
    }
}
BENCHMARK(BM_snapshot_create);

}  // namespace
