#include <limits>

#include "ogp/transform/responses.hpp"
#include "response_util.hpp"
#include "responses_util.hpp"

// The Responses SSE event writer: what the stream decoder found, as the events the openai SDK's
// ResponseStream accumulates (every delta names an item and part it has seen added), then the
// final Response it replaces its snapshot with.

namespace ogp::transform {

using detail::append_int;
using detail::append_json_string;
using detail::output_item_view;
using detail::output_kind;

namespace {

constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
// Counted against max_output_bytes per item besides its text: a stream of countless empty
// tool calls is bounded too.
constexpr std::size_t item_overhead = 128;

class responses_event_writer final : public stream_writer
{
public:
    responses_event_writer(const responses_plan& plan, std::string response_id,
                           std::int64_t created_at, std::size_t max_output_bytes)
        : plan_(plan),
          id_(std::move(response_id)),
          created_at_(created_at),
          max_bytes_(max_output_bytes)
    {
    }

    void start(std::string& out) override
    {
        if (started_) {
            return;
        }
        started_ = true;
        // The SDK's snapshot starts from response.created.
        const detail::response_state state{"in_progress", {}, nullptr};
        for (const char* type : {"response.created", "response.in_progress"}) {
            begin_event(out, type);
            out += ",\"response\":";
            append_response(out, state, nullptr);
            end_event(out);
        }
    }

    void text(std::string& out, std::size_t choice, std::string_view text, bool reasoning) override
    {
        // Chat's empty role announcement opens nothing here.
        if (ended_ || finished_ || choice != 0 || text.empty()) {
            return;
        }
        output_kind kind = reasoning ? output_kind::reasoning : output_kind::message;
        bool opens = current_ == npos || items_[current_].kind != kind;
        if (!keep(out, text.size() + (opens ? item_overhead : 0))) {
            return;
        }
        if (opens) {
            close_current(out);
            current_ = open_item(out, kind);
        }
        item& it = items_[current_];
        it.text.append(text);
        if (reasoning) {
            begin_event(out, "response.reasoning_summary_text.delta");
            append_item_ref(out, current_);
            out += ",\"summary_index\":0,\"delta\":";
            append_json_string(out, text);
        } else {
            begin_event(out, "response.output_text.delta");
            append_item_ref(out, current_);
            out += ",\"content_index\":0,\"delta\":";
            append_json_string(out, text);
            out += ",\"logprobs\":[]";
        }
        end_event(out);
    }

    // Url citations: an annotation.added event each, kept for the part's and item's done.
    void text_with_extras(std::string& out, std::size_t choice, std::string_view text,
                          const stream_extras& x) override
    {
        this->text(out, choice, text, false);
        if (ended_ || finished_ || choice != 0 || x.citations == nullptr) {
            return;
        }
        for (const answer_citation& a : *x.citations) {
            if (!keep(out, a.title.size() + a.url.size() + item_overhead)) {
                return;
            }
            if (current_ == npos || items_[current_].kind != output_kind::message) {
                close_current(out);
                current_ = open_item(out, output_kind::message);
            }
            item& it = items_[current_];
            it.citations.push_back(a);
            begin_event(out, "response.output_text.annotation.added");
            append_item_ref(out, current_);
            out += ",\"content_index\":0,\"annotation_index\":";
            append_int(out, static_cast<std::int64_t>(it.citations.size() - 1));
            out += ",\"annotation\":";
            detail::append_url_citation_annotation(out, a);
            end_event(out);
        }
    }

    void tool_call(std::string& out, std::size_t choice, const stream_tool_call& call) override
    {
        if (ended_ || finished_ || choice != 0) {
            return;
        }
        std::size_t index = call.index < calls_.size() ? calls_[call.index] : npos;
        bool opens = call.opens && index == npos;
        std::size_t cost = call.arguments.size() + call.name.size();
        if (!keep(out, cost + (opens ? item_overhead + call.id.size() : 0))) {
            return;
        }
        if (opens) {
            // A different kind: the open message or reasoning ends. Calls stay open until the
            // finish, so a fragment of an earlier call still lands in its own item.
            close_current(out);
            if (calls_.size() <= call.index) {
                calls_.resize(call.index + 1, npos);
            }
            item fc;
            fc.kind = detail::call_kind(plan_, call.name);
            fc.call_id = call.id;
            fc.name = call.name;
            index = items_.size();
            calls_[call.index] = index;
            open_item(out, std::move(fc));
        } else if (index == npos) {
            return;  // the decoder opens every call first
        } else if (!call.name.empty() && items_[index].name.empty()) {
            items_[index].name = call.name;  // a late name shows in the done events
        }
        if (call.arguments.empty()) {
            return;
        }
        item& it = items_[index];
        switch (it.kind) {
            case output_kind::custom_tool_call: {
                // The `input` string as it decodes; nothing while its start is unsure.
                const std::size_t from = it.text.size();
                it.input.feed(call.arguments, it.text);
                append_input_delta(out, index, from);
                return;
            }
            case output_kind::tool_search_call:
                // The SDK has no argument events for it: the arguments come with the item.
                it.text.append(call.arguments);
                return;
            default:
                break;
        }
        it.text.append(call.arguments);
        begin_event(out, "response.function_call_arguments.delta");
        append_item_ref(out, index);
        out += ",\"delta\":";
        append_json_string(out, call.arguments);
        end_event(out);
    }

