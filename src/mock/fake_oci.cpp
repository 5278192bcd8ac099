// Fake IMDS and federation servers for the auth tests (see auth_fakes.hpp).

#include "fake_oci.hpp"
#include "ogp/util/asio.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <rapidjson/document.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>

namespace ogp::mock {

using namespace ogp::auth;  // the mock speaks the same crypto as the daemon

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using ogp::use_nothrow;

// ---------------------------------------------------------------------------------------------
// fake_server

struct fake_server::impl
{
    net::io_context& ioc;
    handler h;
    std::unique_ptr<ssl::context> tls;
    tcp::acceptor acceptor;
    unsigned short port = 0;
    bool running = false;

    impl(net::io_context& c, handler hh) : ioc(c), h(std::move(hh)), acceptor(c) {}

    void listen()
    {
        tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
        acceptor.open(ep.protocol());
        acceptor.set_option(net::socket_base::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen();
        port = acceptor.local_endpoint().port();
    }

    // Reads one request, answers it, closes.
    template <class Stream>
    static net::awaitable<void> serve(std::shared_ptr<impl> self, Stream& stream)
    {
        beast::flat_buffer buffer;
        bhttp::request<bhttp::string_body> req;
        auto [ec, n] = co_await bhttp::async_read(stream, buffer, req, use_nothrow);
        if (ec) {
            co_return;
        }
        fake_request fr;
        fr.method = std::string(req.method_string());
        fr.target = std::string(req.target());
        for (auto& f : req) {
            std::string name(f.name_string());
            for (auto& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            fr.headers[name] = std::string(f.value());
        }
        fr.body = req.body();
        fake_response out = self->h(fr);
        if (out.delay.count() > 0) {
            net::steady_timer t(co_await net::this_coro::executor, out.delay);
            co_await t.async_wait(use_nothrow);
        }
        bhttp::response<bhttp::string_body> res(static_cast<bhttp::status>(out.status), 11);
        res.set(bhttp::field::content_type, out.content_type);
        res.set(bhttp::field::connection, "close");
        res.body() = out.body;
        res.prepare_payload();
        co_await bhttp::async_write(stream, res, use_nothrow);
    }

    static net::awaitable<void> session(std::shared_ptr<impl> self, tcp::socket sock)
    {
        beast::tcp_stream stream(std::move(sock));
        stream.expires_after(std::chrono::seconds(10));
        if (!self->tls) {
            co_await serve(self, stream);
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(stream), *self->tls);
        auto [ec] = co_await tls_stream.async_handshake(ssl::stream_base::server, use_nothrow);
        if (ec) {
            co_return;
        }
        co_await serve(self, tls_stream);
        beast::error_code ignored;
        beast::get_lowest_layer(tls_stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    static net::awaitable<void> accept_loop(std::shared_ptr<impl> self)
    {
        while (self->acceptor.is_open()) {
            auto [ec, sock] = co_await self->acceptor.async_accept(use_nothrow);
            if (ec) {
                co_return;
            }
            net::co_spawn(self->ioc, session(self, std::move(sock)), net::detached);
        }
    }

    void start()
    {
        listen();
        running = true;
        net::co_spawn(ioc, accept_loop(shared_from_this_()), net::detached);
    }

    std::weak_ptr<impl> weak_self;
    std::shared_ptr<impl> shared_from_this_() { return weak_self.lock(); }
};

fake_server::fake_server(net::io_context& ioc, handler h, std::string tls_cert_pem,
                         std::string tls_key_pem)
    : impl_(std::make_shared<impl>(ioc, std::move(h)))
{
    impl_->weak_self = impl_;
    if (!tls_cert_pem.empty()) {
        impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
        impl_->tls->use_certificate_chain(net::buffer(tls_cert_pem));
        impl_->tls->use_private_key(net::buffer(tls_key_pem), ssl::context::pem);
    }
    impl_->start();
}

fake_server::~fake_server()
{
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
}

unsigned short fake_server::port() const
{
    return impl_->port;
}

std::string fake_server::base_url() const
{
    return std::string(impl_->tls ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(impl_->port);
}

void fake_server::pause()
{
    // Closing on the io thread avoids racing the pending accept.
    net::post(impl_->ioc, [i = impl_] {
        beast::error_code ignored;
        i->acceptor.close(ignored);
    });
}

void fake_server::resume()
{
    net::post(impl_->ioc, [i = impl_] {
        if (!i->acceptor.is_open()) {
            i->start();
        }
    });
}

// ---------------------------------------------------------------------------------------------
// test_pki

namespace {

struct pkey_free
{
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

std::string to_pem(X509* c)
{
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, c);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

std::string key_to_pem(EVP_PKEY* k)
{
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// A certificate for `key` with subject entries `names`, signed by issuer (self-signed if null).
x509_ptr make_cert(EVP_PKEY* key, const std::vector<std::pair<std::string, std::string>>& names,
                   X509* issuer, EVP_PKEY* issuer_key, bool ca, const char* san = nullptr)
{
    static std::atomic<long> serial{1};
    x509_ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    for (auto& [field, value] : names) {
        X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0);
    }
    X509* iss = issuer ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
    add_ext(cert.get(), iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (ca) {
        add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    if (san) {
        add_ext(cert.get(), iss, NID_subject_alt_name, san);
    }
    X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256());
    return cert;
}

std::unique_ptr<EVP_PKEY, pkey_free> ec_key()
{
    return std::unique_ptr<EVP_PKEY, pkey_free>(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

}  // namespace

struct test_pki::impl
{
    std::unique_ptr<EVP_PKEY, pkey_free> root_key = ec_key();
    x509_ptr root;
    std::unique_ptr<EVP_PKEY, pkey_free> inter_key = ec_key();
    x509_ptr inter;
};

test_pki::test_pki() : impl_(std::make_unique<impl>())
{
    impl_->root =
        make_cert(impl_->root_key.get(), {{"CN", "ogp test root"}}, nullptr, nullptr, true);
    impl_->inter = make_cert(impl_->inter_key.get(), {{"CN", "ogp test instance intermediate"}},
                             impl_->root.get(), impl_->root_key.get(), true);
}

test_pki::~test_pki() = default;

std::string test_pki::ca_pem() const
{
    return to_pem(impl_->root.get());
}
std::string test_pki::intermediate_pem() const
{
    return to_pem(impl_->inter.get());
}

std::pair<std::string, std::string> test_pki::server_cert(const std::string& san) const
{
    auto key = ec_key();
    auto cert = make_cert(key.get(), {{"CN", "localhost"}}, impl_->root.get(),
                          impl_->root_key.get(), false, san.c_str());
    return {to_pem(cert.get()), key_to_pem(key.get())};
}

std::pair<std::string, std::string> test_pki::instance_leaf(const std::string& tenancy,
                                                            bool use_identity_attr) const
{
    auto key = *generate_rsa_key(2048);
    auto cert = make_cert(key.get(),
                          {{"CN", "ocid1.instance.oc1.phx.fakeinstance"},
                           {"OU", "opc-certtype:instance"},
                           {"OU", "opc-compartment:ocid1.compartment.oc1..fake"},
                           {"OU", (use_identity_attr ? "opc-identity:" : "opc-tenant:") + tenancy}},
                          impl_->inter.get(), impl_->inter_key.get(), false);
    return {to_pem(cert.get()), key_to_pem(key.get())};
}

bool test_pki::verify_chain(std::string_view leaf_der, std::string_view intermediate_der) const
{
    auto leaf = load_cert_der(leaf_der, "leaf");
    auto inter = load_cert_der(intermediate_der, "intermediate");
    if (!leaf || !inter) {
        return false;
    }
    return X509_verify(leaf->get(), X509_get0_pubkey(inter->get())) == 1 &&
           X509_verify(inter->get(), X509_get0_pubkey(impl_->root.get())) == 1;
}

// ---------------------------------------------------------------------------------------------
// fake_oci

fake_oci::fake_oci(net::io_context& ioc, std::string tenancy) : tenancy_(std::move(tenancy))
{
    auto [cert, key] = pki_.instance_leaf(tenancy_);
    leaf_cert_ = cert;
    leaf_key_ = key;
    static std::atomic<int> counter{0};
    ca_file_ =
        (std::filesystem::temp_directory_path() /
         ("ogp-test-ca-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".pem"))
            .string();
    std::ofstream(ca_file_) << pki_.ca_pem();
    imds_ = std::make_unique<fake_server>(ioc,
                                          [this](const fake_request& r) { return handle_imds(r); });
    auto [scert, skey] = pki_.server_cert();
    federation_ = std::make_unique<fake_server>(
        ioc, [this](const fake_request& r) { return handle_federation(r); }, scert, skey);
}

std::string fake_oci::metadata_url() const
{
    return imds_->base_url() + "/opc/v2";
}
std::string fake_oci::federation_url() const
{
    return federation_->base_url();
}
std::string fake_oci::ca_file() const
{
    return ca_file_;
}

void fake_oci::set_region(std::string r)
{
    std::lock_guard l(mu_);
    region_ = std::move(r);
}
void fake_oci::set_token_lifetime(std::chrono::seconds s)
{
    std::lock_guard l(mu_);
    token_lifetime_ = s;
}
void fake_oci::script_federation(std::deque<unsigned> statuses)
{
    std::lock_guard l(mu_);
    scripted_ = std::move(statuses);
}
void fake_oci::set_federation_delay(std::chrono::milliseconds d)
{
    std::lock_guard l(mu_);
    fed_delay_ = d;
}
void fake_oci::rotate_leaf(std::optional<std::string> tenancy)
{
    auto [cert, key] = pki_.instance_leaf(tenancy.value_or(tenancy_));
    std::lock_guard l(mu_);
    if (tenancy) {
        tenancy_ = *tenancy;
    }
    leaf_cert_ = cert;
    leaf_key_ = key;
}
std::string fake_oci::last_rejection() const
{
    std::lock_guard l(mu_);
    return last_rejection_;
}
std::map<std::string, std::string> fake_oci::issued_tokens() const
{
    std::lock_guard l(mu_);
    return tokens_;
}
std::string fake_oci::leaf_key_pem() const
{
    std::lock_guard l(mu_);
    return leaf_key_;
}

fake_response fake_oci::handle_imds(const fake_request& r)
{
    ++imds_calls_;
    // IMDS v2 requires the bearer header.
    auto auth = r.headers.find("authorization");
    if (auth == r.headers.end() || auth->second != "Bearer Oracle") {
        return {401, "missing Authorization: Bearer Oracle"};
    }
    std::lock_guard l(mu_);
    if (r.target == "/opc/v2/instance/region") {
        return {200, region_};
    }
    if (r.target == "/opc/v2/identity/cert.pem") {
        return {200, leaf_cert_};
    }
    if (r.target == "/opc/v2/identity/key.pem") {
        return {200, leaf_key_};
    }
    if (r.target == "/opc/v2/identity/intermediate.pem") {
        return {200, pki_.intermediate_pem()};
    }
    return {404, "not found"};
}

std::string fake_oci::verify_federation(const fake_request& r, std::string& tenancy,
                                        std::string& session_pub)
{
    if (r.method != "POST" || r.target != "/v1/x509") {
        return "wrong method or path " + r.method + " " + r.target;
    }
    auto header = [&](const std::string& n) {
        auto it = r.headers.find(n);
        return it == r.headers.end() ? std::string{} : it->second;
    };
    // Authorization parameters.
    auto params = parse_signature_params(header("authorization"));
    if (!signature_well_formed(params)) {
        return "malformed Authorization";
    }
    // Body: certificate, publicKey, intermediates, fingerprintAlgorithm.
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("certificate") ||
        !doc.HasMember("publicKey") || !doc.HasMember("intermediateCertificates") ||
        !doc["intermediateCertificates"].IsArray() || doc["intermediateCertificates"].Size() != 1 ||
        !doc.HasMember("fingerprintAlgorithm") ||
        std::string(doc["fingerprintAlgorithm"].GetString()) != "SHA256") {
        return "malformed body";
    }
    auto leaf_der = base64_decode(doc["certificate"].GetString());
    auto inter_der = base64_decode(doc["intermediateCertificates"][0].GetString());
    auto pub_der = base64_decode(doc["publicKey"].GetString());
    if (!leaf_der || !inter_der || !pub_der) {
        return "bad base64 in body";
    }
    if (!pki_.verify_chain(*leaf_der, *inter_der)) {
        return "certificate chain does not verify";
    }
    auto p = reinterpret_cast<const unsigned char*>(pub_der->data());
    EVP_PKEY* session = d2i_PUBKEY(nullptr, &p, static_cast<long>(pub_der->size()));
    if (session == nullptr || EVP_PKEY_get_bits(session) != 2048) {
        EVP_PKEY_free(session);
        return "publicKey is not an RSA-2048 SubjectPublicKeyInfo";
    }
    EVP_PKEY_free(session);
    // keyId: <tenancy>/fed-x509-sha256/<sha256 fingerprint of the leaf>.
    auto leaf = load_cert_der(*leaf_der, "leaf");
    auto cert_tenancy = tenancy_from_cert(leaf->get());
    std::string expected_key_id =
        cert_tenancy.value_or("") + "/fed-x509-sha256/" + colon_hex(sha256(*leaf_der));
    if (params["keyId"] != expected_key_id) {
        return "keyId does not match the certificate";
    }
    // Body integrity headers.
    if (header("x-content-sha256") != base64_encode(sha256(r.body)) ||
        header("content-length") != std::to_string(r.body.size()) ||
        header("content-type") != "application/json") {
        return "body headers do not match the body";
    }
    if (header("date").empty()) {
        return "no date header";
    }
    // Rebuild the signing string from the header list and verify with the leaf key.
    const bool has_target = params["headers"].find("(request-target)") != std::string::npos;
    std::string missing;
    auto signing = signing_string(
        params["headers"], "post /v1/x509",
        [&](const std::string& name) -> std::optional<std::string> { return header(name); },
        missing);
    for (const char* required : {"date", "content-length", "content-type", "x-content-sha256"}) {
        if (params["headers"].find(required) == std::string::npos) {
            return std::string("header list lacks ") + required;
        }
    }
    if (!has_target || !signing ||
        !signature_verifies(X509_get0_pubkey(leaf->get()), *signing, params["signature"])) {
        return "signature does not verify with the leaf certificate key";
    }
    tenancy = cert_tenancy.value_or("");
    session_pub = *pub_der;
    return {};
}

fake_response fake_oci::handle_federation(const fake_request& r)
{
    ++federation_calls_;
    std::chrono::milliseconds delay;
    std::chrono::seconds lifetime;
    {
        std::lock_guard l(mu_);
        delay = fed_delay_;
        lifetime = token_lifetime_;
        if (!scripted_.empty()) {
            unsigned status = scripted_.front();
            scripted_.pop_front();
            return {status, R"({"code":"Scripted","message":"scripted failure"})",
                    "application/json", delay};
        }
    }
    std::string tenancy, session_pub;
    std::string why = verify_federation(r, tenancy, session_pub);
    if (!why.empty()) {
        std::lock_guard l(mu_);
        last_rejection_ = why;
        return {401, R"({"code":"NotAuthenticated","message":")" + why + "\"}", "application/json",
                delay};
    }
    ++federation_verified_;
    // A JWT whose `exp` is now + lifetime; `jti` keeps tokens unique.
    using namespace std::chrono;
    auto exp = system_clock::now() + lifetime;
    std::string payload =
        "{\"sub\":\"ocid1.instance.oc1.phx.fakeinstance\",\"tenant\":\"" + tenancy +
        "\",\"jti\":\"" + std::to_string(++token_serial_) +
        "\",\"exp\":" + std::to_string(duration_cast<seconds>(exp.time_since_epoch()).count()) +
        "}";
    std::string token = base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." +
                        base64url_encode(payload) + "." + base64url_encode("fake-signature");
    {
        std::lock_guard l(mu_);
        tokens_[token] = session_pub;
    }
    return {200, "{\"token\":\"" + token + "\"}", "application/json", delay};
}

}  // namespace ogp::mock
