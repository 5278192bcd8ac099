#include "ogp/transform/stream_transcoder.hpp"

#include <algorithm>

#include "response_util.hpp"

namespace ogp::transform {

using detail::append_json_string;
using detail::get;
using detail::get_string;
using detail::sv;
using rapidjson::Value;

namespace {

// Parse documents out of stack buffers: no heap traffic for ordinary events.
using pool = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
using event_doc = rapidjson::GenericDocument<rapidjson::UTF8<>, pool, pool>;

constexpr std::size_t max_choices = 128;

// FNV-1a over emitted text, to recognise a terminal event that restates it.
std::uint64_t fnv(std::uint64_t h, std::string_view s)
{
    for (unsigned char c : s) {
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

// True when the accumulated argument text of a call is a complete JSON value (balanced
// braces outside strings), so a following id-less call with a name starts a new call.
bool args_complete(std::string_view args)
{
    int depth = 0;
    bool in_str = false;
    bool esc = false;
    bool started = false;
    for (char c : args) {
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            ++depth;
            started = true;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return started && depth <= 0 && !in_str;
}

}  // namespace

namespace {

// OpenAI chat.completion.chunk frames.
class chat_chunk_writer final : public stream_writer
{
public:
    chat_chunk_writer(const chat_plan& plan, std::string_view id, std::int64_t created,
                      std::size_t choices)
        : plan_(plan), id_(id), created_(created), role_sent_(choices, false)
    {
        // With include_usage every chunk before the usage chunk says `"usage":null`.
        suffix_ = plan_.client_wants_usage ? "],\"usage\":null}\n\n" : "]}\n\n";
        make_prefix({});
    }

    void text(std::string& out, std::size_t choice, std::string_view text, bool reasoning) override
    {
        begin_chunk(out, choice);
        out += reasoning ? "\"reasoning_content\":" : "\"content\":";
        append_json_string(out, text);
        end_chunk(out, {});
    }

    void text_with_extras(std::string& out, std::size_t choice, std::string_view text,
                          const stream_extras& x) override
    {
        begin_chunk(out, choice);
        const bool cites = x.citations != nullptr && !x.citations->empty();
        if (!text.empty() || !cites) {
            out += "\"content\":";
            append_json_string(out, text);
            out += ",";
        }
        if (cites) {
            out += "\"annotations\":";
            detail::append_annotations(out, *x.citations);
        }
        end_chunk(out, {}, x.logprobs);
    }

    void model_version(std::string_view version) override { make_prefix(version); }

    void tool_call(std::string& out, std::size_t choice, const stream_tool_call& call) override
    {
        begin_chunk(out, choice);
        out += "\"tool_calls\":[{\"index\":";
        detail::append_int(out, static_cast<std::int64_t>(call.index));
        if (call.opens) {
            // A new call: its one id, type and name.
            out += ",\"id\":";
            append_json_string(out, call.id);
            out += ",\"type\":\"function\",\"function\":{\"name\":";
            append_json_string(out, call.name);
            out += ",\"arguments\":";
        } else {
            // A fragment of an open call: arguments only (and a name that arrives late).
            out += ",\"function\":{";
            if (!call.name.empty()) {
                out += "\"name\":";
                append_json_string(out, call.name);
                out += ",";
            }
            out += "\"arguments\":";
        }
        append_json_string(out, call.arguments);
        out += "}}]";
        end_chunk(out, {});
    }

    void finish(std::string& out, std::size_t choice, std::string_view reason) override
    {
        begin_chunk(out, choice);
        end_chunk(out, reason);
    }

    void complete(std::string& out, const token_usage& usage) override
    {
        // Usage after every finish chunk, only when the client asked; then OpenAI's end.
        if (plan_.client_wants_usage && usage.present) {
            out += head_;
            out += ",\"choices\":[],\"usage\":";
            detail::append_usage(out, usage);
            out += "}\n\n";
        }
        out += "data: [DONE]\n\n";
    }

    void error(std::string& out, const api_error& e) override
    {
        out += "data: ";
        out += e.body();
        out += "\n\n";
    }

private:
    void begin_chunk(std::string& out, std::size_t index)
    {
        out += prefix_;
        out += "{\"index\":";
        detail::append_int(out, static_cast<std::int64_t>(index));
        out += ",\"delta\":{";
        // The first chunk of a choice carries the role.
        if (!role_sent_[index]) {
            out += "\"role\":\"assistant\",";
            role_sent_[index] = true;
        }
    }

    void end_chunk(std::string& out, std::string_view finish_reason,
                   std::string_view logprobs = {}) const
    {
        // Drop a dangling comma left by begin_chunk when the delta has no other field.
        if (out.back() == ',') {
            out.pop_back();
        }
        out += "},\"logprobs\":";
        out += logprobs.empty() ? std::string_view("null") : logprobs;
        out += ",\"finish_reason\":";
        if (finish_reason.empty()) {
            out += "null";
        } else {
            append_json_string(out, finish_reason);
        }
        out += "}";
        out += suffix_;
    }

    // The fixed head of every chunk: id, object, created, model, service_tier (the client's)
    // and system_fingerprint (OCI's modelVersion, once known).
    void make_prefix(std::string_view fingerprint)
    {
        head_ = "data: {\"id\":";
        append_json_string(head_, id_);
        head_ += ",\"object\":\"chat.completion.chunk\",\"created\":";
        detail::append_int(head_, created_);
        head_ += ",\"model\":";
        append_json_string(head_, plan_.client_model);
        if (!plan_.service_tier.empty()) {
            head_ += ",\"service_tier\":";
            append_json_string(head_, plan_.service_tier);
        }
        if (!fingerprint.empty()) {
            head_ += ",\"system_fingerprint\":";
            append_json_string(head_, fingerprint);
        }
        prefix_ = head_ + ",\"choices\":[";
    }

    const chat_plan& plan_;
    std::string id_;
    std::int64_t created_;
    std::string head_;    // `data: {"id":...` up to the choices
    std::string prefix_;  // head_ + `,"choices":[`
    std::string suffix_;  // after the choice: `]}` or `],"usage":null}`, and the blank line
    std::vector<bool> role_sent_;
};

std::size_t choice_count(const chat_plan& plan)
{
    return static_cast<std::size_t>(std::clamp(plan.n, 1, static_cast<int>(max_choices)));
}

}  // namespace

stream_transcoder::stream_transcoder(const chat_plan& plan, std::string completion_id,
                                     std::int64_t created, std::size_t max_event_bytes)
    : stream_transcoder(
          plan, completion_id,
          std::make_unique<chat_chunk_writer>(plan, completion_id, created, choice_count(plan)),
          max_event_bytes)
{
}

stream_transcoder::stream_transcoder(const chat_plan& plan, std::string id,
                                     std::unique_ptr<stream_writer> writer,
                                     std::size_t max_event_bytes)
    : plan_(plan), id_(std::move(id)), writer_(std::move(writer)), parser_(max_event_bytes)
{
    choices_.resize(choice_count(plan_));
}

stream_transcoder::~stream_transcoder() = default;

void stream_transcoder::start(std::string& out)
{
    if (!started_) {
        started_ = true;
        writer_->start(out);
    }
}

void stream_transcoder::feed(std::string_view bytes, std::string& out)
{
    if (done_) {
        return;
    }
    start(out);
    // Split into events; each one is translated as soon as it is complete.
    auto status = parser_.feed(bytes, [&](std::string_view data) {
        if (!done_) {
            on_event(data, out);
            // A writer that gave up (its own bound) ends the stream here.
            if (writer_->failed()) {
                done_ = true;
                failed_ = true;
            }
        }
    });
    if (status == sse::feed_status::too_large && !done_) {
        emit_error(out, "OCI Generative AI sent a stream event larger than the limit.",
                   error_codes::upstream_event_too_large);
    }
}

void stream_transcoder::finish_on_eof(std::string& out)
{
    if (done_) {
        return;
    }
    start(out);
    // Every choice finished: only usage was missing, end normally.
    if (finished_choices_ >= choices_.size()) {
        complete(out);
        return;
    }
    emit_error(out, "OCI Generative AI closed the stream before the response was complete.",
               error_codes::upstream_incomplete);
}

void stream_transcoder::emit_text(std::string& out, std::size_t index, std::string_view text,
                                  bool reasoning, const stream_extras& extras)
{
    choice_state& c = choices_[index];
    if (text.empty() && (c.started || reasoning) && extras.empty()) {
        return;
    }
    if (!reasoning) {
        c.text_hash = fnv(c.text_hash, text);
        c.text_len += text.size();
    }
    c.started = true;
    if (extras.empty()) {
        writer_->text(out, index, text, reasoning);
    } else {
        writer_->text_with_extras(out, index, text, extras);
    }
}

void stream_transcoder::emit_tool_call(std::string& out, std::size_t index, std::string_view id,
                                       std::string_view name, std::string_view args)
{
    choice_state& c = choices_[index];
    // Find the call this fragment belongs to: by OCI id, else the open call, else a new one.
    std::size_t k = c.calls.size();
    if (!id.empty()) {
        for (std::size_t i = 0; i < c.calls.size(); ++i) {
            if (c.calls[i].oci_id == id) {
                k = i;
            }
        }
    } else if (!c.calls.empty()) {
        const tool_call_state& last = c.calls.back();
        bool starts_new =
            !name.empty() && !last.name.empty() && (last.name != name || args_complete(last.args));
        if (!starts_new) {
            k = c.calls.size() - 1;
        }
    }
    c.saw_tool_calls = true;
    c.started = true;
    stream_tool_call call;
    call.index = k;
    call.arguments = args;
    std::string openai_id;
    if (k == c.calls.size()) {
        // A new call: OCI's id, else a stable synthetic one.
        openai_id = id.empty()
                        ? synthetic_tool_call_id(id_, static_cast<int>(index), static_cast<int>(k))
                        : std::string(id);
        c.calls.push_back(tool_call_state{std::string(id), std::string(name), std::string(args)});
        call.opens = true;
        call.id = openai_id;
        call.name = name;
    } else {
        tool_call_state& st = c.calls[k];
        if (st.name.empty() && !name.empty()) {
            st.name = std::string(name);
            call.name = name;
        }
        st.args.append(args);
    }
    writer_->tool_call(out, index, call);
}

void stream_transcoder::emit_finish(std::string& out, std::size_t index,
                                    std::string_view oci_reason)
{
    choice_state& c = choices_[index];
    if (c.finished) {
        return;
    }
    std::string_view reason = map_finish_reason(oci_reason);
    // Tool calls win over a plain stop (Cohere says COMPLETE, some GENERIC models `stop`).
    if (c.saw_tool_calls && reason == "stop") {
        reason = "tool_calls";
    }
    c.finished = true;
    c.started = true;
    ++finished_choices_;
    writer_->finish(out, index, reason);
}

void stream_transcoder::emit_error(std::string& out, std::string_view message,
                                   std::string_view code)
{
    writer_->error(out, make_error(502, detail::sanitize_message(message), code));
    done_ = true;
    failed_ = true;
}

void stream_transcoder::fail(std::string& out, std::string_view message, std::string_view code)
{
    if (!done_) {
        start(out);
        emit_error(out, message, code);
    }
}

void stream_transcoder::maybe_complete(std::string& out)
{
    if (!done_ && finished_choices_ >= choices_.size() && usage_.present) {
        complete(out);
    }
}

void stream_transcoder::complete(std::string& out)
{
    writer_->complete(out, usage_);
    done_ = true;
}

void stream_transcoder::on_event(std::string_view json, std::string& out)
{
    // OCI normally never sends [DONE]; treat it as the end of the upstream stream.
    if (json == "[DONE]") {
        finish_on_eof(out);
        return;
    }
    // Parse the event with stack-buffer allocators.
    char value_buffer[16384];
    char stack_buffer[2048];
    pool value_alloc(value_buffer, sizeof value_buffer);
    pool stack_alloc(stack_buffer, sizeof stack_buffer);
    event_doc doc(&value_alloc, sizeof stack_buffer / 2, &stack_alloc);
    // The same bounded parse as every other JSON text: OCI's events get no deeper nesting.
    if (!json::parse_bounded(json, json::upstream_max_depth, doc) || !doc.IsObject()) {
        emit_error(out, "OCI Generative AI sent a malformed stream event.",
                   error_codes::bad_upstream_response);
        return;
    }
    const Value& ev = doc;
    // Mid-stream errors: Cohere `errorMessage`, an OCI `{code, message}` or `{error}`.
    const Value* msg = get(ev, "message");
    std::string_view error_message = get_string(ev, "errorMessage");
    if (msg != nullptr && msg->IsString() && get(ev, "code") != nullptr) {
        error_message = sv(*msg);
    }
    if (const Value* e = get(ev, "error"); e != nullptr) {
        error_message = e->IsObject() ? get_string(*e, "message") : "error";
        if (error_message.empty()) {
            error_message = "error";
        }
    }
    if (!error_message.empty()) {
        // OCI's text may name OCIDs and internal hosts: the client gets our words, the log
        // gets OCI's (upstream_error()).
        upstream_error_ = detail::sanitize_message(error_message);
        emit_error(out, "OCI Generative AI reported an error during the stream.",
                   error_codes::upstream_error);
        return;
    }
    // Which choice, which format.
    std::size_t index = 0;
    if (const Value* iv = get(ev, "index"); iv != nullptr && iv->IsUint64()) {
        index = static_cast<std::size_t>(iv->GetUint64());
    }
    if (index >= choices_.size()) {
        emit_error(out, "OCI Generative AI sent a choice index beyond the requested n.",
                   error_codes::bad_upstream_response);
        return;
    }
    std::string_view fmt = get_string(ev, "apiFormat");
    api_format f = plan_.model.format;
    if (fmt == "COHERE") {
        f = api_format::cohere;
    } else if (fmt == "COHEREV2") {
        f = api_format::coherev2;
    } else if (fmt == "GENERIC") {
        f = api_format::generic;
    }
    std::string_view finish = get_string(ev, "finishReason");
    choice_state& c = choices_[index];
    // OCI's model version, when its events carry one: system_fingerprint from here on.
    if (!model_version_seen_) {
        if (std::string_view mv = detail::printable_or_empty(get_string(ev, "modelVersion"));
            !mv.empty()) {
            model_version_seen_ = true;
            writer_->model_version(mv);
        }
    }
    // Text and reasoning of this event.
    std::string text;
    std::string reasoning;
    const Value* calls = nullptr;
    if (f == api_format::cohere) {
        text = get_string(ev, "text");
        calls = get(ev, "toolCalls");
        // Cohere restates the whole text on tool-call and terminal events.
        bool restating = !finish.empty() || get(ev, "chatHistory") != nullptr || calls != nullptr;
        if (restating && c.text_len > 0) {
            text.clear();
        }
    } else if (msg != nullptr && msg->IsObject()) {
        if (const Value* content = get(*msg, "content"); content != nullptr) {
            detail::append_parts_text(*content, text, reasoning);
        }
        if (const Value* rc = get(*msg, "reasoningContent"); rc != nullptr && rc->IsString()) {
            reasoning += sv(*rc);
        }
        calls = get(*msg, "toolCalls");
        // A terminal event that repeats everything already streamed is not a delta.
        if (!finish.empty() && !text.empty() && text.size() == c.text_len &&
            fnv(1469598103934665603ull, text) == c.text_hash) {
            text.clear();
        }
    }
    // Log probabilities (when asked; not of restated text) and url annotations of this event.
    std::string logprobs;
    std::vector<answer_citation> citations;
    if (!c.finished) {
        std::string items;
        bool first_item = true;
        if (plan_.logprobs && !text.empty()) {
            if (const Value* lp = get(ev, "logprobs"); lp != nullptr && lp->IsObject()) {
                detail::append_generic_logprobs(items, first_item, *lp, plan_.top_logprobs);
            } else if (const Value* lps = get(ev, "logProbabilities"); lps != nullptr) {
                detail::append_cohere_logprobs(items, first_item, *lps);
            }
        }
        if (!first_item) {
            logprobs = detail::wrap_logprobs(items);
        }
        if (const Value* anns =
                msg != nullptr && msg->IsObject() ? get(*msg, "annotations") : nullptr;
            anns != nullptr) {
            detail::read_url_citations(*anns, citations);
        }
    }
    const stream_extras extras{logprobs, &citations};
    if (c.finished) {
        text.clear();
        reasoning.clear();
        calls = nullptr;
    }
    bool first = !c.started;
    if (!reasoning.empty()) {
        emit_text(out, index, reasoning, true);
    }
    if (!text.empty() || !extras.empty() ||
        (first && finish.empty() && calls == nullptr && reasoning.empty() && msg != nullptr &&
         msg->IsObject())) {
        emit_text(out, index, text, false, extras);
    } else if (f == api_format::cohere && first && finish.empty() && calls == nullptr &&
               get(ev, "text") != nullptr) {
        emit_text(out, index, text, false);
    }
    // Tool calls: Cohere v1 sends complete `{name, parameters}` calls once.
    if (calls != nullptr && calls->IsArray()) {
        if (f == api_format::cohere) {
            if (!cohere_calls_taken_) {
                for (auto& tc : calls->GetArray()) {
                    const Value* params = get(tc, "parameters");
                    std::string args = params != nullptr ? detail::to_json(*params) : "{}";
                    emit_tool_call(out, index, {}, get_string(tc, "name"), args);
                    // Each Cohere call is complete: force the next one to open a new call.
                    c.calls.back().args = args.empty() ? "{}" : args;
                }
                cohere_calls_taken_ = !calls->Empty();
            }
        } else {
            for (auto& tc : calls->GetArray()) {
                std::string_view id = get_string(tc, "id");
                std::string_view name = get_string(tc, "name");
                const Value* args = get(tc, "arguments");
                if (const Value* fn = get(tc, "function"); fn != nullptr && fn->IsObject()) {
                    name = get_string(*fn, "name");
                    args = get(*fn, "arguments");
                }
                std::string arg_text;
                if (args != nullptr) {
                    arg_text = args->IsString() ? std::string(sv(*args)) : detail::to_json(*args);
                }
                // Skip empty fragments of calls already open.
                if (arg_text.empty() && name.empty() && (id.empty() || !c.calls.empty())) {
                    bool known = id.empty();
                    for (auto& k : c.calls) {
                        known = known || k.oci_id == id;
                    }
                    if (known) {
                        continue;
                    }
                }
                emit_tool_call(out, index, id, name, arg_text);
            }
        }
    }
    // Finish, then usage (in either order upstream; always finish first downstream).
    if (!finish.empty()) {
        if (map_finish_reason(finish) == "error") {
            emit_error(out, "OCI Generative AI stopped with an error.",
                       error_codes::upstream_generation_error);
            return;
        }
        emit_finish(out, index, finish);
    }
    if (const Value* u = get(ev, "usage"); u != nullptr && u->IsObject()) {
        usage_ = detail::read_usage(*u);
    }
    maybe_complete(out);
}

}  // namespace ogp::transform
