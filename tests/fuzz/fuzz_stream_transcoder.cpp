// Fuzzes the stream transcoder with hostile OCI event streams, for every chat format, fed in
// random-sized pieces, through both writers: chat chunks and Responses events.
//
// Input: byte 0 picks the format, byte 1 the request (n, include_usage, the event size bound,
// the Responses output bound, and (bit 7) whether some function names stand for custom tools
// and a client tool_search), byte 2 seeds the split; the rest is what OCI sends.
//
// Properties: no crash, sanitizer report or timeout; the same output for every split; output
// made only of `data: ` frames, each a JSON object except a final `[DONE]`; a failed stream ends
// with one error frame, a complete one with `[DONE]`; per choice the role comes first, exactly
// one finish chunk (on success) and nothing after it; tool calls are opened in index order, each
// with an id; usage only when asked, after every finish; nothing after the end.
// Responses (n = 1): the same output for every split; `event:` + `data:` frames whose type and
// sequence number (0, 1, ...) match; response.created, response.in_progress first; items added
// in output order, every delta and done event on an open item of its kind and its added part;
// exactly one end, last: response.completed / response.incomplete with every item done and the
// output holding them, or `error` then response.failed; it fails when the chat stream fails
// (and, with a bound beyond anything the input can fill, only then); the final Response stays
// within the output bound (escaping at most 6x, plus a fixed overhead). Custom tool calls:
// input deltas add up to input.done and to the item's `input`; tool_search_call has no events
// of its own and `arguments` is a JSON value.
// Custom tool input decoding: a string made from the input, JSON-encoded as `{"input":...}`
// with escapes chosen by the input (\uXXXX, surrogate pairs) and fed to the Responses writer
// in random fragments, comes back as that string.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "ogp/transform/responses.hpp"
#include "ogp/transform/stream_transcoder.hpp"

namespace {

using namespace ogp::transform;
using ogp_fuzz::check;
using ogp_fuzz::member;

constexpr std::array<const char*, 3> models = {
    "meta.llama-3.3-70b-instruct", "cohere.command-r-08-2024", "cohere.command-a-vision-07-2025"};
constexpr std::array<std::size_t, 4> event_bounds = {1024 * 1024, 4096, 512, 64};
// max_output_bytes of the Responses writer: the first is beyond anything an input can fill.
constexpr std::array<std::size_t, 4> output_bounds = {64 * 1024 * 1024, 4096, 300, 16};

// A streaming request for `model` with `n` choices; nullopt when the format refuses n.
std::optional<chat_plan> make_plan(const char* model, int n, bool usage)
{
    std::string body = std::string(R"({"model":")") + model +
                       R"(","messages":[{"role":"user","content":"x"}],"stream":true,"n":)" +
                       std::to_string(n) + R"(,"stream_options":{"include_usage":)" +
                       (usage ? "true" : "false") + "}}";
    auto r = plan_chat(body, ogp_fuzz::fuzz_config());
    if (!r) {
        return std::nullopt;
    }
    return r.value();
}

// Streaming plans by format, n (1..3, or 1 where the format has no n) and include_usage,
// built once.
const chat_plan& plan_for(std::size_t format, int n, bool usage)
{
    static const auto plans = [] {
        std::array<std::array<std::array<chat_plan, 2>, 3>, 3> p;
        for (std::size_t f = 0; f < 3; ++f) {
            for (int k = 1; k <= 3; ++k) {
                for (int u = 0; u < 2; ++u) {
                    auto plan = make_plan(models[f], k, u != 0);
                    if (!plan) {
                        plan = make_plan(models[f], 1, u != 0);
                    }
                    check(plan.has_value(), "the harness's streaming request is accepted");
                    p[f][static_cast<std::size_t>(k - 1)][static_cast<std::size_t>(u)] = *plan;
                }
            }
        }
        return p;
    }();
    return plans[format][static_cast<std::size_t>(n - 1)][usage ? 1 : 0];
}

struct run_result
{
    std::string out;
    bool failed = false;
};

