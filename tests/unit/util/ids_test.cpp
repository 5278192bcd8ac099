// Identifier generation: request ids are 32 lowercase hex characters, never repeat, and pass
// the same validation as client-supplied ids; the per-thread generators are independent.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ogp/util/log.hpp"

TEST_CASE("request ids are 32 lowercase hex characters and unique", "[base][ids]")
{
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        auto id = ogp::new_request_id();
        REQUIRE(id.size() == 32);
        REQUIRE(std::all_of(id.begin(), id.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        }));
        REQUIRE(ogp::valid_request_id(id));
        seen.insert(id);
    }
    CHECK(seen.size() == 10000);
}

TEST_CASE("random_u64 uses every bit and differs between threads", "[base][ids]")
{
    // Every bit position takes both values over a few hundred draws.
    std::uint64_t ones = 0;
    std::uint64_t zeros = 0;
    for (int i = 0; i < 512; ++i) {
        auto v = ogp::random_u64();
        ones |= v;
        zeros |= ~v;
    }
    CHECK(ones == ~std::uint64_t{0});
    CHECK(zeros == ~std::uint64_t{0});

    // Two threads seeded separately do not produce the same sequence.
    std::vector<std::uint64_t> a(64);
    std::vector<std::uint64_t> b(64);
    std::thread ta([&a] { std::generate(a.begin(), a.end(), ogp::random_u64); });
    std::thread tb([&b] { std::generate(b.begin(), b.end(), ogp::random_u64); });
    ta.join();
    tb.join();
    CHECK(a != b);
}
