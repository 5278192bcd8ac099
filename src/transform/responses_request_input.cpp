// The Responses `input` as chat messages: message items, function calls and their outputs
// (custom tool calls and client tool search calls too: those of the functions that stand for
// them), and reasoning items sent back. The views point into the request's document, like the chat
// parser's. Consecutive reasoning, assistant message and function_call items become ONE
// assistant message with several tool calls, which is what OCI wants before the results.

#include <charconv>
#include <cstring>
#include <string>

#include "json_util.hpp"
#include "responses_internal.hpp"

namespace ogp::transform::detail {

namespace {

using rapidjson::Value;

constexpr std::size_t none = message_source::no_item;

std::string at(std::string_view base, std::size_t i, std::string_view suffix = {})
{
    std::string s = idx(base, i);
    s += suffix;
    return s;
}

api_error no_files_api(std::string param, std::string_view what)
{
    return invalid_request(std::string(what) +
                               " refers to the Files API, which this proxy does not have; send "
                               "the content inline (a URL or a data URL).",
                           std::move(param), "unsupported_parameter");
}

// `input_image`: `image_url` (a URL or a data URL) and `detail`.
error_opt parse_image(const Value& part, const std::string& param, chat_part& p)
{
    if (get(part, "file_id") != nullptr) {
        return no_files_api(param + ".file_id", "An image 'file_id'");
    }
    p.type = chat_part::kind::image_url;
    if (const Value* u = get(part, "image_url"); u != nullptr) {
        if (!u->IsString()) {
            return bad_type(param + ".image_url", "a string");
        }
        p.url = sv(*u);  // empty: refused by validation (Missing image URL)
    }
    if (const Value* d = get(part, "detail"); d != nullptr) {
        if (!d->IsString()) {
            return bad_type(param + ".detail", "a string");
        }
        // `original` (full resolution) is OCI's HIGH; the others are spelled alike.
        p.detail = sv(*d) == "original" ? std::string_view("high") : sv(*d);
    }
    return std::nullopt;
}

// `input_file`: only inline data (`file_data`, a data URL) can reach OCI.
error_opt parse_file(const Value& part, const std::string& param, chat_part& p)
{
    if (get(part, "file_id") != nullptr) {
        return no_files_api(param + ".file_id", "A file 'file_id'");
    }
    if (get(part, "file_url") != nullptr) {
        return invalid_request(
            "'file_url' is not supported: OCI Generative AI takes documents "
            "inline; send 'file_data' as a data URL.",
            param + ".file_url", "unsupported_parameter");
    }
    const Value* data = get(part, "file_data");
    if (data == nullptr) {
        return invalid_request("Missing 'file_data'.", param + ".file_data",
                               "missing_required_parameter");
    }
    if (!data->IsString()) {
        return bad_type(param + ".file_data", "a string");
    }
    if (!sv(*data).starts_with("data:")) {
        return invalid_request(
            "Invalid 'file_data': expected a data URL (data:<media type>;base64,<data>).",
            param + ".file_data", "invalid_value");
    }
    p.type = chat_part::kind::file;
    p.url = sv(*data);
    p.filename = get_string(part, "filename");
    return std::nullopt;
}

// A list of content parts (message `content`, function_call_output `output`), one chat_part
// per entry so that validation's indices are the request's. Where each kind may appear is
// validation's business (images and files only in user turns), except refusals.
error_opt parse_parts(const Value& list, const std::string& base, bool assistant, chat_content& out)
{
    out.type = chat_content::kind::parts;
    out.parts.reserve(list.Size());
    for (rapidjson::SizeType j = 0; j < list.Size(); ++j) {
        const Value& part = list[j];
        const std::string param = idx(base, j);
        if (!part.IsObject()) {
            return bad_type(param, "a content part object");
        }
        chat_part p;
        const std::string_view type = get_string(part, "type");
        if (type == "input_text" || type == "output_text") {
            // Either spelling in any role: a text is a text.
            const Value* t = get(part, "text");
            if (t == nullptr || !t->IsString()) {
                return bad_type(param + ".text", "a string");
            }
            p.type = chat_part::kind::text;
            p.text = sv(*t);
        } else if (type == "refusal" && assistant) {
            // The model's own words: GENERIC's assistant `refusal`, not content.
            p.type = chat_part::kind::refusal;
            p.text = get_string(part, "refusal");
        } else if (type == "input_image") {
            if (auto e = parse_image(part, param, p)) {
                return e;
            }
        } else if (type == "input_file") {
            if (auto e = parse_file(part, param, p)) {
                return e;
            }
        } else if (type == "input_audio") {
            // ResponseInputAudio `{input_audio: {data, format}}`, as chat's: GENERIC AUDIO.
            if (auto e = parse_input_audio(part, param, p)) {
                return e;
            }
        } else {
            return invalid_request("Content part type '" + std::string(type) +
                                       "' is not supported by OCI Generative AI here.",
                                   param + ".type", "unsupported_content_type");
        }
        out.parts.push_back(p);
    }
    return std::nullopt;
}

// Message content: a string or a list of parts; required.
error_opt parse_message_content(const Value* c, const std::string& base, bool assistant,
                                chat_content& out)
{
    if (c == nullptr) {
        return invalid_request("Missing 'content' in message.", base, "missing_required_parameter");
    }
    if (c->IsString()) {
        out.type = chat_content::kind::text;
        out.text = sv(*c);
        return std::nullopt;
    }
    if (!c->IsArray()) {
        return bad_type(base, "a string or an array of content parts");
    }
    return parse_parts(*c, base, assistant, out);
}

chat_role role_of(std::string_view r)
{
    if (r == "user")
        return chat_role::user;
    if (r == "system")
        return chat_role::system;
    if (r == "developer")
        return chat_role::developer;
    if (r == "assistant")
        return chat_role::assistant;
    return chat_role::other;
}

// The reasoning text of a `reasoning` item: its summary, else its reasoning_text content
// (encrypted_content is ignored: this proxy never hands any out, and OCI could not read
// another's).
error_opt reasoning_text(const Value& item, std::size_t k, std::string& out)
{
    for (const char* key : {"summary", "content"}) {
        const Value* list = get(item, key);
        if (list == nullptr) {
            continue;
        }
        if (!list->IsArray()) {
            return bad_type(at("input", k, ".") + key, "an array");
        }
        std::string text;
        for (rapidjson::SizeType j = 0; j < list->Size(); ++j) {
            const Value* t = get((*list)[j], "text");
            if (t == nullptr || !t->IsString()) {
                return bad_type(idx(at("input", k, ".") + key, j) + ".text", "a string");
            }
            if (!text.empty() && t->GetStringLength() > 0) {
                text += "\n\n";
            }
            text.append(t->GetString(), t->GetStringLength());
        }
        if (!text.empty()) {
            out = std::move(text);
            return std::nullopt;
        }
    }
    return std::nullopt;
}

// Item types of built-in tools and stored state: named in the refusal.
bool is_builtin_item(std::string_view t)
{
    static constexpr std::string_view known[] = {
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "code_interpreter_call",
        "image_generation_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "compaction",
        "compaction_trigger",
        "additional_tools",
        "program",
        "program_output",
    };
    for (auto k : known) {
        if (t == k) {
            return true;
        }
    }
    return false;
}

// Builds the messages item by item. `open` is the assistant message that a following
// assistant message or function_call joins; `reasoning` waits for the next assistant turn.
class input_builder
{
public:
    input_builder(chat_request& req, std::vector<message_source>& sources,
                  std::vector<loaded_tools>& loaded)
        : req_(req), sources_(sources), loaded_(loaded)
    {
    }

