#include "ogp/transform/chat_response.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "response_util.hpp"

namespace ogp::transform {

using detail::append_json_string;
using detail::get;
using detail::get_string;
using detail::sv;
using rapidjson::Value;

namespace detail {

token_usage read_usage(const Value& u)
{
    token_usage r;
    if (!u.IsObject()) {
        return r;
    }
    r.present = true;
    std::int64_t v = 0;
    // Every count is optional (reasoning models omit completionTokens).
    if (const Value* p = get(u, "promptTokens"); p != nullptr && as_count(*p, v)) {
        r.prompt_tokens = v;
    }
    if (const Value* p = get(u, "completionTokens"); p != nullptr && as_count(*p, v)) {
        r.completion_tokens = v;
    }
    if (const Value* p = get(u, "totalTokens"); p != nullptr && as_count(*p, v)) {
        r.total_tokens = v;
    } else {
        r.total_tokens = r.prompt_tokens + r.completion_tokens;
    }
    if (const Value* d = get(u, "completionTokensDetails"); d != nullptr) {
        if (const Value* p = get(*d, "reasoningTokens"); p != nullptr && as_count(*p, v)) {
            r.reasoning_tokens = v;
        }
    }
    if (const Value* d = get(u, "promptTokensDetails"); d != nullptr) {
        if (const Value* p = get(*d, "cachedTokens"); p != nullptr && as_count(*p, v)) {
            r.cached_tokens = v;
        }
    }
    return r;
}

void append_usage(std::string& out, const token_usage& u)
{
    out += "{\"prompt_tokens\":";
    append_int(out, u.prompt_tokens);
    out += ",\"completion_tokens\":";
    append_int(out, u.completion_tokens);
    out += ",\"total_tokens\":";
    append_int(out, u.total_tokens);
    if (u.cached_tokens >= 0) {
        out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
        append_int(out, u.cached_tokens);
        out += "}";
    }
    if (u.reasoning_tokens >= 0) {
        out += ",\"completion_tokens_details\":{\"reasoning_tokens\":";
        append_int(out, u.reasoning_tokens);
        out += "}";
    }
    out += "}";
}

void append_parts_text(const Value& content, std::string& text, std::string& reasoning)
{
    if (content.IsString()) {
        text.append(content.GetString(), content.GetStringLength());
        return;
    }
    if (!content.IsArray()) {
        return;
    }
    for (auto& part : content.GetArray()) {
        std::string_view type = get_string(part, "type");
        if (type == "THINKING") {
            reasoning += get_string(part, "thinking");
        } else if (type == "TEXT" || type.empty()) {
            text += get_string(part, "text");
        }
    }
}

std::string sanitize_message(std::string_view s, std::size_t max_len)
{
    std::string r;
    r.reserve(std::min(s.size(), max_len));
    for (char c : s) {
        if (r.size() >= max_len) {
            r += "...";
            break;
        }
        auto u = static_cast<unsigned char>(c);
        r.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
    }
    return r;
}

void append_logprob(std::string& out, double v)
{
    if (!std::isfinite(v)) {
        v = -9999.0;  // OpenAI's "very unlikely"; JSON has no infinities
    }
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

namespace {

// A log probability OCI sent as a number or (GENERIC topLogprobs) a numeric string.
double logprob_of(const Value& v)
{
    if (v.IsNumber()) {
        return v.GetDouble();
    }
    if (v.IsString()) {
        const char* s = v.GetString();
        char* end = nullptr;
        double d = std::strtod(s, &end);
        return end != s ? d : -9999.0;
    }
    return -9999.0;
}

void append_token_head(std::string& out, bool& first, std::string_view token, double lp)
{
    out += first ? "{\"token\":" : ",{\"token\":";
    first = false;
    append_json_string(out, token);
    out += ",\"logprob\":";
    append_logprob(out, lp);
    out += ",\"bytes\":null,\"top_logprobs\":[";
}

}  // namespace

void append_generic_logprobs(std::string& out, bool& first, const Value& lp, int top)
{
    const Value* tokens = get(lp, "tokens");
    const Value* lps = get(lp, "tokenLogprobs");
    const Value* tops = get(lp, "topLogprobs");
    if (tokens == nullptr || !tokens->IsArray()) {
        return;
    }
    std::vector<std::pair<std::string_view, double>> alts;
    for (rapidjson::SizeType i = 0; i < tokens->Size(); ++i) {
        const Value& t = (*tokens)[i];
        double v =
            lps != nullptr && lps->IsArray() && i < lps->Size() ? logprob_of((*lps)[i]) : -9999.0;
        append_token_head(out, first, t.IsString() ? sv(t) : "", v);
        if (top > 0 && tops != nullptr && tops->IsArray() && i < tops->Size() &&
            (*tops)[i].IsObject()) {
            // The `top` most likely, most likely first (OCI may add the sampled token).
            alts.clear();
            for (auto it = (*tops)[i].MemberBegin(); it != (*tops)[i].MemberEnd(); ++it) {
                alts.emplace_back(sv(it->name), logprob_of(it->value));
            }
            std::stable_sort(alts.begin(), alts.end(),
                             [](const auto& a, const auto& b) { return a.second > b.second; });
            std::size_t n = std::min(alts.size(), static_cast<std::size_t>(top));
            for (std::size_t k = 0; k < n; ++k) {
                out += k > 0 ? ",{\"token\":" : "{\"token\":";
                append_json_string(out, alts[k].first);
                out += ",\"logprob\":";
                append_logprob(out, alts[k].second);
                out += ",\"bytes\":null}";
            }
        }
        out += "]}";
    }
}

void append_cohere_logprobs(std::string& out, bool& first, const Value& lps)
{
    if (!lps.IsArray()) {
        return;
    }
    for (auto& e : lps.GetArray()) {
        double sum = 0;
        if (const Value* v = get(e, "logProbabilities"); v != nullptr && v->IsArray()) {
            for (auto& x : v->GetArray()) {
                sum += logprob_of(x);
            }
        }
        append_token_head(out, first, get_string(e, "text"), sum);
        out += "]}";
    }
}

std::string wrap_logprobs(std::string_view items)
{
    std::string out;
    out.reserve(items.size() + 32);
    out += "{\"content\":[";
    out += items;
    out += "],\"refusal\":null}";
    return out;
}

void read_url_citations(const Value& anns, std::vector<answer_citation>& out)
{
    if (!anns.IsArray()) {
        return;
    }
    for (auto& a : anns.GetArray()) {
        const Value* u = get(a, "urlCitation");
        if (u == nullptr || !u->IsObject()) {
            continue;
        }
        answer_citation ci;
        std::int64_t v = 0;
        if (const Value* p = get(*u, "startIndex"); p != nullptr && as_count(*p, v)) {
            ci.start_index = v;
        }
        if (const Value* p = get(*u, "endIndex"); p != nullptr && as_count(*p, v)) {
            ci.end_index = v;
        }
        ci.title = get_string(*u, "title");
        ci.url = get_string(*u, "url");
        out.push_back(std::move(ci));
    }
}

void append_url_citation_fields(std::string& out, const answer_citation& a)
{
    out += "\"start_index\":";
    append_int(out, a.start_index);
    out += ",\"end_index\":";
    append_int(out, a.end_index);
    out += ",\"title\":";
    append_json_string(out, a.title);
    out += ",\"url\":";
    append_json_string(out, a.url);
}

void append_annotations(std::string& out, const std::vector<answer_citation>& cs)
{
    out += "[";
    for (std::size_t k = 0; k < cs.size(); ++k) {
        const answer_citation& a = cs[k];
        out += k > 0 ? "," : "";
        out += "{\"type\":\"url_citation\",\"url_citation\":{";
        append_url_citation_fields(out, a);
        out += "}}";
    }
    out += "]";
}

std::string_view printable_or_empty(std::string_view s, std::size_t max_len)
{
    return s.size() <= max_len && !has_control_chars(s) ? s : std::string_view{};
}

}  // namespace detail

std::string make_completion_id(std::uint64_t random_hi, std::uint32_t random_lo)
{
    char buf[48];
    std::snprintf(buf, sizeof buf, "chatcmpl-%016llx%08x",
                  static_cast<unsigned long long>(random_hi), static_cast<unsigned>(random_lo));
    return buf;
}

std::string random_completion_id()
{
    // One generator per thread, seeded once.
    thread_local std::mt19937_64 rng{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                                     std::random_device{}()};
    std::uint64_t hi = rng();
    auto lo = static_cast<std::uint32_t>(rng());
    return make_completion_id(hi, lo);
}

std::string synthetic_tool_call_id(std::string_view completion_id, int choice, int index)
{
    // Derived from the completion id (unique per response) plus the position: stable.
    std::string_view tail = completion_id;
    if (tail.starts_with("chatcmpl-")) {
        tail.remove_prefix(9);
    } else if (tail.starts_with("resp_")) {
        tail.remove_prefix(5);
    }
    if (tail.size() > 24) {
        tail = tail.substr(0, 24);
    }
    // snprintf sidesteps a GCC 12 -O3 -Wrestrict false positive on string concatenation.
    char buf[96];
    int n = choice > 0 ? std::snprintf(buf, sizeof buf, "call_%.*s_c%d_%d",
                                       static_cast<int>(tail.size()), tail.data(), choice, index)
                       : std::snprintf(buf, sizeof buf, "call_%.*s_%d",
                                       static_cast<int>(tail.size()), tail.data(), index);
    return std::string(buf, static_cast<std::size_t>(n));
}

namespace {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
    // Howard Hinnant's algorithm.
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out)
{
    if (pos + n > s.size()) {
        return false;
    }
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

}  // namespace

std::int64_t parse_iso8601(std::string_view s)
{
    int y, mo, d, h, mi, se;
    // YYYY-MM-DDTHH:MM:SS
    if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) ||
        s[7] != '-' || !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
        !digits(s, 17, 2, se)) {
        return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return -1;
    }
    std::size_t p = 19;
    // Optional fraction.
    if (p < s.size() && s[p] == '.') {
        ++p;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
            ++p;
        }
    }
    std::int64_t offset = 0;
    // Zone: Z or ±hh:mm (no zone: UTC).
    if (p < s.size()) {
        if (s[p] == 'Z' || s[p] == 'z') {
            ++p;
        } else if (s[p] == '+' || s[p] == '-') {
            int oh, om;
            if (!digits(s, p + 1, 2, oh)) {
                return -1;
            }
            std::size_t q = p + 3;
            if (q < s.size() && s[q] == ':') {
                ++q;
            }
            if (!digits(s, q, 2, om)) {
                return -1;
            }
            offset = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
            p = q + 2;
        }
    }
    if (p != s.size()) {
        return -1;
    }
    return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
           h * 3600 + mi * 60 + se - offset;
}

