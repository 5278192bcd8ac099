#pragma once
// Helpers shared by the auth tests: temp files, generated keys in every PEM flavour, JWTs,
// an injectable environment, and running one awaitable to completion with a deadline.

#include "ogp/auth/crypto.hpp"
#include "ogp/auth/provider.hpp"
#include "unit/auth/test_keys.hpp"

#include <openssl/pem.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

namespace ogp::auth::test {

/// A fresh directory under /tmp, removed on destruction.
class temp_dir
{
public:
    temp_dir()
    {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("ogp-auth-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() { std::filesystem::remove_all(path_); }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    /// Writes `data` to `name` inside the directory; returns the full path.
    std::string write(const std::string& name, std::string_view data) const
    {
        auto p = path_ / name;
        std::ofstream(p, std::ios::binary)
            .write(data.data(), static_cast<std::streamsize>(data.size()));
        return p.string();
    }
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

/// PEM encodings of a private key.
enum class pem_kind { pkcs1, pkcs8, pkcs8_encrypted, pkcs1_encrypted };

inline std::string key_pem(EVP_PKEY* key, pem_kind kind, const std::string& pass = {})
{
    BIO* b = BIO_new(BIO_s_mem());
    auto* pw = reinterpret_cast<unsigned char*>(const_cast<char*>(pass.data()));
    int len = static_cast<int>(pass.size());
    switch (kind) {
        case pem_kind::pkcs1:
            PEM_write_bio_PrivateKey_traditional(b, key, nullptr, nullptr, 0, nullptr, nullptr);
            break;
        case pem_kind::pkcs8:
            PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
            break;
        case pem_kind::pkcs8_encrypted:
            PEM_write_bio_PKCS8PrivateKey(b, key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                          const_cast<char*>(pass.c_str()));
            break;
        case pem_kind::pkcs1_encrypted:
            PEM_write_bio_PrivateKey_traditional(b, key, EVP_aes_128_cbc(), pw, len, nullptr,
                                                 nullptr);
            break;
    }
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string out(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
}

/// A 2048-bit key generated once per test run (key generation is slow).
inline pkey_ptr shared_test_key()
{
    static pkey_ptr key = *generate_rsa_key(2048);
    return key;
}

/// The API-key fingerprint of `key`.
inline std::string fingerprint_of(EVP_PKEY* key)
{
    return colon_hex(md5(*public_key_der(key)));
}

/// An unsigned-looking JWT (`alg` RS256, signature bytes are filler) with `exp` and extra claims.
inline std::string make_jwt(std::chrono::system_clock::time_point exp,
                            const std::map<std::string, std::string>& claims = {})
{
    using namespace std::chrono;
    std::string payload =
        "{\"exp\":" + std::to_string(duration_cast<seconds>(exp.time_since_epoch()).count()) +
        ",\"iat\":" +
        std::to_string(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
    for (auto& [k, v] : claims) {
        payload += ",\"" + k + "\":\"" + v + "\"";
    }
    payload += "}";
    return base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url_encode(payload) +
           "." + base64url_encode("not-a-real-signature");
}

/// An environment backed by a map.
inline env_lookup map_env(std::map<std::string, std::string> vars)
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

/// Runs provider.fetch() on a private io_context for at most `limit`.
inline result<snapshot_ptr> run_fetch(credential_provider& p,
                                      std::chrono::milliseconds limit = std::chrono::seconds(20))
{
    boost::asio::io_context ioc;
    std::optional<result<snapshot_ptr>> out;
    boost::asio::co_spawn(ioc, p.fetch(), [&out](std::exception_ptr, result<snapshot_ptr> r) {
        out.emplace(std::move(r));
    });
    ioc.run_for(limit);
    REQUIRE(out.has_value());
    return std::move(*out);
}

/// Runs `ioc` in `poll` slices until `done()` or `limit` passes; true when done.
template <class Pred>
bool run_until(boost::asio::io_context& ioc, Pred done, std::chrono::milliseconds limit,
               std::chrono::milliseconds poll = std::chrono::milliseconds(10))
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        ioc.restart();
        ioc.run_for(poll);
    }
    return done();
}

}  // namespace ogp::auth::test
