// Parses an OpenAI `/v1/chat/completions` body into a chat_request. Every key is read here
// once; what any format refuses is refused here, what only some formats refuse is recorded
// and left to validate_for_format (chat_validate.cpp).

#include <cstdio>
#include <string>

#include "chat_internal.hpp"
#include "json_util.hpp"

namespace ogp::transform {

namespace detail {

std::string oci_reasoning_effort(std::string_view effort)
{
    std::string e = to_upper(effort);
    if (e == "DISABLE") {
        return "NONE";
    }
    if (e == "XHIGH" || e == "MAX") {
        return "HIGH";
    }
    if (e == "NONE" || e == "MINIMAL" || e == "LOW" || e == "MEDIUM" || e == "HIGH") {
        return e;
    }
    return {};
}

api_error bad_type(std::string_view param, std::string_view expected)
{
    return invalid_request(
        "Invalid type for '" + std::string(param) + "': expected " + std::string(expected) + ".",
        std::string(param), "invalid_type");
}

api_error not_expressible(std::string_view what, std::string_view param, api_format f)
{
    return invalid_request(std::string(what) + " is not supported by the OCI " +
                               std::string(to_string(f)) + " chat format of this model.",
                           std::string(param), "unsupported_parameter");
}

std::string idx(std::string_view base, std::size_t i)
{
    return std::string(base) + "[" + std::to_string(i) + "]";
}

// Reads a number within [lo, hi].
error_opt number_in(const rapidjson::Value* v, std::string_view param, double lo, double hi,
                    std::optional<double>& out)
{
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->IsNumber()) {
        return bad_type(param, "a number");
    }
    double d = v->GetDouble();
    if (!(d >= lo && d <= hi)) {
        char range[64];
        std::snprintf(range, sizeof range, "between %g and %g", lo, hi);
        return invalid_request("Invalid '" + std::string(param) + "': must be " + range + ".",
                               std::string(param), "invalid_value");
    }
    out = d;
    return std::nullopt;
}

// Reads an integer within [lo, hi].
error_opt int_in(const rapidjson::Value* v, std::string_view param, std::int64_t lo,
                 std::int64_t hi, std::optional<std::int64_t>& out)
{
    if (v == nullptr) {
        return std::nullopt;
    }
    std::int64_t i = 0;
    if (!detail::as_int(*v, i)) {
        return bad_type(param, "an integer");
    }
    if (i < lo || i > hi) {
        return invalid_request("Invalid '" + std::string(param) + "': must be between " +
                                   std::to_string(lo) + " and " + std::to_string(hi) + ".",
                               std::string(param), "invalid_value");
    }
    out = i;
    return std::nullopt;
}

namespace {

// Standard base64 (`+/`, `=` padding), whole quanta: what OCI decodes from a data URL.
bool is_base64(std::string_view s)
{
    if (s.empty() || s.size() % 4 != 0) {
        return false;
    }
    std::size_t pad = 0;
    while (pad < 2 && s[s.size() - 1 - pad] == '=') {
        ++pad;
    }
    for (std::size_t i = 0; i < s.size() - pad; ++i) {
        const char c = s[i];
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok) {
            return false;
        }
    }
    return true;
}

}  // namespace

error_opt parse_input_audio(const rapidjson::Value& part, const std::string& param, chat_part& p)
{
    const rapidjson::Value* a = get(part, "input_audio");
    if (a == nullptr || !a->IsObject()) {
        return bad_type(param + ".input_audio", "an object");
    }
    p.type = chat_part::kind::audio;
    const rapidjson::Value* format = get(*a, "format");
    const std::string_view f = format != nullptr && format->IsString() ? sv(*format) : "";
    // OCI reads the media type of the data URL; mp3 is audio/mpeg (RFC 3003).
    if (f == "wav") {
        p.media_type = "audio/wav";
    } else if (f == "mp3") {
        p.media_type = "audio/mpeg";
    } else {
        return invalid_request("Invalid 'input_audio.format': expected wav or mp3.",
                               param + ".input_audio.format",
                               format == nullptr ? "missing_required_parameter" : "invalid_value");
    }
    const rapidjson::Value* data = get(*a, "data");
    if (data == nullptr || (data->IsString() && data->GetStringLength() == 0)) {
        return invalid_request("Missing 'input_audio.data'.", param + ".input_audio.data",
                               "missing_required_parameter");
    }
    if (!data->IsString()) {
        return bad_type(param + ".input_audio.data", "a string");
    }
    p.data = sv(*data);
    if (!is_base64(p.data)) {
        return invalid_request(
            "Invalid 'input_audio.data': expected base64-encoded audio (not a data URL).",
            param + ".input_audio.data", "invalid_value");
    }
    return std::nullopt;
}

}  // namespace detail

