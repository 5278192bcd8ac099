// The format-dependent half of validation: what GENERIC, COHERE and COHEREV2 cannot express
// or spell differently, plus schema clean-up and COHERE's argument parsing, which can fail
// and so are done here rather than in the writers.

#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chat_internal.hpp"
#include "json_util.hpp"
#include "schema.hpp"

namespace ogp::transform::detail {

namespace {

using rapidjson::Value;

// 400 for a content part (`param`) the model's format has no part for, naming the model.
api_error part_not_expressible(std::string_view what, std::string param, api_format f,
                               std::string_view model)
{
    return invalid_request(std::string(what) + " is not supported by the OCI " +
                               std::string(to_string(f)) + " chat format of model '" +
                               std::string(model) + "'.",
                           std::move(param), "unsupported_parameter");
}

// GENERIC/COHEREV2 content parts: images only in user turns, with a URL and a known detail;
// files and audio likewise, and only where the format has them (`media`: GENERIC; `model`
// names the model in that refusal).
error_opt check_parts(const chat_content& c, const param_ref& param, bool allow_images,
                      std::optional<api_format> media = std::nullopt, std::string_view model = {})
{
    for (std::size_t j = 0; j < c.parts.size(); ++j) {
        const chat_part& p = c.parts[j];
        if (p.type == chat_part::kind::not_object) {
            return bad_type(idx(param.str(), j), "a content part object");
        }
        if (p.type == chat_part::kind::file || p.type == chat_part::kind::audio) {
            const bool file = p.type == chat_part::kind::file;
            if (media && *media != api_format::generic) {
                return part_not_expressible(file ? "File input" : "Audio input",
                                            idx(param.str(), j) + ".type", *media, model);
            }
            if (!allow_images || !media) {
                return invalid_request(std::string(file ? "File" : "Audio") +
                                           " parts are only allowed in user messages.",
                                       idx(param.str(), j) + ".type", "invalid_value");
            }
            if (file && p.url.empty()) {
                return invalid_request("Missing file data.", idx(param.str(), j) + ".file_data",
                                       "invalid_value");
            }
            continue;
        }
        if (p.type != chat_part::kind::image_url) {
            continue;
        }
        if (!allow_images) {
            return invalid_request("Image parts are only allowed in user messages.",
                                   idx(param.str(), j) + ".type", "invalid_value");
        }
        if (p.url.empty()) {
            return invalid_request("Missing image URL.", idx(param.str(), j) + ".image_url.url",
                                   "invalid_value");
        }
        std::string up = to_upper(p.detail);
        if (!p.detail.empty() && up != "AUTO" && up != "LOW" && up != "HIGH") {
            return invalid_request(
                "Invalid image detail '" + std::string(p.detail) + "': expected auto, low or high.",
                idx(param.str(), j) + ".image_url.detail", "invalid_value");
        }
    }
    return std::nullopt;
}

// GENERIC and COHEREV2 messages (same rules; only the spelling differs, and only GENERIC
// takes documents and audio).
error_opt check_messages_v(const std::vector<chat_message>& msgs, api_format f,
                           std::string_view model)
{
    // Ids of the tool calls of the latest assistant turn, which tool messages must answer.
    std::vector<std::string_view> open_calls;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        const chat_message& m = msgs[i];
        const param_ref content_param{"messages", i, ".content"};
        switch (m.role) {
            case chat_role::system:
            case chat_role::developer:
            case chat_role::user:
                if (m.content.type == chat_content::kind::absent) {
                    return invalid_request("Missing content in message.", content_param.str(),
                                           "missing_required_parameter");
                }
                if (auto e = check_parts(
                        m.content, content_param, m.role == chat_role::user,
                        m.role == chat_role::user ? std::optional(f) : std::nullopt, model)) {
                    return e;
                }
                break;
            case chat_role::assistant:
                if (m.tool_calls_not_array) {
                    return bad_type(idx("messages", i) + ".tool_calls", "an array");
                }
                if (!m.content.empty()) {
                    if (auto e = check_parts(m.content, content_param, false)) {
                        return e;
                    }
                }
                open_calls.clear();
                for (const auto& tc : m.tool_calls) {
                    open_calls.push_back(tc.id);
                }
                break;
            case chat_role::tool:
                if (m.tool_call_id.empty()) {
                    return invalid_request("Missing 'tool_call_id' in tool message.",
                                           idx("messages", i) + ".tool_call_id",
                                           "missing_required_parameter");
                }
                // OCI rejects results that answer no call of the preceding assistant turn.
                if (std::find(open_calls.begin(), open_calls.end(), m.tool_call_id) ==
                    open_calls.end()) {
                    return invalid_request(
                        "Tool message answers '" + std::string(m.tool_call_id) +
                            "', which is not a tool call of the preceding assistant message.",
                        idx("messages", i) + ".tool_call_id", "invalid_value");
                }
                if (auto e = check_parts(m.content, content_param, false)) {
                    return e;
                }
                break;
            case chat_role::other:
                if (m.role_name == "function") {
                    return invalid_request(
                        "The deprecated 'function' role is not supported; use 'tool'.",
                        idx("messages", i) + ".role", "unsupported_parameter");
                }
                return invalid_request("Invalid role '" + std::string(m.role_name) +
                                           "': expected system, developer, user, assistant or "
                                           "tool.",
                                       idx("messages", i) + ".role", "invalid_value");
        }
    }
    return std::nullopt;
}

// COHERE content becomes plain text: no images, files or audio.
error_opt check_cohere_content(const chat_content& c, const param_ref& param,
                               std::string_view model)
{
    for (std::size_t j = 0; j < c.parts.size(); ++j) {
        if (c.parts[j].type == chat_part::kind::not_object) {
            return invalid_request("Content part type '' is not supported by OCI Generative AI.",
                                   idx(param.str(), j) + ".type", "unsupported_content_type");
        }
        if (c.parts[j].type == chat_part::kind::image_url) {
            return not_expressible("Image input", idx(param.str(), j) + ".type",
                                   api_format::cohere);
        }
        if (c.parts[j].type == chat_part::kind::file || c.parts[j].type == chat_part::kind::audio) {
            return part_not_expressible(
                c.parts[j].type == chat_part::kind::file ? "File input" : "Audio input",
                idx(param.str(), j) + ".type", api_format::cohere, model);
        }
    }
    return std::nullopt;
}

bool is_system(const chat_message& m)
{
    return m.role == chat_role::system || m.role == chat_role::developer;
}

// COHERE: a preamble, a history, and a last turn that is a user message or tool results;
// each result must answer a call seen earlier, whose arguments must be a JSON object.
error_opt check_messages_cohere(chat_request& req, std::size_t max_depth)
{
    auto& msgs = req.messages;
    const std::size_t count = msgs.size();
    std::size_t first = 0;
    for (; first < count && is_system(msgs[first]); ++first) {
        if (auto e = check_cohere_content(msgs[first].content, {"messages", first, ".content"},
                                          req.model_name)) {
            return e;
        }
    }
    std::size_t tail = count;
    if (count > first && msgs[count - 1].role == chat_role::user) {
        tail = count - 1;
    } else if (count > first && msgs[count - 1].role == chat_role::tool) {
        tail = count - 1;
        while (tail > first && msgs[tail - 1].role == chat_role::tool) {
            --tail;
        }
    } else {
        return invalid_request(
            "The OCI COHERE chat format needs the conversation to end with a user or tool message.",
            "messages", "invalid_value");
    }
    // Every tool call seen so far by id (the last one of an id wins).
    std::unordered_map<std::string_view, const chat_tool_call*> call_by_id;
    auto check_result = [&](std::size_t i) -> error_opt {
        chat_message& m = msgs[i];
        auto found = call_by_id.find(m.tool_call_id);
        if (found == call_by_id.end()) {
            return invalid_request(
                "Tool message answers unknown tool call '" + std::string(m.tool_call_id) + "'.",
                idx("messages", i) + ".tool_call_id", "invalid_value");
        }
        m.answers = found->second;
        return check_cohere_content(m.content, {"messages", i, ".content"}, req.model_name);
    };
    rapidjson::Document scratch;
    for (std::size_t i = first; i < tail; ++i) {
        chat_message& m = msgs[i];
        if (m.role == chat_role::tool) {
            if (auto e = check_result(i)) {
                return e;
            }
            continue;
        }
        if (m.role == chat_role::other) {
            return invalid_request("Invalid role '" + std::string(m.role_name) + "'.",
                                   idx("messages", i) + ".role", "invalid_value");
        }
        if (auto e = check_cohere_content(m.content, {"messages", i, ".content"}, req.model_name)) {
            return e;
        }
        // The arguments string is JSON of its own: parsed with the request's nesting cap and
        // kept, since COHERE sends it as an object.
        for (std::size_t j = 0; j < m.tool_calls.size(); ++j) {
            chat_tool_call& tc = m.tool_calls[j];
            if (!parse_embedded(tc.arguments, max_depth, scratch) || !scratch.IsObject()) {
                return invalid_request(
                    "The OCI COHERE chat format needs tool call arguments to be a JSON object.",
                    idx(idx("messages", i) + ".tool_calls", j) + ".function.arguments",
                    "invalid_value");
            }
            tc.parameters.CopyFrom(scratch, req.doc->GetAllocator());
            call_by_id[tc.id] = &tc;
        }
    }
    for (std::size_t i = tail; i < count; ++i) {
        auto e = msgs[i].role == chat_role::tool
                     ? check_result(i)
                     : check_cohere_content(msgs[i].content, {"messages", i, ".content"},
                                            req.model_name);
        if (e) {
            return e;
        }
    }
    return std::nullopt;
}

// What the Cohere formats cannot express.
error_opt check_cohere_limits(const chat_request& req, bool prediction_sent, bool web_search_sent)
{
    const api_format f = req.model.format;
    if (req.n && *req.n > 1) {
        return not_expressible("n > 1", "n", f);
    }
    // COHEREV2 gives the chosen tokens' log probabilities (isLogProbsEnabled), no alternatives.
    if (req.logprobs && f == api_format::cohere) {
        return not_expressible("logprobs", "logprobs", f);
    }
    if (req.top_logprobs && (f == api_format::cohere || *req.top_logprobs > 0)) {
        return not_expressible("top_logprobs", "top_logprobs", f);
    }
    if (req.logit_bias != nullptr && req.logit_bias->MemberCount() > 0) {
        return not_expressible("logit_bias", "logit_bias", f);
    }
    if (prediction_sent) {
        return not_expressible("prediction", "prediction", f);
    }
    if (web_search_sent) {
        return not_expressible("web_search_options", "web_search_options", f);
    }
    if (!req.verbosity.empty()) {
        return not_expressible("verbosity", "verbosity", f);
    }
    if (!req.reasoning_effort.empty() && f == api_format::cohere) {
        return not_expressible("reasoning_effort", "reasoning_effort", f);
    }
    // OCI's Cohere topK: "0 disables this method ...; an integer between 1 and 500".
    if (req.top_k && (*req.top_k < 0 || *req.top_k > 500)) {
        return invalid_request("Invalid 'top_k': the OCI " + std::string(to_string(f)) +
                                   " chat format takes 0 (off) or 1 to 500.",
                               "top_k", "invalid_value");
    }
    // COHEREV2 thinking: the extension and reasoning_effort must agree on on or off.
    if (req.thinking && f == api_format::coherev2 && !req.reasoning_effort.empty() &&
        req.thinking->enabled != (req.reasoning_effort != "NONE")) {
        return invalid_request(
            "'thinking' and 'reasoning_effort' disagree on whether the model "
            "thinks.",
            "thinking", "invalid_value");
    }
    if (req.parallel_tool_calls == false && req.has_function_tools) {
        return not_expressible("parallel_tool_calls: false", "parallel_tool_calls", f);
    }
    if (req.service_tier_sent && *req.service_tier_sent != "auto" &&
        *req.service_tier_sent != "default") {
        return not_expressible("service_tier", "service_tier", f);
    }
    return std::nullopt;
}

// Function tools: a name, and a parameter schema OCI accepts.
error_opt check_tools(chat_request& req, schema_budget& budget)
{
    auto& alloc = req.doc->GetAllocator();
    // COHERE v1 flattens parameters to one Python type each; the others take JSON Schema.
    schema_options opts = schema_options_for(req.model.oci_id);
    if (req.model.format == api_format::cohere) {
        opts.dialect = schema_dialect::flat;
    }
    for (std::size_t i = 0; i < req.tools.size(); ++i) {
        chat_tool& t = req.tools[i];
        if (t.type == chat_tool::kind::not_object) {
            return bad_type(idx("tools", i), "a tool object");
        }
        if (t.type != chat_tool::kind::function) {
            continue;
        }
        if (!t.has_function) {
            return invalid_request("Missing 'function' in tool.", idx("tools", i) + ".function",
                                   "missing_required_parameter");
        }
        if (t.name.empty()) {
            return invalid_request("Missing function name.", idx("tools", i) + ".function.name",
                                   "missing_required_parameter");
        }
        if (t.parameters == nullptr) {
            t.schema.SetObject();
            t.schema.AddMember("type", "object", alloc);
            t.schema.AddMember("properties", Value(rapidjson::kObjectType), alloc);
            continue;
        }
        if (!t.parameters->IsObject()) {
            return bad_type(idx("tools", i) + ".function.parameters", "a JSON schema object");
        }
        std::string err;
        t.schema = clean_schema(*t.parameters, alloc, opts, budget, err);
        if (!err.empty()) {
            return invalid_request("Unsupported JSON schema in tool parameters: " + err + ".",
                                   idx("tools", i) + ".function.parameters", "invalid_value");
        }
    }
    return std::nullopt;
}

// `tool_choice` allowed_tools: each name is a function tool of the request; the others are
// marked not allowed (validated all the same, not sent).
error_opt apply_allowed_tools(chat_request& req)
{
    if (!req.tool_choice || !req.tool_choice->allowed_only) {
        return std::nullopt;
    }
    std::unordered_set<std::string_view> offered;
    for (const chat_tool& t : req.tools) {
        if (t.type == chat_tool::kind::function) {
            offered.insert(t.name);
        }
    }
    const auto& allowed = req.tool_choice->allowed;
    for (std::size_t j = 0; j < allowed.size(); ++j) {
        if (!offered.contains(allowed[j])) {
            return invalid_request(
                "Allowed tool '" + std::string(allowed[j]) + "' is not a function tool of 'tools'.",
                idx("tool_choice.allowed_tools.tools", j) + ".function.name", "invalid_value");
        }
    }
    // Responses may list only its web_search tool: then no function is offered at all.
    if (allowed.empty()) {
        if (req.tool_choice->type == chat_tool_choice::kind::required) {
            return invalid_request(
                "'tool_choice.allowed_tools.mode' required needs a function tool among the "
                "allowed tools: OCI cannot force a web search.",
                "tool_choice.allowed_tools.mode", "invalid_value");
        }
        req.has_function_tools = false;
        req.tool_choice.reset();
        return std::nullopt;
    }
    const std::unordered_set<std::string_view> listed(allowed.begin(), allowed.end());
    for (chat_tool& t : req.tools) {
        t.allowed = listed.contains(t.name);
    }
    return std::nullopt;
}

}  // namespace