    void finish(std::string& out, std::size_t choice, std::string_view reason) override
    {
        if (ended_ || finished_ || choice != 0) {
            return;
        }
        finished_ = true;
        finish_ = std::string(reason);
        // The last item is the one a cut (length, content filter) left incomplete.
        if (detail::state_for_finish(finish_).status == "incomplete" && !items_.empty()) {
            items_.back().incomplete = true;
        }
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (items_[i].open) {
                close_item(out, i);
            }
        }
        current_ = npos;
    }

    void complete(std::string& out, const token_usage& usage) override
    {
        if (ended_) {
            return;
        }
        start(out);
        if (!finished_) {
            finish(out, 0, "stop");
        }
        ended_ = true;
        detail::response_state state = detail::state_for_finish(finish_);
        begin_event(out,
                    state.status == "incomplete" ? "response.incomplete" : "response.completed");
        out += ",\"response\":";
        append_response(out, state, &usage);
        end_event(out);
    }

    void error(std::string& out, const api_error& e) override
    {
        if (ended_) {
            return;
        }
        start(out);
        ended_ = true;
        failed_ = true;
        // `error` first (what the SDK's raw iteration shows), then the failed Response the
        // stream helper ends with (its finalResponse() has status failed and this error).
        begin_event(out, "error");
        out += ",\"code\":";
        detail::append_string_or_null(out, e.code);
        out += ",\"message\":";
        append_json_string(out, e.message);
        out += ",\"param\":";
        detail::append_string_or_null(out, e.param);
        end_event(out);
        begin_event(out, "response.failed");
        out += ",\"response\":";
        append_response(out, {"failed", {}, &e}, nullptr);
        end_event(out);
    }

    bool failed() const override { return failed_; }

private:
    struct item
    {
        output_kind kind = output_kind::message;
        std::string id;
        // Message text, reasoning summary, call arguments or a custom tool's decoded input.
        std::string text;
        detail::custom_input_decoder input;  // custom_tool_call
        std::string call_id;
        std::string name;
        std::vector<answer_citation> citations;  // message: its annotations
        bool open = true;
        bool incomplete = false;
    };

    // Counts `bytes` more of kept output; beyond the bound the stream fails instead.
    bool keep(std::string& out, std::size_t bytes)
    {
        if (bytes > max_bytes_ - std::min(kept_, max_bytes_)) {
            error(out, make_error(502,
                                  "The response is larger than this proxy keeps for a "
                                  "Responses stream.",
                                  error_codes::upstream_response_too_large));
            return false;
        }
        kept_ += bytes;
        return true;
    }

    // `event: <type>` and the data object up to its sequence number.
    void begin_event(std::string& out, std::string_view type)
    {
        out += "event: ";
        out += type;
        out += "\ndata: {\"type\":";
        append_json_string(out, type);
        out += ",\"sequence_number\":";
        append_int(out, seq_++);
    }

    static void end_event(std::string& out) { out += "}\n\n"; }

    // A custom_tool_call_input.delta of item `i`'s text from `from` on, when there is any.
    void append_input_delta(std::string& out, std::size_t i, std::size_t from)
    {
        const std::string& text = items_[i].text;
        if (text.size() <= from) {
            return;
        }
        begin_event(out, "response.custom_tool_call_input.delta");
        append_item_ref(out, i);
        out += ",\"delta\":";
        append_json_string(out, std::string_view(text).substr(from));
        end_event(out);
    }

    // `"item_id":...,"output_index":n` of item `i`.
    void append_item_ref(std::string& out, std::size_t i) const
    {
        out += ",\"item_id\":";
        append_json_string(out, items_[i].id);
        out += ",\"output_index\":";
        append_int(out, static_cast<std::int64_t>(i));
    }

    std::size_t open_item(std::string& out, output_kind kind)
    {
        item it;
        it.kind = kind;
        return open_item(out, std::move(it));
    }

    // Appends the item and announces it, with its (empty) part for text and reasoning.
    std::size_t open_item(std::string& out, item it)
    {
        std::size_t i = items_.size();
        it.id = detail::output_item_id(id_, it.kind, i);
        items_.push_back(std::move(it));
        begin_event(out, "response.output_item.added");
        out += ",\"output_index\":";
        append_int(out, static_cast<std::int64_t>(i));
        out += ",\"item\":";
        detail::append_output_item(out, view(i, false));
        end_event(out);
        if (items_[i].kind == output_kind::message) {
            begin_event(out, "response.content_part.added");
            append_item_ref(out, i);
            out += ",\"content_index\":0,\"part\":";
            detail::append_output_text_part(out, {}, nullptr);
            end_event(out);
        } else if (items_[i].kind == output_kind::reasoning) {
            begin_event(out, "response.reasoning_summary_part.added");
            append_item_ref(out, i);
            out += ",\"summary_index\":0,\"part\":";
            detail::append_summary_part(out, {});
            end_event(out);
        }
        return i;
    }

