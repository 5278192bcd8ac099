#pragma once

#include <cstddef>
#include <cstdint>

namespace ogp {

/// Decides when to hand freed heap back to the kernel. glibc keeps memory freed by a burst of
/// connections in its arenas, so RSS would stay at the burst's peak; trimming walks the arenas
/// and costs up to a few milliseconds, so it runs only after the load fell: when the open
/// connections dropped to half of the peak seen since the last trim (a peak of at least
/// `min_peak`), or to zero after any new connection. Fed once per tick (about a second) with
/// the open-connection count and the total of connections accepted. Not thread-safe.
class trim_policy
{
public:
    explicit trim_policy(std::size_t min_peak = 64) : min_peak_(min_peak) {}

    /// True when the caller should trim now.
    bool tick(std::size_t active, std::uint64_t accepted);

private:
    std::size_t min_peak_;
    std::size_t peak_ = 0;
    std::uint64_t accepted_at_trim_ = 0;
};

/// Returns free heap pages to the kernel (glibc `malloc_trim`); a no-op elsewhere. Returns
/// true when memory was released.
bool release_free_memory();

}  // namespace ogp
