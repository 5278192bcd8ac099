// The RESP2 encoder and the bounded incremental reply parser of the Redis limits store.
#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "../../../src/limits/resp.hpp"

using namespace ogp::limits::resp;

namespace {

struct outcome
{
    parser::status status = parser::status::more;
    std::size_t consumed = 0;  ///< over all pieces
    value v;
    std::string reason;
};

// Feeds `wire` in pieces cut at `cuts` (ascending offsets) and stops at done or error.
outcome parse_split(std::string_view wire, const std::vector<std::size_t>& cuts,
                    parser_limits l = {})
{
    parser p(l);
    outcome o;
    std::size_t from = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(wire.size());
    for (const auto end : ends) {
        std::size_t used = 0;
        o.status = p.feed(wire.substr(from, end - from), used);
        o.consumed += used;
        if (o.status != parser::status::more) {
            break;
        }
        from = end;
    }
    if (o.status == parser::status::done) {
        o.v = std::move(p.result());
    }
    o.reason = std::string(p.reason());
    return o;
}

outcome parse(std::string_view wire, parser_limits l = {})
{
    return parse_split(wire, {}, l);
}

bool same(const value& a, const value& b)
{
    if (a.type != b.type || a.text != b.text || a.integer != b.integer ||
        a.elements.size() != b.elements.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.elements.size(); ++i) {
        if (!same(a.elements[i], b.elements[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace

TEST_CASE("resp encodes a command as an array of bulk strings", "[resp]")
{
    std::string out;
    const std::array<std::string_view, 3> args{"EVALSHA", "", std::string_view("a\r\nb\0", 5)};
    encode_command(out, args);
    CHECK(out == std::string("*3\r\n$7\r\nEVALSHA\r\n$0\r\n\r\n$5\r\na\r\nb\0\r\n", 34));
}

TEST_CASE("resp parses every reply type", "[resp]")
{
    auto s = parse("+OK\r\n");
    REQUIRE(s.status == parser::status::done);
    CHECK(s.v.type == kind::simple);
    CHECK(s.v.text == "OK");

    auto e = parse("-NOSCRIPT No matching script\r\n");
    REQUIRE(e.status == parser::status::done);
    CHECK(e.v.is_error());
    CHECK(e.v.text == "NOSCRIPT No matching script");

    auto i = parse(":-9223372036854775808\r\n");
    REQUIRE(i.status == parser::status::done);
    CHECK(i.v.type == kind::integer);
    CHECK(i.v.integer == INT64_MIN);

    auto b = parse("$5\r\na\r\nb!\r\n");
    REQUIRE(b.status == parser::status::done);
    CHECK(b.v.type == kind::bulk);
    CHECK(b.v.text == "a\r\nb!");

    auto empty = parse("$0\r\n\r\n");
    REQUIRE(empty.status == parser::status::done);
    CHECK(empty.v.type == kind::bulk);
    CHECK(empty.v.text.empty());

    CHECK(parse("$-1\r\n").v.type == kind::nil);
    CHECK(parse("*-1\r\n").v.type == kind::nil);
    auto none = parse("*0\r\n");
    REQUIRE(none.status == parser::status::done);
    CHECK(none.v.type == kind::array);
    CHECK(none.v.elements.empty());

    auto a = parse("*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n+y\r\n");
    REQUIRE(a.status == parser::status::done);
    REQUIRE(a.v.type == kind::array);
    REQUIRE(a.v.elements.size() == 3);
    CHECK(a.v.elements[0].integer == 1);
    REQUIRE(a.v.elements[1].elements.size() == 2);
    CHECK(a.v.elements[1].elements[0].text == "x");
    CHECK(a.v.elements[1].elements[1].type == kind::nil);
    CHECK(a.v.elements[2].text == "y");
}

TEST_CASE("resp gives the same reply for every split of the input", "[resp]")
{
    const std::vector<std::string> wires{
        "+OK\r\n",
        "-ERR x\r\n",
        ":12345\r\n",
        "$12\r\nhello\r\nworld\r\n",
        "*6\r\n:0\r\n:4\r\n:12000\r\n:0\r\n:0\r\n:0\r\n",
        "*2\r\n*2\r\n*1\r\n*0\r\n$0\r\n\r\n$-1\r\n",
    };
    for (const auto& wire : wires) {
        const auto whole = parse(wire);
        REQUIRE(whole.status == parser::status::done);
        CHECK(whole.consumed == wire.size());
        // One cut at every byte, and byte by byte.
        for (std::size_t cut = 1; cut < wire.size(); ++cut) {
            const auto split = parse_split(wire, {cut});
            INFO(wire << " cut at " << cut);
            REQUIRE(split.status == parser::status::done);
            CHECK(split.consumed == wire.size());
            CHECK(same(split.v, whole.v));
        }
        std::vector<std::size_t> every;
        for (std::size_t cut = 1; cut < wire.size(); ++cut) {
            every.push_back(cut);
        }
        const auto bytes = parse_split(wire, every);
        REQUIRE(bytes.status == parser::status::done);
        CHECK(same(bytes.v, whole.v));
    }
}

TEST_CASE("resp stops at the end of one reply", "[resp]")
{
    parser p;
    std::size_t used = 0;
    CHECK(p.feed("+OK\r\n:1\r\n", used) == parser::status::done);
    CHECK(used == 5);
    CHECK(p.feed(":1\r\n", used) == parser::status::done);
    CHECK(used == 0);
    p.reset();
    CHECK(p.feed(":1\r\n", used) == parser::status::done);
    CHECK(p.result().integer == 1);
}

TEST_CASE("resp refuses replies beyond its bounds", "[resp]")
{
    parser_limits l;
    l.max_bytes = 64;
    l.max_elements = 4;
    l.max_depth = 2;
    l.max_values = 8;

    // A bulk string longer than the bound fails on its header, before its body arrives.
    auto big = parse("$65\r\n", l);
    CHECK(big.status == parser::status::error);
    CHECK(big.reason == "reply too long");
    CHECK(parse("$9223372036854775807\r\n", l).status == parser::status::error);
    CHECK(parse("$58\r\n", l).status == parser::status::error);  // 5 + 58 + 2 > 64
    CHECK(parse("$57\r\n" + std::string(57, 'x') + "\r\n", l).status == parser::status::done);

    // A simple line that never ends.
    auto endless = parse("+" + std::string(100, 'a'), l);
    CHECK(endless.status == parser::status::error);
    CHECK(endless.consumed <= 64);

    CHECK(parse("*5\r\n", l).reason == "array too long");
    CHECK(parse("*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", l).status == parser::status::done);
    CHECK(parse("*1\r\n*1\r\n*1\r\n", l).reason == "arrays nested too deep");
    CHECK(parse("*1\r\n*1\r\n:1\r\n", l).status == parser::status::done);
    CHECK(parse("*4\r\n*4\r\n:1\r\n:1\r\n:1\r\n:1\r\n*4\r\n:1\r\n:1\r\n", l).reason ==
          "too many values");

    // The default bounds: 64 KiB, 64 elements, depth 4.
    CHECK(parse("*65\r\n").status == parser::status::error);
    CHECK(parse("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n").status == parser::status::error);
    CHECK(parse("$65536\r\n").status == parser::status::error);
}

TEST_CASE("resp refuses malformed replies", "[resp]")
{
    const std::vector<std::string> bad{
        "\r\n",                       // empty line
        "?x\r\n",                     // unknown type
        "+OK\n",                      // bare LF
        "+O\rK\r\n",                  // bare CR
        ":\r\n",                      // empty integer
        ":-\r\n",                     // sign only
        ":+1\r\n",                    // plus sign
        ": 1\r\n",                    // space
        ":1x\r\n",                    // trailing garbage
        ":99999999999999999999\r\n",  // overflow
        "$-2\r\n",                    // negative length
        "$x\r\n",                     // not a number
        "$3\r\nabcde\r\n",            // body longer than announced
        "*-2\r\n",                    // negative count
        "*1x\r\n",                    // not a number
    };
    for (const auto& wire : bad) {
        INFO(wire);
        const auto o = parse(wire);
        CHECK(o.status == parser::status::error);
        CHECK_FALSE(o.reason.empty());
        // Further input changes nothing: the parser stays in error.
    }
    parser p;
    std::size_t used = 0;
    CHECK(p.feed("?\r\n", used) == parser::status::error);
    CHECK(p.feed("+OK\r\n", used) == parser::status::error);
    CHECK(used == 0);
}

TEST_CASE("resp waits for more on an incomplete reply", "[resp]")
{
    CHECK(parse("*2\r\n:1\r\n").status == parser::status::more);
    CHECK(parse("$3\r\nab").status == parser::status::more);
    CHECK(parse("$3\r\nabc\r").status == parser::status::more);
    CHECK(parse("+OK\r").status == parser::status::more);
}
