// Signer: the published OCI test vectors (oracle/oci-go-sdk http_signer_test.go, §2.5 of the
// reference), header construction, and an `openssl dgst -verify` cross-check.

#include "ogp/auth/signer.hpp"
#include "unit/auth/test_keys.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace ogp::auth;

namespace {

constexpr std::string_view vector_date = "Thu, 05 Jan 2014 21:31:40 GMT";
constexpr std::string_view vector_host = "iaas.us-phoenix-1.oraclecloud.com";
constexpr std::string_view get_target =
    "/20160918/instances?availabilityDomain=Pjwf%3A%20PHX-AD-1&compartmentId=ocid1.compartment."
    "oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa&displayName=TeamXInstances&"
    "volumeId=ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q";
constexpr std::string_view post_body =
    "{\n"
    "    \"compartmentId\": "
    "\"ocid1.compartment.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa\",\n"
    "    \"instanceId\": "
    "\"ocid1.instance.oc1.phx.abuw4ljrlsfiqw6vzzxb43vyypt4pkodawglp3wqxjqofakrwvou52gb6s5a\",\n"
    "    \"volumeId\": "
    "\"ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q\"\n"
    "}";
constexpr std::string_view get_signature =
    "GBas7grhyrhSKHP6AVIj/h5/Vp8bd/"
    "peM79H9Wv8kjoaCivujVXlpbKLjMPeDUhxkFIWtTtLBj3sUzaFj34XE6YZAHc9r2Dm"
    "E4pMwOAy/kiITcZxa1oHPOeRheC0jP2dqbTll8fmTZVwKZOKHYPtrLJIJQHJjNvxFWeHQjMaR7M=";
constexpr std::string_view post_signature =
    "Mje8vIDPlwIHmD/cTDwRxE7HaAvBg16JnVcsuqaNRim23fFPgQfLoOOxae6WqKb1uPjYEl0qIdazWaBy/"
    "Ml8DRhqlocMwoS"
    "Xv0fbukP8J5N80LCmzT/FFBvIvTB91XuXI3hYfP9Zt1l7S6ieVadHUfqBedWH0itrtPJBgKmrWso=";

std::string example_key_id()
{
    return std::string(test::oracle_example_tenancy) + "/" +
           std::string(test::oracle_example_user) + "/" +
           std::string(test::oracle_example_fingerprint);
}

snapshot_ptr example_snapshot()
{
    auto key = load_private_key_pem(test::oracle_example_key, std::nullopt, "test key");
    REQUIRE(key);
    auto snap = credential_snapshot::create({.key_id = example_key_id(), .key = *key});
    REQUIRE(snap);
    return *snap;
}

}  // namespace

TEST_CASE("signer reproduces the published GET vector byte for byte", "[auth][signer]")
{
    auto snap = example_snapshot();
    request_to_sign req{
        .method = "GET", .host = vector_host, .target = get_target, .date = vector_date};

    // Signing string.
    std::string expected_string = "date: Thu, 05 Jan 2014 21:31:40 GMT\n(request-target): get " +
                                  std::string(get_target) +
                                  "\nhost: iaas.us-phoenix-1.oraclecloud.com";
    CHECK(signing_string(req) == expected_string);

    // Full header set.
    auto h = sign_request(*snap, req);
    REQUIRE(h);
    CHECK_FALSE(h->has_body);
    CHECK(h->date == vector_date);
    CHECK(h->host == vector_host);
    CHECK(h->content_length.empty());
    CHECK(h->x_content_sha256.empty());
    CHECK(h->authorization ==
          "Signature version=\"1\",headers=\"date (request-target) host\",keyId=\"" +
              example_key_id() + "\",algorithm=\"rsa-sha256\",signature=\"" +
              std::string(get_signature) + "\"");
}

