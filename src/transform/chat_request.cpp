#include "ogp/transform/chat_request.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "json_util.hpp"
#include "schema.hpp"

namespace ogp::transform {

using detail::get;
using detail::get_string;
using detail::json_writer;
using detail::sv;
using detail::write_key;
using detail::write_string;
using rapidjson::Value;
using error_opt = std::optional<api_error>;

api_format detect_format(std::string_view id)
{
    // Cohere models that only accept the v2 chat format.
    if (id.starts_with("cohere.command-a-vision") || id.starts_with("cohere.command-a-reasoning")) {
        return api_format::coherev2;
    }
    if (id.starts_with("cohere.")) {
        return api_format::cohere;
    }
    return api_format::generic;
}

bool uses_max_completion_tokens(std::string_view id)
{
    return id.starts_with("openai.") && id.find("gpt-oss") == std::string_view::npos;
}

result<resolved_model> resolve_model(std::string_view name, const config& cfg)
{
    // The name goes into bodies, logs and maybe headers: printable and bounded.
    if (name.empty()) {
        return invalid_request("you must provide a model parameter", "model");
    }
    if (name.size() > 256 || detail::has_control_chars(name)) {
        return invalid_request("The model name is too long or contains control characters.",
                               "model");
    }
    resolved_model m;
    // Alias table first, else the name is the OCI model id.
    if (const model_alias* a = cfg.find_model(name); a != nullptr) {
        m.oci_id = a->id;
        m.compartment_id = a->compartment_id;
        m.input_type = a->input_type;
        m.format = a->format ? *a->format : detect_format(a->id);
    } else {
        m.oci_id = std::string(name);
        m.format = detect_format(name);
    }
    if (m.oci_id.empty() || detail::has_control_chars(m.oci_id) ||
        detail::has_control_chars(m.compartment_id)) {
        return make_error(500, "The model alias '" + std::string(name) + "' is misconfigured.",
                          error_codes::misconfigured_model, "model");
    }
    m.dedicated = m.oci_id.starts_with("ocid1.generativeaiendpoint");
    // The compartment: per alias, else the daemon's.
    if (m.compartment_id.empty()) {
        m.compartment_id = cfg.oci.compartment_id;
    }
    if (m.compartment_id.empty() || detail::has_control_chars(m.compartment_id)) {
        return make_error(500, "No OCI compartment is configured for this model.",
                          error_codes::misconfigured_compartment);
    }
    return m;
}

namespace {

// Writes `key: value` when the optional holds a value.
template <class Writer>
void put_optional(Writer& w, const char* key, const std::optional<double>& v)
{
    if (v) {
        w.Key(key);
        w.Double(*v);
    }
}

template <class Writer>
void put_optional(Writer& w, const char* key, const std::optional<std::int64_t>& v)
{
    if (v) {
        w.Key(key);
        w.Int64(*v);
    }
}

// The OpenAI request fields we look at, found in one pass over the body.
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
    const Value* unsupported = nullptr;  // first field no format can express
    std::string_view unsupported_name;
};

void collect(const Value& doc, fields& f)
{
    // One pass over the members; null counts as absent.
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

std::string format_name(api_format f)
{
    return std::string(to_string(f));
}

api_error not_expressible(std::string_view what, std::string_view param, api_format f)
{
    return invalid_request(std::string(what) + " is not supported by the OCI " + format_name(f) +
                               " chat format of this model.",
                           std::string(param), "unsupported_parameter");
}

api_error bad_type(std::string_view param, std::string_view expected)
{
    return invalid_request(
        "Invalid type for '" + std::string(param) + "': expected " + std::string(expected) + ".",
        std::string(param), "invalid_type");
}

// Reads a number within [lo, hi].
error_opt number_in(const Value* v, std::string_view param, double lo, double hi, double& out)
{
    if (!v->IsNumber()) {
        return bad_type(param, "a number");
    }
    out = v->GetDouble();
    if (!(out >= lo && out <= hi)) {
        char range[64];
        std::snprintf(range, sizeof range, "between %g and %g", lo, hi);
        return invalid_request("Invalid '" + std::string(param) + "': must be " + range + ".",
                               std::string(param), "invalid_value");
    }
    return std::nullopt;
}

// Reads an integer within [lo, hi].
error_opt int_in(const Value* v, std::string_view param, std::int64_t lo, std::int64_t hi,
                 std::int64_t& out)
{
    if (!detail::as_int(*v, out)) {
        return bad_type(param, "an integer");
    }
    if (out < lo || out > hi) {
        return invalid_request("Invalid '" + std::string(param) + "': must be between " +
                                   std::to_string(lo) + " and " + std::to_string(hi) + ".",
                               std::string(param), "invalid_value");
    }
    return std::nullopt;
}

std::string idx(std::string_view base, std::size_t i)
{
    return std::string(base) + "[" + std::to_string(i) + "]";
}

// Joins the text of a message content (string or text parts). Images are an error unless
// `allow_other` (then they are skipped).
error_opt content_text(const Value* content, const std::string& param, api_format f,
                       std::string& out)
{
    if (content == nullptr) {
        return std::nullopt;
    }
    if (content->IsString()) {
        out.append(content->GetString(), content->GetStringLength());
        return std::nullopt;
    }
    if (!content->IsArray()) {
        return bad_type(param, "a string or an array of content parts");
    }
    for (rapidjson::SizeType j = 0; j < content->Size(); ++j) {
        const Value& part = (*content)[j];
        std::string pparam = idx(param, j);
        std::string_view type = get_string(part, "type");
        if (type == "text") {
            const Value* t = get(part, "text");
            if (t == nullptr || !t->IsString()) {
                return bad_type(pparam + ".text", "a string");
            }
            out.append(t->GetString(), t->GetStringLength());
        } else if (type == "refusal") {
            continue;
        } else if (type == "image_url") {
            return not_expressible("Image input", pparam + ".type", f);
        } else {
            return invalid_request("Content part type '" + std::string(type) +
                                       "' is not supported by OCI Generative AI.",
                                   pparam + ".type", "unsupported_content_type");
        }
    }
    return std::nullopt;
}

// Writes OpenAI content as OCI content parts (`TEXT`, `IMAGE` or, for COHEREV2, `IMAGE_URL`).
error_opt write_parts(json_writer& w, const Value* content, const std::string& param,
                      bool allow_images, api_format f)
{
    w.StartArray();
    if (content->IsString()) {
        w.StartObject();
        w.Key("type");
        w.String("TEXT");
        w.Key("text");
        write_string(w, sv(*content));
        w.EndObject();
        w.EndArray();
        return std::nullopt;
    }
    if (!content->IsArray()) {
        return bad_type(param, "a string or an array of content parts");
    }
    for (rapidjson::SizeType j = 0; j < content->Size(); ++j) {
        const Value& part = (*content)[j];
        std::string pparam = idx(param, j);
        if (!part.IsObject()) {
            return bad_type(pparam, "a content part object");
        }
        std::string_view type = get_string(part, "type");
        if (type == "text") {
            const Value* t = get(part, "text");
            if (t == nullptr || !t->IsString()) {
                return bad_type(pparam + ".text", "a string");
            }
            w.StartObject();
            w.Key("type");
            w.String("TEXT");
            w.Key("text");
            write_string(w, sv(*t));
            w.EndObject();
        } else if (type == "image_url" && allow_images) {
            // `image_url` is a string or `{url, detail}`.
            const Value* iu = get(part, "image_url");
            std::string_view url;
            std::string_view detail;
            if (iu != nullptr && iu->IsString()) {
                url = sv(*iu);
            } else if (iu != nullptr && iu->IsObject()) {
                url = get_string(*iu, "url");
                detail = get_string(*iu, "detail");
            }
            if (url.empty()) {
                return invalid_request("Missing image URL.", pparam + ".image_url.url",
                                       "invalid_value");
            }
            std::string detail_up = detail::to_upper(detail);
            if (!detail.empty() && detail_up != "AUTO" && detail_up != "LOW" &&
                detail_up != "HIGH") {
                return invalid_request("Invalid image detail '" + std::string(detail) +
                                           "': expected auto, low or high.",
                                       pparam + ".image_url.detail", "invalid_value");
            }
            w.StartObject();
            w.Key("type");
            w.String(f == api_format::coherev2 ? "IMAGE_URL" : "IMAGE");
            w.Key("imageUrl");
            w.StartObject();
            w.Key("url");
            write_string(w, url);
            if (!detail.empty()) {
                w.Key("detail");
                write_string(w, detail_up);
            }
            w.EndObject();
            w.EndObject();
        } else if (type == "refusal") {
            continue;
        } else if (type == "image_url") {
            return invalid_request("Image parts are only allowed in user messages.",
                                   pparam + ".type", "invalid_value");
        } else {
            return invalid_request("Content part type '" + std::string(type) +
                                       "' is not supported by OCI Generative AI.",
                                   pparam + ".type", "unsupported_content_type");
        }
    }
    w.EndArray();
    return std::nullopt;
}

// True when the content is absent, "" or an empty list.
bool content_empty(const Value* c)
{
    return c == nullptr || (c->IsString() && c->GetStringLength() == 0) ||
           (c->IsArray() && c->Empty());
}

// Validates one assistant tool call and returns its parts.
struct call_view
{
    std::string_view id;
    std::string_view name;
    std::string arguments;
};

error_opt read_tool_call(const Value& tc, const std::string& param, call_view& out)
{
    if (!tc.IsObject()) {
        return bad_type(param, "a tool call object");
    }
    const Value* fn = get(tc, "function");
    if (fn == nullptr || !fn->IsObject()) {
        return invalid_request("Missing 'function' in tool call.", param + ".function",
                               "missing_required_parameter");
    }
    out.id = get_string(tc, "id");
    out.name = get_string(*fn, "name");
    if (out.name.empty()) {
        return invalid_request("Missing function name in tool call.", param + ".function.name",
                               "missing_required_parameter");
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
        return bad_type(param + ".function.arguments", "a JSON string");
    }
    return std::nullopt;
}

// GENERIC and COHEREV2 messages (same shape, different content and tool-call spellings).
error_opt write_messages_v(json_writer& w, const Value& msgs, api_format f)
{
    const bool v2 = f == api_format::coherev2;
    // Ids of the tool calls of the latest assistant turn, which tool messages must answer.
    std::vector<std::string_view> open_calls;
    w.Key("messages");
    w.StartArray();
    for (rapidjson::SizeType i = 0; i < msgs.Size(); ++i) {
        const Value& m = msgs[i];
        std::string param = idx("messages", i);
        if (!m.IsObject()) {
            return bad_type(param, "a message object");
        }
        std::string_view role = get_string(m, "role");
        const Value* content = get(m, "content");
        std::string_view name = get_string(m, "name");
        w.StartObject();
        if (role == "system" || role == "developer" || role == "user") {
            // Plain turns: role and content parts.
            w.Key("role");
            w.String(role == "user" ? "USER" : (role == "system" || v2) ? "SYSTEM" : "DEVELOPER");
            if (content == nullptr) {
                return invalid_request("Missing content in message.", param + ".content",
                                       "missing_required_parameter");
            }
            w.Key("content");
            if (auto e = write_parts(w, content, param + ".content", role == "user", f)) {
                return e;
            }
            if (!name.empty() && !v2) {
                w.Key("name");
                write_string(w, name);
            }
        } else if (role == "assistant") {
            // Assistant turn: text (null beside tool calls) plus flat tool calls.
            w.Key("role");
            w.String("ASSISTANT");
            const Value* calls = get(m, "tool_calls");
            bool has_calls = calls != nullptr && calls->IsArray() && !calls->Empty();
            if (calls != nullptr && !calls->IsArray()) {
                return bad_type(param + ".tool_calls", "an array");
            }
            if (!content_empty(content)) {
                w.Key("content");
                if (auto e = write_parts(w, content, param + ".content", false, f)) {
                    return e;
                }
            } else if (!v2) {
                w.Key("content");
                w.Null();
            }
            open_calls.clear();
            if (has_calls) {
                w.Key("toolCalls");
                w.StartArray();
                for (rapidjson::SizeType j = 0; j < calls->Size(); ++j) {
                    call_view cv;
                    if (auto e = read_tool_call((*calls)[j], idx(param + ".tool_calls", j), cv)) {
                        return e;
                    }
                    open_calls.push_back(cv.id);
                    w.StartObject();
                    if (!cv.id.empty()) {
                        w.Key("id");
                        write_string(w, cv.id);
                    }
                    w.Key("type");
                    w.String("FUNCTION");
                    if (v2) {
                        w.Key("function");
                        w.StartObject();
                    }
                    w.Key("name");
                    write_string(w, cv.name);
                    w.Key("arguments");
                    write_string(w, cv.arguments);
                    if (v2) {
                        w.EndObject();
                    }
                    w.EndObject();
                }
                w.EndArray();
            }
            if (!name.empty() && !v2) {
                w.Key("name");
                write_string(w, name);
            }
        } else if (role == "tool") {
            // Tool result: the id it answers and its content.
            std::string_view call_id = get_string(m, "tool_call_id");
            if (call_id.empty()) {
                return invalid_request("Missing 'tool_call_id' in tool message.",
                                       param + ".tool_call_id", "missing_required_parameter");
            }
            // OCI rejects results that answer no call of the preceding assistant turn.
            if (std::find(open_calls.begin(), open_calls.end(), call_id) == open_calls.end()) {
                return invalid_request(
                    "Tool message answers '" + std::string(call_id) +
                        "', which is not a tool call of the preceding assistant message.",
                    param + ".tool_call_id", "invalid_value");
            }
            w.Key("role");
            w.String("TOOL");
            w.Key("toolCallId");
            write_string(w, call_id);
            w.Key("content");
            if (content == nullptr) {
                w.StartArray();
                w.EndArray();
            } else if (auto e = write_parts(w, content, param + ".content", false, f)) {
                return e;
            }
        } else if (role == "function") {
            return invalid_request("The deprecated 'function' role is not supported; use 'tool'.",
                                   param + ".role", "unsupported_parameter");
        } else {
            return invalid_request("Invalid role '" + std::string(role) +
                                       "': expected system, developer, user, assistant or tool.",
                                   param + ".role", "invalid_value");
        }
        w.EndObject();
    }
    w.EndArray();
    return std::nullopt;
}

// COHERE v1: preamble, chat history, the current message and trailing tool results.
error_opt write_messages_cohere(json_writer& w, const Value& msgs, std::size_t max_depth,
                                rapidjson::Document& scratch)
{
    constexpr api_format f = api_format::cohere;
    rapidjson::SizeType count = msgs.Size();
    // Every tool call seen so far by id (the last one of an id wins), to rebuild Cohere's
    // `call` objects for results in constant time each.
    std::vector<call_view> calls;
    std::unordered_map<std::string_view, std::size_t> call_by_id;
    auto role_of = [&](rapidjson::SizeType i) { return get_string(msgs[i], "role"); };
    for (rapidjson::SizeType i = 0; i < count; ++i) {
        if (!msgs[i].IsObject()) {
            return bad_type(idx("messages", i), "a message object");
        }
    }
    // Leading system/developer messages become the preamble.
    rapidjson::SizeType first = 0;
    std::string preamble;
    while (first < count && (role_of(first) == "system" || role_of(first) == "developer")) {
        if (!preamble.empty()) {
            preamble.push_back('\n');
        }
        if (auto e = content_text(get(msgs[first], "content"), idx("messages", first) + ".content",
                                  f, preamble)) {
            return e;
        }
        ++first;
    }
    // The tail: the last user turn, or the trailing tool results.
    rapidjson::SizeType tail = count;
    bool tail_is_tools = false;
    if (count > first && role_of(count - 1) == "user") {
        tail = count - 1;
    } else if (count > first && role_of(count - 1) == "tool") {
        tail = count - 1;
        while (tail > first && role_of(tail - 1) == "tool") {
            --tail;
        }
        tail_is_tools = true;
    } else {
        return invalid_request(
            "The OCI COHERE chat format needs the conversation to end with a user or tool message.",
            "messages", "invalid_value");
    }
    if (!preamble.empty()) {
        w.Key("preambleOverride");
        write_string(w, preamble);
    }
    // Writes one tool result `{call:{name, parameters}, outputs:[{output}]}`.
    auto write_result = [&](rapidjson::SizeType i) -> error_opt {
        const Value& m = msgs[i];
        std::string param = idx("messages", i);
        std::string_view call_id = get_string(m, "tool_call_id");
        auto found = call_by_id.find(call_id);
        const call_view* cv = found == call_by_id.end() ? nullptr : &calls[found->second];
        if (cv == nullptr) {
            return invalid_request(
                "Tool message answers unknown tool call '" + std::string(call_id) + "'.",
                param + ".tool_call_id", "invalid_value");
        }
        std::string output;
        if (auto e = content_text(get(m, "content"), param + ".content", f, output)) {
            return e;
        }
        // The arguments string is JSON of its own: parsed with the request's nesting cap.
        if (!detail::parse_embedded(cv->arguments, max_depth, scratch) || !scratch.IsObject()) {
            return invalid_request(
                "The OCI COHERE chat format needs tool call arguments to be a JSON object.",
                "messages", "invalid_value");
        }
        w.StartObject();
        w.Key("call");
        w.StartObject();
        w.Key("name");
        write_string(w, cv->name);
        w.Key("parameters");
        json::write_value(w, scratch);
        w.EndObject();
        w.Key("outputs");
        w.StartArray();
        w.StartObject();
        w.Key("output");
        write_string(w, output);
        w.EndObject();
        w.EndArray();
        w.EndObject();
        return std::nullopt;
    };
    // History: USER, CHATBOT (with tool calls), SYSTEM, TOOL (consecutive results merged).
    w.Key("chatHistory");
    w.StartArray();
    for (rapidjson::SizeType i = first; i < tail; ++i) {
        const Value& m = msgs[i];
        std::string param = idx("messages", i);
        std::string_view role = role_of(i);
        if (role == "tool") {
            w.StartObject();
            w.Key("role");
            w.String("TOOL");
            w.Key("toolResults");
            w.StartArray();
            for (; i < tail && role_of(i) == "tool"; ++i) {
                if (auto e = write_result(i)) {
                    return e;
                }
            }
            --i;
            w.EndArray();
            w.EndObject();
            continue;
        }
        std::string text;
        if (role == "system" || role == "developer" || role == "user" || role == "assistant") {
            if (auto e = content_text(get(m, "content"), param + ".content", f, text)) {
                return e;
            }
        } else {
            return invalid_request("Invalid role '" + std::string(role) + "'.", param + ".role",
                                   "invalid_value");
        }
        w.StartObject();
        w.Key("role");
        w.String(role == "user" ? "USER" : role == "assistant" ? "CHATBOT" : "SYSTEM");
        w.Key("message");
        write_string(w, text);
        if (role == "assistant") {
            const Value* tcs = get(m, "tool_calls");
            if (tcs != nullptr && tcs->IsArray() && !tcs->Empty()) {
                w.Key("toolCalls");
                w.StartArray();
                for (rapidjson::SizeType j = 0; j < tcs->Size(); ++j) {
                    call_view cv;
                    std::string tparam = idx(param + ".tool_calls", j);
                    if (auto e = read_tool_call((*tcs)[j], tparam, cv)) {
                        return e;
                    }
                    if (!detail::parse_embedded(cv.arguments, max_depth, scratch) ||
                        !scratch.IsObject()) {
                        return invalid_request(
                            "The OCI COHERE chat format needs tool call arguments to be a JSON "
                            "object.",
                            tparam + ".function.arguments", "invalid_value");
                    }
                    w.StartObject();
                    w.Key("name");
                    write_string(w, cv.name);
                    w.Key("parameters");
                    json::write_value(w, scratch);
                    w.EndObject();
                    call_by_id[cv.id] = calls.size();
                    calls.push_back(std::move(cv));
                }
                w.EndArray();
            }
        }
        w.EndObject();
    }
    w.EndArray();
    // The current turn: the user text, or empty with the tool results.
    w.Key("message");
    if (tail_is_tools) {
        w.String("");
        w.Key("toolResults");
        w.StartArray();
        for (rapidjson::SizeType i = tail; i < count; ++i) {
            if (auto e = write_result(i)) {
                return e;
            }
        }
        w.EndArray();
    } else {
        std::string text;
        if (auto e = content_text(get(msgs[tail], "content"), idx("messages", tail) + ".content", f,
                                  text)) {
            return e;
        }
        write_string(w, text);
    }
    return std::nullopt;
}

// Cohere v1 parameter type names are Python's.
std::string_view python_type(std::string_view json_type)
{
    if (json_type == "integer")
        return "int";
    if (json_type == "number")
        return "float";
    if (json_type == "boolean")
        return "bool";
    if (json_type == "array")
        return "list";
    if (json_type == "object")
        return "dict";
    return "str";
}

// Tools for every format; function tools only (other tool types are skipped).
error_opt write_tools(json_writer& w, const Value& tools, const resolved_model& model,
                      rapidjson::Document& scratch, detail::schema_budget& budget, bool& any_strict)
{
    if (!tools.IsArray()) {
        return bad_type("tools", "an array");
    }
    detail::schema_options opts;
    opts.drop_exclusive_bounds = model.oci_id.starts_with("google.");
    w.Key("tools");
    w.StartArray();
    for (rapidjson::SizeType i = 0; i < tools.Size(); ++i) {
        const Value& t = tools[i];
        std::string param = idx("tools", i);
        if (!t.IsObject()) {
            return bad_type(param, "a tool object");
        }
        if (get_string(t, "type") != "function") {
            continue;
        }
        const Value* fn = get(t, "function");
        if (fn == nullptr || !fn->IsObject()) {
            return invalid_request("Missing 'function' in tool.", param + ".function",
                                   "missing_required_parameter");
        }
        std::string_view name = get_string(*fn, "name");
        if (name.empty()) {
            return invalid_request("Missing function name.", param + ".function.name",
                                   "missing_required_parameter");
        }
        std::string_view description = get_string(*fn, "description");
        if (const Value* s = get(*fn, "strict"); s != nullptr && s->IsBool() && s->GetBool()) {
            any_strict = true;
        }
        // Clean the parameter schema.
        Value params(rapidjson::kObjectType);
        if (const Value* p = get(*fn, "parameters"); p != nullptr) {
            if (!p->IsObject()) {
                return bad_type(param + ".function.parameters", "a JSON schema object");
            }
            std::string err;
            params = detail::clean_schema(*p, scratch.GetAllocator(), opts, budget, err);
            if (!err.empty()) {
                return invalid_request("Unsupported JSON schema in tool parameters: " + err + ".",
                                       param + ".function.parameters", "invalid_value");
            }
        } else {
            params.AddMember("type", "object", scratch.GetAllocator());
            params.AddMember("properties", Value(rapidjson::kObjectType), scratch.GetAllocator());
        }
        w.StartObject();
        if (model.format == api_format::cohere) {
            // Cohere v1: flat parameter definitions with Python type names.
            w.Key("name");
            write_string(w, name);
            w.Key("description");
            write_string(w, description);
            w.Key("parameterDefinitions");
            w.StartObject();
            const Value* props = get(params, "properties");
            // `required` as a set: one lookup per property keeps this linear.
            std::unordered_set<std::string_view> required;
            if (const Value* r = get(params, "required"); r != nullptr && r->IsArray()) {
                for (auto& name : r->GetArray()) {
                    if (name.IsString()) {
                        required.insert(sv(name));
                    }
                }
            }
            if (props != nullptr && props->IsObject()) {
                for (auto it = props->MemberBegin(); it != props->MemberEnd(); ++it) {
                    const Value& ps = it->value;
                    std::string desc(get_string(ps, "description"));
                    // Fold enum constraints into the description Cohere reads.
                    if (const Value* en = get(ps, "enum"); en != nullptr && en->IsArray()) {
                        desc += desc.empty() ? "Allowed values: " : " Allowed values: ";
                        desc += detail::to_json(*en);
                        desc += ".";
                    }
                    const bool req = required.contains(sv(it->name));
                    write_key(w, sv(it->name));
                    w.StartObject();
                    if (!desc.empty()) {
                        w.Key("description");
                        write_string(w, desc);
                    }
                    w.Key("type");
                    write_string(w, python_type(get_string(ps, "type")));
                    w.Key("isRequired");
                    w.Bool(req);
                    w.EndObject();
                }
            }
            w.EndObject();
        } else {
            // GENERIC is flat; COHEREV2 nests a `function` object.
            w.Key("type");
            w.String("FUNCTION");
            const bool v2 = model.format == api_format::coherev2;
            if (v2) {
                w.Key("function");
                w.StartObject();
            }
            w.Key("name");
            write_string(w, name);
            w.Key("description");
            write_string(w, description);
            w.Key("parameters");
            json::write_value(w, params);
            if (v2) {
                w.EndObject();
            }
        }
        w.EndObject();
    }
    w.EndArray();
    return std::nullopt;
}

// True when the tools array holds at least one function tool.
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

// `tool_choice`: GENERIC `toolChoice`, COHEREV2 `toolsChoice`, COHERE none.
error_opt write_tool_choice(json_writer& w, const Value& tc, api_format f, bool& suppress_tools)
{
    std::string kind;
    std::string_view fn_name;
    if (tc.IsString()) {
        kind = std::string(sv(tc));
    } else if (tc.IsObject()) {
        std::string_view type = get_string(tc, "type");
        const Value* fn = get(tc, "function");
        if (type != "function" || fn == nullptr || get_string(*fn, "name").empty()) {
            return invalid_request(
                "Invalid 'tool_choice': expected auto, none, required or "
                "{\"type\":\"function\",\"function\":{\"name\":...}}.",
                "tool_choice", "invalid_value");
        }
        kind = "function";
        fn_name = get_string(*fn, "name");
    } else {
        return bad_type("tool_choice", "a string or an object");
    }
    if (kind != "auto" && kind != "none" && kind != "required" && kind != "function") {
        return invalid_request(
            "Invalid 'tool_choice' '" + kind + "': expected auto, none or required.", "tool_choice",
            "invalid_value");
    }
    if (f == api_format::generic) {
        w.Key("toolChoice");
        w.StartObject();
        w.Key("type");
        write_string(w, detail::to_upper(kind));
        if (kind == "function") {
            w.Key("name");
            write_string(w, fn_name);
        }
        w.EndObject();
        return std::nullopt;
    }
    if (kind == "auto") {
        return std::nullopt;
    }
    if (f == api_format::coherev2 && (kind == "none" || kind == "required")) {
        w.Key("toolsChoice");
        write_string(w, detail::to_upper(kind));
        return std::nullopt;
    }
    // COHERE v1 cannot force a call; `none` is honoured by not offering the tools.
    if (f == api_format::cohere && kind == "none") {
        suppress_tools = true;
        return std::nullopt;
    }
    return not_expressible("tool_choice '" + kind + "'", "tool_choice", f);
}

// `response_format`: GENERIC has TEXT/JSON_OBJECT/JSON_SCHEMA; Cohere TEXT/JSON_OBJECT(schema).
error_opt write_response_format(json_writer& w, const Value& rf, api_format f,
                                rapidjson::Document& scratch, detail::schema_budget& budget)
{
    if (!rf.IsObject()) {
        return bad_type("response_format", "an object");
    }
    std::string_view type = get_string(rf, "type");
    const Value* schema = nullptr;
    std::string_view name;
    std::string_view description;
    const Value* strict = nullptr;
    if (type == "json_schema") {
        const Value* js = get(rf, "json_schema");
        if (js == nullptr || !js->IsObject()) {
            return invalid_request("Missing 'json_schema'.", "response_format.json_schema",
                                   "missing_required_parameter");
        }
        name = get_string(*js, "name");
        description = get_string(*js, "description");
        schema = get(*js, "schema");
        strict = get(*js, "strict");
        if (schema != nullptr && !schema->IsObject()) {
            return bad_type("response_format.json_schema.schema", "an object");
        }
        for (char c : name) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
            if (!ok) {
                return invalid_request(
                    "Invalid 'response_format.json_schema.name': only a-z, A-Z, "
                    "0-9, '_' and '-' are allowed.",
                    "response_format.json_schema.name", "invalid_value");
            }
        }
    } else if (type != "text" && type != "json_object") {
        return invalid_request("Invalid 'response_format.type' '" + std::string(type) +
                                   "': expected text, json_object or json_schema.",
                               "response_format.type", "invalid_value");
    }
    // Clean a schema once for whichever format takes it.
    Value cleaned;
    if (schema != nullptr) {
        std::string err;
        cleaned = detail::clean_schema(*schema, scratch.GetAllocator(), {}, budget, err);
        if (!err.empty()) {
            return invalid_request("Unsupported JSON schema: " + err + ".",
                                   "response_format.json_schema.schema", "invalid_value");
        }
    }
    w.Key("responseFormat");
    w.StartObject();
    w.Key("type");
    if (type == "text") {
        w.String("TEXT");
    } else if (type == "json_object" || f != api_format::generic) {
        w.String("JSON_OBJECT");
        if (schema != nullptr) {
            w.Key("schema");
            json::write_value(w, cleaned);
        }
    } else {
        w.String("JSON_SCHEMA");
        w.Key("jsonSchema");
        w.StartObject();
        w.Key("name");
        write_string(w, name.empty() ? std::string_view("response") : name);
        if (!description.empty()) {
            w.Key("description");
            write_string(w, description);
        }
        if (schema != nullptr) {
            w.Key("schema");
            json::write_value(w, cleaned);
        }
        if (strict != nullptr && strict->IsBool()) {
            w.Key("isStrict");
            w.Bool(strict->GetBool());
        }
        w.EndObject();
    }
    w.EndObject();
    return std::nullopt;
}

// Checks the fields a Cohere format cannot express.
error_opt check_cohere_limits(const fields& fl, api_format f, std::int64_t n)
{
    if (n > 1) {
        return not_expressible("n > 1", "n", f);
    }
    if (fl.logprobs != nullptr && fl.logprobs->IsBool() && fl.logprobs->GetBool()) {
        return not_expressible("logprobs", "logprobs", f);
    }
    if (fl.top_logprobs != nullptr) {
        return not_expressible("top_logprobs", "top_logprobs", f);
    }
    if (fl.logit_bias != nullptr && fl.logit_bias->IsObject() && fl.logit_bias->MemberCount() > 0) {
        return not_expressible("logit_bias", "logit_bias", f);
    }
    if (fl.prediction != nullptr) {
        return not_expressible("prediction", "prediction", f);
    }
    if (fl.web_search_options != nullptr) {
        return not_expressible("web_search_options", "web_search_options", f);
    }
    if (fl.verbosity != nullptr) {
        return not_expressible("verbosity", "verbosity", f);
    }
    if (fl.reasoning_effort != nullptr && f == api_format::cohere) {
        return not_expressible("reasoning_effort", "reasoning_effort", f);
    }
    if (fl.parallel_tool_calls != nullptr && fl.parallel_tool_calls->IsBool() &&
        !fl.parallel_tool_calls->GetBool() && has_function_tools(fl.tools)) {
        return not_expressible("parallel_tool_calls: false", "parallel_tool_calls", f);
    }
    if (fl.service_tier != nullptr) {
        std::string_view st = fl.service_tier->IsString() ? sv(*fl.service_tier) : "";
        if (st != "auto" && st != "default") {
            return not_expressible("service_tier", "service_tier", f);
        }
    }
    return std::nullopt;
}

}  // namespace

