// OCI config-file parsing and the api_key / session_token providers.

#include "ogp/auth/oci_config_file.hpp"
#include "ogp/auth/signer.hpp"
#include "unit/auth/test_util.hpp"

using namespace ogp::auth;
using namespace ogp::auth::test;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view tenancy = "ocid1.tenancy.oc1..aaaatenancy";
constexpr std::string_view user = "ocid1.user.oc1..aaaauser";

// A config file with [DEFAULT] holding shared keys and profile-specific overrides.
std::string api_key_config(const std::string& key_file, const std::string& fingerprint,
                           const std::string& extra = {})
{
    return "# comment\n[DEFAULT]\ntenancy=" + std::string(tenancy) +
           "\nregion=phx\n\n[DEV]\nuser = " + std::string(user) + "\nfingerprint=" + fingerprint +
           "\nkey_file=" + key_file + "\n" + extra;
}

}  // namespace

TEST_CASE("config file: profiles, DEFAULT inheritance, comments, '=' in values", "[auth][config]")
{
    std::string text =
        "[DEFAULT]\n"
        "region = us-ashburn-1\n"
        "tenancy=t-default\n"
        "; another comment\n"
        "[A]\n"
        "tenancy=t-a\n"
        "USER=u=with=equals\n"
        "\n"
        "[B]\n"
        "region=\n";
    auto a = parse_oci_config(text, "A", "cfg");
    REQUIRE(a);
    CHECK(*a->find("tenancy") == "t-a");
    CHECK(*a->find("region") == "us-ashburn-1");  // inherited
    CHECK(*a->find("user") == "u=with=equals");   // keys lower-cased, value split at first '='
    auto b = parse_oci_config(text, "B", "cfg");
    REQUIRE(b);
    CHECK(b->find("region") == nullptr);  // an empty value counts as missing
    CHECK(*b->find("tenancy") == "t-default");

    auto missing = parse_oci_config(text, "C", "cfg");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message == "cfg: profile [C] not found");

    auto bad = parse_oci_config("[A]\nno equals here\n", "A", "cfg");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "cfg:2: expected key=value");
}

TEST_CASE("expand_user_path expands a leading ~ with HOME", "[auth][config]")
{
    auto env = map_env({{"HOME", "/home/op"}});
    CHECK(expand_user_path("~/.oci/config", env) == "/home/op/.oci/config");
    CHECK(expand_user_path("~", env) == "/home/op");
    CHECK(expand_user_path("/abs/~x", env) == "/abs/~x");
    CHECK(expand_user_path("~other/x", env) == "~other/x");
}

TEST_CASE("api_key: PKCS#1, PKCS#8 and encrypted keys, ~ in key_file", "[auth][config][api_key]")
{
    temp_dir home;
    auto env = map_env({{"HOME", home.path()}});
    auto key = shared_test_key();
    std::string fp = fingerprint_of(key.get());

    struct flavour
    {
        pem_kind kind;
        std::string extra;
    };
    for (auto f : {flavour{pem_kind::pkcs1, ""}, flavour{pem_kind::pkcs8, ""},
                   flavour{pem_kind::pkcs8_encrypted, "pass_phrase=s3cret\n"},
                   flavour{pem_kind::pkcs1_encrypted, "passphrase=s3cret\n"}}) {
        home.write("key.pem", key_pem(key.get(), f.kind, "s3cret"));
        home.write("config", api_key_config("~/key.pem", fp, f.extra));
        auto provider = make_api_key_provider("~/config", "DEV", env);
        auto snap = run_fetch(*provider);
        REQUIRE(snap);
        CHECK((*snap)->key_id() == std::string(tenancy) + "/" + std::string(user) + "/" + fp);
        CHECK((*snap)->tenancy() == tenancy);
        CHECK((*snap)->region() == "us-phoenix-1");  // short code from [DEFAULT] resolved
        CHECK((*snap)->expiry() == std::chrono::system_clock::time_point::max());
        // The loaded key is the same key: it signs, and the signature verifies with the original.
        auto sig = rsa_sha256_sign((*snap)->key(), "data");
        REQUIRE(sig);
        CHECK(rsa_sha256_verify(key.get(), "data", *sig));
    }
}

