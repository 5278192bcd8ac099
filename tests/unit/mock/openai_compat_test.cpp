// The mock's OpenAI-compatible API helpers: the multipart/form-data parser (shapes, limits,
// malformed input), the accept-encoding choice, and the per-event gzip/zstd compression a
// client must be able to decode incrementally.
#include <zlib.h>
#include <zstd.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "openai_compat.hpp"

using namespace ogp::mock::openai;

namespace {

const std::string crlf = "\r\n";

std::string form(const std::string& boundary, const std::string& file_data)
{
    return "preamble" + crlf + "--" + boundary + crlf +
           "Content-Disposition: form-data; name=\"purpose\"" + crlf + crlf + "assistants" + crlf +
           "--" + boundary + crlf +
           "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".txt\"" + crlf +
           "Content-Type: application/octet-stream" + crlf + crlf + file_data + crlf + "--" +
           boundary + "--" + crlf + "epilogue";
}

// Inflates `z` (a gzip stream) as far as it goes, without requiring its end.
std::string gunzip_partial(const std::string& z)
{
    z_stream s{};
    REQUIRE(inflateInit2(&s, 31) == Z_OK);
    std::string out;
    char buf[4096];
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
    s.avail_in = static_cast<uInt>(z.size());
    for (;;) {
        s.next_out = reinterpret_cast<Bytef*>(buf);
        s.avail_out = sizeof buf;
        const int rc = inflate(&s, Z_SYNC_FLUSH);
        out.append(buf, sizeof buf - s.avail_out);
        if (rc == Z_STREAM_END || rc == Z_BUF_ERROR || s.avail_in == 0) {
            if (s.avail_out != 0 || rc != Z_OK) {
                break;
            }
        }
        REQUIRE((rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR));
    }
    inflateEnd(&s);
    return out;
}

std::string unzstd_partial(const std::string& z)
{
    ZSTD_DCtx* d = ZSTD_createDCtx();
    std::string out;
    char buf[4096];
    ZSTD_inBuffer in{z.data(), z.size(), 0};
    for (int guard = 0; guard < 10000; ++guard) {
        ZSTD_outBuffer o{buf, sizeof buf, 0};
        const std::size_t rc = ZSTD_decompressStream(d, &o, &in);
        REQUIRE(ZSTD_isError(rc) == 0);
        out.append(buf, o.pos);
        if (in.pos == in.size && o.pos < o.size) {
            break;
        }
    }
    ZSTD_freeDCtx(d);
    return out;
}

}  // namespace

TEST_CASE("form_boundary reads the boundary of multipart/form-data only", "[mock][multipart]")
{
    CHECK(form_boundary("multipart/form-data; boundary=abc") == "abc");
    CHECK(form_boundary("Multipart/Form-Data;boundary=\"a b;c\"") == "a b;c");
    CHECK(form_boundary("multipart/form-data; charset=utf-8; boundary=x1") == "x1");
    CHECK_FALSE(form_boundary("multipart/form-data"));
    CHECK_FALSE(form_boundary("multipart/form-data; boundary="));
    CHECK_FALSE(form_boundary("application/json; boundary=abc"));
    CHECK_FALSE(form_boundary("multipart/form-data; boundary=" + std::string(71, 'a')));
}

TEST_CASE("parse_form splits fields and files, binary data included", "[mock][multipart]")
{
    // File data holding CRLFs, near-delimiters and NUL bytes.
    const std::string data = std::string("line1\r\n--boun\r\nnot yet\0\x01", 24) + "\r\n-bound";
    const std::string body = form("bound", data);
    std::string error;
    auto parts = parse_form(body, "bound", {}, error);
    REQUIRE(parts);
    REQUIRE(parts->size() == 2);
    CHECK((*parts)[0].name == "purpose");
    CHECK((*parts)[0].filename.empty());
    CHECK((*parts)[0].data == "assistants");
    CHECK((*parts)[1].name == "file");
    CHECK((*parts)[1].filename == "a \"b\".txt");
    CHECK((*parts)[1].content_type == "application/octet-stream");
    CHECK((*parts)[1].data == data);

    // An empty part and no preamble.
    const std::string empty = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n--b--";
    parts = parse_form(empty, "b", {}, error);
    REQUIRE(parts);
    REQUIRE(parts->size() == 1);
    CHECK((*parts)[0].data.empty());
}