std::string_view map_finish_reason(std::string_view r)
{
    std::string l = detail::to_lower(r);
    if (l == "length" || l == "max_tokens" || l == "error_limit") {
        return "length";
    }
    if (l == "tool_calls" || l == "tool_call" || l == "function_call") {
        return "tool_calls";
    }
    if (l == "content_filter" || l == "content_filtered" || l == "error_toxic") {
        return "content_filter";
    }
    if (l == "error") {
        return "error";
    }
    return "stop";
}

namespace {

void add_call(answer_choice& c, std::string id, std::string_view name, std::string_view args)
{
    c.tool_calls.push_back(answer_tool_call{std::move(id), std::string(name),
                                            args.empty() ? std::string("{}") : std::string(args)});
}

// GENERIC arguments: a string as sent; an object (some models) as its JSON text.
std::string arguments_text(const Value* a)
{
    if (a == nullptr || a->IsNull()) {
        return {};
    }
    return a->IsString() ? std::string(sv(*a)) : detail::to_json(*a);
}

// A Cohere citation's url source (a document object with a string `url`) → url_citation.
void add_url_citation(answer_choice& c, std::int64_t start, std::int64_t end, const Value& doc)
{
    const Value* url = get(doc, "url");
    if (url == nullptr || !url->IsString() || url->GetStringLength() == 0) {
        return;
    }
    c.citations.push_back(
        answer_citation{start, end, std::string(get_string(doc, "title")), std::string(sv(*url))});
}

void open_cohere_citation(std::string& out, std::int64_t start, std::int64_t end,
                          std::string_view text)
{
    out += out.empty() ? "[{\"start_index\":" : ",{\"start_index\":";
    detail::append_int(out, start);
    out += ",\"end_index\":";
    detail::append_int(out, end);
    out += ",\"text\":";
    append_json_string(out, text);
    out += ",\"sources\":[";
}

void append_source(std::string& out, bool& first, std::string_view type, std::string_view id)
{
    out += first ? "{\"type\":" : ",{\"type\":";
    first = false;
    append_json_string(out, type);
    out += ",\"id\":";
    append_json_string(out, id);
    out += "}";
}

std::int64_t count_of(const Value& obj, std::string_view key)
{
    std::int64_t v = 0;
    const Value* p = get(obj, key);
    return p != nullptr && detail::as_count(*p, v) ? v : 0;
}

// COHERE `citations` ([{start, end, text, documentIds}]) with the answer's `documents`: the
// `citations` extension, and a url_citation for each cited document that has a `url`.
void read_cohere_citations(const Value& cr, answer_choice& c)
{
    const Value* cits = get(cr, "citations");
    if (cits == nullptr || !cits->IsArray() || cits->Empty()) {
        return;
    }
    const Value* docs = get(cr, "documents");
    std::string& out = c.cohere_citations;
    for (auto& ci : cits->GetArray()) {
        std::int64_t start = count_of(ci, "start");
        std::int64_t end = count_of(ci, "end");
        open_cohere_citation(out, start, end, get_string(ci, "text"));
        bool first = true;
        if (const Value* ids = get(ci, "documentIds"); ids != nullptr && ids->IsArray()) {
            for (auto& id : ids->GetArray()) {
                if (!id.IsString()) {
                    continue;
                }
                append_source(out, first, "document", sv(id));
                if (docs == nullptr || !docs->IsArray()) {
                    continue;
                }
                for (auto& d : docs->GetArray()) {
                    if (get_string(d, "id") == sv(id)) {
                        add_url_citation(c, start, end, d);
                        break;
                    }
                }
            }
        }
        out += "]}";
    }
    out += "]";
}

// COHEREV2 `message.citations` ([{start, end, text, type, sources:[{type, tool{id},
// document{id, document}}]}]): those of the answer text (TEXT_CONTENT) only.
void read_cohere_v2_citations(const Value& m, answer_choice& c)
{
    const Value* cits = get(m, "citations");
    if (cits == nullptr || !cits->IsArray()) {
        return;
    }
    std::string& out = c.cohere_citations;
    for (auto& ci : cits->GetArray()) {
        std::string_view type = get_string(ci, "type");
        if (!type.empty() && type != "TEXT_CONTENT") {
            continue;  // thinking or plan text: not in the answer's content
        }
        std::int64_t start = count_of(ci, "start");
        std::int64_t end = count_of(ci, "end");
        open_cohere_citation(out, start, end, get_string(ci, "text"));
        bool first = true;
        if (const Value* srcs = get(ci, "sources"); srcs != nullptr && srcs->IsArray()) {
            for (auto& src : srcs->GetArray()) {
                if (const Value* d = get(src, "document"); d != nullptr && d->IsObject()) {
                    append_source(out, first, "document", get_string(*d, "id"));
                    if (const Value* body = get(*d, "document"); body != nullptr) {
                        add_url_citation(c, start, end, *body);
                    }
                } else if (const Value* t = get(src, "tool"); t != nullptr && t->IsObject()) {
                    append_source(out, first, "tool", get_string(*t, "id"));
                }
            }
        }
        out += "]}";
    }
    if (!out.empty()) {
        out += "]";
    }
}

api_error bad_upstream(std::string_view why)
{
    return make_error(
        502, "OCI Generative AI returned an unexpected response: " + std::string(why) + ".",
        error_codes::bad_upstream_response);
}

}  // namespace

