// `tools` and `tool_choice` of a Responses request (plan_responses, responses_request.cpp):
// function tools and the tools that become functions (custom, namespace members, a
// client-executed tool_search, the tools a tool search loaded) into chat_tool, web_search into
// OCI web search, and a 400 naming every tool OCI cannot run on this route.

#include <new>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "json_util.hpp"
#include "responses_internal.hpp"

namespace ogp::transform::detail {

namespace {

using rapidjson::Value;

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

}  // namespace

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
static bool same_tool(const Value& a, const Value& b)
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
static error_opt add_loaded_tool(const Value& t, std::string path, std::string_view ns,
                                 chat_request& req, tools_seen& seen, std::size_t max_tools)
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

// `tool_choice: {type: allowed_tools, mode, tools}` (flat, unlike chat's): the mode and the
// names of the function and custom tools listed (a custom tool is the function of its name,
// the client tool_search the function `tool_search`), matched against the tools by the shared
// validation; a web_search entry keeps the web_search tool (plan_responses drops it otherwise).
static error_opt parse_allowed_tools(const Value& tc, chat_tool_choice& out)
{
    const std::string_view mode = get_string(tc, "mode");
    if (mode == "auto") {
        out.type = chat_tool_choice::kind::auto_;
    } else if (mode == "required") {
        out.type = chat_tool_choice::kind::required;
    } else {
        return invalid_request("Invalid 'tool_choice.mode': expected auto or required.",
                               "tool_choice.mode", "invalid_value");
    }
    const Value* tools = get(tc, "tools");
    if (tools == nullptr || !tools->IsArray()) {
        return bad_type("tool_choice.tools", "an array");
    }
    if (tools->Empty()) {
        return invalid_request("'tool_choice.tools' must name at least one tool.",
                               "tool_choice.tools", "invalid_value");
    }
    out.allowed_only = true;
    out.allowed.reserve(tools->Size());
    for (rapidjson::SizeType j = 0; j < tools->Size(); ++j) {
        const Value& t = (*tools)[j];
        const std::string param = idx("tool_choice.tools", j);
        if (!t.IsObject()) {
            return bad_type(param, "a tool object");
        }
        const std::string_view type = get_string(t, "type");
        if (type == "function" || type == "custom") {
            const std::string_view name = get_string(t, "name");
            if (name.empty()) {
                return invalid_request("Missing tool name in allowed tool.", param + ".name",
                                       "missing_required_parameter");
            }
            out.allowed.push_back(name);
        } else if (type == "tool_search") {
            out.allowed.emplace_back("tool_search");
        } else if (is_web_search(type)) {
            out.allows_web_search = true;
        } else {
            return unsupported("Allowed tool type '" + std::string(type) +
                                   "' is not supported: only function, custom, tool_search "
                                   "(client) and web_search tools can be offered to OCI "
                                   "Generative AI on this route.",
                               param + ".type");
        }
    }
    return std::nullopt;
}

// `tool_choice`: auto, none, required, `{type: function | custom, name}` (a custom tool is the
// function of its name), or allowed_tools.
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
        return parse_allowed_tools(tc, out);
    }
    return unsupported("'tool_choice' of type '" + std::string(type) +
                           "' is not supported: OCI Generative AI runs only function tools on "
                           "this route.",
                       "tool_choice.type");
}

}  // namespace ogp::transform::detail