namespace {

using detail::bad_type;
using detail::error_opt;
using detail::get;
using detail::get_string;
using detail::idx;
using detail::int_in;
using detail::number_in;
using detail::param_ref;
using detail::sv;
using rapidjson::Value;

// The top-level keys, found in one pass; null counts as absent and a repeated key's last
// value wins.
struct fields
{
    const Value* model = nullptr;
    const Value* messages = nullptr;
    const Value* stream = nullptr;
    const Value* stream_options = nullptr;
    const Value* max_tokens = nullptr;
    const Value* max_completion_tokens = nullptr;
    const Value* temperature = nullptr;
    const Value* top_p = nullptr;
    const Value* top_k = nullptr;
    const Value* frequency_penalty = nullptr;
    const Value* presence_penalty = nullptr;
    const Value* stop = nullptr;
    const Value* n = nullptr;
    const Value* seed = nullptr;
    const Value* logprobs = nullptr;
    const Value* top_logprobs = nullptr;
    const Value* logit_bias = nullptr;
    const Value* response_format = nullptr;
    const Value* reasoning_effort = nullptr;
    const Value* tools = nullptr;
    const Value* tool_choice = nullptr;
    const Value* parallel_tool_calls = nullptr;
    const Value* metadata = nullptr;
    const Value* verbosity = nullptr;
    const Value* service_tier = nullptr;
    const Value* prediction = nullptr;
    const Value* web_search_options = nullptr;
    const Value* thinking = nullptr;
    const Value* unsupported = nullptr;  // first key no format can express
    std::string_view unsupported_name;
};

void collect(const Value& doc, fields& f)
{
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
        if (it->value.IsNull()) {
            continue;
        }
        std::string_view k = sv(it->name);
        const Value* v = &it->value;
        if (k == "model")
            f.model = v;
        else if (k == "messages")
            f.messages = v;
        else if (k == "stream")
            f.stream = v;
        else if (k == "stream_options")
            f.stream_options = v;
        else if (k == "max_tokens")
            f.max_tokens = v;
        else if (k == "max_completion_tokens")
            f.max_completion_tokens = v;
        else if (k == "temperature")
            f.temperature = v;
        else if (k == "top_p")
            f.top_p = v;
        else if (k == "top_k")
            f.top_k = v;
        else if (k == "frequency_penalty")
            f.frequency_penalty = v;
        else if (k == "presence_penalty")
            f.presence_penalty = v;
        else if (k == "stop")
            f.stop = v;
        else if (k == "n")
            f.n = v;
        else if (k == "seed")
            f.seed = v;
        else if (k == "logprobs")
            f.logprobs = v;
        else if (k == "top_logprobs")
            f.top_logprobs = v;
        else if (k == "logit_bias")
            f.logit_bias = v;
        else if (k == "response_format")
            f.response_format = v;
        else if (k == "reasoning_effort")
            f.reasoning_effort = v;
        else if (k == "tools")
            f.tools = v;
        else if (k == "tool_choice")
            f.tool_choice = v;
        else if (k == "parallel_tool_calls")
            f.parallel_tool_calls = v;
        else if (k == "metadata")
            f.metadata = v;
        else if (k == "verbosity")
            f.verbosity = v;
        else if (k == "service_tier")
            f.service_tier = v;
        else if (k == "prediction")
            f.prediction = v;
        else if (k == "web_search_options")
            f.web_search_options = v;
        else if (k == "thinking")
            f.thinking = v;
        else if ((k == "functions" || k == "function_call" || k == "audio") &&
                 f.unsupported == nullptr) {
            f.unsupported = v;
            f.unsupported_name = k;
        } else if (k == "modalities" && f.unsupported == nullptr && v->IsArray()) {
            for (auto& m : v->GetArray()) {
                if (!m.IsString() || sv(m) != "text") {
                    f.unsupported = v;
                    f.unsupported_name = k;
                }
            }
        }
        // Everything else (user, store, extra client keys) is accepted and not forwarded.
    }
}