result<chat_answer> parse_chat_answer(std::string_view oci_body, const chat_plan& plan,
                                      std::string_view id, std::int64_t now_unix)
{
    // Parse the ChatResult envelope.
    rapidjson::Document doc;
    if (!detail::parse_upstream(oci_body, doc) || !doc.IsObject()) {
        return bad_upstream("not JSON");
    }
    const Value* cr = get(doc, "chatResponse");
    if (cr == nullptr || !cr->IsObject()) {
        return bad_upstream("no chatResponse");
    }
    std::string_view fmt = get_string(*cr, "apiFormat");
    if (fmt.empty()) {
        fmt = to_string(plan.model.format);
    }
    chat_answer answer;
    answer.model_version = detail::printable_or_empty(get_string(doc, "modelVersion"));
    answer.created = parse_iso8601(get_string(*cr, "timeCreated"));
    if (answer.created < 0) {
        answer.created = now_unix;
    }
    if (const Value* u = get(*cr, "usage"); u != nullptr) {
        answer.usage = detail::read_usage(*u);
    }
    std::string error_message;
    if (fmt == "GENERIC") {
        // GENERIC: choices with content parts, tool calls and reasoning.
        const Value* cs = get(*cr, "choices");
        if (cs == nullptr || !cs->IsArray()) {
            return bad_upstream("no choices");
        }
        for (rapidjson::SizeType i = 0; i < cs->Size(); ++i) {
            const Value& c = (*cs)[i];
            answer_choice co;
            int ci = static_cast<int>(answer.choices.size());
            if (const Value* m = get(c, "message"); m != nullptr) {
                if (const Value* content = get(*m, "content"); content != nullptr) {
                    co.has_text = true;
                    detail::append_parts_text(*content, co.text, co.reasoning);
                }
                if (const Value* rc = get(*m, "reasoningContent");
                    rc != nullptr && rc->IsString()) {
                    co.reasoning += sv(*rc);
                }
                co.refusal = get_string(*m, "refusal");
                if (const Value* tcs = get(*m, "toolCalls"); tcs != nullptr && tcs->IsArray()) {
                    for (rapidjson::SizeType j = 0; j < tcs->Size(); ++j) {
                        const Value& tc = (*tcs)[j];
                        std::string call_id(get_string(tc, "id"));
                        if (call_id.empty()) {
                            call_id = synthetic_tool_call_id(id, ci, static_cast<int>(j));
                        }
                        add_call(co, std::move(call_id), get_string(tc, "name"),
                                 arguments_text(get(tc, "arguments")));
                    }
                }
                if (const Value* anns = get(*m, "annotations"); anns != nullptr) {
                    detail::read_url_citations(*anns, co.citations);
                }
            }
            co.finish = std::string(map_finish_reason(get_string(c, "finishReason")));
            if (const Value* lp = get(c, "logprobs"); lp != nullptr && plan.logprobs) {
                std::string items;
                bool first = true;
                detail::append_generic_logprobs(items, first, *lp, plan.top_logprobs);
                co.logprobs = detail::wrap_logprobs(items);
            }
            answer.choices.push_back(std::move(co));
        }
    } else if (fmt == "COHERE") {
        // COHERE v1: top-level text and `{name, parameters}` tool calls without ids.
        answer_choice co;
        if (const Value* t = get(*cr, "text"); t != nullptr && t->IsString()) {
            co.has_text = true;
            co.text = sv(*t);
        }
        if (const Value* tcs = get(*cr, "toolCalls"); tcs != nullptr && tcs->IsArray()) {
            for (rapidjson::SizeType j = 0; j < tcs->Size(); ++j) {
                const Value& tc = (*tcs)[j];
                const Value* params = get(tc, "parameters");
                add_call(co, synthetic_tool_call_id(id, 0, static_cast<int>(j)),
                         get_string(tc, "name"),
                         params != nullptr ? detail::to_json(*params) : "{}");
            }
        }
        read_cohere_citations(*cr, co);
        co.finish = std::string(map_finish_reason(get_string(*cr, "finishReason")));
        error_message = get_string(*cr, "errorMessage");
        answer.choices.push_back(std::move(co));
    } else if (fmt == "COHEREV2") {
        // COHEREV2: message with TEXT/THINKING parts and nested function tool calls.
        answer_choice co;
        if (const Value* m = get(*cr, "message"); m != nullptr) {
            if (const Value* content = get(*m, "content"); content != nullptr) {
                co.has_text = true;
                detail::append_parts_text(*content, co.text, co.reasoning);
            }
            if (const Value* tcs = get(*m, "toolCalls"); tcs != nullptr && tcs->IsArray()) {
                for (rapidjson::SizeType j = 0; j < tcs->Size(); ++j) {
                    const Value& tc = (*tcs)[j];
                    std::string call_id(get_string(tc, "id"));
                    if (call_id.empty()) {
                        call_id = synthetic_tool_call_id(id, 0, static_cast<int>(j));
                    }
                    const Value* fn = get(tc, "function");
                    std::string_view name = fn != nullptr ? get_string(*fn, "name") : "";
                    std::string args = "{}";
                    if (const Value* a = fn != nullptr ? get(*fn, "arguments") : nullptr;
                        a != nullptr) {
                        args = a->IsString() ? std::string(sv(*a)) : detail::to_json(*a);
                    }
                    add_call(co, std::move(call_id), name, args);
                }
            }
            read_cohere_v2_citations(*m, co);
        }
        if (const Value* lps = get(*cr, "logProbabilities"); lps != nullptr && plan.logprobs) {
            std::string items;
            bool first = true;
            detail::append_cohere_logprobs(items, first, *lps);
            co.logprobs = detail::wrap_logprobs(items);
        }
        co.finish = std::string(map_finish_reason(get_string(*cr, "finishReason")));
        error_message = get_string(*cr, "errorMessage");
        answer.choices.push_back(std::move(co));
    } else {
        return bad_upstream("unknown apiFormat");
    }
    // An ERROR finish is an upstream failure, not a completion.
    for (auto& c : answer.choices) {
        if (c.finish == "error") {
            api_error e = make_error(502, "OCI Generative AI stopped generating with an error.",
                                     error_codes::upstream_generation_error);
            e.log_detail =
                detail::sanitize_message(error_message.empty() ? "unknown error" : error_message);
            return e;
        }
        // Tool calls win over Cohere's COMPLETE.
        if (!c.tool_calls.empty() && c.finish == "stop") {
            c.finish = "tool_calls";
        }
    }
    return answer;
}