TEST_CASE("signer reproduces the published POST vector byte for byte", "[auth][signer]")
{
    auto snap = example_snapshot();
    REQUIRE(post_body.size() == 316);
    request_to_sign req{.method = "POST",
                        .host = vector_host,
                        .target = "/20160918/volumeAttachments",
                        .body = post_body,
                        .date = vector_date};
    CHECK(signing_string(req) ==
          "date: Thu, 05 Jan 2014 21:31:40 GMT\n"
          "(request-target): post /20160918/volumeAttachments\n"
          "host: iaas.us-phoenix-1.oraclecloud.com\n"
          "content-length: 316\n"
          "content-type: application/json\n"
          "x-content-sha256: V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=");

    auto h = sign_request(*snap, req);
    REQUIRE(h);
    CHECK(h->has_body);
    CHECK(h->content_length == "316");
    CHECK(h->content_type == "application/json");
    CHECK(h->x_content_sha256 == "V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=");
    CHECK(
        h->authorization ==
        "Signature version=\"1\",headers=\"date (request-target) host content-length content-type "
        "x-content-sha256\",keyId=\"" +
            example_key_id() + "\",algorithm=\"rsa-sha256\",signature=\"" +
            std::string(post_signature) + "\"");
}

TEST_CASE("signer: a precomputed body digest signs like the body in memory", "[auth][signer]")
{
    auto snap = example_snapshot();
    const std::string body =
        "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
        "assistants\r\n--b--\r\n";
    request_to_sign mem{.method = "POST",
                        .host = vector_host,
                        .target = "/openai/v1/files",
                        .body = body,
                        .date = vector_date,
                        .content_type = "multipart/form-data; boundary=b"};
    auto in_memory = sign_request(*snap, mem);
    REQUIRE(in_memory);
    // The same request with no body in memory: only its length and hash.
    request_to_sign spooled = mem;
    spooled.body = {};
    spooled.digest = body_digest{body.size(), in_memory->x_content_sha256};
    auto from_digest = sign_request(*snap, spooled);
    REQUIRE(from_digest);
    CHECK(from_digest->authorization == in_memory->authorization);
    CHECK(from_digest->content_length == std::to_string(body.size()));
    CHECK(from_digest->x_content_sha256 == in_memory->x_content_sha256);
    CHECK(signing_string(spooled) == signing_string(mem));
    // The published POST vector through the digest path.
    request_to_sign vec{.method = "POST",
                        .host = vector_host,
                        .target = "/20160918/volumeAttachments",
                        .date = vector_date,
                        .digest = body_digest{316, "V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0="}};
    auto h = sign_request(*snap, vec);
    REQUIRE(h);
    CHECK(h->authorization.ends_with("signature=\"" + std::string(post_signature) + "\""));
    // A hash that would inject a header is refused.
    vec.digest->sha256_base64 = "abc\r\nx: y";
    CHECK_FALSE(sign_request(*snap, vec));
}

TEST_CASE("signer facade gives the same headers as sign_request", "[auth][signer]")
{
    auto snap = example_snapshot();
    auto h = signer::sign(*snap, "POST", vector_host, "/20160918/volumeAttachments", post_body,
                          vector_date);
    REQUIRE(h);
    CHECK(h->authorization.ends_with("signature=\"" + std::string(post_signature) + "\""));
    CHECK(h->x_content_sha256 == "V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0=");
}

