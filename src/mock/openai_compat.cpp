#include "openai_compat.hpp"

#include "inference.hpp"

#include "ogp/util/log.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <unordered_map>
#include "ogp/util/text.hpp"

namespace ogp::mock::openai {

namespace http = boost::beast::http;

namespace {

using text::iequals;
using text::trim_ows;

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::size_t last_cap = 1024 * 1024;  // bytes of a body or answer kept for /last
constexpr std::size_t max_json_body = 16 * 1024 * 1024;

std::string lower(std::string_view s)
{
    std::string o(s);
    for (auto& c : o) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return o;
}

std::string hex_id(std::string_view prefix)
{
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx",
                  static_cast<unsigned long long>(ogp::random_u64()),
                  static_cast<unsigned long long>(ogp::random_u64()));
    return std::string(prefix) + buf;
}

std::string sha256_hex(std::string_view data)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : d) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

void put(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void key(json_writer& w, std::string_view k)
{
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

void raw(json_writer& w, std::string_view json)
{
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

std::string to_json(const rapidjson::Value& v)
{
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    v.Accept(w);
    return sb.GetString();
}

// A JSON body answer.
answer json_answer(unsigned status, std::string body)
{
    answer a;
    a.status = status;
    a.body = std::move(body);
    return a;
}

// An OpenAI error: {"error":{"message","type","param","code"}}.
answer error(unsigned status, std::string_view message,
             std::string_view type = "invalid_request_error", std::string_view param = {},
             std::string_view code = {})
{
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.StartObject();
    key(w, "error");
    w.StartObject();
    key(w, "message");
    put(w, message);
    key(w, "type");
    put(w, type);
    key(w, "param");
    param.empty() ? w.Null() : (put(w, param), true);
    key(w, "code");
    code.empty() ? w.Null() : (put(w, code), true);
    w.EndObject();
    w.EndObject();
    return json_answer(status, sb.GetString());
}

std::size_t word_count(std::string_view text)
{
    std::size_t n = 0;
    bool in = false;
    for (char c : text) {
        const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
        n += !space && !in ? 1 : 0;
        in = !space;
    }
    return n;
}

// The text of a message `content`: a string, or the `text` of its parts of the given types.
std::string content_text(const rapidjson::Value& content)
{
    if (content.IsString()) {
        return {content.GetString(), content.GetStringLength()};
    }
    std::string out;
    if (!content.IsArray()) {
        return out;
    }
    for (const auto& part : content.GetArray()) {
        if (!part.IsObject() || !part.HasMember("text") || !part["text"].IsString()) {
            continue;
        }
        const auto& t = part["text"];
        if (!out.empty()) {
            out += " ";
        }
        out.append(t.GetString(), t.GetStringLength());
    }
    return out;
}

bool is_string_member(const rapidjson::Value& o, const char* k)
{
    return o.IsObject() && o.HasMember(k) && o[k].IsString();
}

std::string string_member(const rapidjson::Value& o, const char* k)
{
    return is_string_member(o, k) ? std::string(o[k].GetString(), o[k].GetStringLength())
                                  : std::string();
}

// The last user text of a Responses `input` (a string or a list of items).
std::string input_text(const rapidjson::Value& input)
{
    if (input.IsString()) {
        return {input.GetString(), input.GetStringLength()};
    }
    std::string out;
    if (input.IsArray()) {
        for (const auto& item : input.GetArray()) {
            if (item.IsObject() && string_member(item, "role") == "user" &&
                item.HasMember("content")) {
                out = content_text(item["content"]);
            }
        }
    }
    return out;
}

// True when `v` nests at most `max` levels: rapidjson's writer recurses, so stored input is
// checked first (the parser itself is iterative).
bool depth_ok(const rapidjson::Value& v, int max)
{
    if (max < 0) {
        return false;
    }
    if (v.IsArray()) {
        for (const auto& e : v.GetArray()) {
            if (!depth_ok(e, max - 1)) {
                return false;
            }
        }
    } else if (v.IsObject()) {
        for (const auto& m : v.GetObject()) {
            if (!depth_ok(m.value, max - 1)) {
                return false;
            }
        }
    }
    return true;
}

// OpenAI's metadata limits: at most 16 string pairs, keys up to 64, values up to 512 chars.
bool valid_metadata(const rapidjson::Value& m)
{
    if (m.IsNull()) {
        return true;
    }
    if (!m.IsObject() || m.MemberCount() > 16) {
        return false;
    }
    for (const auto& kv : m.GetObject()) {
        if (kv.name.GetStringLength() > 64 || !kv.value.IsString() ||
            kv.value.GetStringLength() > 512) {
            return false;
        }
    }
    return true;
}

std::string metadata_json(const rapidjson::Value& o)
{
    if (o.IsObject() && o.HasMember("metadata") && o["metadata"].IsObject()) {
        return to_json(o["metadata"]);
    }
    return "{}";
}

// A store of objects by id, each owned by a project, bounded in count and bytes (the oldest
// evicted first); ids are looked up under their project only.
template <class T>
class bounded_store
{
public:
    bounded_store(std::size_t max_count, std::size_t max_bytes)
        : max_count_(max_count), max_bytes_(max_bytes)
    {
    }

    void put(const std::string& id, const std::string& project, T value, std::size_t bytes)
    {
        erase_id(id);
        const std::uint64_t seq = ++seq_;
        entries_.emplace(id, entry{project, std::move(value), bytes, seq});
        order_.emplace(seq, id);
        bytes_ += bytes;
        while (!order_.empty() && (order_.size() > max_count_ || bytes_ > max_bytes_)) {
            erase_id(order_.begin()->second);
        }
    }

    T* get(const std::string& id, const std::string& project)
    {
        auto it = entries_.find(id);
        return it == entries_.end() || it->second.project != project ? nullptr : &it->second.value;
    }

    bool erase(const std::string& id, const std::string& project)
    {
        if (get(id, project) == nullptr) {
            return false;
        }
        erase_id(id);
        return true;
    }

    // The project's objects, oldest first.
    std::vector<std::pair<std::string, const T*>> list(const std::string& project) const
    {
        std::vector<std::pair<std::string, const T*>> out;
        for (const auto& [seq, id] : order_) {
            const auto& e = entries_.at(id);
            if (e.project == project) {
                out.emplace_back(id, &e.value);
            }
        }
        return out;
    }

private:
    struct entry
    {
        std::string project;
        T value;
        std::size_t bytes;
        std::uint64_t seq;
    };

    void erase_id(const std::string& id)
    {
        auto it = entries_.find(id);
        if (it == entries_.end()) {
            return;
        }
        bytes_ -= it->second.bytes;
        order_.erase(it->second.seq);
        entries_.erase(it);
    }

    std::size_t max_count_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::uint64_t seq_ = 0;
    std::unordered_map<std::string, entry> entries_;
    std::map<std::uint64_t, std::string> order_;
};

struct stored_response
{
    std::string json;         // the Response object
    std::string input_items;  // JSON array of the input items, oldest first
    int turn = 1;
};

struct stored_file
{
    std::string filename;
    std::string purpose;
    std::string data;
    std::int64_t created_at = 0;
};

struct stored_conversation
{
    std::string metadata;  // JSON object
    std::int64_t created_at = 0;
};

struct stored_vector_store
{
    std::string name;
    std::string metadata;
    std::int64_t created_at = 0;
    std::size_t files = 0;
    std::size_t usage_bytes = 0;
};

struct last_exchange
{
    std::string method, target, headers_json, body, body_sha256, answer;
    bool json_body = false;
    bool truncated = false;
    std::size_t body_bytes = 0;
    unsigned status = 0;
    bool set = false;
};

// The parts of `/openai/v1/<a>/<b>/<c>`; more than three segments is no route.
struct route
{
    std::string collection;
    std::string id;
    std::string sub;
    bool valid = false;
};

route parse_route(std::string_view path)
{
    route r;
    constexpr std::string_view base = "/openai/v1/";
    if (!path.starts_with(base)) {
        return r;
    }
    path.remove_prefix(base.size());
    std::vector<std::string_view> seg;
    while (!path.empty()) {
        const auto slash = path.find('/');
        seg.push_back(path.substr(0, slash));
        if (seg.back().empty() || seg.size() > 3) {
            return r;
        }
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    }
    if (seg.empty()) {
        return r;
    }
    r.collection = seg[0];
    r.id = seg.size() > 1 ? std::string(seg[1]) : std::string();
    r.sub = seg.size() > 2 ? std::string(seg[2]) : std::string();
    r.valid = true;
    return r;
}

// The value of query parameter `name` (not decoded; ids and numbers need none), or empty.
std::string query_param(std::string_view query, std::string_view name)
{
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
            return std::string(pair.substr(eq + 1));
        }
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    return {};
}

// A list page of already-serialized objects (ids in `ids`, same order).
struct list_page
{
    std::string body;
    bool bad_limit = false;
};

list_page list_json(std::vector<std::pair<std::string, std::string>> items, std::string_view query,
                    bool default_desc)
{
    list_page page;
    const std::string order = query_param(query, "order");
    const bool desc = order.empty() ? default_desc : order == "desc";
    if (desc) {
        std::reverse(items.begin(), items.end());
    }
    std::size_t limit = 10000;
    if (auto l = query_param(query, "limit"); !l.empty()) {
        char* end = nullptr;
        const long v = std::strtol(l.c_str(), &end, 10);
        if (end == nullptr || *end != '\0' || v < 1 || v > 10000) {
            page.bad_limit = true;
            return page;
        }
        limit = static_cast<std::size_t>(v);
    }
    std::size_t from = 0;
    if (auto after = query_param(query, "after"); !after.empty()) {
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (items[i].first == after) {
                from = i + 1;
                break;
            }
        }
    }
    const std::size_t to = std::min(items.size(), from + limit);
    std::string data = "[";
    for (std::size_t i = from; i < to; ++i) {
        data += (i == from ? "" : ",") + items[i].second;
    }
    data += "]";
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.StartObject();
    key(w, "object");
    put(w, "list");
    key(w, "data");
    raw(w, data);
    key(w, "first_id");
    if (from < to) {
        put(w, items[from].first);
    } else {
        w.Null();
    }
    key(w, "last_id");
    if (from < to) {
        put(w, items[to - 1].first);
    } else {
        w.Null();
    }
    key(w, "has_more");
    w.Bool(to < items.size());
    w.EndObject();
    page.body = sb.GetString();
    return page;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Compression.

struct compressor::state
{
    bool gzip = false;
    bool ok = false;
    bool done = false;
    z_stream z{};
    ZSTD_CCtx* zc = nullptr;

    ~state()
    {
        if (gzip && ok) {
            deflateEnd(&z);
        }
        if (zc != nullptr) {
            ZSTD_freeCCtx(zc);
        }
    }
};

compressor::compressor(std::string_view coding) : state_(std::make_unique<state>())
{
    if (coding == "gzip") {
        state_->gzip = true;
        // windowBits 31: a gzip wrapper (15 + 16).
        state_->ok = deflateInit2(&state_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
                                  Z_DEFAULT_STRATEGY) == Z_OK;
    } else if (coding == "zstd") {
        state_->zc = ZSTD_createCCtx();
        state_->ok = state_->zc != nullptr;
    }
}

compressor::~compressor() = default;

bool compressor::ok() const
{
    return state_->ok && !state_->done;
}

std::optional<std::string> compressor::chunk(std::string_view data, bool last)
{
    if (!ok()) {
        return std::nullopt;
    }
    std::string out;
    char buf[16384];
    if (state_->gzip) {
        auto& z = state_->z;
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
        z.avail_in = static_cast<uInt>(data.size());
        const int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
        for (;;) {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            const int rc = deflate(&z, flush);
            if (rc == Z_STREAM_ERROR) {
                state_->done = true;
                return std::nullopt;
            }
            out.append(buf, sizeof buf - z.avail_out);
            if (last ? rc == Z_STREAM_END : (z.avail_out != 0 && z.avail_in == 0)) {
                break;
            }
        }
    } else {
        ZSTD_inBuffer in{data.data(), data.size(), 0};
        const ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_flush;
        for (;;) {
            ZSTD_outBuffer o{buf, sizeof buf, 0};
            const std::size_t remaining = ZSTD_compressStream2(state_->zc, &o, &in, mode);
            if (ZSTD_isError(remaining) != 0U) {
                state_->done = true;
                return std::nullopt;
            }
            out.append(buf, o.pos);
            if (remaining == 0 && in.pos == in.size) {
                break;
            }
        }
    }
    state_->done = last;
    return out;
}

std::optional<std::string> compress(std::string_view coding, std::string_view data)
{
    compressor c(coding);
    return c.chunk(data, true);
}

std::string pick_encoding(std::string_view accept_encoding)
{
    // Per coding: 1 accepted, 0 refused (q=0), -1 not listed.
    int gzip = -1;
    int zstd = -1;
    int star = -1;
    std::string_view rest = accept_encoding;
    for (int n = 0; !rest.empty() && n < 64; ++n) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const auto semi = item.find(';');
        const std::string coding = lower(trim_ows(item.substr(0, semi)));
        int accepted = 1;
        std::string_view params =
            semi == std::string_view::npos ? std::string_view() : item.substr(semi + 1);
        while (!params.empty()) {
            const auto s = params.find(';');
            const auto p = trim_ows(params.substr(0, s));
            params = s == std::string_view::npos ? std::string_view() : params.substr(s + 1);
            if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                const std::string q(p.substr(2, 8));
                accepted = std::strtod(q.c_str(), nullptr) > 0.0 ? 1 : 0;
            }
        }
        if (coding == "gzip" || coding == "x-gzip") {
            gzip = accepted;
        } else if (coding == "zstd") {
            zstd = accepted;
        } else if (coding == "*") {
            star = accepted;
        }
    }
    if (zstd == 1 || (zstd == -1 && star == 1)) {
        return "zstd";
    }
    if (gzip == 1 || (gzip == -1 && star == 1)) {
        return "gzip";
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// multipart/form-data.

namespace {

// `; k=v; k="v"` parameters of a header value (after its first token), names lower-cased.
std::map<std::string, std::string> header_params(std::string_view value)
{
    std::map<std::string, std::string> out;
    auto semi = value.find(';');
    for (int n = 0; semi != std::string_view::npos && n < 32; ++n) {
        value.remove_prefix(semi + 1);
        value = trim_ows(value);
        const auto eq = value.find('=');
        if (eq == std::string_view::npos) {
            break;
        }
        const std::string name = lower(trim_ows(value.substr(0, eq)));
        value.remove_prefix(eq + 1);
        std::string v;
        if (!value.empty() && value.front() == '"') {
            std::size_t i = 1;
            for (; i < value.size() && value[i] != '"'; ++i) {
                if (value[i] == '\\' && i + 1 < value.size()) {
                    ++i;
                }
                v.push_back(value[i]);
            }
            value.remove_prefix(std::min(value.size(), i + 1));
            semi = value.find(';');
        } else {
            semi = value.find(';');
            v = std::string(trim_ows(value.substr(0, semi)));
        }
        out[name] = std::move(v);
    }
    return out;
}

}  // namespace

std::optional<std::string> form_boundary(std::string_view content_type)
{
    const auto semi = content_type.find(';');
    if (!iequals(trim_ows(content_type.substr(0, semi)), "multipart/form-data")) {
        return std::nullopt;
    }
    auto params = header_params(content_type);
    auto it = params.find("boundary");
    if (it == params.end() || it->second.empty() || it->second.size() > 70) {
        return std::nullopt;
    }
    for (char c : it->second) {
        if (c == '\r' || c == '\n' || static_cast<unsigned char>(c) < 0x20) {
            return std::nullopt;
        }
    }
    return it->second;
}

std::optional<std::vector<form_part>> parse_form(std::string_view body, std::string_view boundary,
                                                 const form_limits& limits, std::string& error)
{
    if (body.size() > limits.max_body) {
        error = "the multipart body is too large";
        return std::nullopt;
    }
    if (boundary.empty() || boundary.size() > 70) {
        error = "invalid multipart boundary";
        return std::nullopt;
    }
    const std::string delim = "--" + std::string(boundary);
    const std::string next = "\r\n" + delim;
    // The first delimiter: at the start, or after a preamble line.
    std::size_t pos = body.starts_with(delim) ? 0 : body.find(next);
    if (pos == std::string_view::npos) {
        error = "the multipart body has no boundary delimiter";
        return std::nullopt;
    }
    pos += pos == 0 && body.starts_with(delim) ? delim.size() : next.size();
    std::vector<form_part> parts;
    for (;;) {
        if (body.substr(pos, 2) == "--") {
            return parts;  // close delimiter; the epilogue is ignored
        }
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) {
            ++pos;
        }
        if (body.substr(pos, 2) != "\r\n") {
            error = "malformed multipart delimiter line";
            return std::nullopt;
        }
        pos += 2;
        if (parts.size() >= limits.max_parts) {
            error = "too many multipart parts";
            return std::nullopt;
        }
        // The part's header block ends at an empty line.
        std::size_t head_end;
        if (body.substr(pos, 2) == "\r\n") {
            head_end = pos;
        } else {
            head_end = body.substr(pos, limits.max_part_header + 4).find("\r\n\r\n");
            if (head_end == std::string_view::npos || head_end > limits.max_part_header) {
                error = "a multipart part header is missing its end or too large";
                return std::nullopt;
            }
            head_end += pos + 2;
        }
        form_part part;
        std::string_view head = body.substr(pos, head_end - pos);
        while (!head.empty()) {
            const auto eol = head.find("\r\n");
            const std::string_view line = head.substr(0, eol);
            head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) {
                error = "malformed multipart part header";
                return std::nullopt;
            }
            const std::string name = lower(trim_ows(line.substr(0, colon)));
            const std::string_view value = trim_ows(line.substr(colon + 1));
            if (name == "content-disposition") {
                if (!iequals(trim_ows(value.substr(0, value.find(';'))), "form-data")) {
                    error = "a multipart part is not form-data";
                    return std::nullopt;
                }
                auto params = header_params(value);
                part.name = params["name"];
                part.filename = params["filename"];
            } else if (name == "content-type") {
                part.content_type = std::string(value);
            }
        }
        if (part.name.empty()) {
            error = "a multipart part has no name";
            return std::nullopt;
        }
        const std::size_t data_at = head_end + 2;
        const std::size_t data_end = body.find(next, data_at);
        if (data_end == std::string_view::npos) {
            error = "a multipart part is not terminated";
            return std::nullopt;
        }
        part.data = body.substr(data_at, data_end - data_at);
        parts.push_back(std::move(part));
        pos = data_end + next.size();
    }
}