    error_opt item(const Value& item, std::size_t k)
    {
        if (!item.IsObject()) {
            return bad_type(idx("input", k), "an input item object");
        }
        const Value* type = get(item, "type");
        if (type != nullptr && !type->IsString()) {
            return bad_type(at("input", k, ".type"), "a string");
        }
        std::string_view t = type != nullptr ? sv(*type) : std::string_view{};
        if (t.empty()) {
            // EasyInputMessage has no type; an item reference may have none either.
            t = get(item, "role") != nullptr ? "message"
                : get(item, "id") != nullptr ? "item_reference"
                                             : "";
        }
        if (t == "message") {
            return message(item, k);
        }
        if (t == "function_call") {
            return function_call(item, k);
        }
        if (t == "function_call_output" || t == "custom_tool_call_output") {
            return function_call_output(item, k, t);
        }
        if (t == "custom_tool_call") {
            return custom_tool_call(item, k);
        }
        if (t == "tool_search_call") {
            return tool_search_call(item, k);
        }
        if (t == "tool_search_output") {
            return tool_search_output(item, k);
        }
        if (t == "reasoning") {
            std::string text;
            if (auto e = reasoning_text(item, k, text)) {
                return e;
            }
            if (!text.empty()) {
                if (!reasoning_.empty()) {
                    reasoning_ += "\n\n";
                }
                reasoning_ += text;
            }
            if (reasoning_first_ == none) {
                reasoning_first_ = k;
            }
            return std::nullopt;
        }
        if (t == "web_search_call") {
            // The record of a search OCI ran: nothing the model needs again. Dropped.
            return std::nullopt;
        }
        if (t == "item_reference") {
            return invalid_request(
                "Item references are not supported: this model's route keeps no state; send "
                "the whole item (clients that reference earlier output when they store "
                "responses, such as the Vercel AI SDK, send it with store: false).",
                idx("input", k), "unsupported_parameter");
        }
        if (t.empty()) {
            return invalid_request("Missing 'type' in input item.", at("input", k, ".type"),
                                   "missing_required_parameter");
        }
        if (is_builtin_item(t)) {
            return invalid_request("Input items of type '" + std::string(t) +
                                       "' are not supported: OCI Generative AI runs only "
                                       "function tools on this route.",
                                   at("input", k, ".type"), "unsupported_parameter");
        }
        return invalid_request("Invalid input item type '" + std::string(t) + "'.",
                               at("input", k, ".type"), "invalid_value");
    }