// Message content: a string or a list of parts. Images and non-object parts are recorded,
// since the formats refuse them differently.
error_opt parse_content(const Value* c, const param_ref& param, chat_content& out)
{
    if (c == nullptr) {
        return std::nullopt;
    }
    if (c->IsString()) {
        out.type = chat_content::kind::text;
        out.text = sv(*c);
        return std::nullopt;
    }
    if (!c->IsArray()) {
        return bad_type(param.str(), "a string or an array of content parts");
    }
    out.type = chat_content::kind::parts;
    out.parts.reserve(c->Size());
    for (rapidjson::SizeType j = 0; j < c->Size(); ++j) {
        const Value& part = (*c)[j];
        chat_part p;
        if (!part.IsObject()) {
            p.type = chat_part::kind::not_object;
            out.parts.push_back(p);
            continue;
        }
        std::string_view type = get_string(part, "type");
        if (type == "text") {
            const Value* t = get(part, "text");
            if (t == nullptr || !t->IsString()) {
                return bad_type(idx(param.str(), j) + ".text", "a string");
            }
            p.type = chat_part::kind::text;
            p.text = sv(*t);
        } else if (type == "refusal") {
            p.type = chat_part::kind::refusal;
            p.text = get_string(part, "refusal");
        } else if (type == "file") {
            // `{file: {file_data, filename}}`: a data URL (GENERIC DOCUMENT). There is no
            // Files API here, so a `file_id` cannot be resolved.
            p.type = chat_part::kind::file;
            const Value* f = get(part, "file");
            if (f == nullptr || !f->IsObject()) {
                return bad_type(idx(param.str(), j) + ".file", "an object");
            }
            if (get(*f, "file_id") != nullptr && get(*f, "file_data") == nullptr) {
                return invalid_request(
                    "File ids are not supported: this proxy has no Files API; send the file "
                    "as file_data (a data URL).",
                    idx(param.str(), j) + ".file.file_id", "unsupported_parameter");
            }
            p.url = get_string(*f, "file_data");
            p.filename = get_string(*f, "filename");
            if (p.url.empty()) {
                return invalid_request("Missing 'file_data'.",
                                       idx(param.str(), j) + ".file.file_data",
                                       "missing_required_parameter");
            }
            if (!p.url.starts_with("data:")) {
                return invalid_request("Invalid 'file_data': expected a data URL.",
                                       idx(param.str(), j) + ".file.file_data", "invalid_value");
            }
        } else if (type == "input_audio") {
            // `{input_audio: {data, format}}`: GENERIC AUDIO (validation decides where).
            if (auto e = detail::parse_input_audio(part, idx(param.str(), j), p)) {
                return e;
            }
        } else if (type == "image_url") {
            // `image_url` is a string or `{url, detail}`.
            p.type = chat_part::kind::image_url;
            if (const Value* iu = get(part, "image_url"); iu != nullptr && iu->IsString()) {
                p.url = sv(*iu);
            } else if (iu != nullptr && iu->IsObject()) {
                p.url = get_string(*iu, "url");
                p.detail = get_string(*iu, "detail");
            }
        } else {
            return invalid_request("Content part type '" + std::string(type) +
                                       "' is not supported by OCI Generative AI.",
                                   idx(param.str(), j) + ".type", "unsupported_content_type");
        }
        out.parts.push_back(p);
    }
    return std::nullopt;
}

error_opt parse_tool_call(const Value& tc, const param_ref& param, chat_tool_call& out)
{
    if (!tc.IsObject()) {
        return bad_type(param.str(), "a tool call object");
    }
    const Value* fn = get(tc, "function");
    if (fn == nullptr || !fn->IsObject()) {
        return invalid_request("Missing 'function' in tool call.", param.str() + ".function",
                               "missing_required_parameter");
    }
    out.id = get_string(tc, "id");
    out.name = get_string(*fn, "name");
    if (out.name.empty()) {
        return invalid_request("Missing function name in tool call.",
                               param.str() + ".function.name", "missing_required_parameter");
    }
    // `arguments` is a JSON string; an object is tolerated and serialised.
    const Value* args = get(*fn, "arguments");
    if (args == nullptr) {
        out.arguments = "{}";
    } else if (args->IsString()) {
        out.arguments.assign(args->GetString(), args->GetStringLength());
    } else if (args->IsObject()) {
        out.arguments = detail::to_json(*args);
    } else {
        return bad_type(param.str() + ".function.arguments", "a JSON string");
    }
    return std::nullopt;
}

chat_role role_of(std::string_view r)
{
    if (r == "system")
        return chat_role::system;
    if (r == "developer")
        return chat_role::developer;
    if (r == "user")
        return chat_role::user;
    if (r == "assistant")
        return chat_role::assistant;
    if (r == "tool")
        return chat_role::tool;
    return chat_role::other;
}