// Transcodes `input` in pieces (none: all at once), then ends the stream; checks that nothing
// is written once the transcoder is done.
run_result transcode(const chat_plan& plan, std::size_t bound, std::string_view input,
                     ogp_fuzz::rng* pieces)
{
    stream_transcoder t(plan, "chatcmpl-fuzz", 1700000000, bound);
    run_result r;
    if (pieces == nullptr) {
        t.feed(input, r.out);
    } else {
        // Mostly small pieces (the SSE parser's line joining), sometimes empty or large ones.
        while (!input.empty()) {
            std::size_t max = pieces->next() % 8 == 0 ? 4096 : 16;
            std::size_t n = std::min(input.size(), pieces->between(0, max));
            t.feed(input.substr(0, n), r.out);
            input.remove_prefix(n);
        }
    }
    t.finish_on_eof(r.out);
    check(t.done(), "done after finish_on_eof");
    std::size_t end = r.out.size();
    t.finish_on_eof(r.out);
    t.feed("data: {\"index\":0}\n\n", r.out);
    check(r.out.size() == end, "nothing is written after the end");
    r.failed = t.failed();
    return r;
}

struct choice_seen
{
    bool any = false;
    bool finished = false;
    std::size_t calls = 0;
};

// Checks the OpenAI stream contract on the whole output.
void check_frames(const std::string& out, bool failed, const chat_plan& plan)
{
    std::vector<choice_seen> seen(static_cast<std::size_t>(plan.n));
    bool usage_seen = false;
    std::string_view rest(out);
    check(!rest.empty(), "the stream is not empty");
    while (!rest.empty()) {
        check(rest.starts_with("data: "), "every frame is a data line");
        std::size_t end = rest.find("\n\n");
        check(end != std::string_view::npos, "every frame ends with a blank line");
        std::string_view payload = rest.substr(6, end - 6);
        rest.remove_prefix(end + 2);
        bool last = rest.empty();
        if (payload == "[DONE]") {
            check(last && !failed, "[DONE] ends a stream that did not fail");
            continue;
        }
        rapidjson::Document d;
        check(ogp_fuzz::parse_json(payload, d) && d.IsObject(), "every frame is a JSON object");
        if (member(d, "error") != nullptr) {
            check(last && failed, "an error frame ends a failed stream");
            continue;
        }
        check(!last, "a chunk is never the last frame");
        const rapidjson::Value* choices = member(d, "choices");
        check(choices != nullptr && choices->IsArray(), "a chunk has choices");
        check(!usage_seen, "usage is the last chunk");
        if (choices->Empty()) {
            check(plan.client_wants_usage && member(d, "usage") != nullptr,
                  "a usage chunk only when the client asked");
            for (auto& c : seen) {
                check(c.finished, "usage comes after every finish");
            }
            usage_seen = true;
            continue;
        }
        check(choices->Size() == 1, "one choice per chunk");
        const rapidjson::Value& ch = (*choices)[0];
        const rapidjson::Value* index = member(ch, "index");
        check(index != nullptr && index->IsUint() && index->GetUint() < seen.size(),
              "the choice index is within n");
        choice_seen& s = seen[index->GetUint()];
        const rapidjson::Value* delta = member(ch, "delta");
        check(delta != nullptr && delta->IsObject(), "a chunk has a delta");
        check(!s.finished, "nothing after a choice's finish chunk");
        check((member(*delta, "role") != nullptr) == !s.any, "the role comes once, first");
        s.any = true;
        if (const rapidjson::Value* calls = member(*delta, "tool_calls"); calls != nullptr) {
            check(calls->IsArray() && calls->Size() == 1, "one tool call per chunk");
            const rapidjson::Value& c = (*calls)[0];
            const rapidjson::Value* k = member(c, "index");
            check(k != nullptr && k->IsUint() && k->GetUint() <= s.calls,
                  "tool calls open in index order");
            bool opens = k->GetUint() == s.calls;
            check(opens == (member(c, "id") != nullptr), "a new tool call, and only it, has an id");
            s.calls += opens ? 1 : 0;
        }
        const rapidjson::Value* finish = member(ch, "finish_reason");
        check(finish != nullptr, "finish_reason is present");
        if (!finish->IsNull()) {
            s.finished = true;
        }
    }
    if (!failed) {
        for (auto& c : seen) {
            check(c.finished, "a complete stream finishes every choice");
        }
    }
}

