#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/transform/chat_response.hpp"
#include "ogp/transform/sse_parser.hpp"

namespace ogp::transform {

/// Turns OCI's chat SSE stream (GENERIC, COHERE or COHEREV2) into OpenAI
/// `chat.completion.chunk` frames: role on the first chunk of each choice, text, reasoning
/// and tool-call deltas (stable `index`, one id per call), exactly one finish chunk per
/// choice, the usage chunk (`choices: []`) when the client asked, then `data: [DONE]`.
/// Cohere's restated text is dropped. A mid-stream OCI error, a malformed or oversized
/// event becomes one `data: {"error":...}` frame. One instance per response; not
/// thread-safe; never throws on bad input.
class stream_transcoder
{
public:
    /// `plan` must outlive the transcoder. `created` is the Unix time stamped on every chunk.
    stream_transcoder(const chat_plan& plan, std::string completion_id, std::int64_t created,
                      std::size_t max_event_bytes = 1024 * 1024);

    /// Consumes upstream bytes (any split) and appends complete OpenAI SSE frames to `out`.
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

    /// Appends an OpenAI error frame and ends the stream (a cut by the proxy itself: drain,
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
        bool role_sent = false;
        bool finished = false;
        bool saw_tool_calls = false;
        std::uint64_t text_hash = 1469598103934665603ull;
        std::size_t text_len = 0;
        std::vector<tool_call_state> calls;
    };

    void on_event(std::string_view json, std::string& out);
    choice_state& choice(std::size_t index);
    void begin_chunk(std::string& out, std::size_t index, choice_state& c);
    void end_chunk(std::string& out, std::string_view finish_reason);
    void emit_text(std::string& out, std::size_t index, std::string_view text, bool reasoning);
    void emit_tool_call(std::string& out, std::size_t index, std::string_view id,
                        std::string_view name, std::string_view args, bool args_present);
    void emit_finish(std::string& out, std::size_t index, std::string_view oci_reason);
    void emit_error(std::string& out, std::string_view message, std::string_view code);
    void maybe_complete(std::string& out);
    void complete(std::string& out);

    const chat_plan& plan_;
    std::string id_;
    std::string prefix_;  // `data: {"id":...,"choices":[`
    std::string usage_prefix_;
    sse::parser parser_;
    std::vector<choice_state> choices_;
    std::string upstream_error_;
    std::size_t finished_choices_ = 0;
    token_usage usage_;
    bool done_ = false;
    bool failed_ = false;
    bool cohere_calls_taken_ = false;
};

}  // namespace ogp::transform
