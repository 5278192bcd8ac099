#include "spool.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace ogp::server {

namespace {

EVP_MD_CTX* md(void* p)
{
    return static_cast<EVP_MD_CTX*>(p);
}

}  // namespace

spool_file::~spool_file()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
    EVP_MD_CTX_free(md(ctx_));
}

spool_file::spool_file(spool_file&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), size_(o.size_), ctx_(std::exchange(o.ctx_, nullptr))
{
}

int spool_file::open(const std::string& dir)
{
    ctx_ = EVP_MD_CTX_new();
    if (ctx_ == nullptr || EVP_DigestInit_ex(md(ctx_), EVP_sha256(), nullptr) != 1) {
        return ENOMEM;
    }
    // A file without a name: nothing is left behind, whatever happens to the process.
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
        return 0;
    }
    // File systems without O_TMPFILE: a named file, unlinked at once.
    std::string path = dir;
    if (path.empty() || path.back() != '/') {
        path += '/';
    }
    path += "ogp-upload-XXXXXX";
    fd_ = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd_ < 0) {
        return errno;
    }
    if (::unlink(path.c_str()) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        return err;
    }
    return 0;
}

int spool_file::write(std::string_view data)
{
    if (fd_ < 0) {
        return EBADF;
    }
    if (!data.empty() && EVP_DigestUpdate(md(ctx_), data.data(), data.size()) != 1) {
        return ENOMEM;
    }
    while (!data.empty()) {
        const auto n = ::write(fd_, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
        size_ += static_cast<std::uint64_t>(n);
    }
    return 0;
}

spooled_body spool_file::finish()
{
    std::array<unsigned char, 32> sha{};
    unsigned len = 0;
    if (fd_ < 0 || EVP_DigestFinal_ex(md(ctx_), sha.data(), &len) != 1 || len != sha.size()) {
        return {};
    }
    return spooled_body(std::exchange(fd_, -1), size_, sha);
}

}  // namespace ogp::server