// The Responses plan of a streaming request (n = 1) in `format`, built once; with `tools`,
// calls of get_weather, g and apply_patch are custom tool calls (g in a namespace) and calls
// of tool_search tool search calls.
const responses_plan& responses_plan_for(std::size_t format, bool usage, bool tools)
{
    static const auto plans = [] {
        std::array<std::array<std::array<responses_plan, 2>, 2>, 3> p;
        for (std::size_t f = 0; f < 3; ++f) {
            for (int u = 0; u < 2; ++u) {
                for (int t = 0; t < 2; ++t) {
                    responses_plan& r =
                        p[f][static_cast<std::size_t>(u)][static_cast<std::size_t>(t)];
                    r = responses_plan{
                        plan_for(f, 1, u != 0),
                        R"(,"instructions":null,"metadata":{},"tools":[],"truncation":"disabled")"};
                    if (t != 0) {
                        r.custom_tools = {"get_weather", "g", "apply_patch"};
                        r.tool_namespaces = {{"g", "ns"}};
                        r.client_tool_search = true;
                    }
                }
            }
        }
        return p;
    }();
    return plans[format][usage ? 1 : 0][tools ? 1 : 0];
}

// As transcode(), through the Responses writer.
run_result transcode_responses(const responses_plan& plan, std::size_t bound,
                               std::size_t max_output, std::string_view input,
                               ogp_fuzz::rng* pieces)
{
    stream_transcoder t(
        plan.chat, "resp_0123456789abcdef01234567",
        make_responses_stream_writer(plan, "resp_0123456789abcdef01234567", 1700000000, max_output),
        bound);
    run_result r;
    if (pieces == nullptr) {
        t.feed(input, r.out);
    } else {
        while (!input.empty()) {
            std::size_t max = pieces->next() % 8 == 0 ? 4096 : 16;
            std::size_t n = std::min(input.size(), pieces->between(0, max));
            t.feed(input.substr(0, n), r.out);
            input.remove_prefix(n);
        }
    }
    t.finish_on_eof(r.out);
    check(t.done(), "done after finish_on_eof");
    std::size_t end = r.out.size();
    t.finish_on_eof(r.out);
    t.feed("data: {\"index\":0}\n\n", r.out);
    check(r.out.size() == end, "nothing is written after the end");
    r.failed = t.failed();
    return r;
}

struct item_seen
{
    char kind = 0;  // m(essage), r(easoning), f(unction_call), c(ustom_tool_call),
                    // s (tool_search_call)
    std::string id;
    bool part = false;  // text items: the part added; c: input.done seen
    bool open = true;
    std::string input;  // c: the deltas so far
};

bool is_string(const rapidjson::Value* v, std::string_view s)
{
    return v != nullptr && v->IsString() && ogp_fuzz::sv(*v) == s;
}

