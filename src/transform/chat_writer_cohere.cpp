// COHERE (v1) ChatDetails (Command R family): a preamble, a chat history, the current
// message and trailing tool results; tools as flat parameter definitions.

#include <string>
#include <unordered_set>

#include "chat_writer.hpp"

namespace ogp::transform::detail {

namespace {

// Cohere v1 content is plain text (validation refused images).
std::string text_of(const chat_content& c)
{
    std::string out(c.text);
    for (const chat_part& p : c.parts) {
        if (p.type == chat_part::kind::text) {
            out.append(p.text);
        }
    }
    return out;
}

// One tool result `{call:{name, parameters}, outputs:[{output}]}`.
void write_result(json_writer& w, const chat_message& m)
{
    w.StartObject();
    w.Key("call");
    w.StartObject();
    w.Key("name");
    write_string(w, m.answers->name);
    w.Key("parameters");
    json::write_value(w, m.answers->parameters);
    w.EndObject();
    w.Key("outputs");
    w.StartArray();
    w.StartObject();
    w.Key("output");
    write_string(w, text_of(m.content));
    w.EndObject();
    w.EndArray();
    w.EndObject();
}

bool is_system(const chat_message& m)
{
    return m.role == chat_role::system || m.role == chat_role::developer;
}

void write_conversation(json_writer& w, const chat_request& req)
{
    const auto& msgs = req.messages;
    const std::size_t count = msgs.size();
    // Leading system/developer messages become the preamble.
    std::size_t first = 0;
    std::string preamble;
    for (; first < count && is_system(msgs[first]); ++first) {
        if (!preamble.empty()) {
            preamble.push_back('\n');
        }
        preamble += text_of(msgs[first].content);
    }
    // The tail: the last user turn, or the trailing tool results (validation checked that
    // the conversation ends with one of them).
    std::size_t tail = count - 1;
    const bool tail_is_tools = msgs[tail].role == chat_role::tool;
    while (tail_is_tools && tail > first && msgs[tail - 1].role == chat_role::tool) {
        --tail;
    }
    if (!preamble.empty()) {
        w.Key("preambleOverride");
        write_string(w, preamble);
    }
    // History: USER, CHATBOT (with tool calls), SYSTEM, TOOL (consecutive results merged).
    w.Key("chatHistory");
    w.StartArray();
    for (std::size_t i = first; i < tail; ++i) {
        const chat_message& m = msgs[i];
        if (m.role == chat_role::tool) {
            w.StartObject();
            w.Key("role");
            w.String("TOOL");
            w.Key("toolResults");
            w.StartArray();
            for (; i < tail && msgs[i].role == chat_role::tool; ++i) {
                write_result(w, msgs[i]);
            }
            --i;
            w.EndArray();
            w.EndObject();
            continue;
        }
        w.StartObject();
        w.Key("role");
        w.String(m.role == chat_role::user        ? "USER"
                 : m.role == chat_role::assistant ? "CHATBOT"
                                                  : "SYSTEM");
        w.Key("message");
        write_string(w, text_of(m.content));
        // v1 has no place for earlier reasoning (chat_message::reasoning): dropped.
        if (!m.tool_calls.empty()) {
            w.Key("toolCalls");
            w.StartArray();
            for (const auto& tc : m.tool_calls) {
                w.StartObject();
                w.Key("name");
                write_string(w, tc.name);
                w.Key("parameters");
                json::write_value(w, tc.parameters);
                w.EndObject();
            }
            w.EndArray();
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
        for (std::size_t i = tail; i < count; ++i) {
            write_result(w, msgs[i]);
        }
        w.EndArray();
    } else {
        write_string(w, text_of(msgs[tail].content));
    }
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

// Flat parameter definitions with Python type names; enums folded into the description.
void write_parameter_definitions(json_writer& w, const rapidjson::Value& schema)
{
    w.Key("parameterDefinitions");
    w.StartObject();
    const rapidjson::Value* props = get(schema, "properties");
    // `required` as a set: one lookup per property keeps this linear.
    std::unordered_set<std::string_view> required;
    if (const rapidjson::Value* r = get(schema, "required"); r != nullptr && r->IsArray()) {
        for (auto& name : r->GetArray()) {
            if (name.IsString()) {
                required.insert(sv(name));
            }
        }
    }
    if (props != nullptr && props->IsObject()) {
        for (auto it = props->MemberBegin(); it != props->MemberEnd(); ++it) {
            const rapidjson::Value& ps = it->value;
            std::string desc(get_string(ps, "description"));
            if (const rapidjson::Value* en = get(ps, "enum"); en != nullptr && en->IsArray()) {
                desc += desc.empty() ? "Allowed values: " : " Allowed values: ";
                desc += to_json(*en);
                desc += ".";
            }
            write_key(w, sv(it->name));
            w.StartObject();
            if (!desc.empty()) {
                w.Key("description");
                write_string(w, desc);
            }
            w.Key("type");
            write_string(w, python_type(get_string(ps, "type")));
            w.Key("isRequired");
            w.Bool(required.contains(sv(it->name)));
            w.EndObject();
        }
    }
    w.EndObject();
}

}  // namespace

void write_chat_cohere(json_writer& w, const chat_request& req, const config& cfg)
{
    write_conversation(w, req);
    // COHERE cannot force a call; `tool_choice: none` is honoured by offering no tools.
    if (req.has_function_tools && !req.tools_suppressed()) {
        write_function_tools(w, req, [&](const chat_tool& t) {
            w.Key("name");
            write_string(w, t.name);
            w.Key("description");
            write_string(w, t.description);
            write_parameter_definitions(w, t.schema);
        });
    }
    if (req.response_format) {
        write_response_format(w, *req.response_format, false);
    }
    write_generation(w, req, cfg, false);
}

}  // namespace ogp::transform::detail
