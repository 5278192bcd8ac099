#include "ogp/util/memory.hpp"

#include <algorithm>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ogp {

bool trim_policy::tick(std::size_t active, std::uint64_t accepted)
{
    peak_ = std::max(peak_, active);
    const bool fell_by_half = peak_ >= min_peak_ && active * 2 <= peak_;
    const bool quiet_after_work = active == 0 && accepted != accepted_at_trim_;
    if (!fell_by_half && !quiet_after_work) {
        return false;
    }
    // Start a new window from the current level.
    peak_ = active;
    accepted_at_trim_ = accepted;
    return true;
}

bool release_free_memory()
{
#if defined(__GLIBC__)
    return malloc_trim(0) == 1;
#else
    return false;
#endif
}

}  // namespace ogp