error_opt parse_message(const Value& m, std::size_t i, chat_message& out)
{
    if (!m.IsObject()) {
        return bad_type(idx("messages", i), "a message object");
    }
    // One pass over the members; the first of a repeated key counts, null as absent.
    const Value* role = nullptr;
    const Value* content = nullptr;
    const Value* name = nullptr;
    const Value* calls = nullptr;
    const Value* call_id = nullptr;
    const Value* reasoning = nullptr;
    const Value* refusal = nullptr;
    bool seen[7] = {};
    for (auto it = m.MemberBegin(); it != m.MemberEnd(); ++it) {
        std::string_view k = sv(it->name);
        int slot = k == "role"                ? 0
                   : k == "content"           ? 1
                   : k == "name"              ? 2
                   : k == "tool_calls"        ? 3
                   : k == "tool_call_id"      ? 4
                   : k == "reasoning_content" ? 5
                   : k == "refusal"           ? 6
                                              : -1;
        if (slot < 0 || seen[slot]) {
            continue;
        }
        seen[slot] = true;
        const Value* v = it->value.IsNull() ? nullptr : &it->value;
        const Value** dest[7] = {&role, &content, &name, &calls, &call_id, &reasoning, &refusal};
        *dest[slot] = v;
    }
    out.role_name = role != nullptr && role->IsString() ? sv(*role) : std::string_view{};
    out.role = role_of(out.role_name);
    if (out.role == chat_role::other) {
        return std::nullopt;  // refused by the format validation, in its words
    }
    out.name = name != nullptr && name->IsString() ? sv(*name) : std::string_view{};
    if (auto e = parse_content(content, {"messages", i, ".content"}, out.content)) {
        return e;
    }
    if (out.role == chat_role::assistant && calls != nullptr) {
        out.tool_calls_not_array = !calls->IsArray();
        if (calls->IsArray()) {
            out.tool_calls.resize(calls->Size());
            std::string base = idx("messages", i) + ".tool_calls";
            for (rapidjson::SizeType j = 0; j < calls->Size(); ++j) {
                if (auto e = parse_tool_call((*calls)[j], {base, j, {}}, out.tool_calls[j])) {
                    return e;
                }
            }
        }
    }
    // Earlier reasoning sent back (the DeepSeek/vLLM `reasoning_content` extension): GENERIC
    // carries it as `reasoningContent`.
    if (out.role == chat_role::assistant && reasoning != nullptr) {
        if (!reasoning->IsString()) {
            return bad_type(idx("messages", i) + ".reasoning_content", "a string");
        }
        out.reasoning.assign(reasoning->GetString(), reasoning->GetStringLength());
    }
    if (out.role == chat_role::assistant && refusal != nullptr) {
        if (!refusal->IsString()) {
            return bad_type(idx("messages", i) + ".refusal", "a string");
        }
        out.refusal = sv(*refusal);
    }
    if (out.role == chat_role::tool && call_id != nullptr && call_id->IsString()) {
        out.tool_call_id = sv(*call_id);
    }
    return std::nullopt;
}

// `tool_choice: {type: allowed_tools, allowed_tools: {mode, tools}}`: the mode, and the
// function names (each entry `{type: function, function: {name}}`), matched against `tools`
// by validation.
error_opt parse_allowed_tools(const Value& tc, chat_tool_choice& out)
{
    const Value* at = get(tc, "allowed_tools");
    if (at == nullptr || !at->IsObject()) {
        return bad_type("tool_choice.allowed_tools", "an object");
    }
    const std::string_view mode = get_string(*at, "mode");
    if (mode == "auto") {
        out.type = chat_tool_choice::kind::auto_;
    } else if (mode == "required") {
        out.type = chat_tool_choice::kind::required;
    } else {
        return invalid_request(
            "Invalid 'tool_choice.allowed_tools.mode': expected auto or required.",
            "tool_choice.allowed_tools.mode", "invalid_value");
    }
    const Value* tools = get(*at, "tools");
    if (tools == nullptr || !tools->IsArray()) {
        return bad_type("tool_choice.allowed_tools.tools", "an array");
    }
    if (tools->Empty()) {
        return invalid_request("'tool_choice.allowed_tools.tools' must name at least one tool.",
                               "tool_choice.allowed_tools.tools", "invalid_value");
    }
    out.allowed_only = true;
    out.allowed.reserve(tools->Size());
    for (rapidjson::SizeType j = 0; j < tools->Size(); ++j) {
        const Value& t = (*tools)[j];
        const std::string param = idx("tool_choice.allowed_tools.tools", j);
        if (!t.IsObject()) {
            return bad_type(param, "a tool object");
        }
        if (get_string(t, "type") != "function") {
            return invalid_request(
                "Invalid allowed tool: only function tools ({\"type\":\"function\","
                "\"function\":{\"name\":...}}) can be offered to OCI Generative AI.",
                param + ".type", "invalid_value");
        }
        const Value* fn = get(t, "function");
        const std::string_view name = fn != nullptr ? get_string(*fn, "name") : "";
        if (name.empty()) {
            return invalid_request("Missing function name in allowed tool.",
                                   param + ".function.name", "missing_required_parameter");
        }
        out.allowed.push_back(name);
    }
    return std::nullopt;
}

