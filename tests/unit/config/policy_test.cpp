// Unit tests for the traffic policy keys (issue 16): clients.keys, limits.store*, oci.endpoints,
// models[].regions/fallbacks, circuit_breaker.*, region_endpoint() and their reload rules.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "ogp/config/config.hpp"
#include "unit/config/config_support.hpp"

using namespace ogp;
using namespace ogp::test;

namespace {

config_result load(std::string_view yaml, std::map<std::string, std::string> vars = {})
{
    return load_config_text(yaml, "policy.yaml", env_of(std::move(vars)));
}

// A file with two aliases and the given clients section body (indented by two).
std::string with_clients(const std::string& clients_body)
{
    return "oci:\n  region: us-chicago-1\n  compartment_id: ocid1.compartment.oc1..aaaa\n"
           "models:\n  - {name: fast, id: meta.llama-3.3-70b-instruct}\n"
           "  - {name: small, id: meta.llama-3.1-8b-instruct}\n"
           "clients:\n" +
           clients_body;
}

// The minimal file plus `extra` (whole sections).
std::string minimal_plus(const std::string& extra)
{
    return std::string(minimal) + extra;
}

// SHA-256 of "sk-team-b" (printf %s sk-team-b | sha256sum).
constexpr std::string_view team_b_sha =
    "292d075b18c9240a48b848c521422c5f418f7dd16b5c66755fe58d0fb6a43e1f";

}  // namespace

// --- clients.keys --------------------------------------------------------------------------

TEST_CASE("clients.keys: named keys with models and limits are read", "[config][policy]")
{
    auto r = load(with_clients(R"(  keys:
    - name: team-a
      key: sk-team-a
      models: [fast, "meta.*", cohere.command-r-plus]
      rpm: 60
      tpm: 100000
      max_concurrent: 4
      max_streams: 2
    - name: Team_B.v2
      key_sha256: 292D075B18C9240A48B848C521422C5F418F7DD16B5C66755FE58D0FB6A43E1F
)"));
    INFO((r.errors.empty() ? std::string() : r.errors.front()));
    REQUIRE(r.value);
    const auto& keys = r.value->clients.keys;
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].name == "team-a");
    CHECK(keys[0].key == "sk-team-a");
    CHECK(keys[0].key_sha256.empty());
    CHECK(keys[0].models == std::vector<std::string>{"fast", "meta.*", "cohere.command-r-plus"});
    CHECK(keys[0].rpm == 60);
    CHECK(keys[0].tpm == 100000);
    CHECK(keys[0].max_concurrent == 4);
    CHECK(keys[0].max_streams == 2);
    CHECK(keys[0].limited());
    CHECK(keys[1].name == "Team_B.v2");
    CHECK(keys[1].key.empty());
    CHECK(keys[1].key_sha256 == team_b_sha);  // normalized to lower case
    CHECK(keys[1].models.empty());
    CHECK_FALSE(keys[1].limited());
    CHECK(r.value->clients.find_key("Team_B.v2") == &keys[1]);
    // clients.keys alone is enough: no "no client API keys configured".
    CHECK(r.value->clients.api_keys.empty());
}

