// Fuzzes the request and response translators with arbitrary bodies. Properties: no crash or
// sanitizer report; every accepted request yields a JSON ChatDetails body; every response
// translation yields JSON or an error.

#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ogp/transform/chat_response.hpp"
#include "ogp/transform/embeddings.hpp"
#include "ogp/transform/models.hpp"

namespace {

using namespace ogp::transform;

const ogp::config& fuzz_config()
{
    static const ogp::config cfg = [] {
        ogp::config c;
        c.oci.compartment_id = "ocid1.compartment.oc1..fuzz";
        c.models.push_back({"cohere", "cohere.command-r-08-2024", std::nullopt, "", ""});
        c.models.push_back({"v2", "cohere.command-a-03-2025", ogp::api_format::coherev2, "", ""});
        c.models.push_back(
            {"dedicated", "ocid1.generativeaiendpoint.oc1..x", std::nullopt, "", ""});
        return c;
    }();
    return cfg;
}

void require_json(const std::string& s)
{
    rapidjson::Document d;
    d.Parse(s.data(), s.size());
    if (d.HasParseError()) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view body(reinterpret_cast<const char*>(data), size);
    const ogp::config& cfg = fuzz_config();
    // Requests: chat and embeddings.
    auto plan = plan_chat(body, cfg);
    if (plan) {
        require_json(plan.value().body);
    } else if (plan.error().status != 400 && plan.error().status != 500) {
        std::abort();
    }
    auto emb = plan_embeddings(body, cfg);
    if (emb) {
        for (auto& b : emb.value().bodies) {
            require_json(b);
        }
        std::vector<std::string> same(emb.value().bodies.size(), std::string(body));
        auto merged = embeddings_response_to_openai(same, emb.value());
        if (merged) {
            require_json(merged.value());
        }
    }
    // Responses and errors, for each format.
    static const char* models[] = {"meta.llama-3.3-70b-instruct", "cohere", "v2"};
    for (const char* m : models) {
        auto p = plan_chat(std::string(R"({"model":")") + m +
                               R"(","messages":[{"role":"user","content":"x"}],"logprobs":false})",
                           cfg);
        if (!p) {
            std::abort();
        }
        auto r = chat_response_to_openai(body, p.value(), "chatcmpl-fuzz", 1);
        if (r) {
            require_json(r.value());
        }
    }
    require_json(map_oci_error(size % 600, body, body.substr(0, 8), body.substr(0, 16)).body());
    return 0;
}
