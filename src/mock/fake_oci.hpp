#pragma once
// In-process fakes of OCI's Instance Metadata Service (HTTP) and X.509 federation endpoint
// (HTTPS, with a test CA generated at run time). The federation fake verifies each request's
// signature with the leaf certificate's key, as OCI does, before issuing a JWT.

#include "ogp/auth/crypto.hpp"
#include "signature.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ogp::mock {

using namespace ogp::auth;  // the mock speaks the same crypto as the daemon

/// One request as the fake servers saw it (header names lower-case).
struct fake_request
{
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;
    std::string body;
};

/// What a fake server answers.
struct fake_response
{
    unsigned status = 200;
    std::string body;
    std::string content_type = "text/plain";
    std::chrono::milliseconds delay{0};
};

/// A loopback HTTP(S) server on 127.0.0.1, port chosen by the OS. Each connection serves one
/// request with `handler` (called on an io thread; must be thread-safe). pause() closes the
/// listening socket (connections are refused), resume() listens again on the same port.
class fake_server
{
public:
    using handler = std::function<fake_response(const fake_request&)>;
    /// `tls_cert_pem`/`tls_key_pem` empty: plain HTTP.
    fake_server(boost::asio::io_context& ioc, handler h, std::string tls_cert_pem = {},
                std::string tls_key_pem = {});
    ~fake_server();

    unsigned short port() const;
    /// `http://127.0.0.1:<port>` or `https://...`.
    std::string base_url() const;
    void pause();
    void resume();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

/// Test PKI: a root CA, an "instance" intermediate, and leaf certificates carrying the tenancy
/// in the subject (`OU=opc-tenant:<ocid>`), all generated with the OpenSSL API.
class test_pki
{
public:
    test_pki();
    ~test_pki();
    /// The root CA certificate (PEM), to trust on the client side.
    std::string ca_pem() const;
    /// A TLS server certificate for `san` (OpenSSL syntax) and its key (PEM).
    std::pair<std::string, std::string> server_cert(
        const std::string& san = "DNS:localhost,IP:127.0.0.1") const;
    /// A fresh RSA-2048 instance leaf (cert PEM, key PEM) issued by the intermediate.
    std::pair<std::string, std::string> instance_leaf(const std::string& tenancy,
                                                      bool use_identity_attr = false) const;
    /// The intermediate certificate (PEM).
    std::string intermediate_pem() const;
    /// True when `leaf_der` was issued by the intermediate, which was issued by the root.
    bool verify_chain(std::string_view leaf_der, std::string_view intermediate_der) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Fake IMDS + fake federation sharing one io_context.
class fake_oci
{
public:
    explicit fake_oci(boost::asio::io_context& ioc,
                      std::string tenancy = "ocid1.tenancy.oc1..faketenancy");

    std::string metadata_url() const;    ///< `http://127.0.0.1:<p>/opc/v2`
    std::string federation_url() const;  ///< `https://127.0.0.1:<p>` (no path)
    std::string ca_file() const;         ///< a temp file holding the test root CA

    // Behaviour knobs (thread-safe).
    void set_region(std::string r);
    void set_token_lifetime(std::chrono::seconds s);
    /// Statuses returned by the next federation calls, before normal service.
    void script_federation(std::deque<unsigned> statuses);
    /// Delay every federation answer.
    void set_federation_delay(std::chrono::milliseconds d);
    /// Issue a new leaf certificate and key (rotation), optionally for another tenancy.
    void rotate_leaf(std::optional<std::string> tenancy = std::nullopt);
    fake_server& imds() { return *imds_; }
    /// The test PKI (to issue further server certificates from the same root).
    const test_pki& pki() const { return pki_; }
    fake_server& federation() { return *federation_; }

    // Observations.
    int federation_calls() const { return federation_calls_; }
    int federation_verified() const { return federation_verified_; }
    int imds_calls() const { return imds_calls_; }
    /// Why the last federation request was rejected ("" if none).
    std::string last_rejection() const;
    /// Every token issued so far, with the session public key (DER) it was issued for.
    std::map<std::string, std::string> issued_tokens() const;
    /// The last leaf key PEM served (to check it never shows up in logs).
    std::string leaf_key_pem() const;

private:
    fake_response handle_imds(const fake_request& r);
    fake_response handle_federation(const fake_request& r);
    // Verifies a federation request like OCI; returns "" or the reason it is invalid.
    std::string verify_federation(const fake_request& r, std::string& tenancy,
                                  std::string& session_pub);

    test_pki pki_;
    std::string ca_file_;
    mutable std::mutex mu_;
    std::string tenancy_;
    std::string region_ = "us-phoenix-1";
    std::string leaf_cert_;
    std::string leaf_key_;
    std::chrono::seconds token_lifetime_{3600};
    std::deque<unsigned> scripted_;
    std::chrono::milliseconds fed_delay_{0};
    std::string last_rejection_;
    std::map<std::string, std::string> tokens_;
    std::atomic<int> federation_calls_{0};
    std::atomic<int> federation_verified_{0};
    std::atomic<int> imds_calls_{0};
    std::atomic<int> token_serial_{0};
    std::unique_ptr<fake_server> imds_;
    std::unique_ptr<fake_server> federation_;
};

}  // namespace ogp::mock
