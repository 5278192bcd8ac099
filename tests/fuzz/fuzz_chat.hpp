#pragma once

// The chat request harness behind fuzz_chat_generic, fuzz_chat_cohere and fuzz_chat_coherev2:
// one target per OCI chat format, so each format's translation gets its own corpus and its
// crashes their own name.
//
// Input: an OpenAI /v1/chat/completions body, optionally followed by parts (see
// part_separator) that become the `function.arguments` strings of the assistant tool calls, in
// turn. Arguments are JSON held in a string; as separate raw parts the fuzzer mutates that JSON
// directly instead of its escaped form. The body's model is replaced by one of the target's
// format when it resolves to another one.
//
// Properties: no crash, sanitizer report or timeout; an accepted request gives a ChatDetails
// JSON body for this format; a rejected one a 400.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "ogp/transform/chat_request.hpp"

namespace ogp_fuzz {

inline std::string_view default_model(ogp::api_format f)
{
    switch (f) {
        case ogp::api_format::cohere:
            return "cohere.command-r-08-2024";
        case ogp::api_format::coherev2:
            return "cohere.command-a-vision-07-2025";
        case ogp::api_format::generic:
            break;
    }
    return "meta.llama-3.3-70b-instruct";
}

// Points the body at a model of `format` and injects `args`. Leaves `out` empty when the body
// is not a JSON object or needs no change (it is then translated as it is).
inline void shape_chat_body(std::string_view body, ogp::api_format format,
                            const std::vector<std::string_view>& args, std::string& out)
{
    // plan_chat rejects deeper bodies anyway, and the harness's writer below recurses.
    if (json_depth(body) > fuzz_config().limits.max_json_depth) {
        return;
    }
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) {
        return;
    }
    auto& alloc = doc.GetAllocator();
    bool changed = false;
    rapidjson::Value* model = member_mut(doc, "model");
    bool keep = false;
    if (model != nullptr && model->IsString()) {
        auto r = ogp::transform::resolve_model(sv(*model), fuzz_config());
        keep = r && r.value().format == format;
    }
    if (!keep) {
        std::string_view m = default_model(format);
        rapidjson::Value v(m.data(), static_cast<rapidjson::SizeType>(m.size()), alloc);
        if (model != nullptr) {
            *model = v;
        } else {
            doc.AddMember("model", v, alloc);
        }
        changed = true;
    }
    // Every assistant tool call takes the next argument part.
    std::size_t next = 0;
    rapidjson::Value* msgs = member_mut(doc, "messages");
    if (!args.empty() && msgs != nullptr && msgs->IsArray()) {
        for (auto& m : msgs->GetArray()) {
            rapidjson::Value* calls = member_mut(m, "tool_calls");
            if (calls == nullptr || !calls->IsArray()) {
                continue;
            }
            for (auto& c : calls->GetArray()) {
                rapidjson::Value* fn = member_mut(c, "function");
                if (fn == nullptr || !fn->IsObject()) {
                    continue;
                }
                std::string_view a = args[next++ % args.size()];
                rapidjson::Value v(a.data(), static_cast<rapidjson::SizeType>(a.size()), alloc);
                if (rapidjson::Value* old = member_mut(*fn, "arguments"); old != nullptr) {
                    *old = v;
                } else {
                    fn->AddMember("arguments", v, alloc);
                }
                changed = true;
            }
        }
    }
    if (!changed) {
        return;
    }
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    doc.Accept(w);
    out.assign(sb.GetString(), sb.GetSize());
}

inline void fuzz_chat_input(const std::uint8_t* data, std::size_t size, ogp::api_format format)
{
    auto parts = split_parts(std::string_view(reinterpret_cast<const char*>(data), size));
    std::vector<std::string_view> args(parts.begin() + 1, parts.end());
    std::string shaped;
    shape_chat_body(parts[0], format, args, shaped);
    std::string_view body = shaped.empty() ? parts[0] : std::string_view(shaped);

    auto plan = ogp::transform::plan_chat(body, fuzz_config());
    if (!plan) {
        // The configuration is valid, so every refusal is the client's fault.
        check(plan.error().status == 400, "a refused chat request is a 400");
        check(is_json(plan.error().body()), "the error body is JSON");
        return;
    }
    const auto& p = plan.value();
    check(p.n >= 1 && p.top_logprobs >= 0, "n and top_logprobs are sane");
    rapidjson::Document oci;
    check(parse_json(p.body, oci) && oci.IsObject(), "ChatDetails is a JSON object");
    // A body that does not shape (not an object) is never accepted, so the model is ours.
    check(p.model.format == format, "the plan keeps the target's format");
    const rapidjson::Value* req = member(oci, "chatRequest");
    const rapidjson::Value* fmt = req != nullptr ? member(*req, "apiFormat") : nullptr;
    check(fmt != nullptr && fmt->IsString() && sv(*fmt) == ogp::to_string(format),
          "chatRequest.apiFormat names the format");
    const rapidjson::Value* comp = member(oci, "compartmentId");
    check(comp != nullptr && comp->IsString() && comp->GetStringLength() > 0,
          "compartmentId is set");
}

inline int fuzz_chat(const std::uint8_t* data, std::size_t size, ogp::api_format format)
{
    on_small_stack([&] { fuzz_chat_input(data, size, format); });
    return 0;
}

}  // namespace ogp_fuzz