// `tool_choice`: auto, none, required, a named function, or allowed_tools.
error_opt parse_tool_choice(const Value& tc, chat_tool_choice& out)
{
    std::string_view kind;
    if (tc.IsObject() && get_string(tc, "type") == "allowed_tools") {
        return parse_allowed_tools(tc, out);
    }
    if (tc.IsString()) {
        kind = sv(tc);
    } else if (tc.IsObject()) {
        const Value* fn = get(tc, "function");
        if (get_string(tc, "type") != "function" || fn == nullptr ||
            get_string(*fn, "name").empty()) {
            return invalid_request(
                "Invalid 'tool_choice': expected auto, none, required or "
                "{\"type\":\"function\",\"function\":{\"name\":...}}.",
                "tool_choice", "invalid_value");
        }
        kind = "function";
        out.function_name = get_string(*fn, "name");
    } else {
        return bad_type("tool_choice", "a string or an object");
    }
    using k = chat_tool_choice::kind;
    if (kind == "auto") {
        out.type = k::auto_;
    } else if (kind == "none") {
        out.type = k::none;
    } else if (kind == "required") {
        out.type = k::required;
    } else if (kind == "function") {
        out.type = k::function;  // the bare string "function" names no function
    } else {
        return invalid_request(
            "Invalid 'tool_choice' '" + std::string(kind) + "': expected auto, none or required.",
            "tool_choice", "invalid_value");
    }
    return std::nullopt;
}

// True when `tools` is an array holding at least one function tool.
bool has_function_tools(const Value* tools)
{
    if (tools == nullptr || !tools->IsArray()) {
        return false;
    }
    for (auto& t : tools->GetArray()) {
        if (t.IsObject() && get_string(t, "type") == "function") {
            return true;
        }
    }
    return false;
}

// `tools`: recorded as sent. Whether a bad entry is an error depends on the format and on
// `tool_choice` (COHERE with `none` sends no tools), so validation decides.
error_opt parse_tools(const Value& tools, chat_request& req)
{
    if (!tools.IsArray()) {
        return bad_type("tools", "an array");
    }
    req.tools.resize(tools.Size());
    for (rapidjson::SizeType i = 0; i < tools.Size(); ++i) {
        const Value& t = tools[i];
        chat_tool& out = req.tools[i];
        if (!t.IsObject()) {
            out.type = chat_tool::kind::not_object;
            continue;
        }
        // OCI runs only function tools: any other type is refused rather than left out, since
        // the model would answer without a tool the client counts on.
        const std::string_view type = get_string(t, "type");
        if (type == "custom") {
            const Value* c = get(t, "custom");
            const std::string_view name = c != nullptr ? get_string(*c, "name") : "";
            return invalid_request(
                "Custom tool '" + std::string(name) +
                    "' is not supported on /v1/chat/completions: OCI Generative AI runs only "
                    "function tools. Define it as a function tool, or use /v1/responses, which "
                    "offers a custom tool as a function.",
                idx("tools", i), "unsupported_parameter");
        }
        if (type != "function") {
            return invalid_request("Invalid tool type '" + std::string(type) +
                                       "': OCI Generative AI runs only function tools.",
                                   idx("tools", i) + ".type", "invalid_value");
        }
        out.type = chat_tool::kind::function;
        const Value* fn = get(t, "function");
        if (fn == nullptr || !fn->IsObject()) {
            continue;
        }
        out.has_function = true;
        out.name = get_string(*fn, "name");
        out.description = get_string(*fn, "description");
        const Value* s = get(*fn, "strict");
        out.strict = s != nullptr && s->IsBool() && s->GetBool();
        out.parameters = get(*fn, "parameters");
    }
    return std::nullopt;
}

