#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/transform/chat_response.hpp"
#include "ogp/transform/sse_parser.hpp"

namespace ogp::transform {

/// One fragment of a streamed function call, as the decoder found it in OCI's events.
struct stream_tool_call
{
    std::size_t index = 0;       ///< the call's position within its choice (stable)
    bool opens = false;          ///< the call's first fragment: `id` set, `name` as known
    std::string_view id;         ///< opens: the OpenAI id (OCI's, else a stable synthetic one)
    std::string_view name;       ///< opens: the name; later: a name that arrived late, else ""
    std::string_view arguments;  ///< this fragment's argument text (may be empty)
};

/// What came with an event's text besides the text itself (either part may be empty): the
/// tokens' log probabilities as OpenAI chat JSON (`{"content":[...],"refusal":null}`, when the
/// client asked) and OCI's url citations.
struct stream_extras
{
    std::string_view logprobs;
    const std::vector<answer_citation>* citations = nullptr;
    bool empty() const { return logprobs.empty() && (citations == nullptr || citations->empty()); }
};

/// The client side of a stream: receives, in order, what the decoder found in OCI's events
/// and appends its protocol's frames to `out`. Implementations: the chat chunk writer
/// (stream_transcoder's default) and the Responses event writer (responses.hpp). Called by
/// one stream_transcoder only; complete() or error() is the last call.
class stream_writer
{
public:
    virtual ~stream_writer() = default;
    /// Before any other call (the first feed, or an end without any byte).
    virtual void start(std::string& out) { (void)out; }
    /// Text (`reasoning` false) or reasoning of `choice`. Text is empty only when it is the
    /// choice's first event (chat announces the role with it).
    virtual void text(std::string& out, std::size_t choice, std::string_view text,
                      bool reasoning) = 0;
    /// Answer text of `choice` (may be empty) with its non-empty `extras`; called instead of
    /// text() when an event carried extras. The default ignores the extras.
    virtual void text_with_extras(std::string& out, std::size_t choice, std::string_view text,
                                  const stream_extras& extras)
    {
        (void)extras;
        if (!text.empty()) {
            this->text(out, choice, text, false);
        }
    }
    /// OCI's `modelVersion`, when an event carries it (before the frames of that event).
    virtual void model_version(std::string_view version) { (void)version; }
    virtual void tool_call(std::string& out, std::size_t choice, const stream_tool_call& call) = 0;
    /// `choice` finished with OpenAI's `reason`: stop, length, tool_calls or content_filter.
    virtual void finish(std::string& out, std::size_t choice, std::string_view reason) = 0;
    /// Every choice finished; `usage.present` when OCI reported it.
    virtual void complete(std::string& out, const token_usage& usage) = 0;
    /// The stream failed with `e` (status 502-class, OpenAI code and our message).
    virtual void error(std::string& out, const api_error& e) = 0;
    /// True once the writer ended the stream with an error of its own (e.g. a bound on what
    /// it keeps): the transcoder is then done and failed, and the caller stops reading.
    virtual bool failed() const { return false; }
};

/// Decodes OCI's chat SSE stream (GENERIC, COHERE or COHEREV2) and hands what it finds to a
/// stream_writer; by default the writer of OpenAI `chat.completion.chunk` frames: role on the
/// first chunk of each choice, text, reasoning and tool-call deltas (stable `index`, one id
/// per call), exactly one finish chunk per choice, the usage chunk (`choices: []`) when the
/// client asked (every chunk before it then has `"usage":null`, as OpenAI's), then
/// `data: [DONE]`. Log probabilities (when asked) and url annotations ride on the text chunk
/// of their event; `service_tier` (the client's) and `system_fingerprint` (OCI's
/// `modelVersion`, once an event carried it) are on every chunk. Cohere's restated text is dropped.
/// A mid-stream OCI error, a malformed or oversized event becomes the writer's error(). One
/// instance per response; not thread-safe; never throws on bad input.
class stream_transcoder
{
public:
    /// The chat chunk writer. `plan` must outlive the transcoder. `created` is the Unix time
    /// stamped on every chunk.
    stream_transcoder(const chat_plan& plan, std::string completion_id, std::int64_t created,
                      std::size_t max_event_bytes = 1024 * 1024);
    /// Another client protocol. `id` seeds synthetic tool-call ids.
    stream_transcoder(const chat_plan& plan, std::string id, std::unique_ptr<stream_writer> writer,
                      std::size_t max_event_bytes = 1024 * 1024);
    ~stream_transcoder();
    stream_transcoder(const stream_transcoder&) = delete;
    stream_transcoder& operator=(const stream_transcoder&) = delete;

    /// Consumes upstream bytes (any split) and appends complete client frames to `out`.
    /// Input after done() is ignored.
    void feed(std::string_view bytes, std::string& out);

    /// Call when OCI closed the stream (or went quiet after the finish event): completes a
    /// finished stream without usage, otherwise appends an error frame. Idempotent.
    void finish_on_eof(std::string& out);

    /// True once OCI's stream is complete (every choice finished and the usage event seen)
    /// or failed: the caller should stop reading; OCI keeps the connection open.
    bool done() const { return done_; }
    /// True when the stream ended with an error frame.
    bool failed() const { return failed_; }
    /// True when every choice finished and only the usage event is outstanding (the caller
    /// may use a short timeout, then finish_on_eof()).
    bool awaiting_usage() const { return !done_ && finished_choices_ >= choices_.size(); }
    /// OCI's own text of a mid-stream error (sanitised), for the log only; empty if none.
    const std::string& upstream_error() const { return upstream_error_; }

    /// Appends an error frame and ends the stream (a cut by the proxy itself: drain,
    /// deadline); no-op once done().
    void fail(std::string& out, std::string_view message, std::string_view code);

    /// Usage reported by OCI (for metering), present once the usage event arrived.
    const token_usage& usage() const { return usage_; }

private:
    struct tool_call_state
    {
        std::string oci_id;
        std::string name;
        std::string args;  // accumulated, to tell where an id-less call ends
    };
    struct choice_state
    {
        bool started = false;
        bool finished = false;
        bool saw_tool_calls = false;
        std::uint64_t text_hash = 1469598103934665603ull;
        std::size_t text_len = 0;
        std::vector<tool_call_state> calls;
    };

    void start(std::string& out);
    void on_event(std::string_view json, std::string& out);
    void emit_text(std::string& out, std::size_t index, std::string_view text, bool reasoning,
                   const stream_extras& extras = {});
    void emit_tool_call(std::string& out, std::size_t index, std::string_view id,
                        std::string_view name, std::string_view args);
    void emit_finish(std::string& out, std::size_t index, std::string_view oci_reason);
    void emit_error(std::string& out, std::string_view message, std::string_view code);
    void maybe_complete(std::string& out);
    void complete(std::string& out);

    const chat_plan& plan_;
    std::string id_;
    std::unique_ptr<stream_writer> writer_;
    sse::parser parser_;
    std::vector<choice_state> choices_;
    std::string upstream_error_;
    std::size_t finished_choices_ = 0;
    token_usage usage_;
    bool started_ = false;
    bool done_ = false;
    bool failed_ = false;
    bool cohere_calls_taken_ = false;
    bool model_version_seen_ = false;
};

}  // namespace ogp::transform
