// content_decoder: gzip/deflate/zstd/identity decoding of upstream answers, incremental and
// bounded (issue 14: OCI's OpenAI-compatible endpoint may compress anyway).

#include "ogp/upstream/content_decoder.hpp"

#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <string_view>

using namespace ogp::upstream;
using status = content_decoder::status;

namespace {

std::string zlib_compress(std::string_view in, int window_bits)
{
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, in.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string gzip(std::string_view in)
{
    return zlib_compress(in, 31);
}

std::string zstd(std::string_view in)
{
    std::string out(ZSTD_compressBound(in.size()), '\0');
    std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    REQUIRE_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::string sample(std::size_t n)
{
    std::string s;
    std::mt19937 rng(7);
    while (s.size() < n) {
        s += "data: {\"delta\":\"token " + std::to_string(rng() % 1000) + "\"}\n\n";
    }
    s.resize(n);
    return s;
}

// Feeds `in` in pieces of the sizes `next()` gives; returns the final status.
template <class Next>
status decode(std::string_view coding, std::string_view in, std::string& out, std::size_t max,
              Next next)
{
    auto d = content_decoder::create(coding, max);
    REQUIRE(d != nullptr);
    std::size_t at = 0;
    while (at < in.size()) {
        std::size_t n = std::min(in.size() - at, next());
        status s = d->feed(in.substr(at, n), out);
        if (s != status::ok) {
            return s;
        }
        at += n;
    }
    return d->finish(out);
}

status decode_whole(std::string_view coding, std::string_view in, std::string& out,
                    std::size_t max = 1 << 20)
{
    return decode(coding, in, out, max, [&] { return in.size() + 1; });
}

}  // namespace

TEST_CASE("content_decoder: gzip, deflate and zstd round-trip whole, byte by byte and split",
          "[upstream][decoder]")
{
    const std::string plain = sample(100000);
    struct coded
    {
        std::string_view coding;
        std::string body;
    };
    for (const auto& c : {coded{"gzip", gzip(plain)}, coded{"deflate", zlib_compress(plain, 15)},
                          coded{"zstd", zstd(plain)}, coded{" GZip ", gzip(plain)},
                          coded{"identity", plain}, coded{"", plain}}) {
        INFO(c.coding);
        std::string whole;
        CHECK(decode_whole(c.coding, c.body, whole) == status::ok);
        CHECK(whole == plain);
        std::string bytes;
        CHECK(decode(c.coding, c.body, bytes, 1 << 20, [] { return std::size_t{1}; }) ==
              status::ok);
        CHECK(bytes == plain);
        std::mt19937 rng(42);
        for (int round = 0; round < 5; ++round) {
            std::string split;
            CHECK(decode(c.coding, c.body, split, 1 << 20,
                         [&] { return std::size_t{1} + rng() % 3000; }) == status::ok);
            CHECK(split == plain);
        }
    }
}

TEST_CASE("content_decoder: output beyond the bound fails instead of growing (bomb)",
          "[upstream][decoder]")
{
    const std::string zeros(8 << 20, '\0');  // 8 MiB of zeros: a few KiB compressed
    for (const auto& body : {gzip(zeros), zstd(zeros)}) {
        CHECK(body.size() < 64 * 1024);
        for (std::string_view coding : {"gzip", "zstd"}) {
            if ((coding == "gzip") != (body[0] == '\x1f')) {
                continue;
            }
            std::string out;
            CHECK(decode_whole(coding, body, out, 1 << 20) == status::too_large);
            CHECK(out.size() <= (1 << 20) + 64 * 1024);
        }
    }
    std::string out;
    CHECK(decode_whole("identity", std::string(100, 'x'), out, 99) == status::too_large);
    out.clear();
    CHECK(decode_whole("identity", std::string(99, 'x'), out, 99) == status::ok);
    // Exactly at the bound is fine.
    out.clear();
    CHECK(decode_whole("gzip", gzip(std::string(4096, 'a')), out, 4096) == status::ok);
    CHECK(out.size() == 4096);
}

TEST_CASE("content_decoder: truncated and garbage input are errors", "[upstream][decoder]")
{
    const std::string plain = sample(20000);
    for (std::string_view coding : {"gzip", "zstd"}) {
        INFO(coding);
        std::string body = coding == "gzip" ? gzip(plain) : zstd(plain);
        std::string out;
        CHECK(decode_whole(coding, std::string_view(body).substr(0, body.size() / 2), out) ==
              status::truncated);
        out.clear();
        CHECK(decode_whole(coding, std::string_view(body).substr(0, body.size() - 1), out) ==
              status::truncated);
        out.clear();
        CHECK(decode_whole(coding, "this is not compressed at all", out) == status::corrupt);
        out.clear();
        std::string flipped = body;
        flipped[flipped.size() / 2] ^= 0x55;
        flipped[flipped.size() / 2 + 1] ^= 0x55;
        auto s = decode_whole(coding, flipped, out);
        CHECK(s != status::ok);
        out.clear();
        CHECK(decode_whole(coding, "", out) == status::truncated);
    }
    // Bytes after the end of a gzip stream.
    std::string out;
    CHECK(decode_whole("gzip", gzip("abc") + "junk", out) == status::corrupt);
}

TEST_CASE("content_decoder: unknown or stacked codings have no decoder", "[upstream][decoder]")
{
    CHECK(content_decoder::create("br", 100) == nullptr);
    CHECK(content_decoder::create("gzip, zstd", 100) == nullptr);
    CHECK(content_decoder::create("compress", 100) == nullptr);
    CHECK(content_decoder::is_identity(" identity "));
    CHECK(content_decoder::is_identity(""));
    CHECK_FALSE(content_decoder::is_identity("gzip"));
}