error_opt parse_response_format(const Value& rf, chat_response_format& out)
{
    if (!rf.IsObject()) {
        return bad_type("response_format", "an object");
    }
    std::string_view type = get_string(rf, "type");
    if (type == "text") {
        out.type = chat_response_format::kind::text;
    } else if (type == "json_object") {
        out.type = chat_response_format::kind::json_object;
    } else if (type == "json_schema") {
        out.type = chat_response_format::kind::json_schema;
        const Value* js = get(rf, "json_schema");
        if (js == nullptr || !js->IsObject()) {
            return invalid_request("Missing 'json_schema'.", "response_format.json_schema",
                                   "missing_required_parameter");
        }
        out.name = get_string(*js, "name");
        out.description = get_string(*js, "description");
        out.schema = get(*js, "schema");
        if (const Value* strict = get(*js, "strict"); strict != nullptr && strict->IsBool()) {
            out.strict = strict->GetBool();
        }
        if (out.schema != nullptr && !out.schema->IsObject()) {
            return bad_type("response_format.json_schema.schema", "an object");
        }
        for (char c : out.name) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
            if (!ok) {
                return invalid_request(
                    "Invalid 'response_format.json_schema.name': only a-z, A-Z, "
                    "0-9, '_' and '-' are allowed.",
                    "response_format.json_schema.name", "invalid_value");
            }
        }
    } else {
        return invalid_request("Invalid 'response_format.type' '" + std::string(type) +
                                   "': expected text, json_object or json_schema.",
                               "response_format.type", "invalid_value");
    }
    return std::nullopt;
}

// The `thinking` extension: `{type: enabled, budget_tokens}` or `{type: disabled}`.
error_opt parse_thinking(const Value& t, chat_thinking& out)
{
    if (!t.IsObject()) {
        return bad_type("thinking", "an object");
    }
    const Value* type = get(t, "type");
    const std::string up = type != nullptr && type->IsString() ? detail::to_upper(sv(*type)) : "";
    if (up != "ENABLED" && up != "DISABLED") {
        return invalid_request("Invalid 'thinking.type': expected enabled or disabled.",
                               "thinking.type",
                               type == nullptr ? "missing_required_parameter" : "invalid_value");
    }
    out.enabled = up == "ENABLED";
    // OCI's tokenBudget is a positive integer; the bound is max_tokens'.
    if (auto e = int_in(get(t, "budget_tokens"), "thinking.budget_tokens", 1, 1 << 24,
                        out.budget_tokens)) {
        return e;
    }
    if (out.budget_tokens && !out.enabled) {
        return invalid_request("'thinking.budget_tokens' needs thinking type enabled.",
                               "thinking.budget_tokens", "invalid_value");
    }
    return std::nullopt;
}

// Reasoning effort, verbosity: upper-cased enums; the thinking extension.
error_opt parse_enums(const fields& fl, chat_request& req)
{
    if (fl.thinking != nullptr) {
        if (auto e = parse_thinking(*fl.thinking, req.thinking.emplace())) {
            return e;
        }
    }
    if (fl.reasoning_effort != nullptr) {
        if (!fl.reasoning_effort->IsString()) {
            return bad_type("reasoning_effort", "a string");
        }
        req.reasoning_effort = detail::oci_reasoning_effort(sv(*fl.reasoning_effort));
        if (req.reasoning_effort.empty()) {
            return invalid_request(
                "Invalid 'reasoning_effort': expected none, minimal, low, medium, high or xhigh.",
                "reasoning_effort", "invalid_value");
        }
    }
    if (fl.verbosity != nullptr) {
        std::string& v = req.verbosity;
        v = fl.verbosity->IsString() ? detail::to_upper(sv(*fl.verbosity)) : "";
        if (v != "LOW" && v != "MEDIUM" && v != "HIGH") {
            return invalid_request("Invalid 'verbosity': expected low, medium or high.",
                                   "verbosity", "invalid_value");
        }
    }
    return std::nullopt;
}

