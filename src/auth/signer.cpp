#include "ogp/auth/signer.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace ogp::auth {
namespace {

constexpr std::string_view headers_no_body = "date (request-target) host";
constexpr std::string_view headers_body =
    "date (request-target) host content-length content-type x-content-sha256";
constexpr std::string_view fed_headers_no_body = "date (request-target)";
constexpr std::string_view fed_headers_body =
    "date (request-target) content-length content-type x-content-sha256";

// SHA-256 fetched once for the process (avoids an implicit fetch per request).
const EVP_MD* sha256_md()
{
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

// True when `v` contains CR, LF or NUL, which would split or truncate a header.
bool bad_header_value(std::string_view v)
{
    return v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

std::string build_prefix(std::string_view headers, const std::string& key_id)
{
    std::string p = "Signature version=\"1\",headers=\"";
    p += headers;
    p += "\",keyId=\"";
    p += key_id;
    p += "\",algorithm=\"rsa-sha256\",signature=\"";
    return p;
}

// Appends `name: value` and, unless last, a newline.
void add_line(std::string& s, std::string_view name, std::string_view value)
{
    if (!s.empty()) {
        s += '\n';
    }
    s += name;
    s += ": ";
    s += value;
}

// Lower-cases ASCII letters of `method` into `out`.
void append_lower(std::string& out, std::string_view method)
{
    for (char c : method) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
}

std::string make_signing_string(const request_to_sign& req, bool with_host, bool with_body,
                                std::string_view content_length, std::string_view body_sha)
{
    std::string s;
    s.reserve(256 + req.target.size() + req.host.size());
    add_line(s, "date", req.date);
    s += "\n(request-target): ";
    append_lower(s, req.method);
    s += ' ';
    s += req.target;
    if (with_host) {
        add_line(s, "host", req.host);
    }
    if (with_body) {
        add_line(s, "content-length", content_length);
        add_line(s, "content-type", req.content_type);
        add_line(s, "x-content-sha256", body_sha);
    }
    return s;
}

std::string body_sha256_base64(std::string_view body)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(body.data(), body.size(), out, &n, sha256_md(), nullptr);
    return base64_encode(std::string_view(reinterpret_cast<char*>(out), n));
}

}  // namespace

credential_snapshot::~credential_snapshot() = default;

result<std::shared_ptr<const credential_snapshot>> credential_snapshot::create(params p)
{
    // The key is never echoed: a bad one is only described.
    if (!p.bearer.empty() &&
        (p.bearer.size() > 4096 || std::any_of(p.bearer.begin(), p.bearer.end(), [](char c) {
             return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
         }))) {
        return error{errc::key, "the GenAI API key contains characters not allowed in a header"};
    }
    if (!p.key) {
        if (p.bearer.empty()) {
            return error{errc::key, "no private key"};
        }
        // Bearer credentials: nothing to sign with, no signing context or prefixes.
        return std::shared_ptr<const credential_snapshot>(new credential_snapshot(std::move(p)));
    }
    if (bad_header_value(p.key_id) || p.key_id.find('"') != std::string::npos) {
        return error{errc::token, "the keyId contains characters not allowed in a header"};
    }
    std::shared_ptr<credential_snapshot> s(new credential_snapshot(std::move(p)));
    // Prepare a signing context once; each signature copies it (no per-request key set-up).
    s->template_ctx_.reset(EVP_MD_CTX_new());
    if (!s->template_ctx_ ||
        EVP_DigestSignInit_ex(s->template_ctx_.get(), nullptr, "SHA256", nullptr, nullptr,
                              s->p_.key.get(), nullptr) != 1) {
        ERR_clear_error();
        return error{errc::key, "the private key cannot sign with RSA-SHA256"};
    }
    // The Authorization prefixes: header lists and keyId are fixed per snapshot.
    s->prefix_no_body_ =
        build_prefix(s->p_.sign_host ? headers_no_body : fed_headers_no_body, s->p_.key_id);
    s->prefix_body_ = build_prefix(s->p_.sign_host ? headers_body : fed_headers_body, s->p_.key_id);
    return std::shared_ptr<const credential_snapshot>(std::move(s));
}

result<std::string> credential_snapshot::sign_base64(std::string_view data) const
{
    if (!template_ctx_) {
        return error{errc::key, "these credentials are a GenAI API key: they cannot sign"};
    }
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    std::array<unsigned char, 1024> sig{};
    std::size_t len = sig.size();
    if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), template_ctx_.get()) != 1 ||
        EVP_DigestSignUpdate(ctx.get(), data.data(), data.size()) != 1 ||
        EVP_DigestSignFinal(ctx.get(), nullptr, &len) != 1 || len > sig.size() ||
        EVP_DigestSignFinal(ctx.get(), sig.data(), &len) != 1) {
        ERR_clear_error();
        return error{errc::crypto, "RSA-SHA256 signing failed"};
    }
    return base64_encode(std::string_view(reinterpret_cast<char*>(sig.data()), len));
}