// ---------------------------------------------------------------------------------------------
// The service.

struct service::impl
{
    explicit impl(options o) : opts(std::move(o)) {}

    options opts;
    counters stats;
    mutable std::mutex mu;
    bounded_store<stored_response> responses{1000, 64 * 1024 * 1024};
    bounded_store<stored_file> files{1000, 256 * 1024 * 1024};
    bounded_store<stored_conversation> conversations{1000, 8 * 1024 * 1024};
    bounded_store<stored_vector_store> vector_stores{1000, 8 * 1024 * 1024};
    last_exchange last;

    // Per-request context.
    struct call
    {
        const request& req;
        std::string project;
        std::string path;
        std::string query;
        std::string model;  // of a JSON body, for the faults
    };

    // Authentication: a GenAI API key, or an OCI signature with the project and compartment
    // headers. nullopt when accepted (`project` set).
    std::optional<answer> authenticate(const request& req, const signature_verifier& verify,
                                       std::string& project)
    {
        const std::string_view auth = req[http::field::authorization];
        const std::string_view proj = req["openai-project"];
        constexpr std::string_view project_prefix = "ocid1.generativeaiproject.";
        // The scheme is case-insensitive (RFC 9110).
        if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ") {
            const std::string_view key = trim_ows(auth.substr(7));
            bool ok = false;
            for (const auto& k : opts.api_keys) {
                // Constant time per candidate of the same length.
                ok |= k.size() == key.size() && !k.empty() &&
                      CRYPTO_memcmp(k.data(), key.data(), k.size()) == 0;
            }
            if (!ok) {
                ++stats.rejected;
                return error(401, "Incorrect API key provided.", "invalid_request_error", {},
                             "invalid_api_key");
            }
            if (!proj.empty() && !proj.starts_with(project_prefix)) {
                ++stats.rejected;
                return error(400, "The openai-project header must be a project OCID.",
                             "invalid_request_error", "openai-project", "invalid_project");
            }
            ++stats.bearer;
            project = std::string(proj);
            return std::nullopt;
        }
        if (!auth.starts_with("Signature ")) {
            ++stats.rejected;
            return error(401,
                         "You didn't provide an API key: send Authorization: Bearer <GenAI API "
                         "key> or an OCI request signature.",
                         "invalid_request_error", {}, "invalid_api_key");
        }
        if (auto why = verify(req); !why.empty()) {
            ++stats.rejected;
            return error(401,
                         "The required information to complete authentication was not provided "
                         "or was incorrect.",
                         "invalid_request_error", {}, "NotAuthenticated");
        }
        if (!proj.starts_with(project_prefix)) {
            ++stats.rejected;
            return error(400,
                         proj.empty() ? "Missing required header openai-project (the project "
                                        "OCID)."
                                      : "The openai-project header must be a project OCID.",
                         "invalid_request_error", "openai-project", "missing_project");
        }
        const std::string_view compartment = req["opc-compartment-id"];
        if (!compartment.starts_with("ocid1.")) {
            ++stats.rejected;
            return error(400,
                         compartment.empty() ? "Missing required header opc-compartment-id."
                                             : "The opc-compartment-id header must be an OCID.",
                         "invalid_request_error", "opc-compartment-id", "missing_compartment");
        }
        ++stats.signed_;
        project = std::string(proj);
        return std::nullopt;
    }

    // The allowed methods of a route ("" when the route does not exist).
    static std::string allowed(const route& r)
    {
        if (!r.valid) {
            return {};
        }
        const std::string& c = r.collection;
        const bool id = !r.id.empty();
        const bool sub = !r.sub.empty();
        if (c == "chat") {
            return r.id == "completions" && !sub ? "POST" : "";
        }
        if (c == "responses") {
            if (sub) {
                return r.sub == "input_items" ? "GET" : "";
            }
            return id ? "GET, DELETE" : "POST";
        }
        if (c == "files") {
            if (sub) {
                return r.sub == "content" ? "GET" : "";
            }
            return id ? "GET, DELETE" : "GET, POST";
        }
        if (c == "conversations") {
            return sub ? "" : id ? "GET, POST, DELETE" : "POST";
        }
        if (c == "vector_stores") {
            return sub ? "" : id ? "GET, DELETE" : "GET, POST";
        }
        return {};
    }

    answer dispatch(call& c, const route& r, rapidjson::Document* doc)
    {
        const auto m = c.req.method();
        if (r.collection == "chat") {
            return chat(c, *doc);
        }
        if (r.collection == "responses") {
            if (r.id.empty()) {
                return create_response(c, *doc);
            }
            if (!r.sub.empty()) {
                return input_items(c, r.id);
            }
            return m == http::verb::get ? get_response(c, r.id) : delete_response(c, r.id);
        }
        if (r.collection == "files") {
            if (r.id.empty()) {
                return m == http::verb::post ? upload_file(c) : list_files(c);
            }
            if (!r.sub.empty()) {
                return file_content(c, r.id);
            }
            return m == http::verb::get ? get_file(c, r.id) : delete_file(c, r.id);
        }
        if (r.collection == "conversations") {
            if (r.id.empty()) {
                return create_conversation(c, *doc);
            }
            if (m == http::verb::post) {
                return update_conversation(c, r.id, *doc);
            }
            return m == http::verb::get ? get_conversation(c, r.id) : delete_conversation(c, r.id);
        }
        if (r.id.empty()) {
            return m == http::verb::post ? create_vector_store(c, *doc) : list_vector_stores(c);
        }
        return m == http::verb::get ? get_vector_store(c, r.id) : delete_vector_store(c, r.id);
    }

    // ---- chat completions -----------------------------------------------------------------

    answer chat(call& c, const rapidjson::Document& d)
    {
        if (!d.HasMember("messages") || !d["messages"].IsArray() || d["messages"].Empty()) {
            return error(400, "messages must be a non-empty array.", "invalid_request_error",
                         "messages", "invalid_value");
        }
        std::string user;
        std::string last_role;
        std::size_t prompt_tokens = 0;
        for (const auto& msg : d["messages"].GetArray()) {
            if (!msg.IsObject() || !is_string_member(msg, "role")) {
                return error(400, "Each message needs a role.", "invalid_request_error", "messages",
                             "invalid_value");
            }
            last_role = string_member(msg, "role");
            const std::string text = msg.HasMember("content") ? content_text(msg["content"]) : "";
            prompt_tokens += word_count(text);
            if (last_role == "user") {
                user = text;
            }
        }
        std::string tool;  // the first function tool, when one is to be called
        if (d.HasMember("tools") && d["tools"].IsArray() && last_role != "tool") {
            for (const auto& t : d["tools"].GetArray()) {
                if (string_member(t, "type") == "function" && t.HasMember("function") &&
                    is_string_member(t["function"], "name")) {
                    tool = string_member(t["function"], "name");
                    break;
                }
            }
        }
        const bool stream = d.HasMember("stream") && d["stream"].IsBool() && d["stream"].GetBool();
        const bool include_usage = stream && d.HasMember("stream_options") &&
                                   d["stream_options"].IsObject() &&
                                   d["stream_options"].HasMember("include_usage") &&
                                   d["stream_options"]["include_usage"].IsBool() &&
                                   d["stream_options"]["include_usage"].GetBool();
        const std::string text = "You said: " + user;
        const std::string id = hex_id("chatcmpl-");
        const std::string call_id = hex_id("call_");
        const auto created = static_cast<std::int64_t>(std::time(nullptr));
        const std::size_t completion_tokens = tool.empty() ? word_count(text) : 1;
        const std::string finish = tool.empty() ? "stop" : "tool_calls";

        auto usage = [&](json_writer& w) {
            w.StartObject();
            key(w, "prompt_tokens");
            w.Uint64(prompt_tokens);
            key(w, "completion_tokens");
            w.Uint64(completion_tokens);
            key(w, "total_tokens");
            w.Uint64(prompt_tokens + completion_tokens);
            w.EndObject();
        };
        auto head = [&](json_writer& w, bool chunk) {
            w.StartObject();
            key(w, "id");
            put(w, id);
            key(w, "object");
            put(w, chunk ? "chat.completion.chunk" : "chat.completion");
            key(w, "created");
            w.Int64(created);
            key(w, "model");
            put(w, c.model);
            key(w, "system_fingerprint");
            put(w, "fp_mock");
        };
        if (!stream) {
            rapidjson::StringBuffer sb;
            json_writer w(sb);
            head(w, false);
            key(w, "choices");
            w.StartArray();
            w.StartObject();
            key(w, "index");
            w.Int(0);
            key(w, "message");
            w.StartObject();
            key(w, "role");
            put(w, "assistant");
            key(w, "content");
            if (tool.empty()) {
                put(w, text);
            } else {
                w.Null();
            }
            key(w, "refusal");
            w.Null();
            if (!tool.empty()) {
                key(w, "tool_calls");
                w.StartArray();
                w.StartObject();
                key(w, "id");
                put(w, call_id);
                key(w, "type");
                put(w, "function");
                key(w, "function");
                w.StartObject();
                key(w, "name");
                put(w, tool);
                key(w, "arguments");
                put(w, "{}");
                w.EndObject();
                w.EndObject();
                w.EndArray();
            }
            w.EndObject();
            key(w, "logprobs");
            w.Null();
            key(w, "finish_reason");
            put(w, finish);
            w.EndObject();
            w.EndArray();
            key(w, "usage");
            usage(w);
            w.EndObject();
            return json_answer(200, sb.GetString());
        }
        // One chunk per write: `delta` (raw JSON) and the finish reason.
        std::vector<std::string> events;
        auto chunk = [&](std::string_view delta, std::string_view finish_reason) {
            rapidjson::StringBuffer sb;
            json_writer w(sb);
            head(w, true);
            key(w, "choices");
            w.StartArray();
            w.StartObject();
            key(w, "index");
            w.Int(0);
            key(w, "delta");
            raw(w, delta);
            key(w, "logprobs");
            w.Null();
            key(w, "finish_reason");
            finish_reason.empty() ? w.Null() : (put(w, finish_reason), true);
            w.EndObject();
            w.EndArray();
            if (include_usage) {
                key(w, "usage");
                w.Null();
            }
            w.EndObject();
            events.push_back("data: " + std::string(sb.GetString()) + "\n\n");
        };
        chunk(R"({"role":"assistant","content":""})", {});
        if (tool.empty()) {
            for (const auto& word : replies::words_of(text)) {
                rapidjson::StringBuffer sb;
                json_writer w(sb);
                w.StartObject();
                key(w, "content");
                put(w, word);
                w.EndObject();
                chunk(sb.GetString(), {});
            }
        } else {
            rapidjson::StringBuffer sb;
            json_writer w(sb);
            w.StartObject();
            key(w, "tool_calls");
            w.StartArray();
            w.StartObject();
            key(w, "index");
            w.Int(0);
            key(w, "id");
            put(w, call_id);
            key(w, "type");
            put(w, "function");
            key(w, "function");
            w.StartObject();
            key(w, "name");
            put(w, tool);
            key(w, "arguments");
            put(w, "");
            w.EndObject();
            w.EndObject();
            w.EndArray();
            w.EndObject();
            chunk(sb.GetString(), {});
            chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]})", {});
        }
        chunk("{}", finish);
        if (include_usage) {
            rapidjson::StringBuffer sb;
            json_writer w(sb);
            head(w, true);
            key(w, "choices");
            w.StartArray();
            w.EndArray();
            key(w, "usage");
            usage(w);
            w.EndObject();
            events.push_back("data: " + std::string(sb.GetString()) + "\n\n");
        }
        events.emplace_back("data: [DONE]\n\n");
        answer a;
        a.stream = true;
        a.content_type = "text/event-stream";
        a.writes = std::move(events);
        return a;
    }

    // ---- responses ----------------------------------------------------------------------

    struct response_state
    {
        std::string id, msg_id, model, text, previous, instructions, metadata;
        bool store = true;
        std::int64_t created = 0;
        std::size_t input_tokens = 0, output_tokens = 0;
    };

    static void write_message(json_writer& w, const response_state& s, bool done)
    {
        w.StartObject();
        key(w, "id");
        put(w, s.msg_id);
        key(w, "type");
        put(w, "message");
        key(w, "status");
        put(w, done ? "completed" : "in_progress");
        key(w, "role");
        put(w, "assistant");
        key(w, "content");
        w.StartArray();
        if (done) {
            write_text_part(w, s.text);
        }
        w.EndArray();
        w.EndObject();
    }

    static void write_text_part(json_writer& w, std::string_view text)
    {
        w.StartObject();
        key(w, "type");
        put(w, "output_text");
        key(w, "text");
        put(w, text);
        key(w, "annotations");
        w.StartArray();
        w.EndArray();
        key(w, "logprobs");
        w.StartArray();
        w.EndArray();
        w.EndObject();
    }

    static std::string response_json(const response_state& s, bool done)
    {
        rapidjson::StringBuffer sb;
        json_writer w(sb);
        w.StartObject();
        key(w, "id");
        put(w, s.id);
        key(w, "object");
        put(w, "response");
        key(w, "created_at");
        w.Int64(s.created);
        key(w, "status");
        put(w, done ? "completed" : "in_progress");
        key(w, "background");
        w.Bool(false);
        key(w, "error");
        w.Null();
        key(w, "incomplete_details");
        w.Null();
        key(w, "instructions");
        s.instructions.empty() ? w.Null() : (put(w, s.instructions), true);
        key(w, "max_output_tokens");
        w.Null();
        key(w, "metadata");
        raw(w, s.metadata);
        key(w, "model");
        put(w, s.model);
        key(w, "output");
        w.StartArray();
        if (done) {
            write_message(w, s, true);
        }
        w.EndArray();
        key(w, "parallel_tool_calls");
        w.Bool(true);
        key(w, "previous_response_id");
        s.previous.empty() ? w.Null() : (put(w, s.previous), true);
        key(w, "reasoning");
        raw(w, R"({"effort":null,"summary":null})");
        key(w, "service_tier");
        put(w, "default");
        key(w, "store");
        w.Bool(s.store);
        key(w, "temperature");
        w.Double(1.0);
        key(w, "text");
        raw(w, R"({"format":{"type":"text"}})");
        key(w, "tool_choice");
        put(w, "auto");
        key(w, "tools");
        w.StartArray();
        w.EndArray();
        key(w, "top_p");
        w.Double(1.0);
        key(w, "truncation");
        put(w, "disabled");
        key(w, "usage");
        if (done) {
            w.StartObject();
            key(w, "input_tokens");
            w.Uint64(s.input_tokens);
            key(w, "input_tokens_details");
            raw(w, R"({"cached_tokens":0})");
            key(w, "output_tokens");
            w.Uint64(s.output_tokens);
            key(w, "output_tokens_details");
            raw(w, R"({"reasoning_tokens":0})");
            key(w, "total_tokens");
            w.Uint64(s.input_tokens + s.output_tokens);
            w.EndObject();
        } else {
            w.Null();
        }
        w.EndObject();
        return sb.GetString();
    }

    // The input as items (a string becomes one user message), each with an id.
    static std::string input_items_json(const rapidjson::Value& input)
    {
        rapidjson::StringBuffer sb;
        json_writer w(sb);
        w.StartArray();
        auto message = [&](std::string_view role, const rapidjson::Value* content,
                           std::string_view text) {
            w.StartObject();
            key(w, "id");
            put(w, hex_id("msg_"));
            key(w, "type");
            put(w, "message");
            key(w, "role");
            put(w, role);
            key(w, "status");
            put(w, "completed");
            key(w, "content");
            if (content != nullptr && content->IsArray()) {
                content->Accept(w);
            } else {
                w.StartArray();
                w.StartObject();
                key(w, "type");
                put(w, role == "assistant" ? "output_text" : "input_text");
                key(w, "text");
                put(w, text);
                w.EndObject();
                w.EndArray();
            }
            w.EndObject();
        };
        if (input.IsString()) {
            message("user", nullptr, {input.GetString(), input.GetStringLength()});
        } else if (input.IsArray()) {
            for (const auto& item : input.GetArray()) {
                if (!item.IsObject()) {
                    continue;
                }
                if (is_string_member(item, "role") && !item.HasMember("id")) {
                    const rapidjson::Value* content =
                        item.HasMember("content") ? &item["content"] : nullptr;
                    message(string_member(item, "role"), content,
                            content != nullptr ? content_text(*content) : std::string());
                } else {
                    item.Accept(w);
                }
            }
        }
        w.EndArray();
        return sb.GetString();
    }

    answer create_response(call& c, const rapidjson::Document& d)
    {
        if (!d.HasMember("input") || !(d["input"].IsString() || d["input"].IsArray())) {
            return error(400, "input must be a string or an array of items.",
                         "invalid_request_error", "input", "invalid_value");
        }
        if (!depth_ok(d["input"], 64)) {
            return error(400, "input is nested too deeply.", "invalid_request_error", "input",
                         "invalid_value");
        }
        if (d.HasMember("metadata") && !valid_metadata(d["metadata"])) {
            return error(400, "metadata must hold at most 16 string values.",
                         "invalid_request_error", "metadata", "invalid_value");
        }
        response_state s;
        s.id = hex_id("resp_");
        s.msg_id = hex_id("msg_");
        s.model = c.model;
        s.created = static_cast<std::int64_t>(std::time(nullptr));
        s.store = !(d.HasMember("store") && d["store"].IsBool() && !d["store"].GetBool());
        s.instructions = string_member(d, "instructions");
        s.metadata = metadata_json(d);
        int turn = 1;
        if (d.HasMember("previous_response_id") && !d["previous_response_id"].IsNull()) {
            s.previous = string_member(d, "previous_response_id");
            std::lock_guard l(mu);
            const auto* prev = responses.get(s.previous, c.project);
            if (prev == nullptr) {
                return error(
                    404, "Previous response with id '" + s.previous.substr(0, 200) + "' not found.",
                    "invalid_request_error", "previous_response_id", "previous_response_not_found");
            }
            turn = prev->turn + 1;
        }
        const std::string user = input_text(d["input"]);
        s.text = "You said: " + user + " (turn " + std::to_string(turn) + ")";
        s.input_tokens = std::max<std::size_t>(1, word_count(user));
        s.output_tokens = word_count(s.text);
        const std::string final_json = response_json(s, true);
        if (s.store) {
            stored_response stored{final_json, input_items_json(d["input"]), turn};
            const std::size_t bytes = stored.json.size() + stored.input_items.size() + 256;
            std::lock_guard l(mu);
            responses.put(s.id, c.project, std::move(stored), bytes);
        }
        const bool stream = d.HasMember("stream") && d["stream"].IsBool() && d["stream"].GetBool();
        if (!stream) {
            return json_answer(200, final_json);
        }
        return response_stream(s, final_json);
    }

    static answer response_stream(const response_state& s, const std::string& final_json)
    {
        std::vector<std::string> events;
        int seq = 0;
        // `body` writes the event's members after type and sequence_number.
        auto event = [&](std::string_view type, const std::function<void(json_writer&)>& body) {
            rapidjson::StringBuffer sb;
            json_writer w(sb);
            w.StartObject();
            key(w, "type");
            put(w, type);
            key(w, "sequence_number");
            w.Int(seq++);
            body(w);
            w.EndObject();
            events.push_back("event: " + std::string(type) + "\ndata: " + sb.GetString() + "\n\n");
        };
        const std::string start_json = response_json(s, false);
        auto where = [&](json_writer& w, bool content) {
            if (content) {
                key(w, "item_id");
                put(w, s.msg_id);
            }
            key(w, "output_index");
            w.Int(0);
            if (content) {
                key(w, "content_index");
                w.Int(0);
            }
        };
        event("response.created", [&](json_writer& w) {
            key(w, "response");
            raw(w, start_json);
        });
        event("response.in_progress", [&](json_writer& w) {
            key(w, "response");
            raw(w, start_json);
        });
        event("response.output_item.added", [&](json_writer& w) {
            where(w, false);
            key(w, "item");
            write_message(w, s, false);
        });
        event("response.content_part.added", [&](json_writer& w) {
            where(w, true);
            key(w, "part");
            write_text_part(w, "");
        });
        for (const auto& word : replies::words_of(s.text)) {
            event("response.output_text.delta", [&](json_writer& w) {
                where(w, true);
                key(w, "delta");
                put(w, word);
                key(w, "logprobs");
                w.StartArray();
                w.EndArray();
            });
        }
        event("response.output_text.done", [&](json_writer& w) {
            where(w, true);
            key(w, "text");
            put(w, s.text);
            key(w, "logprobs");
            w.StartArray();
            w.EndArray();
        });
        event("response.content_part.done", [&](json_writer& w) {
            where(w, true);
            key(w, "part");
            write_text_part(w, s.text);
        });
        event("response.output_item.done", [&](json_writer& w) {
            where(w, false);
            key(w, "item");
            write_message(w, s, true);
        });
        event("response.completed", [&](json_writer& w) {
            key(w, "response");
            raw(w, final_json);
        });
        answer a;
        a.stream = true;
        a.content_type = "text/event-stream";
        a.writes = std::move(events);
        return a;
    }

    answer not_found(std::string_view what, const std::string& id)
    {
        return error(404, "No " + std::string(what) + " found with id '" + id.substr(0, 200) + "'.",
                     "invalid_request_error", {}, "not_found");
    }

    answer get_response(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        const auto* r = responses.get(id, c.project);
        return r == nullptr ? not_found("response", id) : json_answer(200, r->json);
    }

    answer delete_response(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        if (!responses.erase(id, c.project)) {
            return not_found("response", id);
        }
        return deleted(id, "response");
    }

    static answer deleted(const std::string& id, std::string_view object)
    {
        rapidjson::StringBuffer sb;
        json_writer w(sb);
        w.StartObject();
        key(w, "id");
        put(w, id);
        key(w, "object");
        put(w, object);
        key(w, "deleted");
        w.Bool(true);
        w.EndObject();
        return json_answer(200, sb.GetString());
    }

    answer input_items(call& c, const std::string& id)
    {
        std::string items_json;
        {
            std::lock_guard l(mu);
            const auto* r = responses.get(id, c.project);
            if (r == nullptr) {
                return not_found("response", id);
            }
            items_json = r->input_items;
        }
        rapidjson::Document d;
        d.Parse(items_json.c_str());
        std::vector<std::pair<std::string, std::string>> items;
        if (d.IsArray()) {
            for (const auto& item : d.GetArray()) {
                items.emplace_back(string_member(item, "id"), to_json(item));
            }
        }
        return list_answer(std::move(items), c.query, true);
    }

    answer list_answer(std::vector<std::pair<std::string, std::string>> items,
                       std::string_view query, bool default_desc)
    {
        auto page = list_json(std::move(items), query, default_desc);
        if (page.bad_limit) {
            return error(400, "limit must be an integer from 1 to 10000.", "invalid_request_error",
                         "limit", "invalid_value");
        }
        return json_answer(200, std::move(page.body));
    }

    // ---- files --------------------------------------------------------------------------

    static std::string file_json(const std::string& id, const stored_file& f)
    {
        rapidjson::StringBuffer sb;
        json_writer w(sb);
        w.StartObject();
        key(w, "id");
        put(w, id);
        key(w, "object");
        put(w, "file");
        key(w, "bytes");
        w.Uint64(f.data.size());
        key(w, "created_at");
        w.Int64(f.created_at);
        key(w, "expires_at");
        w.Null();
        key(w, "filename");
        put(w, f.filename);
        key(w, "purpose");
        put(w, f.purpose);
        key(w, "status");
        put(w, "processed");
        key(w, "status_details");
        w.Null();
        w.EndObject();
        return sb.GetString();
    }

    answer upload_file(call& c)
    {
        const auto boundary = form_boundary(c.req[http::field::content_type]);
        if (!boundary) {
            return error(400, "The request must be multipart/form-data with a boundary.",
                         "invalid_request_error", {}, "invalid_content_type");
        }
        std::string why;
        form_limits limits;
        limits.max_body = 64 * 1024 * 1024;  // the e2e upload test sends 40 MiB
        auto parts = parse_form(c.req.body(), *boundary, limits, why);
        if (!parts) {
            return error(400, "Invalid multipart body: " + why + ".", "invalid_request_error", {},
                         "invalid_multipart");
        }
        const form_part* file = nullptr;
        const form_part* purpose = nullptr;
        for (const auto& p : *parts) {
            if (p.name == "file" && file == nullptr) {
                file = &p;
            } else if (p.name == "purpose" && purpose == nullptr) {
                purpose = &p;
            }
        }
        if (purpose == nullptr) {
            return error(400, "Missing required parameter: 'purpose'.", "invalid_request_error",
                         "purpose", "missing_required_parameter");
        }
        if (file == nullptr) {
            return error(400, "Missing required parameter: 'file'.", "invalid_request_error",
                         "file", "missing_required_parameter");
        }
        static const std::vector<std::string_view> purposes{"assistants", "batch",     "fine-tune",
                                                            "vision",     "user_data", "evals"};
        if (std::find(purposes.begin(), purposes.end(), purpose->data) == purposes.end()) {
            return error(400, "Invalid value for 'purpose'.", "invalid_request_error", "purpose",
                         "invalid_value");
        }
        stored_file f;
        f.filename = file->filename.empty() ? "file" : file->filename.substr(0, 255);
        f.purpose = std::string(purpose->data);
        f.data = std::string(file->data);
        f.created_at = static_cast<std::int64_t>(std::time(nullptr));
        const std::string id = hex_id("file-");
        std::string json = file_json(id, f);
        const std::size_t bytes = f.data.size() + f.filename.size() + 256;
        std::lock_guard l(mu);
        files.put(id, c.project, std::move(f), bytes);
        return json_answer(200, std::move(json));
    }

    answer list_files(call& c)
    {
        const std::string purpose = query_param(c.query, "purpose");
        std::vector<std::pair<std::string, std::string>> items;
        {
            std::lock_guard l(mu);
            for (const auto& [id, f] : files.list(c.project)) {
                if (purpose.empty() || f->purpose == purpose) {
                    items.emplace_back(id, file_json(id, *f));
                }
            }
        }
        return list_answer(std::move(items), c.query, true);
    }

    answer get_file(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        const auto* f = files.get(id, c.project);
        return f == nullptr ? not_found("file", id) : json_answer(200, file_json(id, *f));
    }

    answer file_content(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        const auto* f = files.get(id, c.project);
        if (f == nullptr) {
            return not_found("file", id);
        }
        answer a = json_answer(200, f->data);
        a.content_type = "application/octet-stream";
        return a;
    }

    answer delete_file(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        if (!files.erase(id, c.project)) {
            return not_found("file", id);
        }
        return deleted(id, "file");
    }

    // ---- conversations ------------------------------------------------------------------

    static std::string conversation_json(const std::string& id, const stored_conversation& s)
    {
        rapidjson::StringBuffer sb;
        json_writer w(sb);
        w.StartObject();
        key(w, "id");
        put(w, id);
        key(w, "object");
        put(w, "conversation");
        key(w, "created_at");
        w.Int64(s.created_at);
        key(w, "metadata");
        raw(w, s.metadata);
        w.EndObject();
        return sb.GetString();
    }

    answer create_conversation(call& c, const rapidjson::Document& d)
    {
        if (d.HasMember("metadata") && !valid_metadata(d["metadata"])) {
            return error(400, "metadata must hold at most 16 string values.",
                         "invalid_request_error", "metadata", "invalid_value");
        }
        stored_conversation s{metadata_json(d), static_cast<std::int64_t>(std::time(nullptr))};
        const std::string id = hex_id("conv_");
        std::string json = conversation_json(id, s);
        const std::size_t bytes = s.metadata.size() + 256;
        std::lock_guard l(mu);
        conversations.put(id, c.project, std::move(s), bytes);
        return json_answer(200, std::move(json));
    }

    answer update_conversation(call& c, const std::string& id, const rapidjson::Document& d)
    {
        if (!d.HasMember("metadata") || !d["metadata"].IsObject() ||
            !valid_metadata(d["metadata"])) {
            return error(400, "metadata must be an object of at most 16 string values.",
                         "invalid_request_error", "metadata", "invalid_value");
        }
        std::lock_guard l(mu);
        auto* s = conversations.get(id, c.project);
        if (s == nullptr) {
            return not_found("conversation", id);
        }
        // Same size bound as at creation (validated), so the store's byte count stays right.
        s->metadata = to_json(d["metadata"]);
        return json_answer(200, conversation_json(id, *s));
    }

    answer get_conversation(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        const auto* s = conversations.get(id, c.project);
        return s == nullptr ? not_found("conversation", id)
                            : json_answer(200, conversation_json(id, *s));
    }

    answer delete_conversation(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        if (!conversations.erase(id, c.project)) {
            return not_found("conversation", id);
        }
        return deleted(id, "conversation.deleted");
    }

    // ---- vector stores ------------------------------------------------------------------

    static std::string vector_store_json(const std::string& id, const stored_vector_store& s)
    {
        rapidjson::StringBuffer sb;
        json_writer w(sb);
        w.StartObject();
        key(w, "id");
        put(w, id);
        key(w, "object");
        put(w, "vector_store");
        key(w, "created_at");
        w.Int64(s.created_at);
        key(w, "name");
        put(w, s.name);
        key(w, "usage_bytes");
        w.Uint64(s.usage_bytes);
        key(w, "file_counts");
        w.StartObject();
        key(w, "in_progress");
        w.Int(0);
        key(w, "completed");
        w.Uint64(s.files);
        key(w, "failed");
        w.Int(0);
        key(w, "cancelled");
        w.Int(0);
        key(w, "total");
        w.Uint64(s.files);
        w.EndObject();
        key(w, "status");
        put(w, "completed");
        key(w, "expires_after");
        w.Null();
        key(w, "expires_at");
        w.Null();
        key(w, "last_active_at");
        w.Int64(s.created_at);
        key(w, "metadata");
        raw(w, s.metadata);
        w.EndObject();
        return sb.GetString();
    }

    answer create_vector_store(call& c, const rapidjson::Document& d)
    {
        if (d.HasMember("metadata") && !valid_metadata(d["metadata"])) {
            return error(400, "metadata must hold at most 16 string values.",
                         "invalid_request_error", "metadata", "invalid_value");
        }
        stored_vector_store s;
        s.name = string_member(d, "name").substr(0, 256);
        s.metadata = metadata_json(d);
        s.created_at = static_cast<std::int64_t>(std::time(nullptr));
        std::lock_guard l(mu);
        // Files named by id count when they exist under this project.
        if (d.HasMember("file_ids") && d["file_ids"].IsArray()) {
            for (const auto& f : d["file_ids"].GetArray()) {
                if (!f.IsString()) {
                    continue;
                }
                if (const auto* file = files.get(f.GetString(), c.project); file != nullptr) {
                    ++s.files;
                    s.usage_bytes += file->data.size();
                } else {
                    return error(404,
                                 "No file found with id '" +
                                     std::string(f.GetString()).substr(0, 200) + "'.",
                                 "invalid_request_error", "file_ids", "not_found");
                }
            }
        }
        const std::string id = hex_id("vs_");
        std::string json = vector_store_json(id, s);
        const std::size_t bytes = s.name.size() + s.metadata.size() + 256;
        vector_stores.put(id, c.project, std::move(s), bytes);
        return json_answer(200, std::move(json));
    }

    answer list_vector_stores(call& c)
    {
        std::vector<std::pair<std::string, std::string>> items;
        {
            std::lock_guard l(mu);
            for (const auto& [id, s] : vector_stores.list(c.project)) {
                items.emplace_back(id, vector_store_json(id, *s));
            }
        }
        return list_answer(std::move(items), c.query, true);
    }

    answer get_vector_store(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        const auto* s = vector_stores.get(id, c.project);
        return s == nullptr ? not_found("vector store", id)
                            : json_answer(200, vector_store_json(id, *s));
    }

    answer delete_vector_store(call& c, const std::string& id)
    {
        std::lock_guard l(mu);
        if (!vector_stores.erase(id, c.project)) {
            return not_found("vector store", id);
        }
        return deleted(id, "vector_store.deleted");
    }

    // ---- the exchange record and compression -----------------------------------------------

    void record(const request& req, const answer& a)
    {
        last_exchange e;
        e.method = std::string(req.method_string());
        e.target = std::string(req.target()).substr(0, 8192);
        rapidjson::StringBuffer sb;
        json_writer w(sb);
        // Names lower-cased; a repeated header's values joined with ", ".
        std::map<std::string, std::string> headers;
        for (const auto& f : req) {
            std::string name = lower(f.name_string());
            std::string value(f.value());
            if (name == "authorization") {
                value = value.substr(0, value.find(' '));
            }
            auto [it, fresh] = headers.emplace(name, value);
            if (!fresh) {
                it->second += ", " + value;
            }
        }
        w.StartObject();
        for (const auto& [k, v] : headers) {
            key(w, k);
            put(w, v);
        }
        w.EndObject();
        e.headers_json = sb.GetString();
        const std::string_view type = req[http::field::content_type];
        e.json_body = lower(type.substr(0, 16)).starts_with("application/json");
        if (e.json_body) {
            e.body = req.body().substr(0, last_cap);
        }
        e.body_sha256 = sha256_hex(req.body());
        e.body_bytes = req.body().size();
        e.status = a.status;
        if (a.stream) {
            for (const auto& wr : a.writes) {
                if (e.answer.size() + wr.size() > last_cap) {
                    e.answer.append(wr, 0, last_cap - e.answer.size());
                    break;
                }
                e.answer += wr;
            }
        } else {
            e.answer = a.body.substr(0, last_cap);
        }
        e.set = true;
        std::lock_guard l(mu);
        last = std::move(e);
    }

    // Compresses `a` with `coding`; on failure the answer stays plain.
    void encode(answer& a, const std::string& coding)
    {
        if (a.stream) {
            compressor c(coding);
            std::vector<std::string> out;
            for (std::size_t i = 0; i < a.writes.size(); ++i) {
                auto z = c.chunk(a.writes[i], i + 1 == a.writes.size() && !a.stall);
                if (!z) {
                    return;
                }
                out.push_back(std::move(*z));
            }
            a.writes = std::move(out);
        } else {
            auto z = compress(coding, a.body);
            if (!z) {
                return;
            }
            a.body = std::move(*z);
        }
        a.headers.emplace_back("content-encoding", coding);
        a.headers.emplace_back("vary", "accept-encoding");
        ++stats.compressed;
    }

    answer handle(const request& req, const signature_verifier& verify)
    {
        ++stats.requests;
        std::string model;
        answer a = handle_plain(req, verify, model);
        record(req, a);
        std::string coding;
        if (model.find("mock-zstd") != std::string::npos) {
            coding = "zstd";
        } else if (model.find("mock-gzip") != std::string::npos) {
            coding = "gzip";
        } else {
            coding = pick_encoding(req[http::field::accept_encoding]);
        }
        if (!coding.empty()) {
            encode(a, coding);
        }
        return a;
    }

    answer handle_plain(const request& req, const signature_verifier& verify, std::string& model)
    {
        const std::string target(req.target());
        const auto q = target.find('?');
        call c{req,
               {},
               target.substr(0, q),
               q == std::string::npos ? std::string() : target.substr(q + 1),
               {}};
        if (auto refused = authenticate(req, verify, c.project)) {
            return *refused;
        }
        const route r = parse_route(c.path);
        const std::string allow = allowed(r);
        if (allow.empty()) {
            return error(404,
                         "Invalid URL (" + std::string(req.method_string()) + " " +
                             c.path.substr(0, 200) + ")",
                         "invalid_request_error", {}, "unknown_url");
        }
        const std::string method(req.method_string());
        bool method_ok = false;
        for (std::string_view rest = allow; !rest.empty();) {
            const auto comma = rest.find(", ");
            method_ok |= rest.substr(0, comma) == method;
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
        }
        if (!method_ok) {
            auto a = error(405, "Method " + method + " is not allowed on " + c.path + ".",
                           "invalid_request_error", {}, "method_not_allowed");
            a.headers.emplace_back("allow", allow);
            return a;
        }
        // JSON bodies: every POST but the file upload.
        rapidjson::Document doc;
        const bool json = req.method() == http::verb::post && r.collection != "files";
        if (json) {
            if (req.body().size() > max_json_body) {
                return error(413, "The request body is too large.", "invalid_request_error", {},
                             "request_too_large");
            }
            const std::string& body = req.body();
            if (body.find_first_not_of(" \t\r\n") == std::string::npos &&
                r.collection == "conversations") {
                doc.SetObject();
            } else {
                doc.Parse<rapidjson::kParseIterativeFlag>(body.c_str(), body.size());
                if (doc.HasParseError() || !doc.IsObject()) {
                    return error(400,
                                 "We could not parse the JSON body of your request. The body "
                                 "must be a JSON object.",
                                 "invalid_request_error", {}, "invalid_json");
                }
            }
            if (r.collection == "chat" || (r.collection == "responses" && r.id.empty())) {
                if (!is_string_member(doc, "model") || doc["model"].GetStringLength() == 0) {
                    return error(400, "you must provide a model parameter", "invalid_request_error",
                                 "model", "missing_required_parameter");
                }
                c.model = string_member(doc, "model");
                model = c.model;
                if (auto fault = model_fault(c.model)) {
                    return *fault;
                }
            }
        }
        answer a = dispatch(c, r, json ? &doc : nullptr);
        if (a.stream) {
            a.delay = opts.token_delay;
            if (c.model.find("mock-stall") != std::string::npos) {
                a.writes.resize(std::min<std::size_t>(a.writes.size(), 1));
                a.stall = true;
            }
        }
        return a;
    }

    static std::optional<answer> model_fault(const std::string& model)
    {
        if (model.find("mock-429") != std::string::npos) {
            auto a = error(429, "Rate limit reached for requests.", "requests", {},
                           "rate_limit_exceeded");
            a.headers.emplace_back("retry-after", "1");
            return a;
        }
        if (model.find("mock-503") != std::string::npos) {
            return error(503, "The service is temporarily unavailable.", "server_error", {},
                         "service_unavailable");
        }
        if (model.find("mock-500") != std::string::npos) {
            answer a;
            a.status = 500;
            a.content_type = "text/plain";
            a.body = "Internal Server Error\n";
            return a;
        }
        return std::nullopt;
    }
};

