// Fuzzes locate_model / splice_model (the `openai` route's body edit). Properties: no crash or
// sanitizer report; when a model is found, splicing a new id and locating again finds that id,
// and every byte outside the model's span is unchanged.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ogp/transform/passthrough.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto r = ogp::transform::locate_model(body);
    if (!r) {
        return 0;
    }
    const auto& at = r.value();
    if (at.begin >= at.end || at.end > body.size() || body[at.begin] != '"' ||
        body[at.end - 1] != '"') {
        std::abort();
    }
    // The new id: bytes that need escaping, then the old one's ASCII bytes reversed (an alias
    // id is valid UTF-8; a decoded value may hold an escaped lone surrogate).
    std::string id = "\"\\\n\x01/";
    for (auto it = at.value.rbegin(); it != at.value.rend(); ++it) {
        if (static_cast<unsigned char>(*it) < 0x80) {
            id.push_back(*it);
        }
    }
    std::string out = ogp::transform::splice_model(body, at, id);
    auto again = ogp::transform::locate_model(out);
    if (!again || again.value().value != id) {
        std::abort();
    }
    const auto& b = again.value();
    if (b.begin != at.begin || out.compare(0, at.begin, body, 0, at.begin) != 0 ||
        out.size() - b.end != body.size() - at.end ||
        out.compare(b.end, std::string::npos, body, at.end, std::string::npos) != 0) {
        std::abort();
    }
    return 0;
}
