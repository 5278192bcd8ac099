#pragma once

// The spool file of an upload (`POST /v1/files`): an unlinked temporary file the body is
// written to piece by piece, hashed (SHA-256) as it goes, so that no upload is held in memory.
// Private to src/server.

#include <cstdint>
#include <string>
#include <string_view>

#include "ogp/server/handler.hpp"

namespace ogp::server {

/// Bytes read from the client and written to the spool file at a time; also the progress the
/// body deadline (`timeouts.request_body`) asks of a spooled body between two re-arms.
inline constexpr std::size_t spool_piece = 64 * 1024;

/// An open spool file being written. Move-only; on destruction an unfinished file is closed,
/// which frees its space (it has no name). Not thread-safe.
class spool_file
{
public:
    spool_file() = default;
    ~spool_file();
    spool_file(spool_file&& o) noexcept;
    spool_file& operator=(spool_file&&) = delete;
    spool_file(const spool_file&) = delete;
    spool_file& operator=(const spool_file&) = delete;

    /// Creates the file in `dir`: `O_TMPFILE` (never has a name), else mkstemp() then unlink().
    /// Returns 0, or the errno of the failure.
    int open(const std::string& dir);
    /// Appends `data` and adds it to the hash. Returns 0, or the errno of the failure (ENOSPC,
    /// EDQUOT, EIO, ...).
    int write(std::string_view data);
    /// Bytes written so far.
    std::uint64_t size() const { return size_; }
    /// Ends the hash and hands the descriptor over; this object is empty afterwards.
    spooled_body finish();

private:
    int fd_ = -1;
    std::uint64_t size_ = 0;
    void* ctx_ = nullptr;  // EVP_MD_CTX, kept out of the header
};

}  // namespace ogp::server
