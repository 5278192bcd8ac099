#include "support/common.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

namespace ogp::test {

double seconds_since(steady::time_point start)
{
    return std::chrono::duration<double>(steady::now() - start).count();
}

int remaining_ms(steady::time_point deadline)
{
    auto left = std::chrono::duration_cast<ms>(deadline - steady::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

int poll_ms(ms timeout)
{
    return static_cast<int>(std::clamp<long long>(timeout.count(), 0, 60'000));
}

std::runtime_error sys_error(const std::string& what)
{
    return std::runtime_error(what + ": " + std::strerror(errno));
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

std::string printable(std::string_view bytes, std::size_t max)
{
    std::string out;
    for (char ch : bytes) {
        auto c = static_cast<unsigned char>(ch);
        if (out.size() >= max) {
            out += "...(" + std::to_string(bytes.size()) + " bytes)";
            break;
        }
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c >= 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

}  // namespace ogp::test