    // A reasoning item not followed by an assistant turn has nothing to join: dropped.
    void finish() { close(); }

private:
    // A turn other than the assistant's: nothing joins the open assistant message any more.
    void close()
    {
        open_ = none;
        reasoning_.clear();
        reasoning_first_ = none;
    }

    // The open assistant message, or a new one; the waiting reasoning joins it.
    chat_message& assistant(std::size_t k)
    {
        if (open_ == none) {
            open_ = req_.messages.size();
            chat_message& m = req_.messages.emplace_back();
            m.role = chat_role::assistant;
            m.role_name = "assistant";
            message_source& s = sources_.emplace_back();
            s.type = message_source::kind::assistant;
            s.first = reasoning_first_ != none ? reasoning_first_ : k;
        }
        chat_message& m = req_.messages[open_];
        if (!reasoning_.empty()) {
            if (!m.reasoning.empty()) {
                m.reasoning += "\n\n";
            }
            m.reasoning += reasoning_;
        }
        reasoning_.clear();
        reasoning_first_ = none;
        return m;
    }

    error_opt message(const Value& item, std::size_t k)
    {
        const Value* role = get(item, "role");
        if (role == nullptr) {
            return invalid_request("Missing 'role' in message.", at("input", k, ".role"),
                                   "missing_required_parameter");
        }
        const std::string_view name = role->IsString() ? sv(*role) : std::string_view{};
        const chat_role r = role_of(name);
        if (r == chat_role::other) {
            return invalid_request("Invalid role '" + std::string(name) +
                                       "': expected user, system, developer or assistant.",
                                   at("input", k, ".role"), "invalid_value");
        }
        chat_content content;
        if (auto e = parse_message_content(get(item, "content"), at("input", k, ".content"),
                                           r == chat_role::assistant, content)) {
            return e;
        }
        if (r == chat_role::assistant) {
            // Joins the open assistant turn unless that already has text.
            if (open_ != none && !req_.messages[open_].content.empty()) {
                close_keeping_reasoning();
            }
            chat_message& m = assistant(k);
            m.content = std::move(content);
            sources_[open_].item = k;
            return std::nullopt;
        }
        close();
        chat_message& m = req_.messages.emplace_back();
        m.role = r;
        m.role_name = name;
        m.content = std::move(content);
        message_source& s = sources_.emplace_back();
        s.type = message_source::kind::message;
        s.item = k;
        return std::nullopt;
    }

