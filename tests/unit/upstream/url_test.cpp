// The one URL parser of the upstream clients (inference pool, control plane, IMDS, federation).

#include "ogp/upstream/url.hpp"
#include "ogp/upstream/client.hpp"

#include <catch2/catch.hpp>

using ogp::upstream::parse_url;

TEST_CASE("parse_url splits http(s) URLs", "[upstream][url]")
{
    auto a = parse_url("https://auth.us-phoenix-1.oraclecloud.com/v1/x509");
    REQUIRE(a);
    CHECK(a->tls);
    CHECK(a->host == "auth.us-phoenix-1.oraclecloud.com");
    CHECK(a->port == 443);
    CHECK(a->port_string() == "443");
    CHECK(a->path == "/v1/x509");
    CHECK(a->target() == "/v1/x509");
    CHECK(a->authority() == "auth.us-phoenix-1.oraclecloud.com");
    CHECK_FALSE(a->is_ip_literal());

    auto b = parse_url("http://169.254.169.254/opc/v2/instance/region?x=1#frag");
    REQUIRE(b);
    CHECK_FALSE(b->tls);
    CHECK(b->port == 80);
    CHECK(b->path == "/opc/v2/instance/region");
    CHECK(b->query == "x=1");
    CHECK(b->target() == "/opc/v2/instance/region?x=1");
    CHECK(b->is_ip_literal());

    auto c = parse_url("http://[fd00:c1::a9fe:a9fe]:8080");
    REQUIRE(c);
    CHECK(c->host == "fd00:c1::a9fe:a9fe");
    CHECK(c->port == 8080);
    CHECK(c->target() == "/");
    CHECK(c->authority() == "[fd00:c1::a9fe:a9fe]:8080");
    CHECK(c->is_ip_literal());

    // The scheme's default port is left out of the authority (Host header, signed host).
    auto d = parse_url("https://h.example:443/a?");
    REQUIRE(d);
    CHECK(d->authority() == "h.example");
    CHECK(d->target() == "/a");
    auto e = parse_url("https://h.example:8443");
    REQUIRE(e);
    CHECK(e->authority() == "h.example:8443");
    // An empty port means the default (RFC 3986 3.2.3).
    auto f = parse_url("http://h.example:/x");
    REQUIRE(f);
    CHECK(f->port == 80);
    // A query right after the authority.
    auto g = parse_url("http://h?a=b");
    REQUIRE(g);
    CHECK(g->path.empty());
    CHECK(g->target() == "/?a=b");
}

TEST_CASE("parse_url refuses what a client must not connect to", "[upstream][url]")
{
    const char* bad[] = {
        "ftp://x/",
        "HTTPS://x/",  // configured endpoints are lower case
        "//x/",
        "x/",
        "https://",
        "https:///path",
        "https://:443/",
        "https://user@host/",
        "https://user:pw@host/",
        "https://host:12a/",
        "https://host:0/",
        "https://host:65536/",
        "https://host:-1/",
        "https://host:+80/",
        "https://host:0000080/",
        "https://host:1:2/",
        "https://[::1/",
        "https://[::1]x/",
        "https://[not-v6]/",
        "https://[fe80::1%25eth0]/",  // zone ids name a local interface
        "https://fe80::1/",           // IPv6 only in brackets
        "https://ho st/",
        "https://host/pa th",
        "https://host/a\r\nX-Injected: 1",
        "https://host/\x7f",
        "https://h\xc3\xa9.example/",
        "https://ho%73t/",
        "https://host\t/",
    };
    for (const char* u : bad) {
        INFO(u);
        CHECK_FALSE(parse_url(u));
    }
    // Bounded: a host name over 253 bytes, a URL over max_url_size.
    CHECK_FALSE(parse_url("https://" + std::string(254, 'a') + "/"));
    CHECK(parse_url("https://" + std::string(253, 'a') + "/"));
    CHECK_FALSE(parse_url("https://h/" + std::string(ogp::upstream::max_url_size, 'p')));
    // A NUL byte inside the string.
    CHECK_FALSE(parse_url(std::string_view("https://h/\0x", 12)));
}

TEST_CASE("a pool target keeps the base path without trailing slashes", "[upstream][url]")
{
    auto u = parse_url("https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/base//");
    REQUIRE(u);
    ogp::upstream::target_url t = *u;
    CHECK(t.base_path == "/base");
    CHECK(t.authority() == "inference.generativeai.us-chicago-1.oci.oraclecloud.com");
    CHECK(t.tls);
    auto root = parse_url("http://127.0.0.1:8080/");
    REQUIRE(root);
    ogp::upstream::target_url r = *root;
    CHECK(r.base_path.empty());
    CHECK(r.authority() == "127.0.0.1:8080");
}
