// `POST /v1/responses` → the typed chat_request of the chat-completions path, validated and
// written by the same code (chat_validate.cpp, chat_writer_*.cpp): no second translator of
// OCI formats. This file reads the top-level parameters and writes the echo; the `input`
// items are responses_request_input.cpp's, `tools` and `tool_choice`
// responses_request_tools.cpp's.
//
// Stateless: `store` is accepted and ignored; `previous_response_id`, `conversation`,
// `background: true`, `prompt` (stored templates) and item references are refused. Built-in
// tools other than web_search (GENERIC models: OCI web search) are refused naming the tool;
// a custom (freeform) tool becomes a function with one string parameter `input` (its grammar
// in the description), a client-executed tool_search the function `tool_search`, and the
// tools a tool_search_output item loaded are offered with the request's.
// `include` accepts `reasoning.encrypted_content` (no encrypted content is ever returned: the
// reasoning comes back as readable summary text, which clients send back instead) and the
// values about items this route never produces; `message.output_text.logprobs` is refused.

#include <string>
#include <utility>
#include <vector>

#include "chat_writer.hpp"
#include "json_util.hpp"
#include "model_family.hpp"
#include "ogp/transform/responses.hpp"
#include "responses_internal.hpp"

namespace ogp::transform {

namespace {

using detail::add_loaded_tools;
using detail::bad_type;
using detail::error_opt;
using detail::get;
using detail::get_string;
using detail::idx;
using detail::keep_text;
using detail::message_source;
using detail::parse_tool_choice;
using detail::parse_tools;
using detail::sv;
using detail::tools_seen;
using rapidjson::Value;

// The top-level keys, found in one pass; null counts as absent and a repeated key's last
// value wins (as for chat). Unknown keys are accepted and ignored, as chat does.
struct fields
{
    const Value* model = nullptr;
    const Value* input = nullptr;
    const Value* instructions = nullptr;
    const Value* stream = nullptr;
    const Value* stream_options = nullptr;
    const Value* max_output_tokens = nullptr;
    const Value* temperature = nullptr;
    const Value* top_p = nullptr;
    const Value* top_logprobs = nullptr;
    const Value* tools = nullptr;
    const Value* tool_choice = nullptr;
    const Value* parallel_tool_calls = nullptr;
    const Value* text = nullptr;
    const Value* reasoning = nullptr;
    const Value* metadata = nullptr;
    const Value* user = nullptr;
    const Value* store = nullptr;
    const Value* service_tier = nullptr;
    const Value* truncation = nullptr;
    const Value* include = nullptr;
    const Value* background = nullptr;
    // Refused when present: state, templates, server-side features.
    const Value* previous_response_id = nullptr;
    const Value* conversation = nullptr;
    const Value* prompt = nullptr;
    const Value* context_management = nullptr;
    const Value* moderation = nullptr;
    // Strings accepted and not forwarded (checked for type only).
    const Value* safety_identifier = nullptr;
    const Value* prompt_cache_key = nullptr;
};

void collect(const Value& doc, fields& f)
{
    struct slot
    {
        std::string_view key;
        const Value* fields::*member;
    };
    static const slot slots[] = {
        {"model", &fields::model},
        {"input", &fields::input},
        {"instructions", &fields::instructions},
        {"stream", &fields::stream},
        {"stream_options", &fields::stream_options},
        {"max_output_tokens", &fields::max_output_tokens},
        {"temperature", &fields::temperature},
        {"top_p", &fields::top_p},
        {"top_logprobs", &fields::top_logprobs},
        {"tools", &fields::tools},
        {"tool_choice", &fields::tool_choice},
        {"parallel_tool_calls", &fields::parallel_tool_calls},
        {"text", &fields::text},
        {"reasoning", &fields::reasoning},
        {"metadata", &fields::metadata},
        {"user", &fields::user},
        {"store", &fields::store},
        {"service_tier", &fields::service_tier},
        {"truncation", &fields::truncation},
        {"include", &fields::include},
        {"background", &fields::background},
        {"previous_response_id", &fields::previous_response_id},
        {"conversation", &fields::conversation},
        {"prompt", &fields::prompt},
        {"context_management", &fields::context_management},
        {"moderation", &fields::moderation},
        {"safety_identifier", &fields::safety_identifier},
        {"prompt_cache_key", &fields::prompt_cache_key},
    };
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
        if (it->value.IsNull()) {
            continue;
        }
        const std::string_view k = sv(it->name);
        for (const slot& s : slots) {
            if (s.key == k) {
                f.*s.member = &it->value;
                break;
            }
        }
    }
}

}  // namespace

