#include "ogp/util/log.hpp"

#include <openssl/rand.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <utility>

namespace ogp {
namespace {

// `%j`: the message, escaped for a JSON string.
class json_message_flag : public spdlog::custom_flag_formatter
{
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override
    {
        static constexpr char hex[] = "0123456789abcdef";
        for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
            auto c = static_cast<unsigned char>(ch);
            switch (c) {
                case '"':
                    dest.append(std::string_view("\\\""));
                    break;
                case '\\':
                    dest.append(std::string_view("\\\\"));
                    break;
                case '\n':
                    dest.append(std::string_view("\\n"));
                    break;
                case '\r':
                    dest.append(std::string_view("\\r"));
                    break;
                case '\t':
                    dest.append(std::string_view("\\t"));
                    break;
                default:
                    if (c < 0x20) {
                        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                        dest.append(esc, esc + 6);
                    } else {
                        dest.push_back(ch);
                    }
            }
        }
    }

    std::unique_ptr<custom_flag_formatter> clone() const override
    {
        return std::make_unique<json_message_flag>();
    }
};

}  // namespace

void setup_logging(std::string_view level, bool json)
{
    auto logger = spdlog::stderr_logger_mt("ogp");
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    if (json) {
        formatter->add_flag<json_message_flag>('j').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%j"})");
    } else {
        formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v");
    }
    logger->set_formatter(std::move(formatter));
    logger->set_level(spdlog::level::from_str(std::string(level)));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

std::optional<std::uint64_t> log_throttle::admit(std::chrono::steady_clock::time_point now)
{
    std::lock_guard lock(mutex_);
    if (last_ && now - *last_ < interval_) {
        ++dropped_;
        return std::nullopt;
    }
    last_ = now;
    return std::exchange(dropped_, 0);
}

namespace {

// xoshiro256** (Blackman and Vigna): fast, 256 bits of state, never all zero once seeded.
class id_generator
{
public:
    id_generator()
    {
        // Seed from the CSPRNG; the standard engine only if OpenSSL cannot deliver.
        if (RAND_bytes(reinterpret_cast<unsigned char*>(s_), sizeof s_) != 1) {
            std::random_device rd;
            for (auto& w : s_) {
                w = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
            }
        }
        if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) {
            s_[0] = 0x9e3779b97f4a7c15ULL;
        }
    }

    std::uint64_t next()
    {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

}  // namespace

std::uint64_t random_u64()
{
    thread_local id_generator gen;
    return gen.next();
}

std::string new_request_id()
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (int half = 0; half < 2; ++half) {
        std::uint64_t v = random_u64();
        for (int i = 0; i < 16; ++i) {
            id[half * 16 + i] = hex[v & 15];
            v >>= 4;
        }
    }
    return id;
}

bool valid_request_id(std::string_view id)
{
    return !id.empty() && id.size() <= 128 &&
           std::all_of(id.begin(), id.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
           });
}

}  // namespace ogp