    error_opt function_call(const Value& item, std::size_t k)
    {
        const Value* call_id = get(item, "call_id");
        if (call_id == nullptr || !call_id->IsString() || call_id->GetStringLength() == 0) {
            return invalid_request("Missing 'call_id' in function_call.",
                                   at("input", k, ".call_id"), "missing_required_parameter");
        }
        const std::string_view name = get_string(item, "name");
        if (name.empty()) {
            return invalid_request("Missing 'name' in function_call.", at("input", k, ".name"),
                                   "missing_required_parameter");
        }
        chat_tool_call tc;
        tc.id = sv(*call_id);
        tc.name = name;
        // `arguments` is a JSON string; an object is tolerated and serialised (as chat does).
        const Value* args = get(item, "arguments");
        if (args == nullptr) {
            tc.arguments = "{}";
        } else if (args->IsString()) {
            tc.arguments.assign(args->GetString(), args->GetStringLength());
        } else if (args->IsObject()) {
            tc.arguments = to_json(*args);
        } else {
            return bad_type(at("input", k, ".arguments"), "a JSON string");
        }
        add_call(k, std::move(tc));
        return std::nullopt;
    }

    // The call id of a call or output item `type`; a 400 when missing.
    static error_opt call_id_of(const Value& item, std::size_t k, std::string_view type,
                                std::string_view& out)
    {
        const Value* call_id = get(item, "call_id");
        if (call_id == nullptr || !call_id->IsString() || call_id->GetStringLength() == 0) {
            return invalid_request("Missing 'call_id' in " + std::string(type) + ".",
                                   at("input", k, ".call_id"), "missing_required_parameter");
        }
        out = sv(*call_id);
        return std::nullopt;
    }

    // An assistant tool call (joining the open assistant message) made by item `k`.
    void add_call(std::size_t k, chat_tool_call tc)
    {
        chat_message& m = assistant(k);
        m.tool_calls.push_back(std::move(tc));
        sources_[open_].calls.push_back(k);
    }

    // A tool message answering `call_id` (the output item `k`).
    void add_tool_message(std::size_t k, std::string_view call_id, chat_content content)
    {
        close();
        chat_message& m = req_.messages.emplace_back();
        m.role = chat_role::tool;
        m.role_name = "tool";
        m.tool_call_id = call_id;
        m.content = std::move(content);
        message_source& s = sources_.emplace_back();
        s.type = message_source::kind::tool_output;
        s.item = k;
    }

    // A custom tool's call: its function's call with the arguments `{"input": <input>}`.
    error_opt custom_tool_call(const Value& item, std::size_t k)
    {
        chat_tool_call tc;
        if (auto e = call_id_of(item, k, "custom_tool_call", tc.id)) {
            return e;
        }
        tc.name = get_string(item, "name");
        if (tc.name.empty()) {
            return invalid_request("Missing 'name' in custom_tool_call.", at("input", k, ".name"),
                                   "missing_required_parameter");
        }
        const Value* input = get(item, "input");
        if (input == nullptr) {
            return invalid_request("Missing 'input' in custom_tool_call.", at("input", k, ".input"),
                                   "missing_required_parameter");
        }
        if (!input->IsString()) {
            return bad_type(at("input", k, ".input"), "a string");
        }
        tc.arguments = "{\"input\":";
        append_json_string(tc.arguments, sv(*input));
        tc.arguments += '}';
        add_call(k, std::move(tc));
        return std::nullopt;
    }

    // Server-side tool search is refused with the tool (plan_responses), and so are its items.
    static error_opt client_execution(const Value& item, std::size_t k, std::string_view type)
    {
        const Value* e = get(item, "execution");
        if (e == nullptr || (e->IsString() && sv(*e) == "client")) {
            return std::nullopt;
        }
        if (e->IsString() && sv(*e) == "server") {
            return invalid_request(std::string(type) +
                                       " items of a server-executed tool search are not "
                                       "supported: OCI Generative AI cannot run tool search; "
                                       "only execution: client works on this route.",
                                   at("input", k, ".execution"), "unsupported_parameter");
        }
        return invalid_request("Invalid 'execution': expected client or server.",
                               at("input", k, ".execution"), "invalid_value");
    }

    // A client-executed tool search call: the function `tool_search` called with its
    // arguments (a JSON value; a string is taken as the argument text).
    error_opt tool_search_call(const Value& item, std::size_t k)
    {
        if (auto e = client_execution(item, k, "tool_search_call")) {
            return e;
        }
        chat_tool_call tc;
        if (auto e = call_id_of(item, k, "tool_search_call", tc.id)) {
            return e;
        }
        tc.name = "tool_search";
        const Value* args = get(item, "arguments");
        if (args == nullptr) {
            tc.arguments = "{}";
        } else if (args->IsString()) {
            tc.arguments.assign(args->GetString(), args->GetStringLength());
        } else {
            tc.arguments = to_json(*args);
        }
        add_call(k, std::move(tc));
        return std::nullopt;
    }

