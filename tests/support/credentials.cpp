#include "support/credentials.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ogp::test {
namespace {

// An RSA key in PEM, its public key and its OCI fingerprint (MD5 of the public key DER).
struct key_material
{
    std::string private_pem;
    std::string public_pem;
    std::string fingerprint;
};

// Loads the RSA key cached by an earlier test process, or generates and caches one (key
// generation costs ~0.4 s).
EVP_PKEY* cached_or_new_key()
{
    const char* base = std::getenv("TMPDIR");
    const std::string cache = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                              "/ogp-test-rsa-" + std::to_string(::getuid()) + ".pem";
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

std::string drain(BIO* bio)
{
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
}

const key_material& test_key_material()
{
    static const key_material m = [] {
        key_material out;
        EVP_PKEY* key = cached_or_new_key();
        BIO* priv = BIO_new(BIO_s_mem());
        BIO* pub = BIO_new(BIO_s_mem());
        unsigned char* der = nullptr;
        int der_len = i2d_PUBKEY(key, &der);
        if (priv == nullptr || pub == nullptr || der_len <= 0 ||
            PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
            PEM_write_bio_PUBKEY(pub, key) != 1) {
            throw std::runtime_error("cannot encode the test RSA key");
        }
        out.private_pem = drain(priv);
        out.public_pem = drain(pub);
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
    return m;
}

}  // namespace

std::vector<std::string> api_key_credentials::mock_args() const
{
    return {"--api-key", key_id + "=" + public_key_file};
}

api_key_credentials write_api_key_credentials(const temp_dir& dir)
{
    const auto& m = test_key_material();
    const std::string tenancy = "ocid1.tenancy.oc1..test";
    const std::string user = "ocid1.user.oc1..test";
    api_key_credentials c;
    const auto key_path = dir.write("oci_api_key.pem", m.private_pem);
    c.public_key_file = dir.write("oci_api_key_public.pem", m.public_pem);
    c.config_file =
        dir.write("oci_config", "[DEFAULT]\nuser=" + user + "\nfingerprint=" + m.fingerprint +
                                    "\ntenancy=" + tenancy +
                                    "\nregion=us-chicago-1\nkey_file=" + key_path + "\n");
    c.key_id = tenancy + "/" + user + "/" + m.fingerprint;
    return c;
}

}  // namespace ogp::test
