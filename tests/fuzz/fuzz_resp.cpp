// Fuzzes the RESP2 reply parser of the Redis limits store (src/limits/resp.hpp): what a Redis
// server, or anything that answers on its port, sends back. Byte 0 seeds the split pattern
// and byte 1 picks small or default bounds; the rest is the wire, parsed as replies in
// sequence (reset after each), whole and in pieces. Properties: no crash or sanitizer report;
// feed() never consumes more than it was given nor more than max_bytes per reply; a reply's
// outcome (status, value, bytes consumed) does not depend on how the bytes were split; a
// parsed value respects the element and depth bounds.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "limits/resp.hpp"

namespace {

using ogp::limits::resp::kind;
using ogp::limits::resp::parser;
using ogp::limits::resp::parser_limits;
using ogp::limits::resp::value;

void require(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_resp: %s\n", what);
        std::abort();
    }
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

// Depth of `v` (an array is 1 + its deepest item), checking every array's length.
std::size_t check_bounds(const value& v, const parser_limits& l)
{
    if (v.type != kind::array) {
        return 0;
    }
    require(v.elements.size() <= l.max_elements, "array longer than max_elements");
    std::size_t deepest = 0;
    for (const auto& e : v.elements) {
        const auto d = check_bounds(e, l);
        deepest = d > deepest ? d : deepest;
    }
    return deepest + 1;
}

struct outcome
{
    parser::status status = parser::status::more;
    std::size_t consumed = 0;
    value v;
};

// One reply from the front of `wire`, fed in pieces whose sizes come from `seed`.
outcome parse_one(std::string_view wire, std::uint32_t seed, const parser_limits& l)
{
    parser p(l);
    outcome o;
    std::size_t at = 0;
    while (at < wire.size()) {
        std::size_t piece = wire.size() - at;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            piece = std::min<std::size_t>(piece, 1 + (seed >> 16) % 17);
        }
        std::size_t used = 0;
        o.status = p.feed(wire.substr(at, piece), used);
        require(used <= piece, "consumed more than given");
        o.consumed += used;
        at += used;
        if (o.status != parser::status::more) {
            break;
        }
        require(used == piece, "stopped early without an answer");
    }
    require(o.consumed <= l.max_bytes, "consumed more than max_bytes");
    if (o.status == parser::status::done) {
        require(check_bounds(p.result(), l) <= l.max_depth, "nested deeper than max_depth");
        o.v = std::move(p.result());
    } else if (o.status == parser::status::error) {
        require(!p.reason().empty(), "error without a reason");
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) {
        return 0;
    }
    const std::uint32_t seed = data[0] | 1u;
    parser_limits l;
    if (data[1] & 1) {
        l.max_bytes = 256;
        l.max_elements = 4;
        l.max_depth = 2;
        l.max_values = 16;
    }
    std::string_view wire(reinterpret_cast<const char*>(data) + 2, size - 2);
    // Replies in sequence, as a connection would read them (at most a few: bounded work).
    for (int n = 0; n < 8 && !wire.empty(); ++n) {
        const auto whole = parse_one(wire, 0, l);
        const auto split = parse_one(wire, seed, l);
        require(whole.status == split.status, "status depends on the split");
        if (whole.status != parser::status::more) {
            require(whole.consumed == split.consumed, "length depends on the split");
        }
        if (whole.status != parser::status::done) {
            break;
        }
        require(same(whole.v, split.v), "value depends on the split");
        require(whole.consumed > 0, "a reply of zero bytes");
        wire.remove_prefix(whole.consumed);
    }
    return 0;
}