    // What a client's tool search loaded: a tool message naming the tools, which are offered
    // to OCI with the request's own (plan_responses, from `loaded_`).
    error_opt tool_search_output(const Value& item, std::size_t k)
    {
        if (auto e = client_execution(item, k, "tool_search_output")) {
            return e;
        }
        std::string_view call_id;
        if (auto e = call_id_of(item, k, "tool_search_output", call_id)) {
            return e;
        }
        const Value* tools = get(item, "tools");
        if (tools == nullptr || !tools->IsArray()) {
            return bad_type(at("input", k, ".tools"), "an array of tools");
        }
        loaded_.push_back({k, tools});
        // The names, as OCI will see them (a namespace's functions under their own names).
        std::string text;
        auto add_name = [&](const Value& t) {
            const std::string_view name = get_string(t, "name");
            if (!name.empty()) {
                text +=
                    text.empty() ? "Tools loaded by the search, now offered as functions: " : ", ";
                text += name;
            }
        };
        for (const Value& t : tools->GetArray()) {
            if (get_string(t, "type") == "namespace") {
                if (const Value* inner = get(t, "tools"); inner != nullptr && inner->IsArray()) {
                    for (const Value& f : inner->GetArray()) {
                        add_name(f);
                    }
                }
            } else {
                add_name(t);
            }
        }
        text += text.empty() ? "The tool search found no tools." : ".";
        chat_content content;
        content.type = chat_content::kind::text;
        content.text = keep_text(req_, text);
        add_tool_message(k, call_id, std::move(content));
        return std::nullopt;
    }

    error_opt function_call_output(const Value& item, std::size_t k, std::string_view type)
    {
        std::string_view call_id;
        if (auto e = call_id_of(item, k, type, call_id)) {
            return e;
        }
        chat_content content;
        const Value* output = get(item, "output");
        const std::string param = at("input", k, ".output");
        if (output == nullptr) {
            return invalid_request("Missing 'output' in " + std::string(type) + ".", param,
                                   "missing_required_parameter");
        }
        if (output->IsString()) {
            content.type = chat_content::kind::text;
            content.text = sv(*output);
        } else if (output->IsArray()) {
            if (auto e = parse_parts(*output, param, false, content)) {
                return e;
            }
        } else {
            return bad_type(param, "a string or an array of content parts");
        }
        add_tool_message(k, call_id, std::move(content));
        return std::nullopt;
    }

    // A second assistant text starts a new assistant turn; reasoning waiting for it stays.
    void close_keeping_reasoning() { open_ = none; }

    chat_request& req_;
    std::vector<message_source>& sources_;
    std::vector<loaded_tools>& loaded_;
    std::size_t open_ = none;  // index in req_.messages
    std::string reasoning_;
    std::size_t reasoning_first_ = none;
};

// `[digits]` at the start of `s`: the index, and `s` advanced past it.
bool take_index(std::string_view& s, std::size_t& out)
{
    if (!s.starts_with('[')) {
        return false;
    }
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos) {
        return false;
    }
    auto [end, ec] = std::from_chars(s.data() + 1, s.data() + close, out);
    if (ec != std::errc{} || end != s.data() + close) {
        return false;
    }
    s.remove_prefix(close + 1);
    return true;
}

// A content part path `[j].sub`: chat's image `{url, detail}` object is flat in Responses.
std::string part_suffix(std::string_view rest)
{
    std::size_t j = 0;
    std::string_view sub = rest;
    if (!take_index(sub, j)) {
        return std::string(rest);
    }
    std::string out = idx("", j);
    if (sub == ".image_url.url") {
        sub = ".image_url";
    } else if (sub == ".image_url.detail") {
        sub = ".detail";
    }
    out += sub;
    return out;
}

std::string message_param(const message_source& s, std::string_view rest)
{
    using k = message_source::kind;
    switch (s.type) {
        case k::instructions:
            return "instructions";
        case k::input_string:
            return "input";
        case k::message:
            if (rest.starts_with(".content")) {
                return at("input", s.item, ".content") + part_suffix(rest.substr(8));
            }
            return at("input", s.item, rest.starts_with(".role") ? ".role" : "");
        case k::tool_output:
            if (rest.starts_with(".content")) {
                return at("input", s.item, ".output") + part_suffix(rest.substr(8));
            }
            return at("input", s.item, rest.starts_with(".tool_call_id") ? ".call_id" : "");
        case k::assistant:
            break;
    }
    if (rest.starts_with(".tool_calls")) {
        std::string_view sub = rest.substr(11);
        std::size_t j = 0;
        if (take_index(sub, j) && j < s.calls.size()) {
            if (sub.starts_with(".function")) {
                sub.remove_prefix(9);  // `.function.arguments` → `.arguments`
            }
            return at("input", s.calls[j], sub);
        }
        return idx("input", s.calls.empty() ? s.first : s.calls.front());
    }
    if (rest.starts_with(".content") && s.item != none) {
        return at("input", s.item, ".content") + part_suffix(rest.substr(8));
    }
    return idx("input", s.first);
}

}  // namespace

