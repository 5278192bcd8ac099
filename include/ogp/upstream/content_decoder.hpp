#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace ogp::upstream {

/// Incremental decoder of an HTTP `content-encoding`: `identity` (bytes as they are), `gzip`
/// (also `x-gzip`), `deflate` (zlib-wrapped) and `zstd`. Output is bounded: a body that would
/// decode past `max_output` bytes fails instead of growing (a compression bomb); garbage fails,
/// and finish() fails on a truncated stream. Not thread-safe; one body per decoder.
class content_decoder
{
public:
    /// Outcome of a step.
    enum class status {
        ok,
        too_large,  ///< decoded output would exceed max_output
        corrupt,    ///< not a valid stream of that coding (or bytes after its end)
        truncated,  ///< finish(): the stream ended before its end marker
    };

    /// A decoder for `coding` (case-insensitive, surrounding spaces ignored; empty means
    /// identity); nullptr for an unknown or stacked (`gzip, zstd`) coding.
    static std::unique_ptr<content_decoder> create(std::string_view coding, std::size_t max_output);

    virtual ~content_decoder() = default;
    /// Decodes `in`, appending to `out`. After an error, every call returns that error.
    virtual status feed(std::string_view in, std::string& out) = 0;
    /// The body ended: ok only when the stream was complete.
    virtual status finish(std::string& out) = 0;
    /// Decoded bytes produced so far.
    virtual std::size_t produced() const = 0;

    /// True for an empty or `identity` coding.
    static bool is_identity(std::string_view coding);
};

/// Short English text for a status (for logs and error messages).
const char* to_string(content_decoder::status s);

}  // namespace ogp::upstream