namespace detail {

api_error unsupported(std::string message, std::string param)
{
    return invalid_request(std::move(message), std::move(param), "unsupported_parameter");
}

}  // namespace detail

namespace {

using detail::unsupported;

// What needs state or a server-side feature this route does not have.
error_opt check_stateless(const fields& fl)
{
    static const char* const no_state =
        " this model's route keeps no state, so the client must send the whole input (every "
        "earlier item) with each request.";
    if (fl.previous_response_id != nullptr) {
        return unsupported(std::string("'previous_response_id' is not supported:") + no_state,
                           "previous_response_id");
    }
    if (fl.conversation != nullptr) {
        return unsupported(std::string("'conversation' is not supported:") + no_state,
                           "conversation");
    }
    if (fl.background != nullptr) {
        if (!fl.background->IsBool()) {
            return bad_type("background", "a boolean");
        }
        if (fl.background->GetBool()) {
            return unsupported(
                "Background responses are not supported: this model's route "
                "keeps no state to poll.",
                "background");
        }
    }
    if (fl.prompt != nullptr) {
        return unsupported(
            "Stored prompt templates ('prompt') are not supported; send 'instructions' and "
            "'input' instead.",
            "prompt");
    }
    if (fl.context_management != nullptr &&
        !(fl.context_management->IsArray() && fl.context_management->Empty())) {
        return unsupported("'context_management' (server-side compaction) is not supported.",
                           "context_management");
    }
    if (fl.moderation != nullptr) {
        return unsupported("'moderation' is not supported by OCI Generative AI.", "moderation");
    }
    return std::nullopt;
}

// `include`: what a Response should carry beyond the default.
error_opt check_include(const Value& inc)
{
    if (!inc.IsArray()) {
        return bad_type("include", "an array of strings");
    }
    for (rapidjson::SizeType i = 0; i < inc.Size(); ++i) {
        const Value& v = inc[i];
        if (!v.IsString()) {
            return bad_type(idx("include", i), "a string");
        }
        const std::string_view s = sv(v);
        if (s == "message.output_text.logprobs") {
            return unsupported("Log probabilities are not available on this route.",
                               idx("include", i));
        }
        // reasoning.encrypted_content: accepted, and none is ever returned (the reasoning
        // comes back as summary text). The others are about items this route never produces
        // (built-in tool calls, stored input images): asking for them changes nothing.
        const bool known =
            s == "reasoning.encrypted_content" || s == "web_search_call.results" ||
            s == "web_search_call.action.sources" || s == "message.input_image.image_url" ||
            s == "file_search_call.results" || s == "computer_call_output.output.image_url" ||
            s == "code_interpreter_call.outputs";
        if (!known) {
            return invalid_request("Invalid 'include' value '" + std::string(s) + "'.",
                                   idx("include", i), "invalid_value");
        }
    }
    return std::nullopt;
}

error_opt check_string(const Value* v, const char* param)
{
    if (v != nullptr && !v->IsString()) {
        return bad_type(param, "a string");
    }
    return std::nullopt;
}

// Sampling, length and the small flags.
error_opt parse_scalars(const fields& fl, chat_request& req)
{
    if (fl.stream != nullptr) {
        if (!fl.stream->IsBool()) {
            return bad_type("stream", "a boolean");
        }
        req.stream = fl.stream->GetBool();
    }
    if (fl.stream_options != nullptr && !fl.stream_options->IsObject()) {
        return bad_type("stream_options", "an object");
    }
    // A Response always carries usage, streamed or not.
    req.include_usage = true;
    if (auto e =
            detail::int_in(fl.max_output_tokens, "max_output_tokens", 1, 1 << 24, req.max_tokens)) {
        return e;
    }
    if (auto e = detail::number_in(fl.temperature, "temperature", 0, 2, req.temperature)) {
        return e;
    }
    if (auto e = detail::number_in(fl.top_p, "top_p", 0, 1, req.top_p)) {
        return e;
    }
    std::optional<std::int64_t> top_logprobs;
    if (auto e = detail::int_in(fl.top_logprobs, "top_logprobs", 0, 20, top_logprobs)) {
        return e;
    }
    if (top_logprobs.value_or(0) > 0) {
        return unsupported("Log probabilities are not available on this route.", "top_logprobs");
    }
    if (fl.parallel_tool_calls != nullptr) {
        if (!fl.parallel_tool_calls->IsBool()) {
            return bad_type("parallel_tool_calls", "a boolean");
        }
        req.parallel_tool_calls = fl.parallel_tool_calls->GetBool();
    }
    if (fl.metadata != nullptr && !fl.metadata->IsObject()) {
        return bad_type("metadata", "an object");
    }
    req.metadata = fl.metadata;
    if (fl.store != nullptr && !fl.store->IsBool()) {
        return bad_type("store", "a boolean");
    }
    if (fl.truncation != nullptr) {
        // `auto` is accepted: OCI does not truncate, and an over-long input gets its error.
        const std::string_view t = fl.truncation->IsString() ? sv(*fl.truncation) : "";
        if (t != "auto" && t != "disabled") {
            return invalid_request("Invalid 'truncation': expected auto or disabled.", "truncation",
                                   "invalid_value");
        }
    }
    for (auto [v, name] : {std::pair{fl.instructions, "instructions"},
                           {fl.user, "user"},
                           {fl.safety_identifier, "safety_identifier"},
                           {fl.prompt_cache_key, "prompt_cache_key"}}) {
        if (auto e = check_string(v, name)) {
            return e;
        }
    }
    if (fl.include != nullptr) {
        if (auto e = check_include(*fl.include)) {
            return e;
        }
    }
    if (fl.service_tier != nullptr) {
        req.service_tier_sent = fl.service_tier->IsString() ? sv(*fl.service_tier) : "";
    }
    return std::nullopt;
}

// `reasoning`: `effort` as chat's reasoning_effort; `summary` accepted (OCI returns what
// reasoning it returns) and echoed.
error_opt parse_reasoning(const Value& r, chat_request& req)
{
    if (!r.IsObject()) {
        return bad_type("reasoning", "an object");
    }
    if (const Value* effort = get(r, "effort"); effort != nullptr) {
        if (!effort->IsString()) {
            return bad_type("reasoning.effort", "a string");
        }
        req.reasoning_effort = detail::oci_reasoning_effort(sv(*effort));
        if (req.reasoning_effort.empty()) {
            return invalid_request(
                "Invalid 'reasoning.effort': expected none, minimal, low, medium, high or xhigh.",
                "reasoning.effort", "invalid_value");
        }
    }
    for (const char* key : {"summary", "generate_summary"}) {
        const Value* s = get(r, key);
        const std::string_view v = s != nullptr && s->IsString() ? sv(*s) : "";
        if (s != nullptr && v != "auto" && v != "concise" && v != "detailed") {
            return invalid_request(
                std::string("Invalid 'reasoning.") + key + "': expected auto, concise or detailed.",
                std::string("reasoning.") + key, "invalid_value");
        }
    }
    return std::nullopt;
}

// `text.format` (flat, unlike chat's response_format) and `text.verbosity`.
error_opt parse_text(const Value& text, chat_request& req)
{
    if (!text.IsObject()) {
        return bad_type("text", "an object");
    }
    if (const Value* v = get(text, "verbosity"); v != nullptr) {
        req.verbosity = v->IsString() ? detail::to_upper(sv(*v)) : "";
        if (req.verbosity != "LOW" && req.verbosity != "MEDIUM" && req.verbosity != "HIGH") {
            return invalid_request("Invalid 'text.verbosity': expected low, medium or high.",
                                   "text.verbosity", "invalid_value");
        }
    }
    const Value* f = get(text, "format");
    if (f == nullptr) {
        return std::nullopt;
    }
    if (!f->IsObject()) {
        return bad_type("text.format", "an object");
    }
    chat_response_format& out = req.response_format.emplace();
    const std::string_view type = get_string(*f, "type");
    using k = chat_response_format::kind;
    if (type == "text") {
        out.type = k::text;
    } else if (type == "json_object") {
        out.type = k::json_object;
    } else if (type == "json_schema") {
        out.type = k::json_schema;
        out.schema = get(*f, "schema");
        if (out.schema == nullptr) {
            return invalid_request("Missing 'text.format.schema'.", "text.format.schema",
                                   "missing_required_parameter");
        }
        if (!out.schema->IsObject()) {
            return bad_type("text.format.schema", "an object");
        }
        if (const Value* n = get(*f, "name"); n != nullptr && !n->IsString()) {
            return bad_type("text.format.name", "a string");
        }
        out.name = get_string(*f, "name");
        out.description = get_string(*f, "description");
        if (const Value* strict = get(*f, "strict"); strict != nullptr) {
            if (!strict->IsBool()) {
                return bad_type("text.format.strict", "a boolean");
            }
            out.strict = strict->GetBool();
        }
        for (char c : out.name) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '_' || c == '-';
            if (!ok) {
                return invalid_request(
                    "Invalid 'text.format.name': only a-z, A-Z, 0-9, '_' and '-' are allowed.",
                    "text.format.name", "invalid_value");
            }
        }
    } else {
        return invalid_request("Invalid 'text.format.type' '" + std::string(type) +
                                   "': expected text, json_object or json_schema.",
                               "text.format.type", "invalid_value");
    }
    return std::nullopt;
}