std::string write_chat_completion(const chat_answer& answer, const chat_plan& plan,
                                  std::string_view completion_id)
{
    // One allocation: the texts plus room for the envelope and escapes.
    std::size_t size = 512;
    for (const answer_choice& c : answer.choices) {
        size += c.text.size() + c.reasoning.size() + c.refusal.size() + c.logprobs.size() +
                c.cohere_citations.size() + c.citations.size() * 128 + 256;
        for (const answer_tool_call& t : c.tool_calls) {
            size += t.id.size() + t.name.size() + t.arguments.size() + 96;
        }
    }
    std::string out;
    out.reserve(size + size / 8);
    out += "{\"id\":";
    append_json_string(out, completion_id);
    out += ",\"object\":\"chat.completion\",\"created\":";
    detail::append_int(out, answer.created);
    out += ",\"model\":";
    append_json_string(out, plan.client_model);
    out += ",\"choices\":[";
    for (std::size_t i = 0; i < answer.choices.size(); ++i) {
        const answer_choice& c = answer.choices[i];
        out += i > 0 ? ",{\"index\":" : "{\"index\":";
        detail::append_int(out, static_cast<std::int64_t>(i));
        out += ",\"message\":{\"role\":\"assistant\",\"content\":";
        if (c.has_text && !(c.text.empty() && !c.tool_calls.empty())) {
            append_json_string(out, c.text);
        } else {
            out += "null";
        }
        out += ",\"refusal\":";
        if (c.refusal.empty()) {
            out += "null";
        } else {
            append_json_string(out, c.refusal);
        }
        if (!c.reasoning.empty()) {
            out += ",\"reasoning_content\":";
            append_json_string(out, c.reasoning);
        }
        if (!c.citations.empty()) {
            out += ",\"annotations\":";
            detail::append_annotations(out, c.citations);
        }
        if (!c.cohere_citations.empty()) {
            out += ",\"citations\":";
            out += c.cohere_citations;
        }
        if (!c.tool_calls.empty()) {
            out += ",\"tool_calls\":[";
            for (std::size_t k = 0; k < c.tool_calls.size(); ++k) {
                const answer_tool_call& t = c.tool_calls[k];
                out += k > 0 ? ",{\"id\":" : "{\"id\":";
                append_json_string(out, t.id);
                out += ",\"type\":\"function\",\"function\":{\"name\":";
                append_json_string(out, t.name);
                out += ",\"arguments\":";
                append_json_string(out, t.arguments);
                out += "}}";
            }
            out += "]";
        }
        out += "},\"logprobs\":";
        out += c.logprobs.empty() ? "null" : c.logprobs;
        out += ",\"finish_reason\":";
        append_json_string(out, c.finish);
        out += "}";
    }
    out += "]";
    if (answer.usage.present) {
        out += ",\"usage\":";
        detail::append_usage(out, answer.usage);
    }
    if (!plan.service_tier.empty()) {
        out += ",\"service_tier\":";
        append_json_string(out, plan.service_tier);
    }
    if (!answer.model_version.empty()) {
        out += ",\"system_fingerprint\":";
        append_json_string(out, answer.model_version);
    }
    out += "}";
    return out;
}

