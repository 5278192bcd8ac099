// Fuzzes the SSE parser and the stream transcoder: arbitrary upstream bytes, in arbitrary splits,
// for every chat format. Properties: no crash or sanitizer report, output made of whole frames,
// and the same bytes whatever the split.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ogp/transform/sse_parser.hpp"
#include "ogp/transform/stream_transcoder.hpp"

namespace {

using namespace ogp::transform;

// One streaming plan per chat format, built once.
const std::array<chat_plan, 3>& plans()
{
    static const std::array<chat_plan, 3> p = [] {
        ogp::config cfg;
        cfg.oci.compartment_id = "ocid1.compartment.oc1..fuzz";
        auto mk = [&](const char* model) {
            std::string body = std::string(R"({"model":")") + model +
                               R"(","messages":[{"role":"user","content":"x"}],"stream":true,)"
                               R"("stream_options":{"include_usage":true}})";
            auto r = plan_chat(body, cfg);
            if (!r) {
                std::abort();
            }
            return r.value();
        };
        return std::array<chat_plan, 3>{mk("meta.llama-3.3-70b-instruct"),
                                        mk("cohere.command-r-08-2024"),
                                        mk("cohere.command-a-vision-07-2025")};
    }();
    return p;
}

// Transcodes `input` split every `step` bytes (0: one piece), then ends the stream.
std::string transcode(const chat_plan& plan, std::string_view input, std::size_t step)
{
    stream_transcoder t(plan, "chatcmpl-fuzz", 1, 4096);
    std::string out;
    if (step == 0) {
        t.feed(input, out);
    } else {
        for (std::size_t i = 0; i < input.size(); i += step) {
            t.feed(input.substr(i, step), out);
        }
    }
    t.finish_on_eof(out);
    if (!t.done()) {
        std::abort();
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    // First byte: format and split step; the rest is upstream bytes.
    const std::size_t which = data[0] % 3;
    const std::size_t step = 1 + (data[0] >> 2) % 17;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    // The raw parser with a small bound.
    ogp::sse::parser p(256);
    std::size_t events = 0;
    p.feed(input, [&](std::string_view d) { events += d.empty() ? 0 : 1; });
    // The transcoder: whole frames, identical for every split.
    std::string whole = transcode(plans()[which], input, 0);
    std::string split = transcode(plans()[which], input, step);
    if (whole != split) {
        std::abort();
    }
    if (whole.size() < 2 || whole.compare(whole.size() - 2, 2, "\n\n") != 0 ||
        whole.compare(0, 6, "data: ") != 0) {
        std::abort();
    }
    return 0;
}