// An error of the shared chat validation, renamed to the Responses parameter.
api_error renamed(api_error e, const std::vector<message_source>& sources, const tools_seen& tools)
{
    std::string param = detail::responses_param(e.param, sources, tools.paths, tools.web_search);
    // not_expressible() starts its message with the chat name of a renamed parameter.
    if (param != e.param && (e.param == "reasoning_effort" || e.param == "verbosity") &&
        e.message.starts_with(e.param)) {
        e.message.replace(0, e.param.size(), param);
    }
    e.param = std::move(param);
    return e;
}

// The Response's repeated request parameters (responses_plan::echo).
std::string write_echo(const fields& fl, const chat_request& req, const config& cfg)
{
    using detail::write_string;
    rapidjson::StringBuffer sb;
    detail::json_writer w(sb);
    auto value_or = [&](const Value* v, auto&& fallback) {
        if (v != nullptr) {
            json::write_value(w, *v);
        } else {
            fallback();
        }
    };
    auto null = [&] { w.Null(); };
    w.StartObject();
    w.Key("instructions");
    value_or(fl.instructions, null);
    // The length OCI was asked for (the client's, else the alias', configured or family
    // maximum): a real limit on this answer, so a number rather than OpenAI's null.
    const detail::output_length len = detail::plan_output_length(req, cfg);
    w.Key("max_output_tokens");
    w.Int64(len.max_tokens);
    w.Key("metadata");
    value_or(fl.metadata, [&] {
        w.StartObject();
        w.EndObject();
    });
    w.Key("parallel_tool_calls");
    w.Bool(req.parallel_tool_calls.value_or(true));
    w.Key("previous_response_id");
    w.Null();
    w.Key("reasoning");
    w.StartObject();
    w.Key("effort");
    if (!req.reasoning_effort.empty()) {
        write_string(w, detail::to_lower(req.reasoning_effort));
    } else {
        w.Null();
    }
    w.Key("summary");
    value_or(fl.reasoning != nullptr ? get(*fl.reasoning, "summary") : nullptr, null);
    w.EndObject();
    if (fl.service_tier != nullptr) {
        w.Key("service_tier");
        json::write_value(w, *fl.service_tier);
    }
    w.Key("store");
    w.Bool(fl.store == nullptr || fl.store->GetBool());
    // Sampling as sent to OCI: the client's value, else the configured default unless the
    // model takes none; null when nothing was sent (the model's own default, which OCI does
    // not report, applies: OpenAI's 1 would be a guess).
    auto sampling = [&](const std::optional<double>& v, const std::optional<double>& def) {
        if (v) {
            w.Double(*v);
        } else if (def && !len.no_sampling_defaults) {
            w.Double(*def);
        } else {
            w.Null();
        }
    };
    w.Key("temperature");
    sampling(req.temperature, cfg.defaults.temperature);
    w.Key("text");
    w.StartObject();
    w.Key("format");
    value_or(fl.text != nullptr ? get(*fl.text, "format") : nullptr, [&] {
        w.StartObject();
        w.Key("type");
        w.String("text");
        w.EndObject();
    });
    w.Key("verbosity");
    write_string(w,
                 req.verbosity.empty() ? std::string("medium") : detail::to_lower(req.verbosity));
    w.EndObject();
    w.Key("tool_choice");
    value_or(fl.tool_choice, [&] { w.String("auto"); });
    w.Key("tools");
    value_or(fl.tools, [&] {
        w.StartArray();
        w.EndArray();
    });
    w.Key("top_p");
    sampling(req.top_p, cfg.defaults.top_p);
    w.Key("truncation");
    value_or(fl.truncation, [&] { w.String("disabled"); });
    w.Key("user");
    value_or(fl.user, null);
    w.EndObject();
    // `{...}` → `,...`
    std::string echo(sb.GetString(), sb.GetSize());
    echo.front() = ',';
    echo.pop_back();
    return echo;
}

}  // namespace