std::string_view keep_text(chat_request& req, std::string_view s)
{
    if (s.empty()) {
        return {};
    }
    // The document's pool frees nothing before the document goes: the view stays valid.
    char* p = static_cast<char*>(req.doc->GetAllocator().Malloc(s.size()));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
}

error_opt parse_responses_input(const rapidjson::Value& input, std::size_t max_items,
                                chat_request& req, std::vector<message_source>& sources,
                                std::vector<loaded_tools>& loaded)
{
    if (input.IsString()) {
        chat_message& m = req.messages.emplace_back();
        m.role = chat_role::user;
        m.role_name = "user";
        m.content.type = chat_content::kind::text;
        m.content.text = sv(input);
        sources.emplace_back().type = message_source::kind::input_string;
        return std::nullopt;
    }
    if (!input.IsArray()) {
        return bad_type("input", "a string or an array of input items");
    }
    if (input.Size() > max_items) {
        return invalid_request("'input' has " + std::to_string(input.Size()) +
                                   " items; this proxy accepts at most " +
                                   std::to_string(max_items) + ".",
                               "input", "array_above_max_length");
    }
    req.messages.reserve(req.messages.size() + input.Size());
    input_builder b(req, sources, loaded);
    for (rapidjson::SizeType k = 0; k < input.Size(); ++k) {
        if (auto e = b.item(input[k], k)) {
            return e;
        }
    }
    b.finish();
    return std::nullopt;
}

std::string responses_param(std::string_view p, const std::vector<message_source>& sources,
                            const std::vector<std::string>& tool_paths,
                            std::string_view web_search_path)
{
    if (p == "messages") {
        return "input";
    }
    if (p.starts_with("messages[")) {
        std::string_view rest = p.substr(8);
        std::size_t i = 0;
        if (!take_index(rest, i) || i >= sources.size()) {
            return "input";
        }
        return message_param(sources[i], rest);
    }
    if (p.starts_with("tools[")) {
        // Function tools are flat: `tools[i].function.parameters` → `tools[i].parameters`.
        std::string_view rest = p.substr(5);
        std::size_t i = 0;
        if (take_index(rest, i) && i < tool_paths.size()) {
            if (rest.starts_with(".function")) {
                rest.remove_prefix(9);
            }
            return tool_paths[i] + std::string(rest);
        }
        return "tools";
    }
    if (p.starts_with("response_format")) {
        std::string_view rest = p.substr(15);
        if (rest.starts_with(".json_schema")) {
            rest.remove_prefix(12);
        }
        return "text.format" + std::string(rest);
    }
    if (p == "reasoning_effort") {
        return "reasoning.effort";
    }
    if (p == "verbosity") {
        return "text.verbosity";
    }
    if (p == "max_tokens" || p == "max_completion_tokens") {
        return "max_output_tokens";
    }
    if (p == "web_search_options") {
        return std::string(web_search_path);
    }
    if (p.starts_with("tool_choice.allowed_tools.")) {
        // Flat in Responses: `tool_choice.allowed_tools.tools[j].function.name` →
        // `tool_choice.tools[j].name`.
        std::string out = "tool_choice." + std::string(p.substr(26));
        if (const auto at = out.find(".function."); at != std::string::npos) {
            out.erase(at, 9);
        }
        return out;
    }
    return std::string(p);
}

}  // namespace ogp::transform::detail
