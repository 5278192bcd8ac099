// Fuzzes the request guard: raw bytes as they would arrive on a client connection.
// Properties: no crash or sanitizer report; scan/parse agree on sizes; the chunked decoder never
// consumes more than it was given nor produces more body than the limit.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "ogp/server/request_guard.hpp"

using namespace ogp::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    guard_limits limits;
    limits.max_body_bytes = 4096;
    limits.max_header_bytes = 2048;
    limits.max_uri_bytes = 512;
    limits.max_header_count = 20;

    // Head: scan, then parse what the scan delimited.
    auto scan = scan_head(in, limits);
    if (scan.reject || scan.head_size == 0) {
        return 0;
    }
    if (scan.head_size > in.size() || scan.skipped > scan.head_size) {
        std::abort();
    }
    auto parsed = parse_head(in.substr(scan.skipped, scan.head_size - scan.skipped), limits);
    auto* head = std::get_if<request_head>(&parsed);
    if (head == nullptr || !head->chunked) {
        return 0;
    }
    // Body: the rest, fed in two pieces.
    std::string_view rest = in.substr(scan.head_size);
    chunked_decoder dec(limits.max_body_bytes);
    std::string body;
    std::size_t half = rest.size() / 2;
    for (auto piece : {rest.substr(0, half), rest.substr(half)}) {
        auto r = dec.feed(piece, body);
        if (std::holds_alternative<guard_reject>(r)) {
            return 0;
        }
        if (std::get<std::size_t>(r) > piece.size() || body.size() > limits.max_body_bytes) {
            std::abort();
        }
        if (dec.done()) {
            break;
        }
    }
    return 0;
}