service::service(options o) : impl_(std::make_unique<impl>(std::move(o))) {}

service::~service() = default;

answer service::handle(const request& req, const signature_verifier& verify)
{
    return impl_->handle(req, verify);
}

std::string service::last_json() const
{
    last_exchange e;
    {
        std::lock_guard l(impl_->mu);
        e = impl_->last;
    }
    if (!e.set) {
        return "{}";
    }
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.StartObject();
    key(w, "method");
    put(w, e.method);
    key(w, "target");
    put(w, e.target);
    key(w, "headers");
    raw(w, e.headers_json);
    key(w, "body");
    if (e.json_body) {
        put(w, e.body);
    } else {
        w.Null();
    }
    key(w, "body_sha256");
    put(w, e.body_sha256);
    key(w, "body_bytes");
    w.Uint64(e.body_bytes);
    key(w, "status");
    w.Uint(e.status);
    key(w, "answer");
    put(w, e.answer);
    w.EndObject();
    return sb.GetString();
}

std::string service::stats_fields() const
{
    const auto& s = impl_->stats;
    return ",\"openai_requests\":" + std::to_string(s.requests.load()) +
           ",\"openai_bearer\":" + std::to_string(s.bearer.load()) +
           ",\"openai_signed\":" + std::to_string(s.signed_.load()) +
           ",\"openai_rejected\":" + std::to_string(s.rejected.load()) +
           ",\"openai_compressed\":" + std::to_string(s.compressed.load());
}

counters& service::stats()
{
    return impl_->stats;
}

}  // namespace ogp::mock::openai