error_opt check_format_limits(chat_request& req, bool prediction_sent, bool web_search_sent)
{
    const api_format f = req.model.format;
    if (req.service_tier_sent && f == api_format::generic) {
        req.service_tier = to_upper(*req.service_tier_sent);
        const std::string& st = req.service_tier;
        if (st != "AUTO" && st != "DEFAULT" && st != "PRIORITY") {
            return invalid_request(
                "Invalid 'service_tier': OCI supports auto, default and priority.", "service_tier",
                "invalid_value");
        }
    }
    // The thinking extension (a token budget) is COHEREV2's only: GENERIC's reasoningEffort
    // and COHERE have no budget.
    if (req.thinking && f != api_format::coherev2) {
        return not_expressible("The 'thinking' extension", "thinking", f);
    }
    if (f != api_format::generic) {
        return check_cohere_limits(req, prediction_sent, web_search_sent);
    }
    return std::nullopt;
}

error_opt validate_for_format(chat_request& req, const config& cfg)
{
    const api_format f = req.model.format;
    if (auto e = f == api_format::cohere ? check_messages_cohere(req, cfg.limits.max_json_depth)
                                         : check_messages_v(req.messages, f, req.model_name)) {
        return e;
    }
    // tool_choice: GENERIC takes all; COHEREV2 none and required; COHERE none (by sending no
    // tools); `auto` is every format's default.
    if (req.tool_choice && f != api_format::generic) {
        using k = chat_tool_choice::kind;
        const k kind = req.tool_choice->type;
        const bool ok = kind == k::auto_ ||
                        (f == api_format::coherev2 && (kind == k::none || kind == k::required)) ||
                        (f == api_format::cohere && kind == k::none);
        if (!ok) {
            const char* names[] = {"auto", "none", "required", "function"};
            return not_expressible(
                "tool_choice '" + std::string(names[static_cast<int>(kind)]) + "'", "tool_choice",
                f);
        }
    }
    if (auto e = apply_allowed_tools(req)) {
        return e;
    }
    // Schemas (tools and response_format) may expand through `$ref` up to these bounds in all.
    schema_budget budget{cfg.limits.max_schema_nodes, cfg.limits.max_body_bytes};
    if (req.has_function_tools && !req.tools_suppressed()) {
        if (auto e = check_tools(req, budget)) {
            return e;
        }
    }
    if (req.response_format && req.response_format->schema != nullptr) {
        std::string err;
        // The same rewrites as the tools' (a family refuses a construct in both places).
        req.response_format->cleaned =
            clean_schema(*req.response_format->schema, req.doc->GetAllocator(),
                         schema_options_for(req.model.oci_id), budget, err);
        if (!err.empty()) {
            return invalid_request("Unsupported JSON schema: " + err + ".",
                                   "response_format.json_schema.schema", "invalid_value");
        }
    }
    if (req.prediction && f == api_format::generic) {
        return check_parts(*req.prediction, {"prediction.content"}, false);
    }
    return std::nullopt;
}

}  // namespace ogp::transform::detail