TEST_CASE("signer: method case, empty body, PUT/PATCH/DELETE header lists", "[auth][signer]")
{
    auto snap = example_snapshot();
    // A lower-case method signs the same string as the upper-case one.
    request_to_sign lower{
        .method = "get", .host = vector_host, .target = get_target, .date = vector_date};
    auto h = sign_request(*snap, lower);
    REQUIRE(h);
    CHECK(h->authorization.ends_with("signature=\"" + std::string(get_signature) + "\""));

    // An empty POST body hashes the empty string.
    request_to_sign empty{
        .method = "POST", .host = "localhost:7000", .target = "/api", .date = vector_date};
    auto e = sign_request(*snap, empty);
    REQUIRE(e);
    CHECK(e->content_length == "0");
    CHECK(e->x_content_sha256 == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");

    CHECK(method_signs_body("PUT"));
    CHECK(method_signs_body("patch"));
    CHECK_FALSE(method_signs_body("DELETE"));
    CHECK_FALSE(method_signs_body("HEAD"));
    request_to_sign del{
        .method = "DELETE", .host = "localhost:7000", .target = "/api", .date = vector_date};
    CHECK(
        signing_string(del) ==
        "date: Thu, 05 Jan 2014 21:31:40 GMT\n(request-target): delete /api\nhost: localhost:7000");
}

TEST_CASE("signer: federation snapshots omit host", "[auth][signer]")
{
    auto key = load_private_key_pem(test::oracle_example_key, std::nullopt, "test key");
    REQUIRE(key);
    auto snap = credential_snapshot::create(
        {.key_id = "t/fed-x509-sha256/aa", .key = *key, .sign_host = false});
    REQUIRE(snap);
    request_to_sign req{.method = "POST",
                        .host = "auth.example",
                        .target = "/v1/x509",
                        .body = "{}",
                        .date = vector_date};
    auto h = sign_request(**snap, req);
    REQUIRE(h);
    CHECK(h->authorization.starts_with(
        "Signature version=\"1\",headers=\"date (request-target) content-length content-type "
        "x-content-sha256\",keyId=\"t/fed-x509-sha256/aa\""));
    // The signature verifies over the host-less signing string.
    auto b64 = h->authorization.substr(h->authorization.find("signature=\"") + 11);
    b64.pop_back();
    auto raw = base64_decode(b64);
    REQUIRE(raw);
    CHECK(rsa_sha256_verify(key->get(), signing_string(req, false), *raw));
    CHECK_FALSE(rsa_sha256_verify(key->get(), signing_string(req, true), *raw));
}

TEST_CASE("signer rejects header injection", "[auth][signer]")
{
    auto snap = example_snapshot();
    request_to_sign req{.method = "GET", .host = "a\r\nx: y", .target = "/", .date = vector_date};
    auto h = sign_request(*snap, req);
    REQUIRE_FALSE(h);
    CHECK(h.error().code == errc::config);
    CHECK_FALSE(credential_snapshot::create({.key_id = "ST$a\nb", .key = snap->shared_key()}));
    CHECK_FALSE(credential_snapshot::create({.key_id = "x", .key = nullptr}));
}

TEST_CASE("format_http_date is RFC 7231 IMF-fixdate in GMT", "[auth][signer]")
{
    using namespace std::chrono;
    // 2014-01-05T21:31:40Z, the vector's date (a Sunday: the published vector's "Thu" is only a
    // string the server does not check against the calendar).
    CHECK(format_http_date(system_clock::time_point(seconds(1388957500))) ==
          "Sun, 05 Jan 2014 21:31:40 GMT");
    CHECK(format_http_date(system_clock::time_point(seconds(0))) ==
          "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(format_http_date(system_clock::time_point(seconds(951782400))) ==
          "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST_CASE("signatures verify with `openssl dgst -verify` (cross-check)",
          "[auth][signer][crosscheck]")
{
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
        FAIL("openssl CLI not found: scripts/install-deps --test installs it");
    }
    auto key = generate_rsa_key(2048);
    REQUIRE(key);
    auto snap = credential_snapshot::create({.key_id = "ST$token", .key = *key});
    REQUIRE(snap);
    std::string date = format_http_date(std::chrono::system_clock::now());
    request_to_sign req{.method = "POST",
                        .host = "inference.generativeai.us-chicago-1.oci.oraclecloud.com",
                        .target = "/20231130/actions/chat",
                        .body = R"({"compartmentId":"ocid1.compartment.oc1..x"})",
                        .date = date};
    auto h = sign_request(**snap, req);
    REQUIRE(h);
    auto b64 = h->authorization.substr(h->authorization.find("signature=\"") + 11);
    b64.pop_back();

    // Write the public key, the signing string and the raw signature to a temp dir.
    auto dir =
        std::filesystem::temp_directory_path() / ("ogp-crosscheck-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto write = [&](const char* name, std::string_view data) {
        std::ofstream(dir / name, std::ios::binary)
            .write(data.data(), static_cast<std::streamsize>(data.size()));
        return (dir / name).string();
    };
    auto pub = public_key_pem(key->get());
    REQUIRE(pub);
    std::string pub_path = write("pub.pem", *pub);
    std::string str_path = write("signing.txt", signing_string(req));
    std::string sig_path = write("sig.bin", *base64_decode(b64));
    std::string bad_path = write("bad.txt", signing_string(req) + "x");
    auto der_path = [&] {
        // The API-key fingerprint as Oracle documents it: MD5 of the public key DER, `openssl md5
        // -c`.
        auto der = public_key_der(key->get());
        REQUIRE(der);
        return write("pub.der", *der);
    }();
    std::string fp_cmd = "openssl md5 -c " + der_path + " > " + (dir / "fp.txt").string();
    REQUIRE(std::system(fp_cmd.c_str()) == 0);
    std::string fp_line;
    std::getline(std::ifstream(dir / "fp.txt"), fp_line);
    CHECK(fp_line.ends_with(colon_hex(md5(*public_key_der(key->get())))));
    std::string cmd = "openssl dgst -sha256 -verify " + pub_path + " -signature " + sig_path + " ";
    int good = std::system((cmd + str_path + " >/dev/null 2>&1").c_str());
    int bad = std::system((cmd + bad_path + " >/dev/null 2>&1").c_str());
    std::filesystem::remove_all(dir);
    CHECK(good == 0);
    CHECK(bad != 0);
}

TEST_CASE("signatures verify with oci-common's http-signature (npm cross-check)",
          "[auth][signer][crosscheck][npm]")
{
    // oci-common is installed into <build>/crosscheck by the ctest fixture
    // unit_auth:npm_install_oci_common (or OGP_OCI_COMMON_NODE_PATH names a node_modules).
    std::string node_path = std::string(OGP_BINARY_DIR) + "/crosscheck/node_modules";
    if (const char* env = std::getenv("OGP_OCI_COMMON_NODE_PATH")) {
        node_path = env;
    }
    if (std::system("node --version >/dev/null 2>&1") != 0) {
        FAIL("node not found: scripts/install-deps --test installs Node.js and npm");
    }
    if (!std::filesystem::exists(node_path + "/oci-common") ||
        !std::filesystem::exists(node_path + "/http-signature")) {
        FAIL("oci-common is not installed in " << node_path
                                               << ": run the fixture test "
                                                  "unit_auth:npm_install_oci_common (ctest -R "
                                                  "unit_auth runs it first)");
    }
    auto key = generate_rsa_key(2048);
    REQUIRE(key);
    auto snap =
        credential_snapshot::create({.key_id = "ST$eyJhbGciOi.eyJleHAiOjE.c2ln", .key = *key});
    REQUIRE(snap);
    auto pub = public_key_pem(key->get());
    REQUIRE(pub);
    auto dir = std::filesystem::temp_directory_path() /
               ("ogp-npm-crosscheck-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string date = format_http_date(std::chrono::system_clock::now());

    for (std::string method : {"POST", "GET"}) {
        std::string body = method == "POST"
                               ? R"({"compartmentId":"ocid1.compartment.oc1..x","chatRequest":{}})"
                               : "";
        request_to_sign req{.method = method,
                            .host = "inference.generativeai.us-chicago-1.oci.oraclecloud.com",
                            .target = "/20231130/actions/chat?x=1%202",
                            .body = body,
                            .date = date};
        auto h = sign_request(**snap, req);
        REQUIRE(h);
        // The request as JSON for the node script.
        auto to_json = [&](const std::string& authorization) {
            rapidjson::StringBuffer sb;
            rapidjson::Writer<rapidjson::StringBuffer> w(sb);
            w.StartObject();
            w.Key("method");
            w.String(method);
            w.Key("target");
            w.String(std::string(req.target));
            w.Key("body");
            w.String(body);
            w.Key("public_key_pem");
            w.String(*pub);
            w.Key("headers");
            w.StartObject();
            w.Key("date");
            w.String(h->date);
            w.Key("host");
            w.String(h->host);
            if (h->has_body) {
                w.Key("content-length");
                w.String(h->content_length);
                w.Key("content-type");
                w.String(h->content_type);
                w.Key("x-content-sha256");
                w.String(h->x_content_sha256);
            }
            w.Key("authorization");
            w.String(authorization);
            w.EndObject();
            w.EndObject();
            return std::string(sb.GetString(), sb.GetSize());
        };
        auto json_path = (dir / "request.json").string();
        std::ofstream(json_path) << to_json(h->authorization);
        std::string cmd = "NODE_PATH=" + node_path + " node " + OGP_TEST_SOURCE_DIR +
                          "/crosscheck/verify_with_oci_common.js " + json_path + " >/dev/null";
        INFO(method);
        CHECK(std::system(cmd.c_str()) == 0);

        // A tampered signature must fail.
        std::string tampered = h->authorization;
        tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
        std::ofstream(json_path) << to_json(tampered);
        CHECK(std::system((cmd + " 2>/dev/null").c_str()) != 0);
    }
    std::filesystem::remove_all(dir);
}