result<responses_plan> plan_responses(std::string_view openai_body, const config& cfg,
                                      const model_name_lookup& names)
{
    chat_request req;
    req.doc = std::make_unique<rapidjson::Document>();
    if (auto e = detail::parse_request(openai_body, cfg.limits.max_json_depth, *req.doc)) {
        return *e;
    }
    fields fl;
    collect(*req.doc, fl);
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
    if (auto e = check_stateless(fl)) {
        return *e;
    }
    if (fl.input == nullptr) {
        return invalid_request(
            "'input' is required: this model's route keeps no state, so the client must send "
            "the whole input.",
            "input", "missing_required_parameter");
    }
    if (fl.tools != nullptr && fl.tools->IsArray() && fl.tools->Size() > cfg.limits.max_tools) {
        return invalid_request("'tools' has " + std::to_string(fl.tools->Size()) +
                                   " items; this proxy accepts at most " +
                                   std::to_string(cfg.limits.max_tools) + ".",
                               "tools", "array_above_max_length");
    }
    if (auto e = parse_scalars(fl, req)) {
        return *e;
    }
    if (fl.reasoning != nullptr) {
        if (auto e = parse_reasoning(*fl.reasoning, req)) {
            return *e;
        }
    }
    if (fl.text != nullptr) {
        if (auto e = parse_text(*fl.text, req)) {
            return *e;
        }
    }
    tools_seen tools;
    if (fl.tools != nullptr) {
        if (auto e = parse_tools(*fl.tools, req, tools, cfg.limits.max_tools)) {
            return *e;
        }
    }
    if (fl.tool_choice != nullptr) {
        if (auto e = parse_tool_choice(*fl.tool_choice, req.tool_choice.emplace())) {
            return *e;
        }
        // allowed_tools without the web_search tool: it is not offered either.
        if (req.tool_choice->allowed_only && !req.tool_choice->allows_web_search) {
            req.web_search.reset();
        }
    }
    // What the format cannot express among the top-level parameters.
    const api_format f = req.model.format;
    if (req.web_search && f != api_format::generic) {
        return detail::not_expressible("The web_search tool", tools.web_search, f);
    }
    std::vector<message_source> sources;
    if (auto e = detail::check_format_limits(req, false, req.web_search.has_value())) {
        return renamed(std::move(*e), sources, tools);
    }
    // `instructions` leads as a system message (COHERE: the preamble).
    if (fl.instructions != nullptr && fl.instructions->GetStringLength() > 0) {
        chat_message& m = req.messages.emplace_back();
        m.role = chat_role::system;
        m.role_name = "system";
        m.content.type = chat_content::kind::text;
        m.content.text = sv(*fl.instructions);
        sources.emplace_back().type = message_source::kind::instructions;
    }
    std::vector<detail::loaded_tools> loaded;
    if (auto e = detail::parse_responses_input(*fl.input, cfg.limits.max_messages, req, sources,
                                               loaded)) {
        return *e;
    }
    if (!loaded.empty()) {
        if (auto e = add_loaded_tools(loaded, req, tools, cfg.limits.max_tools)) {
            return *e;
        }
        // The loaded functions may be the request's first (parallel_tool_calls on Cohere).
        if (auto e = detail::check_format_limits(req, false, req.web_search.has_value())) {
            return renamed(std::move(*e), sources, tools);
        }
    }
    if (req.messages.size() > cfg.limits.max_messages) {
        return invalid_request("'input' makes " + std::to_string(req.messages.size()) +
                                   " messages; this proxy accepts at most " +
                                   std::to_string(cfg.limits.max_messages) + ".",
                               "input", "array_above_max_length");
    }
    const bool only_instructions = !req.messages.empty() &&
                                   sources.front().type == message_source::kind::instructions &&
                                   req.messages.size() == 1;
    if (req.messages.empty() || only_instructions) {
        return invalid_request("'input' has no message to send.", "input", "invalid_value");
    }
    if (auto e = detail::validate_for_format(req, cfg)) {
        return renamed(std::move(*e), sources, tools);
    }
    responses_plan plan;
    plan.chat = detail::make_chat_plan(req, cfg);
    plan.echo = write_echo(fl, req, cfg);
    plan.tool_namespaces = std::move(tools.namespaces);
    plan.custom_tools = std::move(tools.custom);
    plan.client_tool_search = !tools.tool_search.empty();
    return plan;
}

}  // namespace ogp::transform