TEST_CASE("clients.keys: names must be well formed and unique", "[config][policy]")
{
    auto r = load(with_clients(R"(  keys:
    - {name: "bad name", key: sk-1}
    - {name: key-0123abcd, key: sk-2}
    - {name: dup, key: sk-3}
    - {name: dup, key: sk-4}
    - {key: sk-5}
    - {name: "", key: sk-6}
    - {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, key: sk-7}
)"));
    REQUIRE_FALSE(r.value);
    CHECK(has_error(r, "policy.yaml: clients.keys[0].name: must be 1 to 64 of"));
    CHECK(has_error(r, "clients.keys[1].name: 'key-0123abcd': key- and 8 hex digits"));
    CHECK(has_error(r, "clients.keys[3].name: duplicate key name 'dup'"));
    CHECK(has_error(r, "clients.keys[4].name: is required"));
    CHECK(has_error(r, "clients.keys[5].name: must be 1 to 64 of"));
    CHECK(has_error(r, "clients.keys[6].name: must be 1 to 64 of"));
    CHECK(r.errors.size() == 6);
    // 64 characters and key-<not 8 hex> are fine.
    auto ok = load(with_clients(
        "  keys:\n    - {name: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, key: sk-1}\n"
        "    - {name: key-0123abcz, key: sk-2}\n    - {name: key-0123abc, key: sk-3}\n"));
    CHECK(ok.errors.empty());
}

TEST_CASE("clients.keys: exactly one of key and key_sha256, both well formed, never echoed",
          "[config][policy]")
{
    auto r = load(with_clients(R"(  keys:
    - {name: both, key: sk-secret-both, key_sha256: 292d075b18c9240a48b848c521422c5f418f7dd16b5c66755fe58d0fb6a43e1f}
    - {name: neither, models: [fast]}
    - {name: spaced, key: "sk-secret with space"}
    - {name: short-digest, key_sha256: "abc123-secret"}
    - {name: not-hex, key_sha256: zz4b1e9c3a4c6f36d0e2bd4e2b9c6b0f7d8b3dc2e0d7c1a5f1f0b6f3a2c4d5e6}
)"));
    REQUIRE_FALSE(r.value);
    CHECK(has_error(r, "clients.keys[0]: set key or key_sha256, not both"));
    CHECK(has_error(r, "clients.keys[1]: needs key or key_sha256"));
    CHECK(has_error(r, "clients.keys[2].key: must be 1 to 512 printable characters"));
    CHECK(has_error(r, "clients.keys[3].key_sha256: must be 64 hex digits"));
    CHECK(has_error(r, "clients.keys[4].key_sha256: must be 64 hex digits"));
    CHECK(r.errors.size() == 5);
    for (const auto& e : r.errors) {
        INFO(e);
        CHECK(e.find("secret") == std::string::npos);
        CHECK(e.find("zz4b1e") == std::string::npos);
    }
    auto long_key =
        load(with_clients("  keys:\n    - {name: a, key: " + std::string(513, 'k') + "}\n"));
    CHECK(has_error(long_key, "clients.keys[0].key: must be 1 to 512"));
    CHECK_FALSE(has_error(long_key, std::string(513, 'k')));
}

TEST_CASE("clients.keys: the same key twice is refused by digest, without showing it",
          "[config][policy]")
{
    // sk-team-b's digest under another name, a named key equal to an anonymous one, and two
    // named keys with one key.
    auto r = load(with_clients(R"(  api_keys: [sk-anon-secret]
  keys:
    - {name: a, key: sk-dup-secret}
    - {name: b, key: sk-dup-secret}
    - {name: c, key: sk-anon-secret}
    - {name: d, key: sk-team-b}
    - {name: e, key_sha256: 292d075b18c9240a48b848c521422c5f418f7dd16b5c66755fe58d0fb6a43e1f}
)"));
    REQUIRE_FALSE(r.value);
    CHECK(has_error(r, "clients.keys[1].key: is the same key as clients.keys[0] ('a')"));
    CHECK(has_error(r, "clients.keys[2].key: is the same key as clients.api_keys key #1"));
    CHECK(has_error(r, "clients.keys[4].key_sha256: is the same key as clients.keys[3] ('d')"));
    for (const auto& e : r.errors) {
        INFO(e);
        CHECK(e.find("secret") == std::string::npos);
        CHECK(e.find("sk-team-b") == std::string::npos);
    }
    CHECK(r.errors.size() == 3);
}

TEST_CASE("clients.keys: a key_sha256 equal to another entry's key digest is refused",
          "[config][policy]")
{
    // printf %s sk-1 | sha256sum; upper case compares equal once normalized.
    const std::string sk1 = "0f2c10bf3d128c719c6bfa4ecbae94b7fceebaea6e4438fef38a90e5acc326f3";
    const std::string sk1_upper =
        "0F2C10BF3D128C719C6BFA4ECBAE94B7FCEEBAEA6E4438FEF38A90E5ACC326F3";
    auto r =
        load(with_clients("  api_keys: [sk-1]\n  keys:\n    - {name: x, key_sha256: " + sk1_upper +
                          "}\n    - {name: y, key_sha256: " + sk1 + "}\n"));
    REQUIRE_FALSE(r.value);
    CHECK(has_error(r, "clients.keys[0].key_sha256: is the same key as clients.api_keys key #1"));
    CHECK(has_error(r, "clients.keys[1].key_sha256: is the same key as clients.api_keys key #1"));
    CHECK(r.errors.size() == 2);
    CHECK_FALSE(has_error(r, sk1));
    CHECK_FALSE(has_error(r, "sk-1 "));
}

TEST_CASE("clients.keys: model lists catch typos, globs and OCI ids pass", "[config][policy]")
{
    auto ok = load(with_clients(R"(  keys:
    - {name: a, key: sk-a, models: [fast, small, "f*", "?mall", "*", meta.llama-3.3-70b-instruct]}
)"));
    INFO((ok.errors.empty() ? std::string() : ok.errors.front()));
    CHECK(ok.errors.empty());
    auto bad = load(with_clients(R"(  keys:
    - {name: a, key: sk-a, models: [fsat, "", "with space", {x: 1}]}
    - {name: b, key: sk-b, models: fast}
)"));
    REQUIRE_FALSE(bad.value);
    CHECK(has_error(bad, "clients.keys[0].models[0]: 'fsat' is neither a model alias"));
    CHECK(has_error(bad, "clients.keys[0].models[1]: must be 1 to 256 printable"));
    CHECK(has_error(bad, "clients.keys[0].models[2]: must be 1 to 256 printable"));
    CHECK(has_error(bad, "clients.keys[0].models[3]: must be a string"));
    CHECK(has_error(bad, "clients.keys[1].models: must be a list of strings"));
    CHECK(bad.errors.size() == 5);
    auto too_long = load(with_clients("  keys:\n    - {name: a, key: sk-a, models: [a." +
                                      std::string(256, 'x') + "]}\n"));
    CHECK(has_error(too_long, "clients.keys[0].models[0]: must be 1 to 256 printable"));
}

TEST_CASE("clients.keys: limits are integers 0 to 1000000000", "[config][policy]")
{
    auto ok = load(with_clients(R"(  keys:
    - {name: a, key: sk-a, rpm: 0, tpm: 1000000000, max_concurrent: 1, max_streams: 0}
)"));
    CHECK(ok.errors.empty());
    auto bad = load(with_clients(R"(  keys:
    - {name: a, key: sk-a, rpm: -1, tpm: 1000000001, max_concurrent: 1.5, max_streams: many}
)"));
    REQUIRE_FALSE(bad.value);
    for (auto f : {"rpm", "tpm", "max_concurrent", "max_streams"}) {
        INFO(f);
        CHECK(has_error(bad, "clients.keys[0]." + std::string(f) +
                                 ": must be an integer between 0 and 1000000000"));
    }
    CHECK(bad.errors.size() == 4);
}

TEST_CASE("clients.keys: shape errors name the entry", "[config][policy]")
{
    auto r = load(with_clients(R"(  keys:
    - {name: a, key: sk-a, rmp: 5}
    - just-a-string
)"));
    REQUIRE_FALSE(r.value);
    CHECK(has_error(r, "policy.yaml: unknown key 'clients.keys[0].rmp'"));
    CHECK(has_error(r, "clients.keys[1]: must be a mapping"));
    auto not_list = load(with_clients("  keys: {name: a, key: sk-a}\n"));
    CHECK(has_error(not_list, "clients.keys: must be a list of {name, key?, key_sha256?"));
    // No variable: named keys come from the file only.
    for (const auto& k : config_keys()) {
        if (k.path == "clients.keys") {
            CHECK(k.env.empty());
        }
    }
}

TEST_CASE("clients.keys: described by name and limits, key material never", "[config][policy]")
{
    auto r = load(with_clients(R"(  api_keys: [sk-anon-secret]
  keys:
    - {name: a, key: sk-named-secret, models: [fast, "meta.*"], rpm: 60, max_streams: 2}
    - {name: b, key_sha256: 292d075b18c9240a48b848c521422c5f418f7dd16b5c66755fe58d0fb6a43e1f}
)"));
    REQUIRE(r.value);
    const std::string text = describe_config(*r.value);
    CHECK(text.find("secret") == std::string::npos);
    CHECK(text.find("292d075b") == std::string::npos);
    CHECK(described(*r.value, "clients.keys") ==
          "clients.keys: [a: key (set) models [fast, meta.*] rpm 60 max_streams 2; b: key_sha256 "
          "(set)]");
    auto none = load(minimal);
    REQUIRE(none.value);
    CHECK(described(*none.value, "clients.keys") == "clients.keys: []");
}

// --- limits.store* -------------------------------------------------------------------------

TEST_CASE("limits.store: redis URLs are parsed with their defaults", "[config][policy]")
{
    struct sample
    {
        std::string url;
        std::string host;
        unsigned port;
        unsigned db;
        std::string password;
        std::string normalized;
    };
    const sample samples[] = {
        {"redis://127.0.0.1", "127.0.0.1", 6379, 0, "", "redis://127.0.0.1:6379/0"},
        {"redis://redis.internal:6380/3", "redis.internal", 6380, 3, "",
         "redis://redis.internal:6380/3"},
        {"redis://:s3cret@10.0.0.5:6379/15", "10.0.0.5", 6379, 15, "s3cret",
         "redis://10.0.0.5:6379/15"},
        {"redis://[::1]:7000", "::1", 7000, 0, "", "redis://[::1]:7000/0"},
        {"redis://[fd00::5]/2", "fd00::5", 6379, 2, "", "redis://[fd00::5]:6379/2"},
        {"redis://:p%40ss%2Fw@cache/", "cache", 6379, 0, "p@ss/w", "redis://cache:6379/0"},
        {"redis://:a@b@localhost:1", "localhost", 1, 0, "a@b", "redis://localhost:1/0"},
    };
    for (const auto& s : samples) {
        INFO(s.url);
        auto r = load(minimal_plus("limits:\n  store: \"" + s.url + "\"\n"));
        REQUIRE(r.value);
        const auto& l = r.value->limits;
        CHECK(l.store_host == s.host);
        CHECK(l.store_port == s.port);
        CHECK(l.store_db == s.db);
        CHECK(l.store_password == s.password);
        CHECK(l.store == s.normalized);  // never the password
        // The environment says the same.
        auto e = load(minimal, {{"OGP_LIMITS_STORE", s.url}});
        REQUIRE(e.value);
        CHECK(e.value->limits.store == s.normalized);
        CHECK(e.value->limits.store_password == s.password);
    }
    auto off = load(minimal);
    REQUIRE(off.value);
    CHECK(off.value->limits.store.empty());
    CHECK(off.value->limits.store_host.empty());
    CHECK(off.value->limits.store_fail_open);
    CHECK(off.value->limits.store_timeout == std::chrono::milliseconds(250));
    // The environment overrides the file, and "" turns the file's store off... an empty
    // variable counts as unset, so the file's store stays.
    auto over = load(minimal_plus("limits:\n  store: redis://a:1\n"),
                     {{"OGP_LIMITS_STORE", "redis://b:2/1"}});
    REQUIRE(over.value);
    CHECK(over.value->limits.store == "redis://b:2/1");
    auto cleared = load(minimal_plus("limits:\n  store: \"\"\n"));
    REQUIRE(cleared.value);
    CHECK(cleared.value->limits.store.empty());
}

TEST_CASE("limits.store: anything else is refused, the password never shown", "[config][policy]")
{
    const char* bad[] = {
        "rediss://:pw-secret@host:6380",  // TLS is not supported
        "http://pw-secret.example",
        "unix:///var/run/redis.sock",
        "redis://",
        "redis://host:0",
        "redis://host:65536",
        "redis://host:",
        "redis://host/16",
        "redis://host/x",
        "redis://host/0?timeout=1",
        "redis://user:pw-secret@host",
        "redis://:@host",
        "redis://:pw%zz-secret@host",
        "redis://bad_host!",
        "redis://-host",
        "redis://[::1",
        "redis://[not-v6]:1",
        "redis://300.1.1.1",
        "redis://host name",
    };
    for (const char* url : bad) {
        INFO(url);
        auto r = load(minimal_plus("limits:\n  store: \"" + std::string(url) + "\"\n"));
        REQUIRE_FALSE(r.value);
        REQUIRE(r.errors.size() == 1);
        CHECK(r.errors[0].starts_with("policy.yaml: limits.store: must be"));
        CHECK(r.errors[0].find("secret") == std::string::npos);
        auto e = load(minimal, {{"OGP_LIMITS_STORE", url}});
        REQUIRE(e.errors.size() == 1);
        CHECK(e.errors[0].starts_with("environment: OGP_LIMITS_STORE: must be"));
        CHECK(e.errors[0].find("secret") == std::string::npos);
    }
    auto tls = load(minimal, {{"OGP_LIMITS_STORE", "rediss://host"}});
    CHECK(has_error(tls, "only redis:// is supported"));
}

TEST_CASE("limits.store: described without the password", "[config][policy]")
{
    auto r = load(minimal_plus("limits:\n  store: redis://:pw-secret@10.0.0.5:6390/4\n"));
    REQUIRE(r.value);
    CHECK(describe_config(*r.value).find("pw-secret") == std::string::npos);
    CHECK(described(*r.value, "limits.store") ==
          "limits.store: redis://10.0.0.5:6390/4 password (set)");
    auto open = load(minimal_plus("limits:\n  store: redis://10.0.0.5\n"));
    REQUIRE(open.value);
    CHECK(described(*open.value, "limits.store") == "limits.store: redis://10.0.0.5:6379/0");
    auto none = load(minimal);
    REQUIRE(none.value);
    CHECK(described(*none.value, "limits.store") == "limits.store: \"\" (in-process)");
}

TEST_CASE("limits.store_failure and limits.store_timeout", "[config][policy]")
{
    auto r = load(minimal_plus("limits:\n  store_failure: closed\n  store_timeout: 40ms\n"));
    REQUIRE(r.value);
    CHECK_FALSE(r.value->limits.store_fail_open);
    CHECK(r.value->limits.store_timeout == std::chrono::milliseconds(40));
    CHECK(described(*r.value, "limits.store_failure") == "limits.store_failure: closed");
    CHECK(described(*r.value, "limits.store_timeout") == "limits.store_timeout: 40ms");

    auto env = load(minimal_plus("limits:\n  store_failure: closed\n"),
                    {{"OGP_LIMITS_STORE_FAILURE", "open"}, {"OGP_LIMITS_STORE_TIMEOUT", "10s"}});
    REQUIRE(env.value);
    CHECK(env.value->limits.store_fail_open);
    CHECK(env.value->limits.store_timeout == std::chrono::seconds(10));

    auto lowest = load(minimal_plus("limits:\n  store_timeout: 1ms\n"));
    REQUIRE(lowest.value);
    CHECK(lowest.value->limits.store_timeout == std::chrono::milliseconds(1));

    auto bad = load(minimal_plus("limits:\n  store_failure: maybe\n  store_timeout: 11s\n"));
    REQUIRE_FALSE(bad.value);
    CHECK(has_error(bad, "limits.store_failure: must be open or closed, got 'maybe'"));
    CHECK(has_error(bad, "limits.store_timeout: must be between 1ms and 10s, got '11s'"));
    auto zero = load(minimal, {{"OGP_LIMITS_STORE_TIMEOUT", "0.0001"}});
    CHECK(has_error(zero, "environment: OGP_LIMITS_STORE_TIMEOUT: must be"));
}

// --- oci.endpoints, models[].regions and fallbacks -------------------------------------------

TEST_CASE("oci.endpoints: regions resolved to canonical ids, URLs checked", "[config][policy]")
{
    auto ok = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  endpoints:
    FRA: https://fra.example/
    us-ashburn-1: "http://127.0.0.1:9001//"
    xx-newplace-7: https://new.example
clients:
  api_keys: [sk-1]
)");
    INFO((ok.errors.empty() ? std::string() : ok.errors.front()));
    REQUIRE(ok.value);
    const auto& e = ok.value->oci.endpoints;
    CHECK(e.size() == 3);
    CHECK(e.at("eu-frankfurt-1") == "https://fra.example");
    CHECK(e.at("us-ashburn-1") == "http://127.0.0.1:9001");
    CHECK(e.at("xx-newplace-7") == "https://new.example");
    CHECK(described(*ok.value, "oci.endpoints") ==
          "oci.endpoints: {eu-frankfurt-1: https://fra.example, us-ashburn-1: "
          "http://127.0.0.1:9001, xx-newplace-7: https://new.example}");
}

TEST_CASE("oci.endpoints: unknown regions, bad URLs and repeats are refused", "[config][policy]")
{
    auto r = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  endpoints:
    nowhere: https://x.example
    ord: ftp://x.example
    iad: ""
    phx: https://a.example
    us-phoenix-1: https://b.example
    fra: [https://x.example]
clients:
  api_keys: [sk-1]
)");
    REQUIRE_FALSE(r.value);
    CHECK(has_error(r, "oci.endpoints.nowhere: unknown region 'nowhere'"));
    CHECK(has_error(r, "oci.endpoints.ord: must be an http(s):// URL"));
    CHECK(has_error(r, "oci.endpoints.iad: must be an http(s):// URL"));
    CHECK(has_error(r, "names region us-phoenix-1 again"));
    CHECK(has_error(r, "oci.endpoints.fra: must be an http(s):// URL"));
    CHECK(r.errors.size() == 5);
    auto not_map = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  endpoints: [https://x.example]
clients:
  api_keys: [sk-1]
)");
    CHECK(has_error(not_map, "oci.endpoints: must be a mapping of region: URL"));
}

TEST_CASE("oci.endpoints: OGP_OCI_ENDPOINTS replaces the file's map", "[config][policy]")
{
    auto r = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
  endpoints:
    fra: https://file.example
clients:
  api_keys: [sk-1]
)",
                  {{"OGP_OCI_ENDPOINTS", "ord=https://127.0.0.1:1/, lhr = http://127.0.0.1:2"}});
    REQUIRE(r.value);
    CHECK(r.value->oci.endpoints ==
          std::map<std::string, std::string, std::less<>>{{"uk-london-1", "http://127.0.0.1:2"},
                                                          {"us-chicago-1", "https://127.0.0.1:1"}});
    auto bad = load(minimal, {{"OGP_OCI_ENDPOINTS", "https://no-region.example"}});
    CHECK(has_error(bad, "environment: OGP_OCI_ENDPOINTS: must be region=url pairs"));
    auto bad_url = load(minimal, {{"OGP_OCI_ENDPOINTS", "fra=nope"}});
    CHECK(has_error(bad_url, "oci.endpoints.fra: must be an http(s):// URL"));
}

TEST_CASE("models[].regions: canonical ids, each once", "[config][policy]")
{
    auto r = load(R"(
oci:
  region: ord
  compartment_id: ocid1.compartment.oc1..aaaa
  endpoints:
    xx-private-1: https://private.example
clients:
  api_keys: [sk-1]
models:
  - name: a
    id: meta.llama-3.3-70b-instruct
    regions: [ORD, fra, xx-private-1]
  - name: b
    id: meta.llama-3.1-8b-instruct
)");
    INFO((r.errors.empty() ? std::string() : r.errors.front()));
    REQUIRE(r.value);
    CHECK(r.value->models[0].regions ==
          std::vector<std::string>{"us-chicago-1", "eu-frankfurt-1", "xx-private-1"});
    CHECK(r.value->models[1].regions.empty());
    CHECK(described(*r.value, "models")
              .find("a = meta.llama-3.3-70b-instruct regions [us-chicago-1, eu-frankfurt-1, "
                    "xx-private-1]") != std::string::npos);

    auto bad = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
clients:
  api_keys: [sk-1]
models:
  - name: a
    id: meta.llama-3.3-70b-instruct
    regions: [ord, us-chicago-1, "not a region", {x: 1}]
  - name: b
    id: x.y
    regions: ord
)");
    REQUIRE_FALSE(bad.value);
    CHECK(has_error(bad, "models[0].regions[1]: region us-chicago-1 is listed twice"));
    CHECK(has_error(bad, "models[0].regions[2]: unknown region 'not a region'"));
    CHECK(has_error(bad, "models[0].regions[3]: must be a string"));
    CHECK(has_error(bad, "models[1].regions: must be a list of strings"));
    CHECK(bad.errors.size() == 4);
}

TEST_CASE("models[].fallbacks: other existing aliases, each once", "[config][policy]")
{
    auto r = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
clients:
  api_keys: [sk-1]
models:
  - {name: a, id: meta.a, fallbacks: [b, c]}
  - {name: b, id: meta.b, fallbacks: [a]}
  - {name: c, id: meta.c}
)");
    INFO((r.errors.empty() ? std::string() : r.errors.front()));
    REQUIRE(r.value);
    CHECK(r.value->models[0].fallbacks == std::vector<std::string>{"b", "c"});
    CHECK(r.value->models[1].fallbacks == std::vector<std::string>{"a"});  // cycles are fine
    CHECK(described(*r.value, "models").find("a = meta.a fallbacks [b, c]") != std::string::npos);

    auto bad = load(R"(
oci:
  compartment_id: ocid1.compartment.oc1..aaaa
clients:
  api_keys: [sk-1]
models:
  - {name: a, id: meta.a, fallbacks: [a, missing, b, b]}
  - {name: b, id: meta.b, fallbacks: b}
)");
    REQUIRE_FALSE(bad.value);
    CHECK(has_error(bad, "models[0].fallbacks[0]: 'a' is the alias itself"));
    CHECK(has_error(bad, "models[0].fallbacks[1]: no model alias named 'missing'"));
    CHECK(has_error(bad, "models[0].fallbacks[3]: 'b' is listed twice"));
    CHECK(has_error(bad, "models[1].fallbacks: must be a list of strings"));
    CHECK(bad.errors.size() == 4);
}

// --- circuit_breaker.* -----------------------------------------------------------------------

TEST_CASE("circuit_breaker: defaults, file, environment and bounds", "[config][policy]")
{
    auto d = load(minimal);
    REQUIRE(d.value);
    CHECK(d.value->circuit_breaker.failures == 5);
    CHECK(d.value->circuit_breaker.cooldown == std::chrono::seconds(30));
    CHECK(described(*d.value, "circuit_breaker.failures") == "circuit_breaker.failures: 5");
    CHECK(described(*d.value, "circuit_breaker.cooldown") == "circuit_breaker.cooldown: 30s");

    auto f = load(minimal_plus("circuit_breaker:\n  failures: 0\n  cooldown: 100ms\n"));
    REQUIRE(f.value);
    CHECK(f.value->circuit_breaker.failures == 0);
    CHECK(f.value->circuit_breaker.cooldown == std::chrono::milliseconds(100));

    auto e =
        load(minimal_plus("circuit_breaker:\n  failures: 3\n"),
             {{"OGP_CIRCUIT_BREAKER_FAILURES", "1000"}, {"OGP_CIRCUIT_BREAKER_COOLDOWN", "1h"}});
    REQUIRE(e.value);
    CHECK(e.value->circuit_breaker.failures == 1000);
    CHECK(e.value->circuit_breaker.cooldown == std::chrono::hours(1));

    auto bad = load(minimal_plus("circuit_breaker:\n  failures: 1001\n  cooldown: 99ms\n"));
    REQUIRE_FALSE(bad.value);
    CHECK(has_error(bad, "circuit_breaker.failures: must be between 0 and 1000, got 1001"));
    CHECK(has_error(bad, "circuit_breaker.cooldown: must be between 100ms and 3600s"));
    auto too_long = load(minimal, {{"OGP_CIRCUIT_BREAKER_COOLDOWN", "61m"}});
    CHECK(has_error(too_long, "environment: OGP_CIRCUIT_BREAKER_COOLDOWN: must be between"));
    auto negative = load(minimal, {{"OGP_CIRCUIT_BREAKER_FAILURES", "-1"}});
    CHECK(has_error(negative, "environment: OGP_CIRCUIT_BREAKER_FAILURES: must be between"));
}

// --- region_endpoint() -----------------------------------------------------------------------

TEST_CASE("region_endpoint: endpoints map, own endpoint, derived, else empty", "[config][policy]")
{
    auto r = load(R"(
oci:
  region: ord
  endpoint: https://own.example/
  compartment_id: ocid1.compartment.oc1..aaaa
  endpoints:
    fra: https://fra.private.example
clients:
  api_keys: [sk-1]
)");
    REQUIRE(r.value);
    const config& c = *r.value;
    CHECK(region_endpoint(c, "eu-frankfurt-1") == "https://fra.private.example");
    CHECK(region_endpoint(c, "FRA") == "https://fra.private.example");
    CHECK(region_endpoint(c, "us-chicago-1") == "https://own.example");
    CHECK(region_endpoint(c, "ord") == "https://own.example");
    CHECK(region_endpoint(c, "us-ashburn-1") ==
          "https://inference.generativeai.us-ashburn-1.oci.oraclecloud.com");
    CHECK(region_endpoint(c, "uk-gov-london-1") ==
          "https://inference.generativeai.uk-gov-london-1.oci.oraclegovcloud.uk");
    CHECK(region_endpoint(c, "not a region").empty());
    CHECK(region_endpoint(c, "").empty());

    // The endpoints map wins over oci.endpoint for the daemon's own region too.
    auto own = load(R"(
oci:
  region: us-chicago-1
  endpoint: https://own.example
  compartment_id: ocid1.compartment.oc1..aaaa
  endpoints:
    us-chicago-1: https://mapped.example
clients:
  api_keys: [sk-1]
)");
    REQUIRE(own.value);
    CHECK(region_endpoint(*own.value, "us-chicago-1") == "https://mapped.example");

    // No region configured (IMDS tells later): derived for any region asked.
    auto bare = load(minimal);
    REQUIRE(bare.value);
    CHECK(region_endpoint(*bare.value, "us-chicago-1") ==
          "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com");
}

// --- plan_reload() -------------------------------------------------------------------------

TEST_CASE("plan_reload: the limits store needs a restart, the rest of the policy reloads",
          "[config][policy][reload]")
{
    auto base = load(minimal);
    REQUIRE(base.value);
    const config a = *base.value;
    struct change
    {
        std::string key;  // "" : no restart
        void (*apply)(config&);
    };
    const change changes[] = {
        {"limits.store", [](config& c) { c.limits.store = "redis://127.0.0.1:6379/0"; }},
        {"limits.store", [](config& c) { c.limits.store_password = "new-password"; }},
        {"limits.store_failure", [](config& c) { c.limits.store_fail_open = false; }},
        {"limits.store_timeout",
         [](config& c) { c.limits.store_timeout = std::chrono::milliseconds(90); }},
        {"", [](config& c) { c.clients.keys.push_back({.name = "n", .key = "k", .rpm = 5}); }},
        {"", [](config& c) { c.oci.endpoints["eu-frankfurt-1"] = "https://x.example"; }},
        {"", [](config& c) { c.circuit_breaker.failures = 0; }},
        {"", [](config& c) { c.circuit_breaker.cooldown = std::chrono::seconds(1); }},
        {"",
         [](config& c) {
             c.models.push_back({.name = "m", .id = "meta.m"});
             c.models.back().regions = {"eu-frankfurt-1"};
         }},
        {"",
         [](config& c) {
             c.models.push_back({.name = "m", .id = "meta.m"});
             c.models.back().fallbacks = {"x"};
         }},
    };
    for (const auto& ch : changes) {
        INFO(ch.key);
        config b = a;
        ch.apply(b);
        const auto plan = plan_reload(a, b);
        if (ch.key.empty()) {
            CHECK(plan.restart_needed.empty());
        } else {
            CHECK(plan.restart_needed == std::vector<std::string>{ch.key});
            CHECK(plan_reload(b, a).restart_needed == std::vector<std::string>{ch.key});
        }
        CHECK_FALSE(plan.credentials_changed);
    }
}

TEST_CASE("config keys: every policy key is in the table with its variable", "[config][policy]")
{
    const std::map<std::string, std::string> expected{
        {"clients.keys", ""},
        {"oci.endpoints", "OGP_OCI_ENDPOINTS"},
        {"limits.store", "OGP_LIMITS_STORE"},
        {"limits.store_failure", "OGP_LIMITS_STORE_FAILURE"},
        {"limits.store_timeout", "OGP_LIMITS_STORE_TIMEOUT"},
        {"circuit_breaker.failures", "OGP_CIRCUIT_BREAKER_FAILURES"},
        {"circuit_breaker.cooldown", "OGP_CIRCUIT_BREAKER_COOLDOWN"},
    };
    std::map<std::string, std::string> found;
    for (const auto& k : config_keys()) {
        if (expected.count(std::string(k.path)) != 0) {
            found[std::string(k.path)] = std::string(k.env);
        }
    }
    CHECK(found == expected);
    CHECK(has_error(load("clients: 1"), "clients: must be a mapping"));
}

TEST_CASE("config/teams.yaml: the traffic policy example loads as documented", "[config][policy]")
{
    auto r = load_config(std::string(OGP_TEST_SOURCE_DIR) + "/../config/teams.yaml", env_of({}));
    INFO((r.errors.empty() ? std::string() : r.errors.front()));
    REQUIRE(r.value);
    const config& c = *r.value;
    REQUIRE(c.clients.keys.size() == 3);
    CHECK(c.clients.api_keys.empty());
    const auto* research = c.clients.find_key("team-research");
    REQUIRE(research != nullptr);
    CHECK(research->key.empty());
    CHECK(research->key_sha256.size() == 64);
    CHECK(c.clients.keys[0].limited());
    CHECK(c.clients.keys[0].models != c.clients.keys[2].models);
    const auto* gpt = c.find_model("gpt-4o");
    REQUIRE(gpt != nullptr);
    CHECK(gpt->regions == std::vector<std::string>{"us-chicago-1", "eu-frankfurt-1"});
    CHECK(gpt->fallbacks == std::vector<std::string>{"gpt-4o-mini"});
    CHECK(region_endpoint(c, "eu-frankfurt-1") ==
          "https://inference.generativeai.eu-frankfurt-1.oci.oraclecloud.com");
    CHECK(describe_config(c).find("EXAMPLE") == std::string::npos);
}
