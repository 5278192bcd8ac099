// Fuzzes the OpenAI Responses → OCI chat request translation (plan_responses) in all three
// chat formats: the body's own model decides the format (the seeds name one of each).
//
// Input: a Responses body, optionally followed by parts (fuzz_support.hpp: part_separator)
// that become the `arguments` strings of the function_call and tool_search_call items and the
// `input` of the custom_tool_call items, in turn: arguments are JSON held in a string, and
// COHERE parses them again; as raw parts the fuzzer mutates that JSON (or the custom tool's
// free text, which becomes `{"input":...}` arguments) directly instead of its escaped form.
//
// Properties: no crash, sanitizer report or timeout; an accepted request gives a ChatDetails
// JSON object in the model's format, n = 1, and an echo that completes a JSON object; a
// rejected one a 400 whose `param` is a Responses path (never a chat one such as
// `messages[...]` or `response_format`). Custom tools and a client tool_search: each is offered
// to OCI as a function of its name whenever the body offers tools.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "ogp/transform/responses.hpp"

namespace {

using namespace ogp_fuzz;

// Injects `args` into the function_call items of `input`. Leaves `out` empty when there is
// nothing to change (the body is then translated as it is).
void inject_arguments(std::string_view body, const std::vector<std::string_view>& args,
                      std::string& out)
{
    // plan_responses rejects deeper bodies anyway, and the writer below recurses.
    if (args.empty() || json_depth(body) > fuzz_config().limits.max_json_depth) {
        return;
    }
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) {
        return;
    }
    auto& alloc = doc.GetAllocator();
    rapidjson::Value* input = member_mut(doc, "input");
    if (input == nullptr || !input->IsArray()) {
        return;
    }
    std::size_t next = 0;
    for (auto& item : input->GetArray()) {
        const rapidjson::Value* type = member(item, "type");
        if (type == nullptr || !type->IsString()) {
            continue;
        }
        const std::string_view t = sv(*type);
        const char* key = t == "function_call" || t == "tool_search_call" ? "arguments"
                          : t == "custom_tool_call"                       ? "input"
                                                                          : nullptr;
        if (key == nullptr) {
            continue;
        }
        std::string_view a = args[next++ % args.size()];
        rapidjson::Value v(a.data(), static_cast<rapidjson::SizeType>(a.size()), alloc);
        if (rapidjson::Value* old = member_mut(item, key); old != nullptr) {
            *old = v;
        } else {
            item.AddMember(rapidjson::StringRef(key), v, alloc);
        }
    }
    if (next == 0) {
        return;
    }
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    doc.Accept(w);
    out.assign(sb.GetString(), sb.GetSize());
}

void fuzz_input(const std::uint8_t* data, std::size_t size)
{
    auto parts = split_parts(std::string_view(reinterpret_cast<const char*>(data), size));
    std::vector<std::string_view> args(parts.begin() + 1, parts.end());
    std::string shaped;
    inject_arguments(parts[0], args, shaped);
    std::string_view body = shaped.empty() ? parts[0] : std::string_view(shaped);

    auto plan = ogp::transform::plan_responses(body, fuzz_config());
    if (!plan) {
        const ogp::api_error& e = plan.error();
        // The configuration is valid, so every refusal is the client's fault.
        check(e.status == 400, "a refused Responses request is a 400");
        check(is_json(e.body()), "the error body is JSON");
        const std::string& p = e.param;
        check(!p.starts_with("messages") && p.find("response_format") == std::string::npos &&
                  p.find(".function") == std::string::npos && p != "reasoning_effort" &&
                  p != "verbosity" && p != "web_search_options" && p != "max_tokens",
              "the error names a Responses parameter, not a chat one");
        return;
    }
    const auto& p = plan.value();
    check(p.chat.n == 1 && !p.chat.logprobs, "one choice, no log probabilities");
    rapidjson::Document oci;
    check(parse_json(p.chat.body, oci) && oci.IsObject(), "ChatDetails is a JSON object");
    const rapidjson::Value* req = member(oci, "chatRequest");
    const rapidjson::Value* fmt = req != nullptr ? member(*req, "apiFormat") : nullptr;
    check(fmt != nullptr && fmt->IsString() && sv(*fmt) == ogp::to_string(p.chat.model.format),
          "chatRequest.apiFormat names the model's format");
    const rapidjson::Value* comp = member(oci, "compartmentId");
    check(comp != nullptr && comp->IsString() && comp->GetStringLength() > 0,
          "compartmentId is set");
    // The functions offered (GENERIC and COHERE: `name`; COHEREV2: `function.name`).
    if (const rapidjson::Value* tools = member(*req, "tools"); tools != nullptr) {
        check(tools->IsArray(), "tools is an array");
        auto offered = [&](std::string_view name) {
            for (const auto& t : tools->GetArray()) {
                const rapidjson::Value* fn = member(t, "function");
                const rapidjson::Value* n = member(fn != nullptr ? *fn : t, "name");
                if (n != nullptr && n->IsString() && sv(*n) == name) {
                    return true;
                }
            }
            return false;
        };
        for (const std::string& c : p.custom_tools) {
            check(offered(c), "a custom tool is offered as a function of its name");
        }
        check(!p.client_tool_search || offered("tool_search"),
              "a client tool_search is offered as the function tool_search");
    }
    check(p.echo.starts_with(",\"instructions\":"), "the echo starts with instructions");
    check(is_json("{\"id\":0" + p.echo + "}"), "the echo completes a JSON object");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    on_small_stack([&] { fuzz_input(data, size); });
    return 0;
}
