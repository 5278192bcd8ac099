#include "support/temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/common.hpp"

namespace ogp::test {

temp_dir::temp_dir()
{
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ogp-test-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw sys_error("mkdtemp");
    }
    path_ = tmpl;
}

temp_dir::~temp_dir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::write(std::string_view name, std::string_view content) const
{
    std::string p = path_ + "/" + std::string(name);
    {
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!f) {
            throw std::runtime_error("cannot write " + p);
        }
    }
    // Keys and OCI config files must not be group/world readable.
    ::chmod(p.c_str(), 0600);
    return p;
}

}  // namespace ogp::test