// Sampling, length, stop and log-probability parameters.
error_opt parse_scalars(const fields& fl, chat_request& req)
{
    if (auto e = int_in(fl.n, "n", 1, 128, req.n)) {
        return e;
    }
    const bool mct = fl.max_completion_tokens != nullptr;
    if (auto e = int_in(mct ? fl.max_completion_tokens : fl.max_tokens,
                        mct ? "max_completion_tokens" : "max_tokens", 1, 1 << 24, req.max_tokens)) {
        return e;
    }
    if (auto e = number_in(fl.temperature, "temperature", 0, 2, req.temperature)) {
        return e;
    }
    if (auto e = number_in(fl.top_p, "top_p", 0, 1, req.top_p)) {
        return e;
    }
    if (auto e =
            number_in(fl.frequency_penalty, "frequency_penalty", -2, 2, req.frequency_penalty)) {
        return e;
    }
    if (auto e = number_in(fl.presence_penalty, "presence_penalty", -2, 2, req.presence_penalty)) {
        return e;
    }
    if (auto e = int_in(fl.top_k, "top_k", -1, 1000, req.top_k)) {
        return e;
    }
    if (fl.seed != nullptr) {
        std::int64_t s = 0;
        if (!detail::as_int(*fl.seed, s)) {
            return bad_type("seed", "an integer");
        }
        req.seed = s;
    }
    // `stop`: a string or a list of strings.
    if (fl.stop != nullptr) {
        if (fl.stop->IsString()) {
            req.stop.push_back(sv(*fl.stop));
        } else if (fl.stop->IsArray()) {
            req.stop.reserve(fl.stop->Size());
            for (auto& s : fl.stop->GetArray()) {
                if (!s.IsString()) {
                    return bad_type("stop", "a string or an array of strings");
                }
                req.stop.push_back(sv(s));
            }
        } else {
            return bad_type("stop", "a string or an array of strings");
        }
    }
    if (fl.logprobs != nullptr) {
        if (!fl.logprobs->IsBool()) {
            return bad_type("logprobs", "a boolean");
        }
        req.logprobs = fl.logprobs->GetBool();
    }
    if (auto e = int_in(fl.top_logprobs, "top_logprobs", 0, 20, req.top_logprobs)) {
        return e;
    }
    if (req.top_logprobs && !req.logprobs) {
        return invalid_request("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs",
                               "invalid_value");
    }
    if (fl.logit_bias != nullptr && !fl.logit_bias->IsObject()) {
        return bad_type("logit_bias", "an object");
    }
    req.logit_bias = fl.logit_bias;
    if (fl.metadata != nullptr && !fl.metadata->IsObject()) {
        return bad_type("metadata", "an object");
    }
    req.metadata = fl.metadata;
    if (fl.parallel_tool_calls != nullptr) {
        if (!fl.parallel_tool_calls->IsBool()) {
            return bad_type("parallel_tool_calls", "a boolean");
        }
        req.parallel_tool_calls = fl.parallel_tool_calls->GetBool();
    }
    return parse_enums(fl, req);
}

// `prediction` (`{type: content, content}`) and `web_search_options`.
error_opt parse_extras(const fields& fl, chat_request& req)
{
    if (fl.prediction != nullptr) {
        const Value* pc = get(*fl.prediction, "content");
        if (get_string(*fl.prediction, "type") != "content" || pc == nullptr) {
            return invalid_request("Invalid 'prediction': expected {\"type\":\"content\",...}.",
                                   "prediction", "invalid_value");
        }
        req.prediction.emplace();
        if (auto e = parse_content(pc, {"prediction.content"}, *req.prediction)) {
            return e;
        }
    }
    if (fl.web_search_options != nullptr) {
        const Value& ws = *fl.web_search_options;
        if (!ws.IsObject()) {
            return bad_type("web_search_options", "an object");
        }
        chat_web_search& out = req.web_search.emplace();
        // search_context_size: low|medium|high → OCI's LOW|MEDIUM|HIGH.
        if (const Value* sc = get(ws, "search_context_size"); sc != nullptr && !sc->IsNull()) {
            std::string_view s = sc->IsString() ? sv(*sc) : "";
            if (s != "low" && s != "medium" && s != "high") {
                return invalid_request(
                    "Invalid 'web_search_options.search_context_size': expected low, medium or "
                    "high.",
                    "web_search_options.search_context_size", "invalid_value");
            }
            out.search_context_size = s;
        }
        // user_location: {type: "approximate", approximate: {city, country, region, timezone}}
        // → OCI's ApproximateLocation {city, region, country, timezone}; null means none.
        if (const Value* loc = get(ws, "user_location"); loc != nullptr && !loc->IsNull()) {
            if (!loc->IsObject()) {
                return bad_type("web_search_options.user_location", "an object");
            }
            if (get_string(*loc, "type") != "approximate") {
                return invalid_request(
                    "Invalid 'web_search_options.user_location.type': expected 'approximate'.",
                    "web_search_options.user_location.type", "invalid_value");
            }
            const Value* approx = get(*loc, "approximate");
            if (approx == nullptr || !approx->IsObject()) {
                return bad_type("web_search_options.user_location.approximate", "an object");
            }
            out.has_location = true;
            const std::pair<const char*, std::string_view*> keys[] = {{"city", &out.city},
                                                                      {"region", &out.region},
                                                                      {"country", &out.country},
                                                                      {"timezone", &out.timezone}};
            for (const auto& [k, dst] : keys) {
                const Value* v = get(*approx, k);
                if (v == nullptr || v->IsNull()) {
                    continue;
                }
                if (!v->IsString()) {
                    return bad_type(
                        std::string("web_search_options.user_location.approximate.") + k,
                        "a string");
                }
                *dst = sv(*v);
            }
        }
    }
    return std::nullopt;
}

}  // namespace