bool method_signs_body(std::string_view method)
{
    auto eq = [&](std::string_view m) {
        if (m.size() != method.size()) {
            return false;
        }
        for (std::size_t i = 0; i < m.size(); ++i) {
            if (std::toupper(static_cast<unsigned char>(method[i])) != m[i]) {
                return false;
            }
        }
        return true;
    };
    return eq("POST") || eq("PUT") || eq("PATCH");
}

std::string signing_string(const request_to_sign& req, bool with_host)
{
    bool with_body = method_signs_body(req.method);
    std::string length;
    std::string sha;
    if (with_body && req.digest) {
        length = std::to_string(req.digest->length);
        sha = req.digest->sha256_base64;
    } else if (with_body) {
        length = std::to_string(req.body.size());
        sha = body_sha256_base64(req.body);
    }
    return make_signing_string(req, with_host, with_body, length, sha);
}

result<signed_headers> sign_request(const credential_snapshot& creds, const request_to_sign& req)
{
    if (creds.key() == nullptr) {
        return error{errc::key,
                     "these credentials are a GenAI API key (sent as Bearer): requests are not "
                     "signed"};
    }
    // Refuse values that would inject headers.
    if (bad_header_value(req.host) || bad_header_value(req.target) || bad_header_value(req.date) ||
        bad_header_value(req.content_type) || bad_header_value(req.method)) {
        return error{errc::config, "a signed header value contains CR, LF or NUL"};
    }
    signed_headers h;
    h.has_body = method_signs_body(req.method);
    h.date = req.date;
    h.host = req.host;
    if (h.has_body && req.digest) {
        if (bad_header_value(req.digest->sha256_base64) || req.digest->sha256_base64.empty()) {
            return error{errc::config, "the precomputed body hash is empty or not a header value"};
        }
        h.content_length = std::to_string(req.digest->length);
        h.content_type = req.content_type;
        h.x_content_sha256 = req.digest->sha256_base64;
    } else if (h.has_body) {
        h.content_length = std::to_string(req.body.size());
        h.content_type = req.content_type;
        h.x_content_sha256 = body_sha256_base64(req.body);
    }
    // Signing string, then one RSA operation.
    std::string str = make_signing_string(req, creds.sign_host(), h.has_body, h.content_length,
                                          h.x_content_sha256);
    auto sig = creds.sign_base64(str);
    if (!sig) {
        return sig.error();
    }
    const std::string& prefix = creds.authorization_prefix(h.has_body);
    h.authorization.reserve(prefix.size() + sig->size() + 1);
    h.authorization += prefix;
    h.authorization += *sig;
    h.authorization += '"';
    return h;
}

std::string format_http_date(std::chrono::system_clock::time_point t)
{
    static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed",
                                                     "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

}  // namespace ogp::auth