// Checks the Responses event contract on the whole output; returns the end event's type.
std::string check_responses_events(const std::string& out, std::size_t max_output)
{
    std::vector<item_seen> items;
    std::string_view rest(out);
    std::string end_type;
    std::string prev_type;
    std::uint64_t seq = 0;
    while (!rest.empty()) {
        check(end_type.empty(), "nothing after the end event");
        check(rest.starts_with("event: "), "every frame starts with its event line");
        std::size_t nl = rest.find('\n');
        check(nl != std::string_view::npos, "an event line ends");
        std::string type(rest.substr(7, nl - 7));
        rest.remove_prefix(nl + 1);
        check(rest.starts_with("data: "), "the data line follows the event line");
        std::size_t end = rest.find("\n\n");
        check(end != std::string_view::npos, "every frame ends with a blank line");
        std::string_view payload = rest.substr(6, end - 6);
        rest.remove_prefix(end + 2);
        rapidjson::Document d;
        check(ogp_fuzz::parse_json(payload, d) && d.IsObject(), "every data is a JSON object");
        check(is_string(member(d, "type"), type), "data.type is the event name");
        const rapidjson::Value* sn = member(d, "sequence_number");
        check(sn != nullptr && sn->IsUint64() && sn->GetUint64() == seq,
              "sequence numbers count from 0");
        ++seq;
        check((seq == 1) == (type == "response.created"), "response.created first, once");
        check((seq == 2) == (type == "response.in_progress"), "response.in_progress second");
        const rapidjson::Value* response = member(d, "response");
        if (type == "response.failed") {
            check(prev_type == "error", "response.failed follows an error event");
        }
        if (type == "response.completed" || type == "response.incomplete" ||
            type == "response.failed") {
            end_type = type;
            check(response != nullptr && response->IsObject(), "the end carries the Response");
            const rapidjson::Value* output = member(*response, "output");
            check(output != nullptr && output->IsArray() && output->Size() == items.size(),
                  "the final output holds every item");
            if (type != "response.failed") {
                for (auto& it : items) {
                    check(!it.open, "every item is done before the end");
                }
            }
            // What the writer keeps is bounded, so is what it writes at the end.
            check(payload.size() <= 6 * std::min<std::size_t>(max_output, 1 << 20) + 4096,
                  "the final Response stays within the output bound");
        } else if (type == "response.created" || type == "response.in_progress") {
            check(response != nullptr && is_string(member(*response, "status"), "in_progress"),
                  "the first Responses are in progress");
        } else if (type == "error") {
            check(member(d, "code") != nullptr && member(d, "message") != nullptr,
                  "an error event has code and message");
        } else {
            const rapidjson::Value* oi = member(d, "output_index");
            check(oi != nullptr && oi->IsUint(), "an item event names its output index");
            std::size_t index = oi->GetUint();
            if (type == "response.output_item.added") {
                check(index == items.size(), "items are added in output order");
                const rapidjson::Value* item = member(d, "item");
                check(item != nullptr, "an added item");
                const rapidjson::Value* it = member(*item, "type");
                check(it != nullptr && it->IsString(), "the item has a type");
                std::string_view k = ogp_fuzz::sv(*it);
                item_seen s;
                s.kind = k == "message"            ? 'm'
                         : k == "reasoning"        ? 'r'
                         : k == "custom_tool_call" ? 'c'
                         : k == "tool_search_call" ? 's'
                                                   : 'f';
                check(s.kind != 'f' || k == "function_call", "a known item type");
                if (s.kind == 'c') {
                    check(is_string(member(*item, "input"), ""), "a custom call starts empty");
                }
                const rapidjson::Value* id = member(*item, "id");
                check(id != nullptr && id->IsString(), "the item has an id");
                s.id = ogp_fuzz::sv(*id);
                items.push_back(std::move(s));
            } else {
                check(index < items.size(), "an item event names an added item");
                item_seen& it = items[index];
                check(it.open, "no event on a done item");
                if (type != "response.output_item.done") {
                    check(is_string(member(d, "item_id"), it.id), "the item id matches");
                }
                if (type == "response.output_item.done") {
                    check(it.kind == 'f' || it.kind == 's' || it.part,
                          "a text item's part was added, a custom call's input done");
                    const rapidjson::Value* item = member(d, "item");
                    check(item != nullptr, "a done item");
                    if (it.kind == 'c') {
                        check(is_string(member(*item, "input"), it.input),
                              "the custom call's input is its deltas");
                    } else if (it.kind == 's') {
                        check(member(*item, "arguments") != nullptr &&
                                  is_string(member(*item, "execution"), "client"),
                              "a tool search call has its arguments, run by the client");
                    }
                    it.open = false;
                } else if (type == "response.custom_tool_call_input.delta") {
                    const rapidjson::Value* delta = member(d, "delta");
                    check(it.kind == 'c' && !it.part && delta != nullptr && delta->IsString() &&
                              delta->GetStringLength() > 0,
                          "a non-empty input delta of an open custom call");
                    it.input += ogp_fuzz::sv(*delta);
                } else if (type == "response.custom_tool_call_input.done") {
                    check(it.kind == 'c' && !it.part, "one input.done of a custom call");
                    check(is_string(member(d, "input"), it.input), "input.done is the deltas");
                    it.part = true;
                } else if (type == "response.content_part.added" ||
                           type == "response.reasoning_summary_part.added") {
                    check(!it.part && (it.kind == 'm') == (type[9] == 'c') && it.kind != 'f',
                          "one part, of the item's kind");
                    it.part = true;
                } else if (type.starts_with("response.function_call_arguments.")) {
                    check(it.kind != 's', "no argument events for a tool search call");
                    check(it.kind == 'f', "arguments of a function call");
                } else if (type.starts_with("response.output_text.") ||
                           type == "response.content_part.done") {
                    check(it.kind == 'm' && it.part, "text on the message's added part");
                } else if (type.starts_with("response.reasoning_summary_")) {
                    check(it.kind == 'r' && it.part, "reasoning on the added summary part");
                } else {
                    check(false, "a known event type");
                }
            }
        }
        prev_type = type;
    }
    check(!end_type.empty(), "the stream ends with an end event");
    return end_type;
}