result<std::string> chat_response_to_openai(std::string_view oci_body, const chat_plan& plan,
                                            std::string_view completion_id, std::int64_t now_unix)
{
    auto answer = parse_chat_answer(oci_body, plan, completion_id, now_unix);
    if (!answer) {
        return answer.error();
    }
    return write_chat_completion(answer.value(), plan, completion_id);
}

api_error map_oci_error(unsigned status, std::string_view body, std::string_view retry_after_header,
                        std::string_view opc_request_id)
{
    // Read `{code, message}`, unwrapping JSON double-encoded inside `message`.
    std::string code;
    std::string message;
    std::string param;
    rapidjson::Document doc;
    if (detail::parse_upstream(body, doc) && doc.IsObject()) {
        if (const Value* c = get(doc, "code"); c != nullptr) {
            code = c->IsString()  ? std::string(sv(*c))
                   : c->IsInt64() ? std::to_string(c->GetInt64())
                                  : "";
        }
        message = get_string(doc, "message");
        if (const Value* e = get(doc, "error"); e != nullptr && e->IsObject()) {
            message = get_string(*e, "message");
            code = get_string(*e, "code");
            param = get_string(*e, "param");
        }
        rapidjson::Document inner;
        if (!message.empty() && message.front() == '{' && detail::parse_upstream(message, inner) &&
            inner.IsObject()) {
            const Value* ie = get(inner, "error");
            const Value& src =
                (ie != nullptr && ie->IsObject()) ? *ie : static_cast<const Value&>(inner);
            std::string inner_message(get_string(src, "message"));
            if (std::string_view ic = get_string(src, "code"); !ic.empty()) {
                code = ic;
            }
            if (std::string_view ip = get_string(src, "param"); !ip.empty()) {
                param = ip;
            }
            message = inner_message.empty() ? message : inner_message;
        }
    }
    // Numeric codes say nothing beyond the status.
    bool numeric = !code.empty() && code.find_first_not_of("0123456789") == std::string::npos;
    if (numeric || detail::has_control_chars(code) || code.size() > 64) {
        code.clear();
    }
    api_error e;
    e.param = detail::has_control_chars(param) || param.size() > 128 ? "" : param;
    bool param_ok = std::all_of(e.param.begin(), e.param.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' ||
               ch == '[' || ch == ']' || ch == '-';
    });
    if (!param_ok) {
        e.param.clear();
    }
    // Status, type, code and our own message: OCI's text names OCIDs, hosts and addresses,
    // so it goes to the log only (log_detail), never to the client.
    const std::string http = "HTTP " + std::to_string(status);
    if (status == 404) {
        e.status = 404;
        e.code = std::string(error_codes::model_not_found);
        e.message =
            "The model or endpoint does not exist in OCI Generative AI, or this proxy's "
            "OCI identity may not use it";
    } else if (status == 429) {
        e.status = 429;
        e.code = std::string(error_codes::rate_limit_exceeded);
        bool digits_only =
            !retry_after_header.empty() && retry_after_header.size() <= 10 &&
            retry_after_header.find_first_not_of("0123456789") == std::string_view::npos;
        e.retry_after = digits_only ? std::string(retry_after_header) : "1";
        e.message = "OCI Generative AI is rate-limiting requests; retry after a pause";
    } else if (status == 401) {
        e.status = 502;
        e.code = std::string(error_codes::upstream_authentication_failed);
        e.message = "OCI Generative AI did not accept this proxy's OCI credentials";
    } else if (status == 403) {
        e.status = 403;
        e.code = code.empty() ? std::string(error_codes::permission_denied) : code;
        e.message =
            "OCI Generative AI denied this proxy's OCI identity access to the model or "
            "compartment";
    } else if (status == 503) {
        e.status = 503;
        e.code = std::string(error_codes::service_unavailable);
        bool digits_only =
            !retry_after_header.empty() && retry_after_header.size() <= 10 &&
            retry_after_header.find_first_not_of("0123456789") == std::string_view::npos;
        e.retry_after = digits_only ? std::string(retry_after_header) : "1";
        e.message = "OCI Generative AI is temporarily unavailable";
    } else if (status >= 400 && status < 500) {
        e.status = status;
        e.code = code;
        e.message = "OCI Generative AI rejected the request (" + http;
        if (!e.code.empty()) {
            e.message += ", " + e.code;
        }
        e.message += !e.param.empty() ? ") at '" + e.param + "'" : ")";
    } else {
        e.status = 502;
        e.code = std::string(error_codes::upstream_error);
        e.message = "OCI Generative AI failed (" + http + ")";
    }
    // The OCI request id lets support find OCI's side of it.
    if (!opc_request_id.empty() && opc_request_id.size() <= 256 &&
        !detail::has_control_chars(opc_request_id)) {
        e.message += "; opc-request-id: " + std::string(opc_request_id);
    }
    e.message += ".";
    e.log_detail = (code.empty() ? std::string() : code + ": ") +
                   (message.empty() ? http : detail::sanitize_message(message));
    return e;
}

}  // namespace ogp::transform
