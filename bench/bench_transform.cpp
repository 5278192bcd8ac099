// Micro-benchmarks of the pure translation layer. Targets (one core, Release):
//   request transform of a 2 KB chat request <= 20 us; transcoder >= 200 MB/s of upstream SSE.

#include <benchmark/benchmark.h>

#include <string>

#include "ogp/transform/chat_response.hpp"
#include "ogp/transform/sse_parser.hpp"
#include "ogp/transform/stream_transcoder.hpp"

namespace {

using namespace ogp::transform;

ogp::config bench_config()
{
    ogp::config c;
    c.oci.compartment_id = "ocid1.compartment.oc1..aaaaaaaabenchmarkcompartment";
    c.models.push_back({"llama", "meta.llama-3.3-70b-instruct", std::nullopt, "", ""});
    return c;
}

// A typical agent turn of about 2 KB: system prompt, history, one tool.
std::string chat_request_2kb()
{
    std::string sys(600, 's');
    std::string body =
        R"({"model":"llama","messages":[{"role":"system","content":")" + sys + R"("},)";
    for (int i = 0; i < 6; ++i) {
        body += R"({"role":"user","content":"Question number )" + std::to_string(i) +
                R"( about the weather in a city somewhere in Europe, please answer."},)";
        body += R"({"role":"assistant","content":"The answer to question )" + std::to_string(i) +
                R"( is that it is sunny and warm, about 22 degrees."},)";
    }
    body +=
        R"({"role":"user","content":"And tomorrow?"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather by city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"City"},"unit":{"type":"string","enum":["C","F"]}},"required":["city"]}}}],"temperature":0.2,"max_tokens":512,"stream":true,"stream_options":{"include_usage":true}})";
    return body;
}

// An OCI GENERIC stream of `events` text deltas (with OCI's `pad` field), finish and usage.
std::string generic_stream(int events)
{
    std::string s;
    for (int i = 0; i < events; ++i) {
        s +=
            R"(data: {"index":0,"message":{"role":"ASSISTANT","content":[{"type":"TEXT","text":" token)" +
            std::to_string(i % 100) +
            R"("}]},"pad":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})" + "\n\n";
    }
    s += "data: {\"index\":0,\"finishReason\":\"stop\"}\n\n";
    s += "data: "
         "{\"usage\":{\"promptTokens\":10,\"completionTokens\":1000,\"totalTokens\":1010}}\n\n";
    return s;
}

std::string cohere_stream(int events)
{
    std::string s;
    for (int i = 0; i < events; ++i) {
        s += R"(data: {"apiFormat":"COHERE","text":" word)" + std::to_string(i % 100) +
             R"(","pad":"aaaaaaaaaaaaaaaaaaaaaaaaaaaa"})" + "\n\n";
    }
    s += "data: "
         "{\"apiFormat\":\"COHERE\",\"text\":\"...\",\"chatHistory\":[],\"finishReason\":"
         "\"COMPLETE\"}\n\n";
    s += "data: "
         "{\"usage\":{\"promptTokens\":10,\"completionTokens\":1000,\"totalTokens\":1010}}\n\n";
    return s;
}

void BM_plan_chat_2kb(benchmark::State& state)
{
    auto cfg = bench_config();
    std::string body = chat_request_2kb();
    for (auto _ : state) {
        auto r = plan_chat(body, cfg);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
    state.counters["request_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_plan_chat_2kb);

void BM_chat_response(benchmark::State& state)
{
    auto cfg = bench_config();
    auto plan = plan_chat(chat_request_2kb(), cfg).value();
    std::string oci =
        R"({"modelId":"meta.llama-3.3-70b-instruct","chatResponse":{"apiFormat":"GENERIC","timeCreated":"2026-11-26T01:00:00.000Z","choices":[{"index":0,"message":{"role":"ASSISTANT","content":[{"type":"TEXT","text":")" +
        std::string(1500, 'x') +
        R"("}]},"finishReason":"stop"}],"usage":{"promptTokens":10,"completionTokens":3,"totalTokens":13}}})";
    for (auto _ : state) {
        auto r = chat_response_to_openai(oci, plan, "chatcmpl-bench", 1);
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * oci.size()));
}
BENCHMARK(BM_chat_response);

void transcode(benchmark::State& state, const std::string& model, const std::string& upstream)
{
    auto cfg = bench_config();
    std::string req =
        R"({"model":")" + model +
        R"(","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}})";
    auto plan = plan_chat(req, cfg).value();
    std::string out;
    out.reserve(upstream.size() * 2);
    const std::size_t read_size = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        stream_transcoder t(plan, "chatcmpl-bench0123456789abcdef", 1700000000);
        out.clear();
        // Feed in network-read-sized pieces.
        for (std::size_t i = 0; i < upstream.size(); i += read_size) {
            t.feed(std::string_view(upstream).substr(i, read_size), out);
        }
        if (!t.done()) {
            state.SkipWithError("stream did not complete");
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * upstream.size()));
}

void BM_transcode_generic(benchmark::State& state)
{
    static const std::string upstream = generic_stream(4000);
    transcode(state, "meta.llama-3.3-70b-instruct", upstream);
}
BENCHMARK(BM_transcode_generic)->Arg(4096)->Arg(16384);

void BM_transcode_cohere(benchmark::State& state)
{
    static const std::string upstream = cohere_stream(4000);
    transcode(state, "cohere.command-r-08-2024", upstream);
}
BENCHMARK(BM_transcode_cohere)->Arg(16384);

void BM_sse_parser(benchmark::State& state)
{
    static const std::string upstream = generic_stream(4000);
    for (auto _ : state) {
        ogp::sse::parser p;
        std::size_t n = 0;
        for (std::size_t i = 0; i < upstream.size(); i += 16384) {
            p.feed(std::string_view(upstream).substr(i, 16384),
                   [&](std::string_view d) { n += d.size(); });
        }
        benchmark::DoNotOptimize(n);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * upstream.size()));
}
BENCHMARK(BM_sse_parser);

}  // namespace
