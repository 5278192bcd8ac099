#include <cstdio>

#include "ogp/transform/responses.hpp"
#include "response_util.hpp"
#include "responses_util.hpp"

// The Response object (`object: "response"`) of a non-streaming answer, and the pieces of it
// the stream writer shares. Field names follow the openai SDK's `Response` types; `output_text`
// is left out: the SDKs compute it from the output items.

namespace ogp::transform {

using detail::append_int;
using detail::append_json_string;

namespace detail {

std::string output_item_id(std::string_view response_id, output_kind kind, std::size_t index)
{
    std::string_view tail = response_id;
    if (tail.starts_with("resp_")) {
        tail.remove_prefix(5);
    }
    std::string id;
    switch (kind) {
        case output_kind::reasoning:
            id = "rs_";
            break;
        case output_kind::message:
            id = "msg_";
            break;
        case output_kind::function_call:
            id = "fc_";
            break;
        case output_kind::custom_tool_call:
            id = "ctc_";
            break;
        case output_kind::tool_search_call:
            id = "ts_";
            break;
    }
    id += tail;
    id += '_';
    append_int(id, static_cast<std::int64_t>(index));
    return id;
}

void append_url_citation_annotation(std::string& out, const answer_citation& a)
{
    out += "{\"type\":\"url_citation\",";
    append_url_citation_fields(out, a);
    out += "}";
}

void append_output_text_part(std::string& out, std::string_view text,
                             const std::vector<answer_citation>* citations)
{
    out += "{\"type\":\"output_text\",\"text\":";
    append_json_string(out, text);
    out += ",\"annotations\":[";
    if (citations != nullptr) {
        for (std::size_t k = 0; k < citations->size(); ++k) {
            out += k > 0 ? "," : "";
            append_url_citation_annotation(out, (*citations)[k]);
        }
    }
    out += "]}";
}

void append_string_or_null(std::string& out, std::string_view s)
{
    if (s.empty()) {
        out += "null";
    } else {
        append_json_string(out, s);
    }
}

void append_summary_part(std::string& out, std::string_view text)
{
    out += "{\"type\":\"summary_text\",\"text\":";
    append_json_string(out, text);
    out += "}";
}

// `type`, `status`, `call_id`, `name` and `namespace` (when grouped): what a function call and a
// custom tool call share.
static void append_call_members(std::string& out, std::string_view type,
                                const output_item_view& item)
{
    out += ",\"type\":";
    append_json_string(out, type);
    out += ",\"status\":";
    append_json_string(out, item.status);
    out += ",\"call_id\":";
    append_json_string(out, item.call_id);
    out += ",\"name\":";
    append_json_string(out, item.name);
    if (!item.ns.empty()) {
        out += ",\"namespace\":";
        append_json_string(out, item.ns);
    }
}

void append_output_item(std::string& out, const output_item_view& item)
{
    out += "{\"id\":";
    append_json_string(out, item.id);
    switch (item.kind) {
        case output_kind::reasoning:
            out += ",\"type\":\"reasoning\",\"status\":";
            append_json_string(out, item.status);
            out += ",\"summary\":[";
            if (item.has_part) {
                append_summary_part(out, item.text);
            }
            out += "]}";
            return;
        case output_kind::message:
            out += ",\"type\":\"message\",\"status\":";
            append_json_string(out, item.status);
            out += ",\"role\":\"assistant\",\"content\":[";
            if (item.has_part) {
                append_output_text_part(out, item.text, item.citations);
            }
            if (!item.refusal.empty()) {
                out += item.has_part ? ",{\"type\":\"refusal\",\"refusal\":"
                                     : "{\"type\":\"refusal\",\"refusal\":";
                append_json_string(out, item.refusal);
                out += "}";
            }
            out += "]}";
            return;
        case output_kind::function_call:
            append_call_members(out, "function_call", item);
            out += ",\"arguments\":";
            append_json_string(out, item.text);
            out += "}";
            return;
        case output_kind::custom_tool_call:
            append_call_members(out, "custom_tool_call", item);
            out += ",\"input\":";
            append_json_string(out, item.text);
            out += "}";
            return;
        case output_kind::tool_search_call:
            // `arguments` is the JSON value itself, not a string.
            out += ",\"type\":\"tool_search_call\",\"status\":";
            append_json_string(out, item.status);
            out += ",\"call_id\":";
            append_json_string(out, item.call_id);
            out += ",\"execution\":\"client\",\"arguments\":";
            append_tool_search_arguments(out, item.text);
            out += "}";
            return;
    }
}

void append_response_head(std::string& out, const responses_plan& plan,
                          std::string_view response_id, std::int64_t created_at,
                          const response_state& state)
{
    out += "{\"id\":";
    append_json_string(out, response_id);
    out += ",\"object\":\"response\",\"created_at\":";
    append_int(out, created_at);
    out += ",\"status\":";
    append_json_string(out, state.status);
    out += ",\"error\":";
    if (state.error != nullptr) {
        out += "{\"code\":";
        append_string_or_null(out, state.error->code);
        out += ",\"message\":";
        append_json_string(out, state.error->message);
        out += "}";
    } else {
        out += "null";
    }
    out += ",\"incomplete_details\":";
    if (!state.incomplete_reason.empty()) {
        out += "{\"reason\":";
        append_json_string(out, state.incomplete_reason);
        out += "}";
    } else {
        out += "null";
    }
    out += ",\"model\":";
    append_json_string(out, plan.chat.client_model);
    out += ",\"output\":[";
}

void append_response_tail(std::string& out, const responses_plan& plan, const token_usage* usage)
{
    out += "],\"usage\":";
    if (usage != nullptr && usage->present) {
        // Counts OCI did not report are 0: the SDK types make every field a number.
        out += "{\"input_tokens\":";
        append_int(out, usage->prompt_tokens);
        out += ",\"input_tokens_details\":{\"cached_tokens\":";
        append_int(out, usage->cached_tokens >= 0 ? usage->cached_tokens : 0);
        out += ",\"cache_write_tokens\":0},\"output_tokens\":";
        append_int(out, usage->completion_tokens);
        out += ",\"output_tokens_details\":{\"reasoning_tokens\":";
        append_int(out, usage->reasoning_tokens >= 0 ? usage->reasoning_tokens : 0);
        out += "},\"total_tokens\":";
        append_int(out, usage->total_tokens);
        out += "}";
    } else {
        out += "null";
    }
    out += plan.echo;
    out += "}";
}

std::string_view namespace_of(const responses_plan& plan, std::string_view name)
{
    for (const auto& [function, ns] : plan.tool_namespaces) {
        if (function == name) {
            return ns;
        }
    }
    return {};
}

response_state state_for_finish(std::string_view finish)
{
    if (finish == "length") {
        return {"incomplete", "max_output_tokens", nullptr};
    }
    if (finish == "content_filter") {
        return {"incomplete", "content_filter", nullptr};
    }
    return {"completed", {}, nullptr};
}

}  // namespace detail

std::string make_response_id(std::uint64_t random_hi, std::uint32_t random_lo)
{
    char buf[48];
    std::snprintf(buf, sizeof buf, "resp_%016llx%08x", static_cast<unsigned long long>(random_hi),
                  static_cast<unsigned>(random_lo));
    return buf;
}

std::string write_response(const chat_answer& answer, const responses_plan& plan,
                           std::string_view response_id, std::int64_t created_at)
{
    using detail::output_item_view;
    using detail::output_kind;
    // One choice on this route; an answer without any is an empty completed Response.
    static const answer_choice no_choice{};
    const answer_choice& c = answer.choices.empty() ? no_choice : answer.choices.front();
    detail::response_state state = detail::state_for_finish(c.finish);

    // Items in a fixed order: reasoning, message, function calls.
    std::vector<output_item_view> items;
    std::vector<std::string> ids;
    items.reserve(2 + c.tool_calls.size());
    if (!c.reasoning.empty()) {
        output_item_view v;
        v.kind = output_kind::reasoning;
        v.text = c.reasoning;
        v.has_part = true;
        items.push_back(v);
    }
    // Empty content beside anything else is no text (as a stream, which opens no message for
    // empty text); alone it is the answer "".
    bool text_part =
        c.has_text &&
        (!c.text.empty() || (c.reasoning.empty() && c.tool_calls.empty() && c.refusal.empty()));
    if (text_part || !c.refusal.empty()) {
        output_item_view v;
        v.kind = output_kind::message;
        v.text = c.text;
        v.has_part = text_part;
        v.refusal = c.refusal;
        v.citations = &c.citations;
        items.push_back(v);
    }
    // A custom tool's `input`, decoded from its function's arguments (stable storage).
    std::vector<std::string> inputs;
    inputs.reserve(c.tool_calls.size());
    for (const answer_tool_call& t : c.tool_calls) {
        output_item_view v;
        v.kind = detail::call_kind(plan, t.name);
        v.text = t.arguments;
        if (v.kind == output_kind::custom_tool_call) {
            inputs.push_back(detail::custom_tool_input(t.arguments));
            v.text = inputs.back();
        }
        v.call_id = t.id;
        v.name = t.name;
        if (v.kind != output_kind::tool_search_call) {
            v.ns = detail::namespace_of(plan, t.name);
        }
        items.push_back(v);
    }
    ids.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        ids.push_back(detail::output_item_id(response_id, items[i].kind, i));
        items[i].id = ids.back();
        // The item being written when the answer was cut is the incomplete one.
        bool cut = state.status == "incomplete" && i + 1 == items.size();
        items[i].status = cut ? "incomplete" : "completed";
    }

    std::string out;
    out.reserve(512 + plan.echo.size() + c.text.size() + c.reasoning.size());
    detail::append_response_head(out, plan, response_id, created_at, state);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        detail::append_output_item(out, items[i]);
    }
    detail::append_response_tail(out, plan, answer.usage.present ? &answer.usage : nullptr);
    return out;
}

result<std::string> responses_answer_to_openai(std::string_view oci_body,
                                               const responses_plan& plan,
                                               std::string_view response_id, std::int64_t now_unix)
{
    auto answer = parse_chat_answer(oci_body, plan.chat, response_id, now_unix);
    if (!answer) {
        return answer.error();
    }
    return write_response(answer.value(), plan, response_id, now_unix);
}

}  // namespace ogp::transform