result<chat_plan> plan_chat(std::string_view openai_body, const config& cfg)
{
    // Parse with the nesting cap and collect the fields.
    rapidjson::Document doc;
    if (auto e = detail::parse_request(openai_body, cfg.limits.max_json_depth, doc)) {
        return *e;
    }
    fields fl;
    collect(doc, fl);
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
    auto resolved = resolve_model(sv(*fl.model), cfg);
    if (!resolved) {
        return resolved.error();
    }
    chat_plan plan;
    plan.client_model = std::string(sv(*fl.model));
    plan.model = std::move(resolved.value());
    const api_format f = plan.model.format;
    // Messages are required.
    if (fl.messages == nullptr || !fl.messages->IsArray() || fl.messages->Empty()) {
        return invalid_request(
            "'messages' must be a non-empty array.", "messages",
            fl.messages == nullptr ? "missing_required_parameter" : "invalid_value");
    }
    // Per-field bounds keep the work for one request in proportion to what is useful.
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
        plan.stream = fl.stream->GetBool();
    }
    if (fl.stream_options != nullptr) {
        if (!fl.stream_options->IsObject()) {
            return bad_type("stream_options", "an object");
        }
        if (const Value* iu = get(*fl.stream_options, "include_usage"); iu != nullptr) {
            if (!iu->IsBool()) {
                return bad_type("stream_options.include_usage", "a boolean");
            }
            plan.client_wants_usage = iu->GetBool();
        }
    }
    // Scalar parameters with their ranges; the request value wins over defaults.
    std::int64_t n = 1;
    if (fl.n != nullptr) {
        if (auto e = int_in(fl.n, "n", 1, 128, n)) {
            return *e;
        }
    }
    plan.n = static_cast<int>(n);
    std::int64_t max_tokens = cfg.defaults.max_tokens;
    const Value* mt =
        fl.max_completion_tokens != nullptr ? fl.max_completion_tokens : fl.max_tokens;
    if (mt != nullptr) {
        if (auto e = int_in(
                mt, fl.max_completion_tokens != nullptr ? "max_completion_tokens" : "max_tokens", 1,
                1 << 24, max_tokens)) {
            return *e;
        }
    }
    if (max_tokens < 1) {
        max_tokens = 1;
    }
    const bool reasoning_openai =
        !plan.model.dedicated && uses_max_completion_tokens(plan.model.oci_id);
    std::optional<double> temperature;
    std::optional<double> top_p;
    std::optional<double> frequency_penalty;
    std::optional<double> presence_penalty;
    std::optional<std::int64_t> top_k;
    double d = 0;
    if (fl.temperature != nullptr) {
        if (auto e = number_in(fl.temperature, "temperature", 0, 2, d)) {
            return *e;
        }
        temperature = d;
    } else if (!reasoning_openai) {
        temperature = cfg.defaults.temperature;
    }
    if (fl.top_p != nullptr) {
        if (auto e = number_in(fl.top_p, "top_p", 0, 1, d)) {
            return *e;
        }
        top_p = d;
    } else if (!reasoning_openai) {
        top_p = cfg.defaults.top_p;
    }
    if (fl.frequency_penalty != nullptr) {
        if (auto e = number_in(fl.frequency_penalty, "frequency_penalty", -2, 2, d)) {
            return *e;
        }
        frequency_penalty = d;
    } else if (cfg.defaults.frequency_penalty != 0 && !reasoning_openai) {
        frequency_penalty = cfg.defaults.frequency_penalty;
    }
    if (fl.presence_penalty != nullptr) {
        if (auto e = number_in(fl.presence_penalty, "presence_penalty", -2, 2, d)) {
            return *e;
        }
        presence_penalty = d;
    } else if (cfg.defaults.presence_penalty != 0 && !reasoning_openai) {
        presence_penalty = cfg.defaults.presence_penalty;
    }
    if (fl.top_k != nullptr) {
        std::int64_t k = 0;
        if (auto e = int_in(fl.top_k, "top_k", -1, 1000, k)) {
            return *e;
        }
        top_k = k;
    } else if (cfg.defaults.top_k > 0) {
        top_k = cfg.defaults.top_k;
    }
    std::optional<std::int64_t> seed;
    if (fl.seed != nullptr) {
        std::int64_t s = 0;
        if (!detail::as_int(*fl.seed, s)) {
            return bad_type("seed", "an integer");
        }
        seed = s;
    }
    // `stop`: a string or a list of strings.
    std::vector<std::string_view> stops;
    if (fl.stop != nullptr) {
        if (fl.stop->IsString()) {
            stops.push_back(sv(*fl.stop));
        } else if (fl.stop->IsArray()) {
            for (auto& s : fl.stop->GetArray()) {
                if (!s.IsString()) {
                    return bad_type("stop", "a string or an array of strings");
                }
                stops.push_back(sv(s));
            }
        } else {
            return bad_type("stop", "a string or an array of strings");
        }
    }
    // Log probabilities.
    bool logprobs = false;
    std::int64_t top_logprobs = 0;
    if (fl.logprobs != nullptr) {
        if (!fl.logprobs->IsBool()) {
            return bad_type("logprobs", "a boolean");
        }
        logprobs = fl.logprobs->GetBool();
        plan.logprobs = logprobs;
    }
    if (fl.top_logprobs != nullptr) {
        if (auto e = int_in(fl.top_logprobs, "top_logprobs", 0, 20, top_logprobs)) {
            return *e;
        }
        plan.top_logprobs = static_cast<int>(top_logprobs);
        if (!logprobs) {
            return invalid_request("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs",
                                   "invalid_value");
        }
    }
    if (fl.logit_bias != nullptr && !fl.logit_bias->IsObject()) {
        return bad_type("logit_bias", "an object");
    }
    if (fl.metadata != nullptr && !fl.metadata->IsObject()) {
        return bad_type("metadata", "an object");
    }
    if (fl.parallel_tool_calls != nullptr && !fl.parallel_tool_calls->IsBool()) {
        return bad_type("parallel_tool_calls", "a boolean");
    }
    // Reasoning effort, verbosity, service tier: upper-cased enums.
    std::string reasoning_effort;
    if (fl.reasoning_effort != nullptr) {
        if (!fl.reasoning_effort->IsString()) {
            return bad_type("reasoning_effort", "a string");
        }
        reasoning_effort = detail::to_upper(sv(*fl.reasoning_effort));
        if (reasoning_effort == "DISABLE") {
            reasoning_effort = "NONE";
        }
        if (reasoning_effort != "NONE" && reasoning_effort != "MINIMAL" &&
            reasoning_effort != "LOW" && reasoning_effort != "MEDIUM" &&
            reasoning_effort != "HIGH") {
            return invalid_request(
                "Invalid 'reasoning_effort': expected none, minimal, low, medium or high.",
                "reasoning_effort", "invalid_value");
        }
    }
    std::string verbosity;
    if (fl.verbosity != nullptr) {
        verbosity = fl.verbosity->IsString() ? detail::to_upper(sv(*fl.verbosity)) : "";
        if (verbosity != "LOW" && verbosity != "MEDIUM" && verbosity != "HIGH") {
            return invalid_request("Invalid 'verbosity': expected low, medium or high.",
                                   "verbosity", "invalid_value");
        }
    }
    std::string service_tier;
    if (fl.service_tier != nullptr && f == api_format::generic) {
        service_tier = fl.service_tier->IsString() ? detail::to_upper(sv(*fl.service_tier)) : "";
        if (service_tier != "AUTO" && service_tier != "DEFAULT" && service_tier != "PRIORITY") {
            return invalid_request(
                "Invalid 'service_tier': OCI supports auto, default and priority.", "service_tier",
                "invalid_value");
        }
    }
    // Reject what the Cohere formats cannot express.
    if (f != api_format::generic) {
        if (auto e = check_cohere_limits(fl, f, n)) {
            return *e;
        }
    }
    // The ChatDetails envelope.
    rapidjson::Document scratch;
    // Schemas (tools and response_format) may expand through `$ref` up to these bounds in all.
    detail::schema_budget budget{cfg.limits.max_schema_nodes, cfg.limits.max_body_bytes};
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.StartObject();
    w.Key("compartmentId");
    write_string(w, plan.model.compartment_id);
    w.Key("servingMode");
    w.StartObject();
    w.Key("servingType");
    w.String(plan.model.dedicated ? "DEDICATED" : "ON_DEMAND");
    w.Key(plan.model.dedicated ? "endpointId" : "modelId");
    write_string(w, plan.model.oci_id);
    w.EndObject();
    w.Key("chatRequest");
    w.StartObject();
    w.Key("apiFormat");
    write_string(w, to_string(f));
    // Messages in the model's format.
    if (f == api_format::cohere) {
        if (auto e = write_messages_cohere(w, *fl.messages, cfg.limits.max_json_depth, scratch)) {
            return *e;
        }
    } else if (auto e = write_messages_v(w, *fl.messages, f)) {
        return *e;
    }
    // Tools and tool choice.
    // tool_choice is validated always, sent only beside function tools.
    bool suppress_tools = false;
    if (fl.tool_choice != nullptr) {
        rapidjson::StringBuffer discard_sb;
        json_writer discard(discard_sb);
        discard.StartObject();
        json_writer& target = has_function_tools(fl.tools) ? w : discard;
        if (auto e = write_tool_choice(target, *fl.tool_choice, f, suppress_tools)) {
            return *e;
        }
    }
    bool any_strict = false;
    if (fl.tools != nullptr && !suppress_tools && has_function_tools(fl.tools)) {
        if (auto e = write_tools(w, *fl.tools, plan.model, scratch, budget, any_strict)) {
            return *e;
        }
    } else if (fl.tools != nullptr && !fl.tools->IsArray()) {
        return bad_type("tools", "an array");
    }
    if (any_strict && f == api_format::coherev2) {
        w.Key("isStrictToolsEnabled");
        w.Bool(true);
    }
    if (fl.parallel_tool_calls != nullptr && f == api_format::generic) {
        w.Key("isParallelToolCalls");
        w.Bool(fl.parallel_tool_calls->GetBool());
    }
    if (fl.response_format != nullptr) {
        if (auto e = write_response_format(w, *fl.response_format, f, scratch, budget)) {
            return *e;
        }
    }
    // Streaming: always ask OCI for usage so the daemon can meter tokens.
    if (plan.stream) {
        w.Key("isStream");
        w.Bool(true);
        w.Key("streamOptions");
        w.StartObject();
        w.Key("isIncludeUsage");
        w.Bool(true);
        w.EndObject();
    }
    // Length: always sent (OCI's own default truncates at about 20 tokens).
    w.Key(f == api_format::generic && reasoning_openai ? "maxCompletionTokens" : "maxTokens");
    w.Int64(max_tokens);
    // Sampling.
    put_optional(w, "temperature", temperature);
    put_optional(w, "topP", top_p);
    put_optional(w, "topK", top_k);
    put_optional(w, "frequencyPenalty", frequency_penalty);
    put_optional(w, "presencePenalty", presence_penalty);
    put_optional(w, "seed", seed);
    if (!stops.empty()) {
        w.Key(f == api_format::generic ? "stop" : "stopSequences");
        w.StartArray();
        for (auto s : stops) {
            write_string(w, s);
        }
        w.EndArray();
    }
    // GENERIC-only fields.
    if (f == api_format::generic) {
        if (n > 1) {
            w.Key("numGenerations");
            w.Int64(n);
        }
        if (logprobs) {
            w.Key("logProbs");
            w.Int64(top_logprobs > 0 ? top_logprobs : 1);
        }
        if (fl.logit_bias != nullptr) {
            w.Key("logitBias");
            json::write_value(w, *fl.logit_bias);
        }
        if (!reasoning_effort.empty()) {
            w.Key("reasoningEffort");
            write_string(w, reasoning_effort);
        }
        if (!verbosity.empty()) {
            w.Key("verbosity");
            write_string(w, verbosity);
        }
        if (!service_tier.empty()) {
            w.Key("serviceTier");
            write_string(w, service_tier);
        }
        if (fl.metadata != nullptr) {
            w.Key("metadata");
            json::write_value(w, *fl.metadata);
        }
        if (fl.prediction != nullptr) {
            // `{type: content, content: string | text parts}` → StaticContent.
            const Value* pc = get(*fl.prediction, "content");
            if (get_string(*fl.prediction, "type") != "content" || pc == nullptr) {
                return invalid_request("Invalid 'prediction': expected {\"type\":\"content\",...}.",
                                       "prediction", "invalid_value");
            }
            w.Key("prediction");
            w.StartObject();
            w.Key("type");
            w.String("CONTENT");
            w.Key("content");
            if (auto e = write_parts(w, pc, "prediction.content", false, f)) {
                return *e;
            }
            w.EndObject();
        }
        if (fl.web_search_options != nullptr) {
            const Value& ws = *fl.web_search_options;
            if (!ws.IsObject()) {
                return bad_type("web_search_options", "an object");
            }
            w.Key("webSearchOptions");
            w.StartObject();
            if (std::string_view size = get_string(ws, "search_context_size"); !size.empty()) {
                w.Key("searchContextSize");
                write_string(w, detail::to_upper(size));
            }
            const Value* loc = get(ws, "user_location");
            const Value* approx = loc != nullptr ? get(*loc, "approximate") : nullptr;
            if (approx != nullptr && approx->IsObject()) {
                w.Key("userLocation");
                w.StartObject();
                for (std::string_view k : {"city", "region", "country", "timezone"}) {
                    if (std::string_view v = get_string(*approx, k); !v.empty()) {
                        write_key(w, k);
                        write_string(w, v);
                    }
                }
                w.EndObject();
            }
            w.EndObject();
        }
    } else if (f == api_format::coherev2 && !reasoning_effort.empty()) {
        // COHEREV2 thinking: on or off.
        w.Key("thinking");
        w.StartObject();
        w.Key("type");
        w.String(reasoning_effort == "NONE" ? "DISABLED" : "ENABLED");
        w.EndObject();
    }
    w.EndObject();
    w.EndObject();
    plan.body.assign(sb.GetString(), sb.GetSize());
    return plan;
}

}  // namespace ogp::transform
