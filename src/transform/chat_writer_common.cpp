// The parts of ChatDetails every format writes the same way.

#include "chat_writer.hpp"
#include "model_family.hpp"

#include <algorithm>
#include <type_traits>

namespace ogp::transform::detail {

namespace {

template <class T>
void put_optional(json_writer& w, const char* key, const std::optional<T>& v)
{
    if (!v) {
        return;
    }
    w.Key(key);
    if constexpr (std::is_same_v<T, double>) {
        w.Double(*v);
    } else {
        w.Int64(*v);
    }
}

// `type: FUNCTION` and the members `fields` writes, which COHEREV2 (`generic` false) nests in
// a `function` object.
template <class Fields>
void write_function(json_writer& w, bool generic, Fields&& fields)
{
    w.Key("type");
    w.String("FUNCTION");
    if (!generic) {
        w.Key("function");
        w.StartObject();
    }
    fields();
    if (!generic) {
        w.EndObject();
    }
}

void write_tool_calls(json_writer& w, const chat_message& m, bool generic)
{
    w.Key("toolCalls");
    w.StartArray();
    for (const auto& tc : m.tool_calls) {
        w.StartObject();
        if (!tc.id.empty()) {
            w.Key("id");
            write_string(w, tc.id);
        }
        write_function(w, generic, [&] {
            w.Key("name");
            write_string(w, tc.name);
            w.Key("arguments");
            write_string(w, tc.arguments);
        });
        w.EndObject();
    }
    w.EndArray();
}

const char* role_name(chat_role r, bool generic)
{
    switch (r) {
        case chat_role::system:
            return "SYSTEM";
        case chat_role::developer:
            return generic ? "DEVELOPER" : "SYSTEM";
        case chat_role::user:
            return "USER";
        case chat_role::assistant:
            return "ASSISTANT";
        case chat_role::tool:
        case chat_role::other:  // refused by validation
            break;
    }
    return "TOOL";
}

}  // namespace

void begin_chat_details(json_writer& w, const resolved_model& m)
{
    w.StartObject();
    w.Key("compartmentId");
    write_string(w, m.compartment_id);
    write_serving_mode(w, m.dedicated, m.serving_id());
    w.Key("chatRequest");
    w.StartObject();
    w.Key("apiFormat");
    write_string(w, to_string(m.format));
}

void write_parts(json_writer& w, const chat_content& c, const char* image_type)
{
    auto text = [&](std::string_view t) {
        w.StartObject();
        w.Key("type");
        w.String("TEXT");
        w.Key("text");
        write_string(w, t);
        w.EndObject();
    };
    w.StartArray();
    if (c.type == chat_content::kind::text) {
        text(c.text);
    }
    for (const chat_part& p : c.parts) {
        if (p.type == chat_part::kind::text) {
            text(p.text);
        } else if (p.type == chat_part::kind::image_url) {
            w.StartObject();
            w.Key("type");
            w.String(image_type);
            w.Key("imageUrl");
            w.StartObject();
            w.Key("url");
            write_string(w, p.url);
            // OCI: "the default value is AUTO and only AUTO is supported"; a low or high
            // detail the client asks for would be refused, so any detail goes as AUTO.
            if (!p.detail.empty()) {
                w.Key("detail");
                w.String("AUTO");
            }
            w.EndObject();
            w.EndObject();
        } else if (p.type == chat_part::kind::file) {
            // GENERIC only (validation): a document by data URL.
            w.StartObject();
            w.Key("type");
            w.String("DOCUMENT");
            w.Key("documentUrl");
            w.StartObject();
            w.Key("url");
            write_string(w, p.url);
            w.EndObject();
            w.EndObject();
        } else if (p.type == chat_part::kind::audio) {
            // GENERIC only (validation): base64 audio as a data URL.
            w.StartObject();
            w.Key("type");
            w.String("AUDIO");
            w.Key("audioUrl");
            w.StartObject();
            w.Key("url");
            std::string url = "data:";
            url.reserve(url.size() + p.media_type.size() + 8 + p.data.size());
            url += p.media_type;
            url += ";base64,";
            url += p.data;
            write_string(w, url);
            w.EndObject();
            w.EndObject();
        }
        // Refusal parts are not content: the assistant's `refusal` (write_messages).
    }
    w.EndArray();
}

void write_messages(json_writer& w, const chat_request& req, bool generic)
{
    const char* image_type = generic ? "IMAGE" : "IMAGE_URL";
    w.Key("messages");
    w.StartArray();
    for (const chat_message& m : req.messages) {
        w.StartObject();
        w.Key("role");
        w.String(role_name(m.role, generic));
        if (m.role == chat_role::tool || m.role == chat_role::other) {
            w.Key("toolCallId");
            write_string(w, m.tool_call_id);
        }
        if (m.role != chat_role::assistant) {
            w.Key("content");
            write_parts(w, m.content, image_type);
        } else {
            // Text (GENERIC: null beside tool calls) plus the tool calls.
            if (!m.content.empty()) {
                w.Key("content");
                write_parts(w, m.content, image_type);
            } else if (generic) {
                w.Key("content");
                w.Null();
            }
            if (!m.tool_calls.empty()) {
                write_tool_calls(w, m, generic);
            }
            // Earlier reasoning sent back (chat reasoning_content, Responses reasoning items):
            // GENERIC has a field for it; COHEREV2
            // would need a THINKING part the models are not documented to take back, so drops it.
            if (generic && !m.reasoning.empty()) {
                w.Key("reasoningContent");
                write_string(w, m.reasoning);
            }
            // A refusal it gave (the field, else a refusal part): GENERIC has a field for it.
            std::string_view refusal = m.refusal;
            for (const chat_part& p : m.content.parts) {
                if (refusal.empty() && p.type == chat_part::kind::refusal) {
                    refusal = p.text;
                }
            }
            if (generic && !refusal.empty()) {
                w.Key("refusal");
                write_string(w, refusal);
            }
        }
        if (generic && !m.name.empty() && m.role != chat_role::tool) {
            w.Key("name");
            write_string(w, m.name);
        }
        w.EndObject();
    }
    w.EndArray();
}

void write_function_tool(json_writer& w, const chat_tool& t, bool generic)
{
    write_function(w, generic, [&] {
        w.Key("name");
        write_string(w, t.name);
        w.Key("description");
        write_string(w, t.description);
        w.Key("parameters");
        json::write_value(w, t.schema);
    });
}

void write_response_format(json_writer& w, const chat_response_format& rf, bool generic)
{
    using k = chat_response_format::kind;
    w.Key("responseFormat");
    w.StartObject();
    w.Key("type");
    if (rf.type == k::text) {
        w.String("TEXT");
    } else if (rf.type == k::json_object || !generic) {
        w.String("JSON_OBJECT");
        if (rf.schema != nullptr) {
            w.Key("schema");
            json::write_value(w, rf.cleaned);
        }
    } else {
        w.String("JSON_SCHEMA");
        w.Key("jsonSchema");
        w.StartObject();
        w.Key("name");
        write_string(w, rf.name.empty() ? std::string_view("response") : rf.name);
        if (!rf.description.empty()) {
            w.Key("description");
            write_string(w, rf.description);
        }
        if (rf.schema != nullptr) {
            w.Key("schema");
            json::write_value(w, rf.cleaned);
        }
        if (rf.strict) {
            w.Key("isStrict");
            w.Bool(*rf.strict);
        }
        w.EndObject();
    }
    w.EndObject();
}

void write_generation(json_writer& w, const chat_request& req, const config& cfg, bool generic)
{
    // Always ask OCI for usage when streaming, so the daemon can meter tokens.
    if (req.stream) {
        w.Key("isStream");
        w.Bool(true);
        w.Key("streamOptions");
        w.StartObject();
        w.Key("isIncludeUsage");
        w.Bool(true);
        w.EndObject();
    }
    // Length: always sent (OCI's own default truncates); the family decides its key.
    const output_length len = plan_output_length(req, cfg);
    w.Key(generic && len.completion_key ? "maxCompletionTokens" : "maxTokens");
    w.Int64(len.max_tokens);
    // Sampling: the client's value, else the configured default; nothing when neither is
    // given (the model's own default applies). OpenAI reasoning models take no configured
    // defaults; a configured 0 for top_k or a penalty means "off" and is not sent.
    const auto& d = cfg.defaults;
    auto pick = [&](const auto& sent, const auto& configured, bool zero_is_off) {
        using T = std::decay_t<decltype(sent)>;
        if (sent || len.no_sampling_defaults || !configured || (zero_is_off && *configured == 0)) {
            return T(sent);
        }
        return T(configured);
    };
    put_optional(w, "temperature", pick(req.temperature, d.temperature, false));
    put_optional(w, "topP", pick(req.top_p, d.top_p, false));
    put_optional(
        w, "topK",
        pick(req.top_k, d.top_k ? std::optional<std::int64_t>(*d.top_k) : std::nullopt, true));
    put_optional(w, "frequencyPenalty", pick(req.frequency_penalty, d.frequency_penalty, true));
    put_optional(w, "presencePenalty", pick(req.presence_penalty, d.presence_penalty, true));
    put_optional(w, "seed", req.seed);
    if (!req.stop.empty()) {
        w.Key(generic ? "stop" : "stopSequences");
        w.StartArray();
        for (auto s : req.stop) {
            write_string(w, s);
        }
        w.EndArray();
    }
}

}  // namespace ogp::transform::detail
