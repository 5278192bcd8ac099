#include "ogp/auth/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <rapidjson/document.h>

#include <cstring>
#include <ostream>
#include <stdexcept>

#include "ogp/util/json.hpp"

namespace ogp::auth {

void throw_exception_from_error(const error& e, const boost::source_location&)
{
    throw std::runtime_error(e.message);
}

std::ostream& operator<<(std::ostream& os, const error& e)
{
    return os << e.message;
}

namespace {

struct bio_deleter
{
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

struct md_ctx_deleter
{
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;

// Read-only memory BIO over `data`.
bio_ptr mem_bio(std::string_view data)
{
    return bio_ptr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Contents of a memory BIO.
std::string bio_string(BIO* b)
{
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    return std::string(p, static_cast<std::size_t>(n));
}

// The most recent OpenSSL error as text; clears the queue.
std::string openssl_reason()
{
    unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    const char* r = ERR_reason_error_string(code);
    return r ? r : "OpenSSL error " + std::to_string(code);
}

// DER encoding of an OpenSSL object through its i2d_* function (OpenSSL allocates the buffer).
template <class T>
result<std::string> to_der(int (*i2d)(const T*, unsigned char**), const T* obj,
                           std::string_view what)
{
    unsigned char* buf = nullptr;
    int n = i2d(obj, &buf);
    if (n <= 0) {
        return error{errc::crypto, "cannot encode " + std::string(what) + ": " + openssl_reason()};
    }
    std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return out;
}

// PEM password callback: copies the passphrase given as user data, or fails without one.
int pass_cb(char* buf, int size, int /*rwflag*/, void* u)
{
    auto* pass = static_cast<const std::string*>(u);
    if (pass == nullptr || pass->empty() || static_cast<int>(pass->size()) > size) {
        return -1;
    }
    std::memcpy(buf, pass->data(), pass->size());
    return static_cast<int>(pass->size());
}

std::string digest(const EVP_MD* md, std::string_view data)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
    return std::string(reinterpret_cast<char*>(out), n);
}

constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Base64 with the given 62nd/63rd characters; `pad` adds '='.
std::string encode64(std::string_view in, char c62, char c63, bool pad)
{
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    auto sym = [&](unsigned v) {
        v &= 63;
        return v == 62 ? c62 : v == 63 ? c63 : b64_alphabet[v];
    };
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                     (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += sym(v >> 18);
        out += sym(v >> 12);
        out += sym(v >> 6);
        out += sym(v);
    }
    std::size_t rest = in.size() - i;
    if (rest > 0) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (rest == 2) {
            v |= static_cast<unsigned char>(in[i + 1]) << 8;
        }
        out += sym(v >> 18);
        out += sym(v >> 12);
        if (rest == 2) {
            out += sym(v >> 6);
        } else if (pad) {
            out += '=';
        }
        if (pad) {
            out += '=';
        }
    }
    return out;
}

// Decodes Base64 with the given 62nd/63rd characters; trailing '=' optional.
std::optional<std::string> decode64(std::string_view in, char c62, char c63)
{
    while (!in.empty() && in.back() == '=') {
        in.remove_suffix(1);
    }
    if (in.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(in.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == c62) {
            v = 62;
        } else if (c == c63) {
            v = 63;
        } else {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

}  // namespace

pkey_ptr adopt_pkey(EVP_PKEY* raw)
{
    return pkey_ptr(raw, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

result<pkey_ptr> load_private_key_pem(std::string_view pem,
                                      const std::optional<std::string>& passphrase,
                                      std::string_view what)
{
    // An encrypted key needs a passphrase: say so before OpenSSL gives a vaguer reason.
    bool encrypted = pem.find("ENCRYPTED") != std::string_view::npos;
    if (encrypted && (!passphrase || passphrase->empty())) {
        return error{errc::key, std::string(what) +
                                    ": the private key is encrypted but no pass_phrase is set"};
    }
    auto bio = mem_bio(pem);
    std::string pass = passphrase.value_or(std::string{});
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, pass_cb, &pass);
    OPENSSL_cleanse(pass.data(), pass.size());
    if (raw == nullptr) {
        std::string reason = openssl_reason();
        if (encrypted) {
            return error{errc::key,
                         std::string(what) +
                             ": cannot decrypt the private key (wrong pass_phrase?): " + reason};
        }
        return error{errc::key, std::string(what) + ": not a PEM private key: " + reason};
    }
    auto key = adopt_pkey(raw);
    if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA) {
        return error{errc::key, std::string(what) + ": the private key is not an RSA key"};
    }
    return key;
}

result<pkey_ptr> generate_rsa_key(unsigned bits)
{
    EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
    if (raw == nullptr) {
        return error{errc::crypto, "RSA key generation failed: " + openssl_reason()};
    }
    return adopt_pkey(raw);
}

result<std::string> public_key_der(EVP_PKEY* key)
{
    return to_der(i2d_PUBKEY, key, "the public key");
}

result<std::string> public_key_pem(EVP_PKEY* key)
{
    bio_ptr b(BIO_new(BIO_s_mem()));
    if (!b || PEM_write_bio_PUBKEY(b.get(), key) != 1) {
        return error{errc::crypto, "cannot encode the public key: " + openssl_reason()};
    }
    return bio_string(b.get());
}

std::string md5(std::string_view data)
{
    return digest(EVP_md5(), data);
}
std::string sha256(std::string_view data)
{
    return digest(EVP_sha256(), data);
}

std::string colon_hex(std::string_view bytes)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i > 0) {
            out += ':';
        }
        auto b = static_cast<unsigned char>(bytes[i]);
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

std::string base64_encode(std::string_view bytes)
{
    return encode64(bytes, '+', '/', true);
}
std::optional<std::string> base64_decode(std::string_view text)
{
    return decode64(text, '+', '/');
}
std::string base64url_encode(std::string_view bytes)
{
    return encode64(bytes, '-', '_', false);
}
std::optional<std::string> base64url_decode(std::string_view text)
{
    return decode64(text, '-', '_');
}

result<std::string> rsa_sha256_sign(EVP_PKEY* key, std::string_view data)
{
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    std::size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
        return error{errc::crypto, "signing failed: " + openssl_reason()};
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
        return error{errc::crypto, "signing failed: " + openssl_reason()};
    }
    sig.resize(len);
    return sig;
}

bool rsa_sha256_verify(EVP_PKEY* key, std::string_view data, std::string_view signature)
{
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    bool ok =
        ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                         data.size()) == 1;
    ERR_clear_error();
    return ok;
}

result<x509_ptr> load_cert_pem(std::string_view pem, std::string_view what)
{
    auto bio = mem_bio(pem);
    X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (raw == nullptr) {
        return error{errc::key, std::string(what) + ": not a PEM certificate: " + openssl_reason()};
    }
    return x509_ptr(raw);
}

result<x509_ptr> load_cert_der(std::string_view der, std::string_view what)
{
    auto p = reinterpret_cast<const unsigned char*>(der.data());
    X509* raw = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (raw == nullptr) {
        return error{errc::key, std::string(what) + ": not a DER certificate: " + openssl_reason()};
    }
    return x509_ptr(raw);
}

result<std::string> cert_der(X509* cert)
{
    return to_der(i2d_X509, cert, "a certificate");
}

std::optional<std::string> tenancy_from_cert(X509* cert)
{
    X509_NAME* name = X509_get_subject_name(cert);
    std::optional<std::string> identity;
    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
        // Each attribute value as UTF-8 text.
        ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char* utf8 = nullptr;
        int n = ASN1_STRING_to_UTF8(&utf8, data);
        if (n < 0) {
            continue;
        }
        std::string value(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
        OPENSSL_free(utf8);
        // `opc-tenant:` wins over `opc-identity:`.
        if (value.starts_with("opc-tenant:")) {
            return value.substr(11);
        }
        if (value.starts_with("opc-identity:") && !identity) {
            identity = value.substr(13);
        }
    }
    return identity;
}

std::string pem_body(std::string_view pem)
{
    std::string out;
    std::size_t pos = 0;
    while (pos < pem.size()) {
        std::size_t eol = pem.find('\n', pos);
        if (eol == std::string_view::npos) {
            eol = pem.size();
        }
        std::string_view line = pem.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        // Skip the BEGIN/END markers, keep the Base64 lines.
        if (!line.starts_with("-----")) {
            out += line;
        }
        pos = eol + 1;
    }
    return out;
}

result<jwt_claims> decode_jwt(std::string_view token)
{
    // Split header.payload.signature.
    auto first = token.find('.');
    auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos) {
        return error{errc::token, "the token is not a JWT (expected three dot-separated parts)"};
    }
    auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
    if (!payload) {
        return error{errc::token, "the token payload is not base64url"};
    }
    rapidjson::Document doc;
    if (!json::parse_bounded(*payload, json::upstream_max_depth, doc) || !doc.IsObject()) {
        return error{errc::token, "the token payload is not a JSON object"};
    }
    jwt_claims claims;
    auto to_time = [](const rapidjson::Value& v) {
        return std::chrono::system_clock::time_point(std::chrono::seconds(v.GetInt64()));
    };
    auto exp = doc.FindMember("exp");
    if (exp == doc.MemberEnd() || !exp->value.IsInt64()) {
        return error{errc::token, "the token has no numeric `exp` claim"};
    }
    claims.exp = to_time(exp->value);
    if (auto iat = doc.FindMember("iat"); iat != doc.MemberEnd() && iat->value.IsInt64()) {
        claims.iat = to_time(iat->value);
    }
    for (auto& m : doc.GetObject()) {
        if (m.value.IsString()) {
            claims.strings.emplace(m.name.GetString(),
                                   std::string(m.value.GetString(), m.value.GetStringLength()));
        }
    }
    return claims;
}

}  // namespace ogp::auth