TEST_CASE("parse_form refuses malformed bodies and enforces its limits", "[mock][multipart]")
{
    std::string error;
    const std::string good = form("bound", "data");
    SECTION("no delimiter")
    {
        CHECK_FALSE(parse_form("just text", "bound", {}, error));
        CHECK_FALSE(error.empty());
    }
    SECTION("unterminated part")
    {
        const std::string cut = good.substr(0, good.find("data") + 4);
        CHECK_FALSE(parse_form(cut, "bound", {}, error));
    }
    SECTION("no close delimiter")
    {
        const std::string cut = good.substr(0, good.rfind("--bound--") + 7);
        CHECK_FALSE(parse_form(cut, "bound", {}, error));
    }
    SECTION("a part without a name or not form-data")
    {
        CHECK_FALSE(
            parse_form("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "b", {}, error));
        CHECK_FALSE(
            parse_form("--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--", "b",
                       {}, error));
        CHECK_FALSE(parse_form("--b\r\nno colon here\r\n\r\nx\r\n--b--", "b", {}, error));
    }
    SECTION("limits")
    {
        form_limits small;
        small.max_body = good.size() - 1;
        CHECK_FALSE(parse_form(good, "bound", small, error));
        form_limits one;
        one.max_parts = 1;
        CHECK_FALSE(parse_form(good, "bound", one, error));
        CHECK(error.find("parts") != std::string::npos);
        form_limits tiny_header;
        tiny_header.max_part_header = 20;
        CHECK_FALSE(parse_form(good, "bound", tiny_header, error));
        // Many parts: refused at the limit, not after reading them all.
        std::string many;
        for (int i = 0; i < 1000; ++i) {
            many += "--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n";
        }
        many += "--b--";
        CHECK_FALSE(parse_form(many, "b", {}, error));
    }
}

TEST_CASE("parse_form survives mutated bodies, parts stay inside the body", "[mock][multipart]")
{
    const std::string good = form("bnd", "some file data\r\n-- more");
    std::uint32_t seed = 12345u;
    auto next = [&seed] {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        return seed;
    };
    const std::string alphabet = "-\r\n\"; =bndBa";
    for (int i = 0; i < 20000; ++i) {
        std::string body = good;
        for (int k = 0, n = 1 + static_cast<int>(next() % 4); k < n; ++k) {
            const std::size_t at = next() % body.size();
            switch (next() % 3) {
                case 0:
                    body[at] = alphabet[next() % alphabet.size()];
                    break;
                case 1:
                    body.erase(at, 1 + next() % 8);
                    break;
                default:
                    body.insert(at, 1, alphabet[next() % alphabet.size()]);
                    break;
            }
            if (body.empty()) {
                body = "-";
            }
        }
        std::string error;
        auto parts = parse_form(body, "bnd", {}, error);
        if (!parts) {
            REQUIRE_FALSE(error.empty());
            continue;
        }
        for (const auto& p : *parts) {
            REQUIRE(p.data.data() >= body.data());
            REQUIRE(p.data.data() + p.data.size() <= body.data() + body.size());
        }
    }
}

TEST_CASE("pick_encoding prefers zstd and honours q=0", "[mock][compression]")
{
    CHECK(pick_encoding("") == "");
    CHECK(pick_encoding("identity") == "");
    CHECK(pick_encoding("gzip") == "gzip");
    CHECK(pick_encoding("gzip, deflate, br, zstd") == "zstd");
    CHECK(pick_encoding("zstd;q=0, gzip") == "gzip");
    CHECK(pick_encoding("gzip;q=0") == "");
    CHECK(pick_encoding("GZIP ; q=0.5") == "gzip");
    CHECK(pick_encoding("*") == "zstd");
    CHECK(pick_encoding("*, zstd;q=0.000") == "gzip");
    CHECK(pick_encoding("*;q=0, gzip") == "gzip");
}

TEST_CASE("compressed stream events decode incrementally, the whole stream exactly",
          "[mock][compression]")
{
    const std::vector<std::string> events{"data: {\"a\":1}\n\n", "data: {\"b\":2}\n\n",
                                          std::string(5000, 'x') + "\n\n", "data: [DONE]\n\n"};
    for (const std::string coding : {"gzip", "zstd"}) {
        INFO(coding);
        compressor c(coding);
        REQUIRE(c.ok());
        std::string wire;
        std::string plain;
        for (std::size_t i = 0; i < events.size(); ++i) {
            auto z = c.chunk(events[i], i + 1 == events.size());
            REQUIRE(z);
            wire += *z;
            plain += events[i];
            // Everything sent so far decodes now, before the stream ends.
            CHECK((coding == "gzip" ? gunzip_partial(wire) : unzstd_partial(wire)) == plain);
        }
        CHECK_FALSE(c.ok());  // ended
        CHECK_FALSE(c.chunk("more", true));
        auto whole = compress(coding, plain);
        REQUIRE(whole);
        CHECK(whole->size() < plain.size());
        CHECK((coding == "gzip" ? gunzip_partial(*whole) : unzstd_partial(*whole)) == plain);
    }
    // gzip magic bytes: windowBits 31 writes a gzip wrapper, not zlib's.
    auto g = compress("gzip", "hello");
    REQUIRE(g);
    CHECK(static_cast<unsigned char>((*g)[0]) == 0x1f);
    CHECK(static_cast<unsigned char>((*g)[1]) == 0x8b);
    CHECK_FALSE(compressor("br").ok());
}