void append_utf8(std::string& out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Appends code point `cp` (not a surrogate) inside a JSON string: literally, as a short
// escape or as \uXXXX (a surrogate pair beyond the BMP; hex digits in either case), as the
// bits of `how` choose; what JSON requires escaped always is.
void encode_code_point(std::string& out, std::uint32_t cp, std::uint64_t how)
{
    static constexpr char hex[] = "0123456789abcdef";
    auto u_escape = [&](std::uint32_t u) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) {
            const char c = hex[(u >> shift) & 0xF];
            const bool upper = ((how >> (8 + shift / 4)) & 1) != 0 && c >= 'a';
            out.push_back(upper ? static_cast<char>(c - 'a' + 'A') : c);
        }
    };
    const bool must = cp < 0x20 || cp == '"' || cp == '\\';
    if (cp >= 0x10000 && (how & 1) == 0) {
        const std::uint32_t v = cp - 0x10000;
        u_escape(0xD800 + (v >> 10));
        u_escape(0xDC00 + (v & 0x3FF));
        return;
    }
    if (!must && (how & 6) != 0) {
        append_utf8(out, cp);
        return;
    }
    const bool short_escape = (how & 8) != 0;
    if (short_escape && (cp == '"' || cp == '\\' || cp == '/')) {
        out.push_back('\\');
        out.push_back(static_cast<char>(cp));
    } else if (short_escape && cp == '\n') {
        out += "\\n";
    } else if (short_escape && cp == '\t') {
        out += "\\t";
    } else if (cp < 0x10000) {
        u_escape(cp);
    } else {
        append_utf8(out, cp);
    }
}

