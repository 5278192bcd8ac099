// Fuzzes upstream::content_decoder, which decodes what OCI's OpenAI-compatible endpoint sends
// compressed. The first byte picks the coding and the piece size; the rest is the body, fed in
// pieces. Properties: no crash or sanitizer report, the output never exceeds the bound (a
// compression bomb fails instead of growing; the decoder decodes one byte past the bound to
// see that it is passed), and once a step fails every later step fails
// the same way.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ogp/upstream/content_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    using ogp::upstream::content_decoder;
    constexpr std::string_view codings[] = {"gzip", "deflate", "zstd", "identity"};
    constexpr std::size_t bound = 64 * 1024;
    const std::uint8_t selector = data[0];
    std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto decoder = content_decoder::create(codings[selector & 3], bound);
    if (!decoder) {
        std::abort();  // every coding above is known
    }
    const std::size_t piece = 1 + (selector >> 2) * 37;
    std::string out;
    auto st = content_decoder::status::ok;
    for (std::size_t at = 0; at < body.size(); at += piece) {
        auto next = decoder->feed(body.substr(at, piece), out);
        if (st != content_decoder::status::ok && next != st) {
            std::abort();  // an error sticks
        }
        st = next;
        if (out.size() > bound + 1 || decoder->produced() > bound + 1) {
            std::abort();
        }
    }
    if (st == content_decoder::status::ok) {
        st = decoder->finish(out);
    }
    if (out.size() > bound + 1 || decoder->produced() > bound + 1) {
        std::abort();
    }
    if (st == content_decoder::status::ok && out.size() > bound) {
        std::abort();  // success never comes with more than the bound
    }
    return 0;
}