    void close_current(std::string& out)
    {
        if (current_ != npos) {
            close_item(out, current_);
            current_ = npos;
        }
    }

    // The done events of item `i`: its text, its part, the item as the final Response has it.
    void close_item(std::string& out, std::size_t i)
    {
        item& it = items_[i];
        it.open = false;
        switch (it.kind) {
            case output_kind::message:
                begin_event(out, "response.output_text.done");
                append_item_ref(out, i);
                out += ",\"content_index\":0,\"text\":";
                append_json_string(out, it.text);
                out += ",\"logprobs\":[]";
                end_event(out);
                begin_event(out, "response.content_part.done");
                append_item_ref(out, i);
                out += ",\"content_index\":0,\"part\":";
                detail::append_output_text_part(out, it.text, &it.citations);
                end_event(out);
                break;
            case output_kind::reasoning:
                begin_event(out, "response.reasoning_summary_text.done");
                append_item_ref(out, i);
                out += ",\"summary_index\":0,\"text\":";
                append_json_string(out, it.text);
                end_event(out);
                begin_event(out, "response.reasoning_summary_part.done");
                append_item_ref(out, i);
                out += ",\"summary_index\":0,\"part\":";
                detail::append_summary_part(out, it.text);
                end_event(out);
                break;
            case output_kind::function_call:
                // As the non-streaming answer: a call OCI sent no arguments for has `{}`.
                if (it.text.empty()) {
                    it.text = "{}";
                }
                begin_event(out, "response.function_call_arguments.done");
                append_item_ref(out, i);
                out += ",\"name\":";
                append_json_string(out, it.name);
                out += ",\"arguments\":";
                append_json_string(out, it.text);
                end_event(out);
                break;
            case output_kind::custom_tool_call: {
                // Arguments of another shape give their input only now.
                const std::size_t from = it.text.size();
                it.input.finish(it.text);
                append_input_delta(out, i, from);
                begin_event(out, "response.custom_tool_call_input.done");
                append_item_ref(out, i);
                out += ",\"input\":";
                append_json_string(out, it.text);
                end_event(out);
                break;
            }
            case output_kind::tool_search_call:
                break;
        }
        begin_event(out, "response.output_item.done");
        out += ",\"output_index\":";
        append_int(out, static_cast<std::int64_t>(i));
        out += ",\"item\":";
        detail::append_output_item(out, view(i, true));
        end_event(out);
    }

    // Item `i` as written: announced (`full` false: in progress, no part) or as it stands.
    output_item_view view(std::size_t i, bool full) const
    {
        const item& it = items_[i];
        output_item_view v;
        v.kind = it.kind;
        v.id = it.id;
        v.status = !full ? "in_progress" : it.open || it.incomplete ? "incomplete" : "completed";
        v.has_part = full;
        v.text = full || it.kind == output_kind::function_call ? std::string_view(it.text) : "";
        v.call_id = it.call_id;
        v.name = it.name;
        v.citations = full ? &it.citations : nullptr;
        if (it.kind == output_kind::function_call || it.kind == output_kind::custom_tool_call) {
            v.ns = detail::namespace_of(plan_, it.name);
        }
        return v;
    }

    // The whole Response: every item as it stands (a failed stream's open items incomplete).
    void append_response(std::string& out, const detail::response_state& state,
                         const token_usage* usage) const
    {
        detail::append_response_head(out, plan_, id_, created_at_, state);
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (i > 0) {
                out += ',';
            }
            detail::append_output_item(out, view(i, true));
        }
        detail::append_response_tail(out, plan_, usage);
    }

    const responses_plan& plan_;
    std::string id_;
    std::int64_t created_at_;
    std::size_t max_bytes_;
    std::size_t kept_ = 0;
    std::int64_t seq_ = 0;
    std::vector<item> items_;
    std::size_t current_ = npos;      // the open message or reasoning item
    std::vector<std::size_t> calls_;  // stream_tool_call.index -> output index
    std::string finish_;
    bool started_ = false;
    bool finished_ = false;
    bool ended_ = false;
    bool failed_ = false;  // ended by error(): the transcoder stops reading
};

}  // namespace

std::unique_ptr<stream_writer> make_responses_stream_writer(const responses_plan& plan,
                                                            std::string response_id,
                                                            std::int64_t created_at,
                                                            std::size_t max_output_bytes)
{
    return std::make_unique<responses_event_writer>(plan, std::move(response_id), created_at,
                                                    max_output_bytes);
}

}  // namespace ogp::transform
