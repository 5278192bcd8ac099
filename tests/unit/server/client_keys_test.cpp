// Unit tests for named client keys (issue 16): client_authenticator::from_config() registers
// clients.keys under their names (by key or by key_sha256) and clients.api_keys under their
// default `key-xxxxxxxx` names.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "ogp/config/config.hpp"
#include "ogp/server/client_auth.hpp"

using namespace ogp;
using namespace ogp::server;

namespace {

// printf %s sk-by-digest | sha256sum, in upper case (the loader normalizes; the
// authenticator accepts either case).
constexpr std::string_view by_digest_sha =
    "1DFA8603A2ABDCFE9C523C53B53579AC45951C03066900EBBF0C03767EDFAD90";

clients_config policy()
{
    clients_config c;
    c.keys.push_back({.name = "team-a", .key = "sk-team-a", .models = {"fast"}, .rpm = 60});
    c.keys.push_back({.name = "team-b", .key_sha256 = std::string(by_digest_sha)});
    c.api_keys = {"sk-anon"};
    return c;
}

std::optional<std::string> who(const client_authenticator& auth, std::string_view header)
{
    auto r = auth.authenticate(header);
    if (r.denied || !r.key) {
        return std::nullopt;
    }
    return auth.name(*r.key);
}

}  // namespace

TEST_CASE("from_config: a named key authenticates and reports its name", "[auth][client_keys]")
{
    const auto auth = client_authenticator::from_config(policy());
    CHECK(auth.size() == 3);
    CHECK(who(auth, "Bearer sk-team-a") == "team-a");
    CHECK(who(auth, "bearer sk-team-a") == "team-a");
}

TEST_CASE("from_config: a key_sha256 entry authenticates with the matching key",
          "[auth][client_keys]")
{
    CHECK(who(client_authenticator::from_config(policy()), "Bearer sk-by-digest") == "team-b");
    clients_config c;
    // printf %s sk-team-b | sha256sum
    c.keys.push_back(
        {.name = "team-b",
         .key_sha256 = "292d075b18c9240a48b848c521422c5f418f7dd16b5c66755fe58d0fb6a43e1f"});
    c.keys.push_back(
        {.name = "team-b-upper",
         .key_sha256 = "0F2C10BF3D128C719C6BFA4ECBAE94B7FCEEBAEA6E4438FEF38A90E5ACC326F3"});
    const auto auth = client_authenticator::from_config(c);
    CHECK(who(auth, "Bearer sk-team-b") == "team-b");
    CHECK(who(auth, "Bearer sk-1") == "team-b-upper");  // printf %s sk-1 | sha256sum
    // The digest itself is not a key.
    CHECK_FALSE(
        who(auth, "Bearer 292d075b18c9240a48b848c521422c5f418f7dd16b5c66755fe58d0fb6a43e1f"));
}

TEST_CASE("from_config: anonymous keys keep their key-xxxxxxxx names", "[auth][client_keys]")
{
    const auto auth = client_authenticator::from_config(policy());
    // key- + the first 8 hex digits of SHA-256("sk-anon").
    CHECK(who(auth, "Bearer sk-anon") == "key-bfa3310d");
    CHECK(auth.name(2) == "key-bfa3310d");
}

TEST_CASE("from_config: wrong or missing keys are 401s", "[auth][client_keys]")
{
    const auto auth = client_authenticator::from_config(policy());
    for (std::string_view bad : {"Bearer sk-team-c", "Bearer sk-team-a ", "Bearer sk-team",
                                 "Basic sk-team-a", "Bearer sk-by-digest-not"}) {
        INFO(bad);
        auto r = auth.authenticate(bad);
        REQUIRE(r.denied);
        CHECK(r.denied->status == 401);
        CHECK(r.denied->message.find("sk-") == std::string::npos);  // never echoed
        CHECK_FALSE(r.key);
    }
    auto none = auth.authenticate(std::nullopt);
    REQUIRE(none.denied);
    CHECK(none.denied->status == 401);
}

TEST_CASE("from_config: anonymous access only when no key at all is configured",
          "[auth][client_keys]")
{
    clients_config open;
    open.allow_anonymous = true;
    auto anon = client_authenticator::from_config(open);
    CHECK_FALSE(anon.authenticate(std::nullopt).denied);

    // With a named key, allow_anonymous does not open the door (as with api_keys).
    clients_config keyed = open;
    keyed.keys.push_back({.name = "only", .key = "sk-only"});
    auto k = client_authenticator::from_config(keyed);
    CHECK(k.authenticate(std::nullopt).denied);
    CHECK(who(k, "Bearer sk-only") == "only");

    clients_config closed;
    auto c = client_authenticator::from_config(closed);
    CHECK(c.authenticate(std::string_view("Bearer anything")).denied);
}

TEST_CASE("named: a malformed digest is refused at start-up without showing it",
          "[auth][client_keys]")
{
    try {
        (void)client_authenticator::named({{"", "bad", "zz-secret-digest"}}, false);
        FAIL("no exception");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        CHECK(what.find("bad") != std::string::npos);
        CHECK(what.find("secret") == std::string::npos);
    }
}