result<chat_request> parse_chat_request(std::string_view openai_body, const config& cfg,
                                        const model_name_lookup& names)
{
    chat_request req;
    req.doc = std::make_unique<rapidjson::Document>();
    // Parse with the nesting cap and collect the fields.
    if (auto e = detail::parse_request(openai_body, cfg.limits.max_json_depth, *req.doc)) {
        return *e;
    }
    fields fl;
    collect(*req.doc, fl);
    if (fl.unsupported != nullptr) {
        return invalid_request(
            "'" + std::string(fl.unsupported_name) + "' is not supported by this proxy" +
                (fl.unsupported_name.starts_with("function") ? "; use 'tools' and 'tool_choice'."
                                                             : "."),
            std::string(fl.unsupported_name), "unsupported_parameter");
    }
    // Model and its format.
    if (fl.model == nullptr || !fl.model->IsString()) {
        return invalid_request("you must provide a model parameter", "model",
                               "missing_required_parameter");
    }
    req.model_name = sv(*fl.model);
    auto resolved = resolve_model(req.model_name, cfg, names);
    if (!resolved) {
        return resolved.error();
    }
    req.model = std::move(resolved.value());
    // Messages are required; per-field bounds keep the work for one request in proportion
    // to what is useful.
    if (fl.messages == nullptr || !fl.messages->IsArray() || fl.messages->Empty()) {
        return invalid_request(
            "'messages' must be a non-empty array.", "messages",
            fl.messages == nullptr ? "missing_required_parameter" : "invalid_value");
    }
    if (fl.messages->Size() > cfg.limits.max_messages) {
        return invalid_request("'messages' has " + std::to_string(fl.messages->Size()) +
                                   " items; this proxy accepts at most " +
                                   std::to_string(cfg.limits.max_messages) + ".",
                               "messages", "array_above_max_length");
    }
    if (fl.tools != nullptr && fl.tools->IsArray() && fl.tools->Size() > cfg.limits.max_tools) {
        return invalid_request("'tools' has " + std::to_string(fl.tools->Size()) +
                                   " items; this proxy accepts at most " +
                                   std::to_string(cfg.limits.max_tools) + ".",
                               "tools", "array_above_max_length");
    }
    // Stream flags.
    if (fl.stream != nullptr) {
        if (!fl.stream->IsBool()) {
            return bad_type("stream", "a boolean");
        }
        req.stream = fl.stream->GetBool();
    }
    if (fl.stream_options != nullptr) {
        if (!fl.stream_options->IsObject()) {
            return bad_type("stream_options", "an object");
        }
        if (const Value* iu = get(*fl.stream_options, "include_usage"); iu != nullptr) {
            if (!iu->IsBool()) {
                return bad_type("stream_options.include_usage", "a boolean");
            }
            req.include_usage = iu->GetBool();
        }
    }
    if (auto e = parse_scalars(fl, req)) {
        return *e;
    }
    // What the format cannot express, before the messages (as it always was).
    if (fl.service_tier != nullptr) {
        req.service_tier_sent = fl.service_tier->IsString() ? sv(*fl.service_tier) : "";
    }
    req.has_function_tools = has_function_tools(fl.tools);
    if (auto e = detail::check_format_limits(req, fl.prediction != nullptr,
                                             fl.web_search_options != nullptr)) {
        return *e;
    }
    // Messages (bounded above), then tools and output shape.
    req.messages.resize(fl.messages->Size());
    for (rapidjson::SizeType i = 0; i < fl.messages->Size(); ++i) {
        if (auto e = parse_message((*fl.messages)[i], i, req.messages[i])) {
            return *e;
        }
    }
    if (fl.tool_choice != nullptr) {
        if (auto e = parse_tool_choice(*fl.tool_choice, req.tool_choice.emplace())) {
            return *e;
        }
    }
    if (fl.tools != nullptr) {
        if (auto e = parse_tools(*fl.tools, req)) {
            return *e;
        }
    }
    if (fl.response_format != nullptr) {
        if (auto e = parse_response_format(*fl.response_format, req.response_format.emplace())) {
            return *e;
        }
    }
    if (auto e = parse_extras(fl, req)) {
        return *e;
    }
    if (auto e = detail::validate_for_format(req, cfg)) {
        return *e;
    }
    return req;
}

}  // namespace ogp::transform
