#pragma once
// A private temporary directory for test files (configs, keys, sockets).

#include <string>
#include <string_view>

namespace ogp::test {

/// A private temporary directory under $TMPDIR (or /tmp), removed with its contents on
/// destruction. Not copyable.
class temp_dir
{
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }
    /// Writes `content` to `name` in the directory (mode 0600); returns the full path.
    std::string write(std::string_view name, std::string_view content) const;

private:
    std::string path_;
};

}  // namespace ogp::test
