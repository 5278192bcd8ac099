#pragma once

// Shared by the fuzz targets: the configuration they translate with, structured inputs (a body
// followed by parts to inject), and the property checks that turn a wrong answer into a crash.

#include <pthread.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ogp/config/config.hpp"
#include "support/transform_config.hpp"

namespace ogp_fuzz {

/// Separates the parts of a structured input: the first part is the body under test, the
/// others are raw texts the harness injects where escaping would hide them from mutation
/// (tool-call argument strings, OCI answers, environment variables).
inline constexpr std::string_view part_separator = "\n----8<----\n";

/// Splits `in` at every separator (at most `max_parts` parts; the last one keeps the rest).
inline std::vector<std::string_view> split_parts(std::string_view in, std::size_t max_parts = 16)
{
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < max_parts) {
        std::size_t at = in.find(part_separator);
        if (at == std::string_view::npos) {
            break;
        }
        parts.push_back(in.substr(0, at));
        in.remove_prefix(at + part_separator.size());
    }
    parts.push_back(in);
    return parts;
}

/// A broken property: print what and abort, which libFuzzer reports as a crash.
inline void check(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz property violated: %s\n", what);
        std::abort();
    }
}

/// Stack of the thread that the JSON targets run each input on: a quarter of the daemon's
/// threads' (8 MiB). Recursion that grows with the input then overflows at sizes a fuzzer
/// reaches (64 KiB inputs; the daemon takes 32 MiB bodies and 1 MiB events), while recursion
/// bounded by the limits (nesting cap, $ref depth) still fits.
inline constexpr std::size_t small_stack_bytes = 2 * 1024 * 1024;

/// Runs `fn()` on a fresh thread with a small_stack_bytes stack.
template <class F>
void on_small_stack(F&& fn)
{
    using fn_type = std::remove_reference_t<F>;
    pthread_attr_t attr;
    check(pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, small_stack_bytes) == 0,
          "thread attributes");
    pthread_t t;
    auto run = [](void* p) -> void* {
        (*static_cast<fn_type*>(p))();
        return nullptr;
    };
    check(pthread_create(&t, &attr, run, const_cast<void*>(static_cast<const void*>(&fn))) == 0,
          "a thread for the input");
    pthread_join(t, nullptr);
    pthread_attr_destroy(&attr);
}

/// Deepest `[`/`{` nesting outside strings (the harness's own writers recurse per level).
inline std::size_t json_depth(std::string_view s)
{
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

/// Parses `s` as one JSON document of valid UTF-8 (iteratively: the checker itself must not
/// overflow the stack). What the proxy sends anywhere must pass this.
inline bool parse_json(std::string_view s, rapidjson::Document& doc)
{
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(s.data(),
                                                                                      s.size());
    return !doc.HasParseError();
}

inline bool is_json(std::string_view s)
{
    rapidjson::Document doc;
    return parse_json(s, doc);
}

/// The string view of a string value.
inline std::string_view sv(const rapidjson::Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

/// Member `key` of `v` when `v` is an object and has it; nullptr otherwise.
inline const rapidjson::Value* member(const rapidjson::Value& v, std::string_view key)
{
    if (!v.IsObject()) {
        return nullptr;
    }
    auto it = v.FindMember(rapidjson::Value(
        rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
    return it == v.MemberEnd() ? nullptr : &it->value;
}

/// Same, writable. (RapidJSON's non-const member iterators compare ambiguously under C++20,
/// so the lookup goes through the const one.)
inline rapidjson::Value* member_mut(rapidjson::Value& v, std::string_view key)
{
    return const_cast<rapidjson::Value*>(member(std::as_const(v), key));
}

/// The configuration the transform targets use: the transform unit tests' aliases (so fixture
/// bodies are valid seeds) plus a plain cohere alias, in a compartment of its own.
inline const ogp::config& fuzz_config()
{
    static const ogp::config cfg = [] {
        ogp::config c = ogp::test::transform_config();
        c.oci.compartment_id = "ocid1.compartment.oc1..fuzz";
        c.models.push_back({"cohere", "cohere.command-r-08-2024", std::nullopt, "", ""});
        return c;
    }();
    return cfg;
}

/// Small deterministic generator (splitmix64): reproducible choices from input bytes.
class rng
{
public:
    explicit rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next()
    {
        std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    /// Uniform-ish in [lo, hi].
    std::size_t between(std::size_t lo, std::size_t hi)
    {
        return lo + static_cast<std::size_t>(next() % (hi - lo + 1));
    }

private:
    std::uint64_t s_;
};

}  // namespace ogp_fuzz