TEST_CASE("api_key: clear errors", "[auth][config][api_key]")
{
    temp_dir dir;
    auto env = map_env({});
    auto key = shared_test_key();
    std::string fp = fingerprint_of(key.get());
    std::string key_path = dir.write("key.pem", key_pem(key.get(), pem_kind::pkcs8));
    std::string cfg = dir.path() + "/config";

    SECTION("fingerprint mismatch names both fingerprints")
    {
        dir.write("config", api_key_config(key_path, "aa:bb:cc"));
        auto r = run_fetch(*make_api_key_provider(cfg, "DEV", env));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::fingerprint_mismatch);
        CHECK(r.error().message ==
              cfg +
                  " [DEV]: fingerprint aa:bb:cc does not match the private key in "
                  "key_file (its fingerprint is " +
                  fp + ")");
    }
    SECTION("upper-case fingerprint is accepted")
    {
        std::string upper = fp;
        std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
        dir.write("config", api_key_config(key_path, upper));
        CHECK(run_fetch(*make_api_key_provider(cfg, "DEV", env)));
    }
    SECTION("missing fields are named")
    {
        for (std::string field : {"user", "fingerprint", "key_file"}) {
            std::string text = api_key_config(key_path, fp);
            auto pos = text.find("\n" + field + (field == "user" ? " =" : "=")) + 1;
            text.erase(pos, text.find('\n', pos) - pos + 1);
            dir.write("config", text);
            auto r = run_fetch(*make_api_key_provider(cfg, "DEV", env));
            REQUIRE_FALSE(r);
            CHECK(r.error().message == cfg + " [DEV]: missing required field `" + field + "`");
        }
        dir.write("config", "[DEV]\nuser=u\nfingerprint=" + fp + "\nkey_file=" + key_path + "\n");
        auto r = run_fetch(*make_api_key_provider(cfg, "DEV", env));
        REQUIRE_FALSE(r);
        CHECK(r.error().message == cfg + " [DEV]: missing required field `tenancy`");
    }
    SECTION("encrypted key without or with a wrong pass phrase")
    {
        dir.write("key.pem", key_pem(key.get(), pem_kind::pkcs8_encrypted, "right"));
        dir.write("config", api_key_config(key_path, fp));
        auto r = run_fetch(*make_api_key_provider(cfg, "DEV", env));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::key);
        CHECK_THAT(r.error().message, Catch::Contains("encrypted but no pass_phrase"));
        dir.write("config", api_key_config(key_path, fp, "pass_phrase=wrong\n"));
        auto w = run_fetch(*make_api_key_provider(cfg, "DEV", env));
        REQUIRE_FALSE(w);
        CHECK_THAT(w.error().message, Catch::Contains("wrong pass_phrase"));
        CHECK_THAT(w.error().message, !Catch::Contains("right"));
    }
    SECTION("missing files are named")
    {
        auto r = run_fetch(*make_api_key_provider(dir.path() + "/nope", "DEV", env));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message,
                   Catch::StartsWith("cannot read OCI config file " + dir.path() + "/nope"));
        dir.write("config", api_key_config(dir.path() + "/missing.pem", fp));
        auto k = run_fetch(*make_api_key_provider(cfg, "DEV", env));
        REQUIRE_FALSE(k);
        CHECK_THAT(k.error().message, Catch::Contains("key_file " + dir.path() + "/missing.pem"));
    }
    SECTION("not a key")
    {
        dir.write("key.pem", "hello");
        dir.write("config", api_key_config(key_path, fp));
        auto r = run_fetch(*make_api_key_provider(cfg, "DEV", env));
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("not a PEM private key"));
    }
}

TEST_CASE("session_token: keyId ST$<token>, expiry from the JWT, file re-read",
          "[auth][config][session]")
{
    temp_dir dir;
    auto env = map_env({{"HOME", dir.path()}});
    auto key = shared_test_key();
    auto exp1 = std::chrono::system_clock::now() + 1h;
    std::string token1 = make_jwt(exp1);
    dir.write("token", token1 + "\n");
    dir.write("key.pem", key_pem(key.get(), pem_kind::pkcs1));
    dir.write("config",
              "[DEFAULT]\nregion=us-chicago-1\n[S]\nfingerprint=ignored\nkey_file=~/key.pem\n"
              "tenancy=ocid1.tenancy.oc1..t\nsecurity_token_file=~/token\n");
    auto provider = make_session_token_provider("~/config", "S", env, 50ms);
    CHECK(provider->recheck_interval() == std::chrono::milliseconds(50));

    auto s1 = run_fetch(*provider);
    REQUIRE(s1);
    CHECK((*s1)->key_id() == "ST$" + token1);  // trailing newline trimmed
    CHECK((*s1)->expiry() == std::chrono::time_point_cast<std::chrono::seconds>(exp1));
    CHECK((*s1)->region() == "us-chicago-1");

    // A refreshed token file is picked up by the next fetch.
    std::string token2 = make_jwt(exp1 + 1h);
    dir.write("token", token2);
    auto s2 = run_fetch(*provider);
    REQUIRE(s2);
    CHECK((*s2)->key_id() == "ST$" + token2);

    // An expired token is an error that says what to do, without echoing the token.
    std::string old = make_jwt(std::chrono::system_clock::now() - 1min);
    dir.write("token", old);
    auto s3 = run_fetch(*provider);
    REQUIRE_FALSE(s3);
    CHECK(s3.error().code == errc::token);
    CHECK_THAT(s3.error().message, Catch::Contains("oci session refresh"));
    CHECK_THAT(s3.error().message, !Catch::Contains(old));

    // Garbage is rejected.
    dir.write("token", "not-a-jwt");
    auto s4 = run_fetch(*provider);
    REQUIRE_FALSE(s4);
    CHECK_THAT(s4.error().message, Catch::Contains("not a JWT"));
}

TEST_CASE("decode_jwt reads exp, iat and string claims", "[auth][jwt]")
{
    auto exp = std::chrono::system_clock::time_point(std::chrono::seconds(2000000000));
    auto c = decode_jwt(make_jwt(exp, {{"res_tenant", "ocid1.tenancy.oc1..x"}}));
    REQUIRE(c);
    CHECK(c->exp == exp);
    CHECK(c->iat.has_value());
    CHECK(c->strings.at("res_tenant") == "ocid1.tenancy.oc1..x");
    CHECK_FALSE(decode_jwt("a.b"));
    CHECK_FALSE(decode_jwt("a.!!!.c"));
    CHECK_FALSE(decode_jwt(base64url_encode("{}") + "." + base64url_encode("{\"iat\":1}") + ".x"));
}
