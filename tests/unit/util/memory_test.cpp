// trim_policy: when the daemon hands freed heap back to the kernel after a burst.
#include <catch2/catch.hpp>

#include <vector>

#include "ogp/util/memory.hpp"

TEST_CASE("trim_policy trims once the connections fell to half of the peak", "[base][memory]")
{
    ogp::trim_policy p(64);
    CHECK_FALSE(p.tick(10, 10));
    CHECK_FALSE(p.tick(1000, 1000));  // burst
    CHECK_FALSE(p.tick(600, 1000));   // still above half
    CHECK(p.tick(500, 1000));         // half of the peak: trim
    CHECK_FALSE(p.tick(500, 1000));   // new window starts at 500
    CHECK_FALSE(p.tick(300, 1000));
    CHECK(p.tick(250, 1000));
}

TEST_CASE("trim_policy ignores small swings but trims when all connections closed",
          "[base][memory]")
{
    ogp::trim_policy p(64);
    // Peaks under min_peak never trigger the half rule.
    CHECK_FALSE(p.tick(40, 40));
    CHECK_FALSE(p.tick(10, 45));
    // Zero open connections after new ones were accepted: trim once.
    CHECK(p.tick(0, 50));
    CHECK_FALSE(p.tick(0, 50));
    CHECK_FALSE(p.tick(0, 50));
    // Nothing was accepted at start: no trim for an idle daemon.
    ogp::trim_policy idle(64);
    CHECK_FALSE(idle.tick(0, 0));
    // A keep-alive client that stays connected: never.
    ogp::trim_policy steady(64);
    for (int i = 0; i < 10; ++i) {
        CHECK_FALSE(steady.tick(1, 1));
    }
}

TEST_CASE("release_free_memory gives back the pages of a freed burst", "[base][memory]")
{
    // Many small blocks freed below live ones: the heap top cannot shrink, only a trim of the
    // free pages in the middle returns them (glibc's allocator; ASan replaces it).
    std::vector<std::vector<char>> blocks;
    blocks.reserve(4096);
    for (int i = 0; i < 4096; ++i) {
        blocks.emplace_back(4000, 'x');
    }
    for (int i = 0; i < 4000; ++i) {
        std::vector<char>().swap(blocks[i]);
    }
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    CHECK(ogp::release_free_memory());
#else
    (void)ogp::release_free_memory();
#endif
    // The live blocks are untouched.
    CHECK(blocks[4095][3999] == 'x');
    CHECK(blocks[4000][0] == 'x');
}
