#include "ogp/upstream/content_decoder.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include "ogp/util/text.hpp"

namespace ogp::upstream {
namespace {

using text::iequals;
using text::trim_ows;

// Decoded bytes are produced into `out` in steps of at most this many bytes.
constexpr std::size_t step = 16 * 1024;

using status = content_decoder::status;

class identity_decoder final : public content_decoder
{
public:
    explicit identity_decoder(std::size_t max) : max_(max) {}
    status feed(std::string_view in, std::string& out) override
    {
        if (failed_ != status::ok) {
            return failed_;
        }
        if (in.size() > max_ - produced_) {
            return failed_ = status::too_large;
        }
        out.append(in);
        produced_ += in.size();
        return status::ok;
    }
    status finish(std::string&) override { return failed_; }
    std::size_t produced() const override { return produced_; }

private:
    std::size_t max_;
    std::size_t produced_ = 0;
    status failed_ = status::ok;
};

class zlib_decoder final : public content_decoder
{
public:
    // windowBits 31: gzip wrapper; 15: zlib wrapper (HTTP `deflate`).
    zlib_decoder(int window_bits, std::size_t max) : max_(max)
    {
        ok_ = inflateInit2(&z_, window_bits) == Z_OK;
    }
    ~zlib_decoder() override
    {
        if (ok_) {
            inflateEnd(&z_);
        }
    }
    status feed(std::string_view in, std::string& out) override
    {
        if (!ok_) {
            return status::corrupt;
        }
        if (failed_ != status::ok) {
            return failed_;
        }
        if (ended_) {
            // Bytes after the end of the stream (a second gzip member is not accepted).
            return failed_ = in.empty() ? status::ok : status::corrupt;
        }
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = static_cast<uInt>(in.size());
        for (;;) {
            const uInt in_before = z_.avail_in;
            std::size_t room = std::min(step, max_ - produced_ + 1);
            std::size_t at = out.size();
            out.resize(at + room);
            z_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
            z_.avail_out = static_cast<uInt>(room);
            int rc = inflate(&z_, Z_NO_FLUSH);
            std::size_t got = room - z_.avail_out;
            out.resize(at + got);
            produced_ += got;
            if (produced_ > max_) {
                return failed_ = status::too_large;
            }
            if (rc == Z_STREAM_END) {
                ended_ = true;
                if (z_.avail_in > 0) {
                    return failed_ = status::corrupt;
                }
                return status::ok;
            }
            if (rc == Z_BUF_ERROR && got == 0) {
                return status::ok;  // needs more input
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return failed_ = status::corrupt;
            }
            if ((z_.avail_in == 0 && z_.avail_out != 0) || (got == 0 && z_.avail_in == in_before)) {
                return status::ok;  // all input consumed and nothing pending, or no progress
            }
        }
    }
    status finish(std::string& out) override
    {
        (void)out;
        if (!ok_) {
            return status::corrupt;
        }
        if (failed_ != status::ok) {
            return failed_;
        }
        return ended_ ? status::ok : (failed_ = status::truncated);
    }
    std::size_t produced() const override { return produced_; }

private:
    z_stream z_{};
    bool ok_ = false;
    bool ended_ = false;
    std::size_t max_;
    std::size_t produced_ = 0;
    status failed_ = status::ok;
};

class zstd_decoder final : public content_decoder
{
public:
    explicit zstd_decoder(std::size_t max) : d_(ZSTD_createDCtx()), max_(max)
    {
        if (d_ != nullptr) {
            // A frame may not ask for a window beyond 8 MiB (zstd's default limit, stated).
            ZSTD_DCtx_setParameter(d_, ZSTD_d_windowLogMax, 23);
        }
    }
    ~zstd_decoder() override { ZSTD_freeDCtx(d_); }
    status feed(std::string_view in, std::string& out) override
    {
        if (d_ == nullptr) {
            return status::corrupt;
        }
        if (failed_ != status::ok) {
            return failed_;
        }
        ZSTD_inBuffer src{in.data(), in.size(), 0};
        for (;;) {
            const std::size_t src_before = src.pos;
            std::size_t room = std::min(step, max_ - produced_ + 1);
            std::size_t at = out.size();
            out.resize(at + room);
            ZSTD_outBuffer dst{out.data() + at, room, 0};
            std::size_t rc = ZSTD_decompressStream(d_, &dst, &src);
            out.resize(at + dst.pos);
            produced_ += dst.pos;
            if (ZSTD_isError(rc)) {
                return failed_ = status::corrupt;
            }
            if (produced_ > max_) {
                return failed_ = status::too_large;
            }
            // rc == 0: a frame ended; more frames may follow (concatenated frames are valid).
            frame_done_ = rc == 0;
            if ((src.pos == src.size && dst.pos < dst.size) ||
                (dst.pos == 0 && src.pos == src_before)) {
                return status::ok;  // all input consumed and flushed, or no progress
            }
        }
    }
    status finish(std::string& out) override
    {
        (void)out;
        if (d_ == nullptr) {
            return status::corrupt;
        }
        if (failed_ != status::ok) {
            return failed_;
        }
        return frame_done_ ? status::ok : (failed_ = status::truncated);
    }
    std::size_t produced() const override { return produced_; }

private:
    ZSTD_DCtx* d_;
    std::size_t max_;
    std::size_t produced_ = 0;
    bool frame_done_ = false;
    status failed_ = status::ok;
};

}  // namespace

bool content_decoder::is_identity(std::string_view coding)
{
    coding = trim_ows(coding);
    return coding.empty() || iequals(coding, "identity");
}

std::unique_ptr<content_decoder> content_decoder::create(std::string_view coding,
                                                         std::size_t max_output)
{
    coding = trim_ows(coding);
    if (is_identity(coding)) {
        return std::make_unique<identity_decoder>(max_output);
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
        return std::make_unique<zlib_decoder>(31, max_output);
    }
    if (iequals(coding, "deflate")) {
        return std::make_unique<zlib_decoder>(15, max_output);
    }
    if (iequals(coding, "zstd")) {
        return std::make_unique<zstd_decoder>(max_output);
    }
    return nullptr;
}

const char* to_string(content_decoder::status s)
{
    switch (s) {
        case content_decoder::status::ok:
            return "ok";
        case content_decoder::status::too_large:
            return "decoded body too large";
        case content_decoder::status::corrupt:
            return "corrupt compressed body";
        case content_decoder::status::truncated:
            return "truncated compressed body";
    }
    return "unknown";
}

}  // namespace ogp::upstream
