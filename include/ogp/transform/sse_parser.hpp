#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace ogp::sse {

/// Outcome of one parser::feed() call.
enum class feed_status {
    ok,        ///< every complete line was consumed; a partial line may be buffered
    too_large  ///< a line grew past the bound; the parser is now failed and ignores input
};

/// Incremental, bounded parser for OCI's data-only server-sent events. Accepts any split of
/// the byte stream, `\n` or `\r\n` line ends, and events separated by one or two newlines:
/// every `data:` line is delivered as one event (OCI puts one JSON document per line).
/// Comments (`:`), blank lines and other fields (`event:`, `id:`, `retry:`, `pad:`) are
/// skipped. A line longer than `max_event_bytes` fails the parser. Not thread-safe.
class parser
{
public:
    explicit parser(std::size_t max_event_bytes = 1024 * 1024) : max_event_bytes_(max_event_bytes)
    {
    }

    /// Consumes `bytes`, calling `on_data(std::string_view payload)` for every complete
    /// `data:` line (the payload has the one optional leading space removed). The view is
    /// valid only during the call.
    template <class F>
    feed_status feed(std::string_view bytes, F&& on_data)
    {
        // A failed parser stays failed.
        if (failed_) {
            return feed_status::too_large;
        }
        // Finish a line started by an earlier call.
        if (!partial_.empty()) {
            const char* nl =
                static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
            if (nl == nullptr) {
                return buffer_partial(bytes);
            }
            std::size_t n = static_cast<std::size_t>(nl - bytes.data());
            if (partial_.size() + n > max_event_bytes_) {
                return fail();
            }
            partial_.append(bytes.data(), n);
            bytes.remove_prefix(n + 1);
            dispatch_line(std::string_view(partial_), on_data);
            partial_.clear();
        }
        // Complete lines straight from the input, without copying.
        while (!bytes.empty()) {
            const char* nl =
                static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
            if (nl == nullptr) {
                return buffer_partial(bytes);
            }
            std::size_t n = static_cast<std::size_t>(nl - bytes.data());
            if (n > max_event_bytes_) {
                return fail();
            }
            dispatch_line(bytes.substr(0, n), on_data);
            bytes.remove_prefix(n + 1);
        }
        return feed_status::ok;
    }

    /// True after a bound violation.
    bool failed() const { return failed_; }
    /// Bytes of an unfinished line currently buffered.
    std::size_t buffered() const { return partial_.size(); }

private:
    feed_status buffer_partial(std::string_view rest)
    {
        // Keep the unfinished line, within the bound.
        if (partial_.size() + rest.size() > max_event_bytes_) {
            return fail();
        }
        partial_.append(rest.data(), rest.size());
        return feed_status::ok;
    }

    feed_status fail()
    {
        failed_ = true;
        partial_.clear();
        partial_.shrink_to_fit();
        return feed_status::too_large;
    }

    template <class F>
    static void dispatch_line(std::string_view line, F& on_data)
    {
        // Strip the CR of a CRLF line end.
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        // Only `data` fields carry events; `data` without a colon is an empty payload.
        if (line.size() < 4 || line.compare(0, 4, "data") != 0) {
            return;
        }
        if (line.size() == 4) {
            return;
        }
        if (line[4] != ':') {
            return;
        }
        line.remove_prefix(5);
        if (!line.empty() && line.front() == ' ') {
            line.remove_prefix(1);
        }
        if (line.empty()) {
            return;
        }
        on_data(line);
    }

    std::size_t max_event_bytes_;
    std::string partial_;
    bool failed_ = false;
};

}  // namespace ogp::sse