// The custom tool input decoder through the Responses writer: a string made from `bytes`
// (code points of every plane, no surrogates), JSON-encoded as `{"input":"..."}`, sent in
// fragments split where `r` says, decodes to that string.
void check_input_decoding(std::string_view bytes, ogp_fuzz::rng& r)
{
    std::string want;
    std::string args = r.next() % 4 == 0 ? " {\n\"input\" : \"" : "{\"input\":\"";
    for (std::size_t i = 0; i + 1 < bytes.size() && i < 1024; i += 2) {
        // Small code points mostly (escapes, ASCII), sometimes any plane.
        const auto b0 = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
        const auto b1 = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1]));
        std::uint32_t cp = b0;
        if (b0 >= 0xF0) {
            cp = ((b0 & 0xF) << 16 | b1 << 8 | b0) % 0x110000;
        } else if (b0 >= 0xC0) {
            cp = (b0 & 0x3F) << 8 | b1;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        append_utf8(want, cp);
        encode_code_point(args, cp, r.next() ^ b1);
    }
    args += r.next() % 2 == 0 ? "\"}" : "\" } ";
    const responses_plan& plan = responses_plan_for(0, true, true);
    auto w = make_responses_stream_writer(plan, "resp_0123456789abcdef01234567", 1700000000,
                                          64 * 1024 * 1024);
    std::string out;
    w->start(out);
    stream_tool_call call;
    call.opens = true;
    call.id = "call_1";
    call.name = "apply_patch";
    std::string_view rest(args);
    do {
        const std::size_t n = std::min(rest.size(), r.between(0, 9));
        call.arguments = rest.substr(0, n);
        rest.remove_prefix(n);
        w->tool_call(out, 0, call);
        call.opens = false;
        call.id = {};
        call.name = {};
    } while (!rest.empty());
    w->finish(out, 0, "tool_calls");
    w->complete(out, token_usage{});
    check(check_responses_events(out, 64 * 1024 * 1024) == "response.completed",
          "the custom call completes");
    // input.done carries the input as JSON: compared decoded.
    constexpr std::string_view done = "event: response.custom_tool_call_input.done\ndata: ";
    const std::size_t at = out.find(done);
    check(at != std::string::npos, "the custom call's input is done");
    std::string_view data(out);
    data.remove_prefix(at + done.size());
    data = data.substr(0, data.find("\n\n"));
    rapidjson::Document d;
    check(ogp_fuzz::parse_json(data, d) && d.IsObject(), "input.done is JSON");
    const rapidjson::Value* input = member(d, "input");
    check(input != nullptr && input->IsString() && ogp_fuzz::sv(*input) == want,
          "the decoded input is the string encoded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3) {
        return 0;
    }
    const std::size_t format = data[0] % 3;
    const int n = 1 + data[1] % 3;
    const bool usage = (data[1] & 0x4) != 0;
    const std::size_t bound = event_bounds[(data[1] >> 3) & 3];
    std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
    const chat_plan& plan = plan_for(format, n, usage);

    ogp_fuzz::on_small_stack([&] {
        run_result whole = transcode(plan, bound, input, nullptr);
        ogp_fuzz::rng pieces(data[2] * 0x100000001b3ull + size);
        run_result split = transcode(plan, bound, input, &pieces);
        check(whole.out == split.out && whole.failed == split.failed,
              "the same output for every split");
        check_frames(whole.out, whole.failed, plan);

        // The same input through the Responses writer (one choice).
        const responses_plan& rplan = responses_plan_for(format, usage, (data[1] & 0x80) != 0);
        const std::size_t max_output = output_bounds[(data[1] >> 5) & 3];
        run_result chat = n == 1 ? whole : transcode(rplan.chat, bound, input, nullptr);
        run_result events = transcode_responses(rplan, bound, max_output, input, nullptr);
        ogp_fuzz::rng again(data[2] * 0x100000001b3ull + size);
        run_result events_split = transcode_responses(rplan, bound, max_output, input, &again);
        check(events.out == events_split.out && events.failed == events_split.failed,
              "the same Responses events for every split");
        std::string end = check_responses_events(events.out, max_output);
        // One decoder: both writers see the same stream end, unless the Responses writer gave
        // up first (its output bound), which ends the transcoder too.
        const bool gave_up = events.failed && !chat.failed;
        check(!gave_up || (max_output != output_bounds[0] &&
                           events.out.find("upstream_response_too_large") != std::string::npos),
              "only the output bound fails the Responses of a stream that did not fail");
        check(events.failed == chat.failed || gave_up,
              "one decoder: both writers see the same stream end");
        if (chat.failed) {
            check(end == "response.failed", "a failed stream fails the Response");
        } else if (max_output == output_bounds[0]) {
            check(end != "response.failed", "within the bound, only a failed stream fails");
        }
        ogp_fuzz::rng fragments(data[2] * 0x2545F4914F6CDD1Dull + size);
        check_input_decoding(input, fragments);
    });
    return 0;
}
