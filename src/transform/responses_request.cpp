// `POST /v1/responses` → the typed chat_request of the chat-completions path, validated and
// written by the same code (chat_validate.cpp, chat_writer_*.cpp): no second translator of
// OCI formats. This file reads the top-level parameters and writes the echo; the `input`
// items are responses_request_input.cpp's.
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

#include <new>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "chat_writer.hpp"
#include "json_util.hpp"
#include "ogp/transform/responses.hpp"
#include "responses_internal.hpp"

namespace ogp::transform {

namespace {

using detail::bad_type;
using detail::error_opt;
using detail::get;
using detail::get_string;
using detail::idx;
using detail::keep_text;
using detail::message_source;
using detail::sv;
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

api_error unsupported(std::string message, std::string param)
{
    return invalid_request(std::move(message), std::move(param), "unsupported_parameter");
}

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
        std::string& re = req.reasoning_effort;
        re = detail::to_upper(sv(*effort));
        if (re != "NONE" && re != "MINIMAL" && re != "LOW" && re != "MEDIUM" && re != "HIGH") {
            return invalid_request(
                "Invalid 'reasoning.effort': expected none, minimal, low, medium or high.",
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

// Built-in tool types of the Responses API, none of which OCI runs on this route.
bool is_builtin_tool(std::string_view t)
{
    static constexpr std::string_view known[] = {
        "file_search",
        "computer",
        "computer_use_preview",
        "computer_use",
        "mcp",
        "code_interpreter",
        "image_generation",
        "local_shell",
        "shell",
        "custom",
        "apply_patch",
        "tool_search",
        "programmatic_tool_calling",
    };
    for (auto k : known) {
        if (t == k) {
            return true;
        }
    }
    return false;
}

bool is_web_search(std::string_view t)
{
    return t == "web_search" || t == "web_search_2025_08_26" || t == "web_search_preview" ||
           t == "web_search_preview_2025_03_11";
}

// A web_search tool → chat's web_search_options (GENERIC's webSearchOptions).
error_opt parse_web_search(const Value& t, std::size_t i, chat_request& req)
{
    const std::string param = idx("tools", i);
    if (const Value* filters = get(t, "filters"); filters != nullptr) {
        const Value* domains = get(*filters, "allowed_domains");
        if (domains != nullptr && !(domains->IsArray() && domains->Empty())) {
            return unsupported("OCI web search has no domain filter.",
                               param + ".filters.allowed_domains");
        }
    }
    chat_web_search& ws = req.web_search.emplace();
    if (const Value* size = get(t, "search_context_size"); size != nullptr) {
        const std::string_view s = size->IsString() ? sv(*size) : "";
        if (s != "low" && s != "medium" && s != "high") {
            return invalid_request("Invalid 'search_context_size': expected low, medium or high.",
                                   param + ".search_context_size", "invalid_value");
        }
        ws.search_context_size = s;
    }
    // Responses spells the location flat (chat nests it in `approximate`).
    if (const Value* loc = get(t, "user_location"); loc != nullptr && loc->IsObject()) {
        ws.has_location = true;
        ws.city = get_string(*loc, "city");
        ws.region = get_string(*loc, "region");
        ws.country = get_string(*loc, "country");
        ws.timezone = get_string(*loc, "timezone");
    }
    return std::nullopt;
}

// What parse_tools found besides req.tools.
struct tools_seen
{
    std::vector<std::string> paths;  // the Responses path of each req.tools entry
    // The tool object of each req.tools entry (null for those not sent to OCI): a tool a
    // tool search loaded again is the same tool only when its definition is the same.
    std::vector<const Value*> defs;
    std::string web_search;   // the path of the web_search tool, when one was sent
    std::string tool_search;  // the path of the client-executed tool_search tool, when sent
    std::vector<std::pair<std::string, std::string>> namespaces;  // function → namespace
    std::vector<std::string> custom;                              // custom tools' names
};

// A custom tool's grammar in its function's description: beyond this, a 400 (the grammar is
// repeated in every request, and OCI bounds the prompt).
constexpr std::size_t max_grammar_bytes = 16 * 1024;

// A JSON value (a constant schema or one built here) kept in the request document's pool,
// which frees nothing before the document goes: chat_tool::parameters may point to it.
const Value* keep_value(chat_request& req, Value&& v)
{
    void* p = req.doc->GetAllocator().Malloc(sizeof(Value));
    return new (p) Value(std::move(v));
}

const Value* keep_json(chat_request& req, std::string_view json)
{
    rapidjson::Document d;
    d.Parse(json.data(), json.size());  // a constant of this file: valid
    return keep_value(req, Value(d, req.doc->GetAllocator()));
}

// A flat function tool `{type: function, name, description, parameters, strict}`.
error_opt parse_function_tool(const Value& t, const std::string& path, chat_tool& out)
{
    out.type = chat_tool::kind::function;
    out.has_function = true;
    if (const Value* n = get(t, "name");
        n == nullptr || !n->IsString() || n->GetStringLength() == 0) {
        return invalid_request("Missing function name.", path + ".name",
                               "missing_required_parameter");
    }
    out.name = get_string(t, "name");
    out.description = get_string(t, "description");
    if (const Value* s = get(t, "strict"); s != nullptr) {
        if (!s->IsBool()) {
            return bad_type(path + ".strict", "a boolean");
        }
        out.strict = s->GetBool();
    }
    out.parameters = get(t, "parameters");  // validation checks and cleans it
    return std::nullopt;
}

// A custom (freeform) tool `{type: custom, name, description, format}` as the function of the
// same name with one string parameter `input`; a grammar `format` is shown to the model in
// the function's description, so that it knows what input the tool expects.
error_opt parse_custom_tool(const Value& t, const std::string& path, chat_request& req,
                            chat_tool& out)
{
    out.type = chat_tool::kind::function;
    out.has_function = true;
    if (const Value* n = get(t, "name");
        n == nullptr || !n->IsString() || n->GetStringLength() == 0) {
        return invalid_request("Missing custom tool name.", path + ".name",
                               "missing_required_parameter");
    }
    out.name = get_string(t, "name");
    if (const Value* d = get(t, "description"); d != nullptr && !d->IsString()) {
        return bad_type(path + ".description", "a string");
    }
    std::string description(get_string(t, "description"));
    const Value* f = get(t, "format");
    if (f != nullptr) {
        if (!f->IsObject()) {
            return bad_type(path + ".format", "an object");
        }
        const std::string_view type = get_string(*f, "type");
        if (type == "grammar") {
            const std::string_view syntax = get_string(*f, "syntax");
            if (syntax != "lark" && syntax != "regex") {
                return invalid_request("Invalid 'format.syntax': expected lark or regex.",
                                       path + ".format.syntax", "invalid_value");
            }
            const Value* def = get(*f, "definition");
            if (def == nullptr) {
                return invalid_request("Missing 'format.definition'.", path + ".format.definition",
                                       "missing_required_parameter");
            }
            if (!def->IsString()) {
                return bad_type(path + ".format.definition", "a string");
            }
            if (def->GetStringLength() > max_grammar_bytes) {
                return invalid_request(
                    "The custom tool's grammar is longer than this proxy accepts (" +
                        std::to_string(max_grammar_bytes) +
                        " bytes): OCI Generative AI has no grammar-constrained tools, so the "
                        "grammar is shown to the model in the tool's description.",
                    path + ".format.definition", "string_above_max_length");
            }
            if (!description.empty()) {
                description += "\n\n";
            }
            description += syntax == "lark"
                               ? "Call this tool with its whole input as the string `input` "
                                 "(free-form text, not JSON). The input must conform to this "
                                 "Lark grammar:\n```lark\n"
                               : "Call this tool with its whole input as the string `input` "
                                 "(free-form text, not JSON). The input must match this "
                                 "regular expression:\n```\n";
            description += sv(*def);
            description += "\n```";
        } else if (type != "text") {
            return invalid_request(
                "Invalid 'format.type' '" + std::string(type) + "': expected text or grammar.",
                path + ".format.type", "invalid_value");
        }
    }
    out.description = keep_text(req, description);
    out.parameters = keep_json(
        req, R"({"type":"object","properties":{"input":{"type":"string","description":)"
             R"("The tool's whole input: free-form text, not JSON."}},"required":["input"],)"
             R"("additionalProperties":false})");
    return std::nullopt;
}

// A client-executed tool search `{type: tool_search, execution: client, description,
// parameters}` as the function `tool_search`: the client runs it and sends back the tools it
// found (tool_search_output). Run by the server (the default), OCI cannot do it: a 400.
error_opt parse_tool_search(const Value& t, const std::string& path, chat_request& req,
                            chat_tool& out)
{
    const Value* e = get(t, "execution");
    const std::string_view execution = e != nullptr && e->IsString() ? sv(*e) : "";
    if (e != nullptr && execution != "client" && execution != "server") {
        return invalid_request("Invalid 'execution': expected client or server.",
                               path + ".execution", "invalid_value");
    }
    if (execution != "client") {
        return unsupported(
            "The 'tool_search' tool is not supported with server execution (the default): OCI "
            "Generative AI cannot search tools; send execution: client to run the search in "
            "the client.",
            path + ".execution");
    }
    out.type = chat_tool::kind::function;
    out.has_function = true;
    out.name = "tool_search";
    const Value* d = get(t, "description");
    if (d != nullptr && !d->IsString()) {
        return bad_type(path + ".description", "a string");
    }
    out.description = d != nullptr ? sv(*d)
                                   : std::string_view(
                                         "Searches for more tools; the tools found "
                                         "are offered on the next call.");
    out.parameters = get(t, "parameters");  // validation checks and cleans it
    if (out.parameters == nullptr) {
        out.parameters = keep_json(
            req, R"({"type":"object","properties":{"query":{"type":"string","description":)"
                 R"("Search query for tools."},"limit":{"type":"number","description":)"
                 R"("Maximum number of tools to return."}},"required":["query"],)"
                 R"("additionalProperties":false})");
    }
    return std::nullopt;
}

api_error not_a_function_tool(std::string_view type, const std::string& path)
{
    if (is_builtin_tool(type)) {
        return unsupported("The '" + std::string(type) +
                               "' tool is not supported: OCI Generative AI runs only function "
                               "tools (custom tools and client-executed tool_search as "
                               "functions, and web_search on GENERIC models) on this route.",
                           path + ".type");
    }
    return invalid_request("Invalid tool type '" + std::string(type) + "'.", path + ".type",
                           "invalid_value");
}

// A function or custom tool `t` at `path` (a namespace's when `ns` is not empty) into `out`,
// recorded in `seen` (its path, definition, namespace, custom name). Any other type: a 400.
error_opt parse_one_tool(const Value& t, std::string path, std::string_view ns, chat_request& req,
                         chat_tool& out, tools_seen& seen, bool append)
{
    if (!t.IsObject()) {
        return bad_type(path, "a tool object");
    }
    const std::string_view type = get_string(t, "type");
    if (type == "function") {
        if (auto e = parse_function_tool(t, path, out)) {
            return e;
        }
    } else if (type == "custom") {
        if (auto e = parse_custom_tool(t, path, req, out)) {
            return e;
        }
        seen.custom.emplace_back(out.name);
    } else {
        return not_a_function_tool(type, path);
    }
    if (!ns.empty()) {
        seen.namespaces.emplace_back(std::string(out.name), std::string(ns));
    }
    if (append) {
        seen.paths.push_back(std::move(path));
        seen.defs.push_back(&t);
    }
    return std::nullopt;
}

api_error too_many_tools(std::size_t max_tools, std::string param)
{
    return invalid_request("'tools' has more than " + std::to_string(max_tools) +
                               " functions with those of its namespaces and those a tool search "
                               "loaded; this proxy accepts at most " +
                               std::to_string(max_tools) + ".",
                           std::move(param), "array_above_max_length");
}

// A namespace tool's name and member list (`tools`); a 400 at `path` when either is missing.
error_opt namespace_parts(const Value& t, const std::string& path, std::string_view& ns,
                          const Value*& members)
{
    ns = get_string(t, "name");
    if (ns.empty()) {
        return invalid_request("Missing namespace name.", path + ".name",
                               "missing_required_parameter");
    }
    members = get(t, "tools");
    if (members == nullptr || !members->IsArray()) {
        return bad_type(path + ".tools", "an array");
    }
    return std::nullopt;
}

// A namespace tool (Codex sends its sub-agent tools as one): its function and custom tools
// are offered to OCI under their own names, each appended to req.tools; the answer names the
// namespace of a call again (responses_plan::tool_namespaces).
error_opt parse_namespace(const Value& t, const std::string& path, chat_request& req,
                          tools_seen& seen, std::size_t max_tools)
{
    std::string_view ns;
    const Value* inner = nullptr;
    if (auto e = namespace_parts(t, path, ns, inner)) {
        return e;
    }
    for (rapidjson::SizeType j = 0; j < inner->Size(); ++j) {
        if (req.tools.size() >= max_tools) {
            return too_many_tools(max_tools, "tools");
        }
        chat_tool& f = req.tools.emplace_back();
        if (auto e = parse_one_tool((*inner)[j], idx(path + ".tools", j), ns, req, f, seen, true)) {
            return e;
        }
    }
    return std::nullopt;
}

// `tools`: function and custom tools into chat_tool (at the request's index, so that
// validation's `tools[i]` is the request's; a namespace's are appended), one web_search tool,
// one client-executed tool_search, and a 400 naming any other.
error_opt parse_tools(const Value& tools, chat_request& req, tools_seen& seen,
                      std::size_t max_tools)
{
    if (!tools.IsArray()) {
        return bad_type("tools", "an array");
    }
    req.tools.resize(tools.Size());
    for (rapidjson::SizeType i = 0; i < tools.Size(); ++i) {
        seen.paths.push_back(idx("tools", i));
    }
    seen.defs.resize(tools.Size(), nullptr);
    for (rapidjson::SizeType i = 0; i < tools.Size(); ++i) {
        const Value& t = tools[i];
        if (!t.IsObject()) {
            return bad_type(idx("tools", i), "a tool object");
        }
        const std::string_view type = get_string(t, "type");
        if (is_web_search(type)) {
            if (!seen.web_search.empty()) {
                return invalid_request("Only one web_search tool is allowed.", idx("tools", i),
                                       "invalid_value");
            }
            seen.web_search = idx("tools", i) + ".type";
            // `external_web_access: false` (Codex's default "cached" mode) allows no live
            // access, and OCI's search is live only: the tool is not offered.
            const Value* live = get(t, "external_web_access");
            if (live != nullptr && !live->IsBool()) {
                return bad_type(idx("tools", i) + ".external_web_access", "a boolean");
            }
            if (live != nullptr && !live->GetBool()) {
                continue;
            }
            if (auto e = parse_web_search(t, i, req)) {
                return e;
            }
            continue;  // kind::other: not a function tool
        }
        if (type == "namespace") {
            if (auto e = parse_namespace(t, idx("tools", i), req, seen, max_tools)) {
                return e;
            }
            continue;
        }
        if (type == "tool_search") {
            if (!seen.tool_search.empty()) {
                return invalid_request("Only one tool_search tool is allowed.", idx("tools", i),
                                       "invalid_value");
            }
            if (auto e = parse_tool_search(t, idx("tools", i), req, req.tools[i])) {
                return e;
            }
            seen.tool_search = idx("tools", i);
            seen.defs[i] = &t;
            continue;
        }
        if (auto e = parse_one_tool(t, idx("tools", i), {}, req, req.tools[i], seen, false)) {
            return e;
        }
        seen.defs[i] = &t;
    }
    // OCI calls a function by name: one name, one function.
    std::unordered_set<std::string_view> names;
    for (std::size_t i = 0; i < req.tools.size(); ++i) {
        if (req.tools[i].type != chat_tool::kind::function) {
            continue;
        }
        req.has_function_tools = true;
        if (names.insert(req.tools[i].name).second) {
            continue;
        }
        if (seen.paths[i] == seen.tool_search) {
            return invalid_request(
                "Duplicate function name 'tool_search': the client-executed tool_search tool "
                "is offered to OCI as the function 'tool_search'.",
                seen.paths[i] + ".type", "invalid_value");
        }
        return invalid_request("Duplicate function name '" + std::string(req.tools[i].name) + "'" +
                                   (req.tools[i].name == "tool_search" && !seen.tool_search.empty()
                                        ? ": the client-executed tool_search tool is offered to "
                                          "OCI as the function 'tool_search'."
                                        : "."),
                               seen.paths[i] + ".name", "invalid_value");
    }
    return std::nullopt;
}

// Two definitions of the same tool: equal but for `defer_loading` (a tool deferred in `tools`
// comes back from the search without it).
bool same_tool(const Value& a, const Value& b)
{
    if (!a.IsObject() || !b.IsObject()) {
        return a == b;
    }
    auto count = [](const Value& v) {
        std::size_t n = 0;
        for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
            n += sv(it->name) == "defer_loading" ? 0 : 1;
        }
        return n;
    };
    if (count(a) != count(b)) {
        return false;
    }
    for (auto it = a.MemberBegin(); it != a.MemberEnd(); ++it) {
        if (sv(it->name) == "defer_loading") {
            continue;
        }
        const Value* other = get(b, sv(it->name));
        if (other == nullptr || !(*other == it->value)) {
            return false;
        }
    }
    return true;
}

// One tool a tool search loaded (`t` at `path`): offered unless the same tool already is; a
// different tool of a name already offered is a 400.
error_opt add_loaded_tool(const Value& t, std::string path, std::string_view ns, chat_request& req,
                          tools_seen& seen, std::size_t max_tools)
{
    chat_tool tool;
    tools_seen scratch;
    if (auto e = parse_one_tool(t, path, ns, req, tool, scratch, false)) {
        return e;
    }
    for (std::size_t i = 0; i < req.tools.size(); ++i) {
        if (req.tools[i].type != chat_tool::kind::function || req.tools[i].name != tool.name) {
            continue;
        }
        if (seen.defs[i] != nullptr && same_tool(*seen.defs[i], t)) {
            return std::nullopt;  // loaded again: offered once
        }
        return invalid_request("The tool search loaded a tool named '" + std::string(tool.name) +
                                   "' that differs from the tool of that name already offered "
                                   "(at " +
                                   seen.paths[i] + ").",
                               path + ".name", "invalid_value");
    }
    if (req.tools.size() >= max_tools) {
        return too_many_tools(max_tools, path);
    }
    req.tools.push_back(std::move(tool));
    req.has_function_tools = true;
    seen.paths.push_back(std::move(path));
    seen.defs.push_back(&t);
    for (auto& n : scratch.namespaces) {
        seen.namespaces.push_back(std::move(n));
    }
    for (auto& c : scratch.custom) {
        seen.custom.push_back(std::move(c));
    }
    return std::nullopt;
}

// The tools tool_search_output items loaded, "exposed for the next model call": offered to OCI
// with the request's own, in the order they came.
error_opt add_loaded_tools(const std::vector<detail::loaded_tools>& loaded, chat_request& req,
                           tools_seen& seen, std::size_t max_tools)
{
    // Entries without a definition (the web_search and a skipped tool) keep theirs null.
    seen.defs.resize(req.tools.size(), nullptr);
    for (const detail::loaded_tools& l : loaded) {
        const std::string base = idx("input", l.item) + ".tools";
        for (rapidjson::SizeType j = 0; j < l.tools->Size(); ++j) {
            const Value& t = (*l.tools)[j];
            const std::string path = idx(base, j);
            if (t.IsObject() && get_string(t, "type") == "namespace") {
                std::string_view ns;
                const Value* inner = nullptr;
                if (auto e = namespace_parts(t, path, ns, inner)) {
                    return e;
                }
                for (rapidjson::SizeType m = 0; m < inner->Size(); ++m) {
                    if (auto e = add_loaded_tool((*inner)[m], idx(path + ".tools", m), ns, req,
                                                 seen, max_tools)) {
                        return e;
                    }
                }
                continue;
            }
            if (auto e = add_loaded_tool(t, path, {}, req, seen, max_tools)) {
                return e;
            }
        }
    }
    return std::nullopt;
}

// `tool_choice`: auto, none, required, or `{type: function | custom, name}` (a custom tool
// is the function of its name).
error_opt parse_tool_choice(const Value& tc, chat_tool_choice& out)
{
    using k = chat_tool_choice::kind;
    if (tc.IsString()) {
        const std::string_view s = sv(tc);
        if (s == "auto") {
            out.type = k::auto_;
        } else if (s == "none") {
            out.type = k::none;
        } else if (s == "required") {
            out.type = k::required;
        } else {
            return invalid_request(
                "Invalid 'tool_choice' '" + std::string(s) + "': expected auto, none or required.",
                "tool_choice", "invalid_value");
        }
        return std::nullopt;
    }
    if (!tc.IsObject()) {
        return bad_type("tool_choice", "a string or an object");
    }
    const std::string_view type = get_string(tc, "type");
    if (type == "function" || type == "custom") {
        out.type = k::function;
        out.function_name = get_string(tc, "name");
        if (out.function_name.empty()) {
            return invalid_request("Missing 'tool_choice.name'.", "tool_choice.name",
                                   "missing_required_parameter");
        }
        return std::nullopt;
    }
    if (type == "allowed_tools") {
        return unsupported(
            "'tool_choice' of type allowed_tools is not supported; list only "
            "the allowed tools in 'tools'.",
            "tool_choice.type");
    }
    return unsupported("'tool_choice' of type '" + std::string(type) +
                           "' is not supported: OCI Generative AI runs only function tools on "
                           "this route.",
                       "tool_choice.type");
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
    // The length OCI was asked for: the configured default when the client is silent.
    w.Key("max_output_tokens");
    w.Int64(req.max_tokens.value_or(cfg.defaults.max_tokens));
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
    // Sampling as sent to OCI: the configured default unless the model takes none.
    const bool no_defaults = !req.model.dedicated && uses_max_completion_tokens(req.model.oci_id);
    auto sampling = [&](const std::optional<double>& v, double def) {
        if (v || !no_defaults) {
            w.Double(v.value_or(def));
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

result<responses_plan> plan_responses(std::string_view openai_body, const config& cfg)
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
    auto resolved = resolve_model(req.model_name, cfg);
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
