#include "inference.hpp"

#include "ogp/util/asio.hpp"
#include "openai_compat.hpp"
#include "signature.hpp"

#include <openssl/sha.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <ctime>
#include <sstream>
#include <stdexcept>

namespace ogp::mock {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

using ogp::use_nothrow;
using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::string lower(std::string_view s)
{
    std::string o(s);
    for (auto& c : o) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return o;
}

std::optional<std::time_t> parse_http_date(const std::string& s)
{
    std::tm tm{};
    const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return timegm(&tm);
}

std::string oci_error_body(std::string_view code, std::string_view message)
{
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.StartObject();
    w.Key("code");
    w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
    w.Key("message");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    w.EndObject();
    return sb.GetString();
}

// A response to send: either a complete body, or a stream of writes with a fault at the end.
struct reply
{
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool stream = false;
    std::vector<std::string> writes;  // each one HTTP chunk
    // After the writes: hold the connection open, reset it, stall, or end the body (finish,
    // the OpenAI-compatible API's streams).
    enum class tail { keep_open, reset, stall, finish } end = tail::keep_open;
    std::chrono::milliseconds delay{0};  // between writes
    bool hang = false;                   // read the request, never answer (hold the connection)
    std::string raw;         // non-empty: these bytes are the whole response (bad framing faults)
    std::string interim;     // 1xx heads sent before the response
    bool drip = false;       // non-streamed body sent one byte per `delay`
    bool reset_now = false;  // fault `reset`: no answer, the connection reset at once
    bool cut = false;        // fault `reset_after_first`, not streamed: half the body, then reset
};

reply error_reply(unsigned status, std::string_view code, std::string_view message)
{
    reply r;
    r.status = status;
    r.body = oci_error_body(code, message);
    return r;
}

// OCI's model list as the management API's ListModels answers it (ModelCollection of
// ModelSummary): OCIDs as ids, the usable name in displayName, several versions of one name,
// deprecated and retired models, states other than ACTIVE, capabilities the OpenAI API has no
// use for, a fine-tuned (CUSTOM) model; two pages. The lifecycleState filter of the query is
// not applied, so the daemon's own filter is what the tests see.
struct mock_model
{
    std::string_view id;
    std::string_view name;
    std::string_view vendor;
    std::string_view capabilities;  // JSON array
    std::string_view state;
    std::string_view created;
    std::string_view deprecated;  // may be empty
    std::string_view retired;     // timeOnDemandRetired; may be empty
    std::string_view type = "BASE";
};

constexpr std::string_view ocid_prefix = "ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamock";

const std::vector<mock_model>& mock_models()
{
    static const std::vector<mock_model> models{
        // Page 1.
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockllama33a",
         "meta.llama-3.3-70b-instruct", "meta", R"(["CHAT"])", "ACTIVE", "2024-12-18T20:40:50.123Z",
         "", ""},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockcmdrplus",
         "cohere.command-r-plus-08-2024", "cohere", R"(["CHAT"])", "ACTIVE", "2024-09-05T10:00:00Z",
         "2025-06-01T00:00:00Z", "2099-01-01T00:00:00Z"},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockcmdr16k", "cohere.command-r-16k",
         "cohere", R"(["CHAT"])", "ACTIVE", "2024-03-01T00:00:00Z", "2024-08-01T00:00:00Z",
         "2024-12-01T00:00:00Z"},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockembeden3",
         "cohere.embed-english-v3.0", "cohere", R"(["TEXT_EMBEDDINGS"])", "ACTIVE",
         "2024-02-01T00:00:00Z", "", ""},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockembedv4", "cohere.embed-v4.0",
         "cohere", R"(["TEXT_EMBEDDINGS"])", "ACTIVE", "2025-05-20T00:00:00Z", "", ""},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockrerank", "cohere.rerank-v3.5",
         "cohere", R"(["TEXT_RERANK"])", "ACTIVE", "2025-01-01T00:00:00Z", "", ""},
        // Page 2.
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockllama33b",
         "meta.llama-3.3-70b-instruct", "meta", R"(["CHAT","FINE_TUNE"])", "ACTIVE",
         "2025-02-01T08:00:00Z", "", ""},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockgptoss", "openai.gpt-oss-120b",
         "openai", R"(["CHAT"])", "ACTIVE", "2025-08-05T00:00:00Z", "", ""},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockllama31ft",
         "meta.llama-3.1-70b-instruct-ft", "meta", R"(["FINE_TUNE"])", "ACTIVE",
         "2024-07-23T00:00:00Z", "", ""},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockgrok5", "xai.grok-5", "xai",
         R"(["CHAT"])", "CREATING", "2026-11-01T00:00:00Z", "", ""},
        {"ocid1.generativeaimodel.oc1.us-chicago-1.amaaaaaamockcustom", "my-fine-tuned-llama",
         "meta", R"(["CHAT"])", "ACTIVE", "2025-03-01T00:00:00Z", "", "", "CUSTOM"},
    };
    return models;
}
constexpr std::size_t mock_models_first_page = 6;

// The displayName of a mock model OCID, else `model` itself.
std::string_view mock_model_name(std::string_view model)
{
    if (model.starts_with(ocid_prefix)) {
        for (const auto& m : mock_models()) {
            if (m.id == model) {
                return m.name;
            }
        }
    }
    return model;
}

// One page of the list: `page` empty (the first) or "page-2".
reply list_models_reply(std::string_view query)
{
    if (query.find("compartmentId=ocid1.") == std::string_view::npos) {
        return error_reply(400, "MissingParameter", "compartmentId is required.");
    }
    const bool second = query.find("page=page-2") != std::string_view::npos;
    const auto& all = mock_models();
    std::size_t from = second ? mock_models_first_page : 0;
    std::size_t to = second ? all.size() : mock_models_first_page;
    std::string body = R"({"items":[)";
    for (std::size_t i = from; i < to; ++i) {
        const auto& m = all[i];
        body += i == from ? "{" : ",{";
        body += R"("id":")" + std::string(m.id) + R"(","compartmentId":)" +
                (m.type == "CUSTOM" ? std::string(R"("ocid1.compartment.oc1..e2e")") : "null") +
                R"(,"capabilities":)" + std::string(m.capabilities) + R"(,"lifecycleState":")" +
                std::string(m.state) + R"(","displayName":")" + std::string(m.name) +
                R"(","vendor":")" + std::string(m.vendor) + R"(","version":"1.0","timeCreated":")" +
                std::string(m.created) + R"(","type":")" + std::string(m.type) + "\"";
        if (!m.deprecated.empty()) {
            body += R"(,"timeDeprecated":")" + std::string(m.deprecated) + "\"";
        }
        if (!m.retired.empty()) {
            body += R"(,"timeOnDemandRetired":")" + std::string(m.retired) + "\"";
        }
        body += R"(,"freeformTags":{},"definedTags":{},"systemTags":{}})";
    }
    body += "]}";
    reply r;
    r.body = std::move(body);
    if (!second) {
        r.headers.emplace_back("opc-next-page", "page-2");
    }
    return r;
}

// Splits the concatenated events into writes at irregular, deterministic positions: some
// writes hold several events, some events straddle two writes.
std::vector<std::string> irregular_writes(const std::string& all)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    std::uint32_t seed = 2463534242u;
    while (pos < all.size()) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        std::size_t n = 40 + seed % 200;
        out.push_back(all.substr(pos, n));
        pos += n;
    }
    return out;
}

// The media type of a data URL (`data:<type>;...`), or empty.
std::string_view data_url_type(std::string_view url)
{
    if (!url.starts_with("data:")) {
        return {};
    }
    url.remove_prefix(5);
    return url.substr(0, std::min(url.find(';'), url.find(',')));
}

// `part[outer].url` as a string view, or empty.
std::string_view media_url(const rapidjson::Value& part, const char* outer)
{
    if (!part.HasMember(outer) || !part[outer].IsObject()) {
        return {};
    }
    const auto& o = part[outer];
    if (!o.HasMember("url") || !o["url"].IsString()) {
        return {};
    }
    return {o["url"].GetString(), o["url"].GetStringLength()};
}

// The text of the parts; an AUDIO or DOCUMENT part is mentioned by its media type, so that an
// answer shows what arrived.
std::string text_of_content(const rapidjson::Value& content)
{
    if (content.IsString()) {
        return content.GetString();
    }
    std::string out;
    if (content.IsArray()) {
        for (const auto& part : content.GetArray()) {
            if (!part.IsObject()) {
                continue;
            }
            if (part.HasMember("text") && part["text"].IsString()) {
                out += part["text"].GetString();
            }
            const bool audio = part.HasMember("audioUrl");
            if (audio || part.HasMember("documentUrl")) {
                out += audio ? " [audio: " : " [document: ";
                out += data_url_type(media_url(part, audio ? "audioUrl" : "documentUrl"));
                out += "]";
            }
        }
    }
    return out;
}

// OCI's checks of the content part types and of the media parts, so that a wrong shape fails
// the e2e tests as it fails on OCI: GENERIC AUDIO and DOCUMENT carry base64 data URLs of their
// media family in `audioUrl.url` / `documentUrl.url`; COHEREV2 has no AUDIO (nor a document
// URL). An error message, or empty.
std::string check_content_parts(const rapidjson::Value& cr, std::string_view format)
{
    if (!cr.HasMember("messages") || !cr["messages"].IsArray()) {
        return {};
    }
    const bool generic = format == "GENERIC";
    for (const auto& m : cr["messages"].GetArray()) {
        if (!m.IsObject() || !m.HasMember("content") || !m["content"].IsArray()) {
            continue;
        }
        for (const auto& part : m["content"].GetArray()) {
            if (!part.IsObject() || !part.HasMember("type") || !part["type"].IsString()) {
                return "A content part needs a type.";
            }
            const std::string_view type = part["type"].GetString();
            const bool known = generic ? (type == "TEXT" || type == "IMAGE" || type == "AUDIO" ||
                                          type == "VIDEO" || type == "DOCUMENT")
                                       : (type == "TEXT" || type == "IMAGE_URL" ||
                                          type == "DOCUMENT" || type == "THINKING");
            if (!known) {
                return "Invalid content type " + std::string(type) + " for apiFormat " +
                       std::string(format) + ".";
            }
            if (!generic || (type != "AUDIO" && type != "DOCUMENT")) {
                continue;
            }
            const bool audio = type == "AUDIO";
            const char* key = audio ? "audioUrl" : "documentUrl";
            const std::string_view url = media_url(part, key);
            if (url.empty()) {
                return std::string(key) + ".url is required for " + std::string(type) + " content.";
            }
            const std::string_view mime = data_url_type(url);
            const std::size_t comma = url.find(',');
            if (mime.empty() || comma == std::string_view::npos ||
                url.substr(0, comma).find(";base64") == std::string_view::npos) {
                return std::string(key) + ".url must be a base64 data URL.";
            }
            const bool family_ok =
                audio ? mime.starts_with("audio/")
                      : !(mime.starts_with("audio/") || mime.starts_with("image/") ||
                          mime.starts_with("video/"));
            if (!family_ok) {
                return "Media type " + std::string(mime) + " is not valid for " +
                       std::string(type) + " content.";
            }
        }
    }
    return {};
}

std::string usage_json(int prompt, int completion)
{
    return "{\"promptTokens\":" + std::to_string(prompt) +
           ",\"completionTokens\":" + std::to_string(completion) +
           ",\"totalTokens\":" + std::to_string(prompt + completion) +
           ",\"completionTokensDetails\":{\"reasoningTokens\":0},\"promptTokensDetails\":{"
           "\"cachedTokens\":0}}";
}

std::string quote(std::string_view s)
{
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return sb.GetString();
}

std::string iso_now()
{
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return buf;
}

// A JSON text shaped by `schema` (the answer in JSON mode): objects get every property, strings
// the enum's first value or `marker` (the responseFormat type, so a test sees which one arrived),
// numbers 1, booleans true, arrays one sample item. Compact (no spaces: one "token").
void write_sample(json_writer& w, const rapidjson::Value& schema, std::string_view marker,
                  int depth)
{
    std::string type;
    if (schema.IsObject() && schema.HasMember("type") && schema["type"].IsString()) {
        type = schema["type"].GetString();
    }
    // A nullable value (`["T","null"]`, or anyOf/oneOf with a null branch) gets a T sample, as a
    // model filling it would mostly give: the first non-null type or branch.
    if (schema.IsObject() && schema.HasMember("type") && schema["type"].IsArray()) {
        for (const auto& t : schema["type"].GetArray()) {
            if (t.IsString() && std::string_view(t.GetString()) != "null") {
                type = t.GetString();
                break;
            }
        }
    }
    for (const char* key : {"anyOf", "oneOf"}) {
        if (depth > 8 || !schema.IsObject() || !schema.HasMember(key) || !schema[key].IsArray()) {
            continue;
        }
        for (const auto& branch : schema[key].GetArray()) {
            const bool null_branch = branch.IsObject() && branch.HasMember("type") &&
                                     branch["type"].IsString() &&
                                     std::string_view(branch["type"].GetString()) == "null";
            if (branch.IsObject() && !null_branch) {
                write_sample(w, branch, marker, depth + 1);
                return;
            }
        }
    }
    if (schema.IsObject() && schema.HasMember("enum") && schema["enum"].IsArray() &&
        !schema["enum"].Empty()) {
        schema["enum"][0].Accept(w);
    } else if (depth > 8) {
        w.Null();
    } else if (type == "object" ||
               (type.empty() && schema.IsObject() && schema.HasMember("properties"))) {
        w.StartObject();
        if (schema.HasMember("properties") && schema["properties"].IsObject()) {
            for (const auto& m : schema["properties"].GetObject()) {
                w.Key(m.name.GetString(), m.name.GetStringLength());
                write_sample(w, m.value, marker, depth + 1);
            }
        }
        w.EndObject();
    } else if (type == "array") {
        w.StartArray();
        if (schema.HasMember("items") && schema["items"].IsObject()) {
            write_sample(w, schema["items"], marker, depth + 1);
        }
        w.EndArray();
    } else if (type == "integer" || type == "number") {
        w.Int(1);
    } else if (type == "boolean") {
        w.Bool(true);
    } else if (type == "null") {
        w.Null();
    } else {
        w.String(marker.data(), static_cast<rapidjson::SizeType>(marker.size()));
    }
}

// The answer in JSON mode (`responseFormat` JSON_OBJECT or JSON_SCHEMA), or nullopt: a sample
// of the schema (GENERIC `jsonSchema.schema`, Cohere `schema`), or {"echo": <reply_text>}
// without one.
std::optional<std::string> json_mode_text(const rapidjson::Value& cr, std::string_view prompt)
{
    if (!cr.HasMember("responseFormat") || !cr["responseFormat"].IsObject()) {
        return std::nullopt;
    }
    const auto& rf = cr["responseFormat"];
    if (!rf.HasMember("type") || !rf["type"].IsString()) {
        return std::nullopt;
    }
    const std::string_view type = rf["type"].GetString();
    if (type != "JSON_OBJECT" && type != "JSON_SCHEMA") {
        return std::nullopt;
    }
    const rapidjson::Value* schema = nullptr;
    if (type == "JSON_SCHEMA" && rf.HasMember("jsonSchema") && rf["jsonSchema"].IsObject() &&
        rf["jsonSchema"].HasMember("schema")) {
        schema = &rf["jsonSchema"]["schema"];
    } else if (type == "JSON_OBJECT" && rf.HasMember("schema")) {
        schema = &rf["schema"];
    }
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    if (schema != nullptr) {
        write_sample(w, *schema, type, 0);
        return std::string(sb.GetString());
    }
    w.StartObject();
    w.Key("echo");
    const std::string text = replies::reply_text(prompt);
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    w.EndObject();
    return std::string(sb.GetString());
}

// As strict as OCI on the answer's length, on demand: OpenAI's own models refuse `maxTokens`,
// and a length above the family's cap is refused. The caps: OCI's "response length is capped
// at 4,000 tokens for each run" unless the family's page documents more. Kept apart from the
// daemon's table on purpose. Empty when the length is acceptable.
std::string check_length(const rapidjson::Document& d, std::string_view name)
{
    const auto& sm = d["servingMode"];
    if (sm.HasMember("endpointId")) {
        return {};  // dedicated: "the response length isn't capped"
    }
    const auto& cr = d["chatRequest"];
    if (name.starts_with("openai.") && !name.starts_with("openai.gpt-oss") &&
        cr.HasMember("maxTokens")) {
        return "Invalid 'maxTokens': Unsupported parameter: 'maxTokens' is not supported with "
               "this model. Use 'maxCompletionTokens' instead.";
    }
    struct cap
    {
        std::string_view prefix;
        std::int64_t max;
    };
    static constexpr cap caps[] = {{"google.gemini-2.5", 65536},
                                   {"xai.grok-4", 16000},
                                   {"xai.grok-3-mini", 16000},
                                   {"openai.gpt-oss", 16000}};
    std::int64_t max = 4000;
    for (const auto& c : caps) {
        if (name.starts_with(c.prefix)) {
            max = c.max;
        }
    }
    for (const char* key : {"maxTokens", "maxCompletionTokens"}) {
        if (cr.HasMember(key) && cr[key].IsInt64() && cr[key].GetInt64() > max) {
            return "Invalid '" + std::string(key) + "': the response length of " +
                   std::string(name) + " is capped at " + std::to_string(max) +
                   " tokens for each run.";
        }
    }
    return {};
}

// What the model "does" for one chat request.
struct turn
{
    std::string text;       // reply text (empty for a pure tool call)
    std::string tool_name;  // non-empty: call this tool
    std::string tool_args = R"({"city":"Paris","unit":"celsius"})";
    int prompt_tokens = 0;
    int max_tokens = 20;  // OCI's own default truncates at about 20 tokens
};

// A url citation of the whole answer, as OCI's web search answers carry them.
std::string mock_annotations(const std::string& text)
{
    return "[{\"type\":\"url_citation\",\"urlCitation\":{\"startIndex\":0,\"endIndex\":" +
           std::to_string(text.size()) +
           ",\"title\":\"Mock source\",\"url\":\"https://example.com/mock-source\"}}]";
}

// GENERIC `logprobs` for `words` (legacy shape): each token with `n` alternatives besides
// itself in `topLogprobs`, values as strings (as OCI sends them).
std::string mock_generic_logprobs(const std::vector<std::string>& words, int n)
{
    std::string tokens, lps, tops;
    for (std::size_t k = 0; k < words.size(); ++k) {
        const char* sep = k > 0 ? "," : "";
        tokens += sep + quote(words[k]);
        lps += sep + std::string("-0.25");
        tops += sep + std::string("{") + quote(words[k]) + ":\"-0.25\"";
        for (int a = 1; a <= n; ++a) {
            tops += ",\"alt" + std::to_string(a) + "\":\"-" + std::to_string(a + 1) + ".5\"";
        }
        tops += "}";
    }
    return "{\"tokens\":[" + tokens + "],\"tokenLogprobs\":[" + lps + "],\"topLogprobs\":[" + tops +
           "]}";
}

// COHEREV2 `logProbabilities` for `words`: one chunk per word.
std::string mock_cohere_logprobs(const std::vector<std::string>& words)
{
    std::string out = "[";
    for (std::size_t k = 0; k < words.size(); ++k) {
        out += (k > 0 ? ",{\"tokenIds\":[" : "{\"tokenIds\":[") + std::to_string(k) +
               "],\"text\":" + quote(words[k]) + ",\"logProbabilities\":[-0.25]}";
    }
    return out + "]";
}

reply chat_reply(const rapidjson::Document& d, const std::string& model, std::string_view format,
                 std::chrono::milliseconds token_delay)
{
    const auto& cr = d["chatRequest"];
    const bool stream =
        cr.HasMember("isStream") && cr["isStream"].IsBool() && cr["isStream"].GetBool();
    const bool usage = cr.HasMember("streamOptions") && cr["streamOptions"].IsObject() &&
                       cr["streamOptions"].HasMember("isIncludeUsage") &&
                       cr["streamOptions"]["isIncludeUsage"].IsBool() &&
                       cr["streamOptions"]["isIncludeUsage"].GetBool();
    turn t;
    for (const char* key : {"maxTokens", "maxCompletionTokens"}) {
        if (cr.HasMember(key) && cr[key].IsInt()) {
            t.max_tokens = cr[key].GetInt();
        }
    }
    // Read the conversation: the last turn decides the answer.
    std::string prompt;
    std::string last_role;
    std::string tool_result;
    bool has_tools = cr.HasMember("tools") && cr["tools"].IsArray() && !cr["tools"].Empty();
    std::string first_tool;
    if (has_tools) {
        const auto& tool = cr["tools"][0];
        if (tool.HasMember("name") && tool["name"].IsString()) {
            first_tool = tool["name"].GetString();
        }
    }
    if (format == "COHERE") {
        if (cr.HasMember("message") && cr["message"].IsString()) {
            prompt = cr["message"].GetString();
        }
        last_role = "USER";
        if (cr.HasMember("toolResults") && cr["toolResults"].IsArray() &&
            !cr["toolResults"].Empty()) {
            last_role = "TOOL";
            const auto& res = cr["toolResults"][0];
            if (res.HasMember("outputs")) {
                rapidjson::StringBuffer sb;
                json_writer w(sb);
                res["outputs"].Accept(w);
                tool_result = sb.GetString();
            }
        }
    } else if (cr.HasMember("messages") && cr["messages"].IsArray() && !cr["messages"].Empty()) {
        const auto& last = cr["messages"][cr["messages"].Size() - 1];
        if (last.HasMember("role") && last["role"].IsString()) {
            last_role = last["role"].GetString();
        }
        if (last.HasMember("content")) {
            prompt = text_of_content(last["content"]);
        }
        if (last_role == "TOOL") {
            tool_result = prompt;
        }
    }
    t.prompt_tokens = static_cast<int>(replies::words_of(prompt).size()) + 5;
    if (has_tools && last_role == "USER") {
        t.tool_name = first_tool;
    } else if (last_role == "TOOL") {
        t.text = "The tool returned: " + tool_result;
    } else if (auto json = json_mode_text(cr, prompt)) {
        t.text = std::move(*json);
    } else {
        t.text = replies::reply_text(prompt);
    }
    // Truncate at the token budget.
    auto words = replies::words_of(t.text);
    bool truncated = false;
    if (static_cast<int>(words.size()) > t.max_tokens) {
        words.resize(static_cast<std::size_t>(std::max(0, t.max_tokens)));
        truncated = true;
        t.text.clear();
        for (auto& w : words) {
            t.text += w;
        }
    }
    const int completion = t.tool_name.empty() ? static_cast<int>(words.size()) : 12;
    const std::string generic_finish = !t.tool_name.empty() ? "tool_calls"
                                       : truncated          ? "length"
                                                            : "stop";
    const std::string cohere_finish = truncated ? "MAX_TOKENS" : "COMPLETE";
    // What the request asked for besides text: web search → url annotations (GENERIC), logProbs
    // → that many alternatives per token (GENERIC), isLogProbsEnabled → logProbabilities (V2).
    const bool web_search =
        format == "GENERIC" && cr.HasMember("webSearchOptions") && !t.text.empty();
    int logprobs_n = -1;
    if (format == "GENERIC" && cr.HasMember("logProbs") && cr["logProbs"].IsInt() &&
        !t.text.empty()) {
        logprobs_n = std::clamp(cr["logProbs"].GetInt(), 0, 20);
    }
    const bool v2_logprobs = format == "COHEREV2" && cr.HasMember("isLogProbsEnabled") &&
                             cr["isLogProbsEnabled"].IsBool() && cr["isLogProbsEnabled"].GetBool();

    reply r;
    if (!stream) {
        // One ChatResult.
        std::string resp;
        if (format == "GENERIC") {
            std::string msg = "{\"role\":\"ASSISTANT\",\"content\":[{\"type\":\"TEXT\",\"text\":" +
                              quote(t.text) + "}]";
            if (!t.tool_name.empty()) {
                msg =
                    "{\"role\":\"ASSISTANT\",\"content\":[],\"toolCalls\":[{\"id\":\"call_mock_1\","
                    "\"type\":\"FUNCTION\",\"name\":" +
                    quote(t.tool_name) + ",\"arguments\":" + quote(t.tool_args) + "}]";
            }
            if (web_search) {
                msg += ",\"annotations\":" + mock_annotations(t.text);
            }
            msg += "}";
            std::string lp;
            if (logprobs_n >= 0) {
                lp = ",\"logprobs\":" + mock_generic_logprobs(words, logprobs_n);
            }
            resp = "{\"apiFormat\":\"GENERIC\",\"timeCreated\":\"" + iso_now() +
                   "\",\"choices\":[{\"index\":0,\"message\":" + msg + ",\"finishReason\":\"" +
                   generic_finish + "\"" + lp +
                   "}],\"usage\":" + usage_json(t.prompt_tokens, completion) + "}";
        } else if (format == "COHERE") {
            resp = "{\"apiFormat\":\"COHERE\",\"text\":" + quote(t.text) + ",\"finishReason\":\"" +
                   cohere_finish + "\"";
            if (!t.tool_name.empty()) {
                resp += ",\"toolCalls\":[{\"name\":" + quote(t.tool_name) +
                        ",\"parameters\":" + t.tool_args + "}]";
            }
            resp += ",\"usage\":" + usage_json(t.prompt_tokens, completion) + "}";
        } else {
            resp =
                "{\"apiFormat\":\"COHEREV2\",\"id\":\"mock-v2\",\"message\":{\"role\":"
                "\"ASSISTANT\","
                "\"content\":[{\"type\":\"TEXT\",\"text\":" +
                quote(t.text) + "}]},\"finishReason\":\"" +
                (truncated ? std::string("MAX_TOKENS") : std::string("COMPLETE")) + "\"" +
                (v2_logprobs ? ",\"logProbabilities\":" + mock_cohere_logprobs(words) : "") +
                ",\"usage\":" + usage_json(t.prompt_tokens, completion) + "}";
        }
        r.body = "{\"modelId\":" + quote(model) +
                 ",\"modelVersion\":\"1.0.0\",\"chatResponse\":" + resp + "}";
        return r;
    }

    // Streaming: OCI's events, irregular separators, pad fields, no [DONE].
    std::string all = ": keep-alive\n\n";
    std::size_t i = 0;
    auto sep = [&i]() { return (i++ % 3 == 1) ? std::string("\n") : std::string("\n\n"); };
    if (format == "GENERIC") {
        if (!t.tool_name.empty()) {
            // Progressive tool call: id and name first, argument fragments after.
            std::string args = t.tool_args;
            std::size_t half = args.size() / 2;
            all +=
                "data: "
                "{\"index\":0,\"message\":{\"role\":\"ASSISTANT\",\"toolCalls\":[{\"id\":\"call_"
                "mock_1\","
                "\"type\":\"FUNCTION\",\"name\":" +
                quote(t.tool_name) + ",\"arguments\":" + quote(args.substr(0, half)) + "}]}}" +
                sep();
            all +=
                "data: "
                "{\"index\":0,\"message\":{\"role\":\"ASSISTANT\",\"toolCalls\":[{\"arguments\":" +
                quote(args.substr(half)) + "}]},\"pad\":\"abcdefgh\"}" + sep();
        }
        for (std::size_t k = 0; k < words.size(); ++k) {
            // The first event names the model version; each carries its token's logprobs.
            all +=
                "data: "
                "{\"index\":0,\"message\":{\"role\":\"ASSISTANT\",\"content\":[{\"type\":\"TEXT\","
                "\"text\":" +
                quote(words[k]) + "}]}" + (k == 0 ? ",\"modelVersion\":\"1.0.0\"" : "") +
                (logprobs_n >= 0 ? ",\"logprobs\":" + mock_generic_logprobs({words[k]}, logprobs_n)
                                 : "") +
                ",\"pad\":\"abc\"}" + sep();
        }
        // The finish event brings the answer's url citations.
        all += "data: {\"index\":0,\"message\":{\"role\":\"ASSISTANT\"" +
               (web_search ? ",\"annotations\":" + mock_annotations(t.text) : "") +
               "},\"finishReason\":\"" + generic_finish + "\"}\n\n";
    } else if (format == "COHERE") {
        for (const auto& w : words) {
            all +=
                "data: {\"apiFormat\":\"COHERE\",\"text\":" + quote(w) + ",\"pad\":\"ab\"}" + sep();
        }
        // Terminal event restates the whole text with the history.
        all += "data: {\"apiFormat\":\"COHERE\",\"text\":" + quote(t.text);
        if (!t.tool_name.empty()) {
            all += ",\"toolCalls\":[{\"name\":" + quote(t.tool_name) +
                   ",\"parameters\":" + t.tool_args + "}]";
        }
        all += ",\"chatHistory\":[{\"role\":\"CHATBOT\",\"message\":" + quote(t.text) +
               "}],\"finishReason\":\"" + cohere_finish + "\"}\n\n";
    } else {
        for (const auto& w : words) {
            all +=
                "data: "
                "{\"apiFormat\":\"COHEREV2\",\"message\":{\"role\":\"ASSISTANT\",\"content\":[{"
                "\"type\":"
                "\"TEXT\",\"text\":" +
                quote(w) + "}]}}" + sep();
        }
        all +=
            "data: "
            "{\"apiFormat\":\"COHEREV2\",\"message\":{\"role\":\"ASSISTANT\"},\"finishReason\":\"" +
            std::string(truncated ? "MAX_TOKENS" : "COMPLETE") + "\"}\n\n";
    }
    if (usage) {
        all += "data: {\"usage\":" + usage_json(t.prompt_tokens, completion) + "}\n\n";
    }
    r.stream = true;
    r.content_type = "text/event-stream";
    r.writes = irregular_writes(all);
    r.delay = token_delay;
    return r;
}

}  // namespace

namespace replies {

std::vector<std::string> words_of(std::string_view text)
{
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        cur.push_back(c);
        if (c == ' ') {
            out.push_back(std::move(cur));
            cur.clear();
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

std::string reply_text(std::string_view prompt)
{
    std::string p(prompt.substr(0, 200));
    if (p.empty()) {
        p = "(nothing)";
    }
    return "Hello from the OCI mock. You said: " + p;
}

std::vector<float> embedding(std::string_view text, int dims)
{
    // FNV-1a seeded values in [-1, 1], normalised.
    std::vector<float> v(static_cast<std::size_t>(dims));
    std::uint64_t h = 1469598103934665603ull;
    for (char c : text) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    double norm = 0;
    for (auto& x : v) {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        x = static_cast<float>(static_cast<double>(h % 20001) / 10000.0 - 1.0);
        norm += static_cast<double>(x) * x;
    }
    norm = std::sqrt(norm);
    for (auto& x : v) {
        x = static_cast<float>(x / (norm > 0 ? norm : 1.0));
    }
    return v;
}

}  // namespace replies

// ---- fault switch --------------------------------------------------------------------------

namespace {

constexpr std::size_t max_fault_body = 4096;

bool known_mode(std::string_view m)
{
    return m == "status" || m == "reset" || m == "reset_after_first" || m == "hang";
}

// OCI's error code for an HTTP status.
std::string_view oci_code(unsigned status)
{
    switch (status) {
        case 400:
            return "InvalidParameter";
        case 401:
            return "NotAuthenticated";
        case 404:
            return "NotAuthorizedOrNotFound";
        case 409:
            return "Conflict";
        case 413:
            return "PayloadTooLarge";
        case 429:
            return "TooManyRequests";
        case 500:
            return "InternalServerError";
        case 502:
            return "BadGateway";
        case 503:
            return "ServiceUnavailable";
        case 504:
            return "GatewayTimeout";
        default:
            return status < 500 ? "InvalidParameter" : "InternalServerError";
    }
}

// The answer of a `status` fault: OCI's error shape, or OpenAI's on the compatible API.
reply status_fault_reply(const fault& f, bool openai_path)
{
    reply r;
    r.status = f.status;
    const std::string message = "Injected fault: HTTP " + std::to_string(f.status) + ".";
    if (openai_path) {
        const bool limited = f.status == 429;
        r.body = "{\"error\":{\"message\":" + quote(message) + ",\"type\":" +
                 quote(limited ? "requests"
                               : (f.status >= 500 ? "server_error" : "invalid_request_error")) +
                 ",\"param\":null,\"code\":" +
                 quote(limited ? "rate_limit_exceeded" : std::string(oci_code(f.status))) + "}}";
    } else {
        r.body = oci_error_body(oci_code(f.status), message);
    }
    if (!f.retry_after.empty()) {
        r.headers.emplace_back("retry-after", f.retry_after);
    }
    return r;
}

// `r` cut for `reset_after_first`: a stream keeps its first SSE event (up to the end of the
// first `data:` line and the blank line after it), a body is cut in half; then a reset.
void cut_after_first(reply& r)
{
    r.hang = false;
    r.raw.clear();
    r.interim.clear();
    r.drip = false;
    r.status = 200;
    if (!r.stream) {
        r.cut = true;
        return;
    }
    std::string all;
    for (const auto& w : r.writes) {
        all += w;
    }
    std::string first;
    if (auto d = all.find("data:"); d != std::string::npos) {
        auto end = all.find('\n', d);
        end = end == std::string::npos ? all.size() : end + 1;
        if (end < all.size() && all[end] == '\n') {
            ++end;
        }
        first = all.substr(0, end);
    } else if (!r.writes.empty()) {
        first = r.writes.front();  // compressed: its first write
    }
    r.writes.assign(1, std::move(first));
    r.end = reply::tail::reset;
}

}  // namespace

std::string fault_error(const fault& f)
{
    if (!known_mode(f.mode)) {
        return "mode must be status, reset, reset_after_first or hang";
    }
    if (f.mode == "status" && (f.status < 400 || f.status > 599)) {
        return "status must be 400..599 for mode status";
    }
    if (f.retry_after.size() > 64) {
        return "retry_after is too long";
    }
    for (char c : f.retry_after) {
        if (c < 0x20 || c > 0x7e) {
            return "retry_after holds a byte that is not visible ASCII";
        }
    }
    return {};
}

std::optional<fault> parse_fault(std::string_view json, std::string& error)
{
    if (json.size() > max_fault_body) {
        error = "the fault body is over 4 KiB";
        return std::nullopt;
    }
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
    if (d.HasParseError() || !d.IsObject()) {
        error = "the fault body is not a JSON object";
        return std::nullopt;
    }
    fault f;
    bool has_mode = false;
    for (const auto& m : d.GetObject()) {
        const std::string_view k(m.name.GetString(), m.name.GetStringLength());
        const auto& v = m.value;
        if (k == "mode" && v.IsString()) {
            f.mode.assign(v.GetString(), v.GetStringLength());
            has_mode = true;
        } else if (k == "status" && v.IsUint()) {
            f.status = v.GetUint();
        } else if (k == "retry_after" && v.IsString()) {
            f.retry_after.assign(v.GetString(), v.GetStringLength());
        } else if (k == "retry_after" && v.IsUint64()) {
            f.retry_after = std::to_string(v.GetUint64());
        } else if (k == "count" && v.IsUint64()) {
            f.count = v.GetUint64();
        } else {
            error = "unexpected member or type: " + std::string(k.substr(0, 64));
            return std::nullopt;
        }
    }
    if (!has_mode) {
        error = "mode is required";
        return std::nullopt;
    }
    if (error = fault_error(f); !error.empty()) {
        return std::nullopt;
    }
    return f;
}

std::string fault_json(const fault& f)
{
    std::string out = "{\"mode\":" + quote(f.mode);
    if (f.mode == "status") {
        out += ",\"status\":" + std::to_string(f.status);
    }
    if (!f.retry_after.empty()) {
        out += ",\"retry_after\":" + quote(f.retry_after);
    }
    if (f.count) {
        out += ",\"count\":" + std::to_string(*f.count);
    }
    return out + "}";
}

struct inference_server::impl : std::enable_shared_from_this<impl>
{
    impl(net::io_context& io, inference_options o)
        : ioc(io),
          opts(std::move(o)),
          tls(ssl::context::tls_server),
          acceptor(net::make_strand(io)),
          openai({opts.genai_api_keys, opts.token_delay})
    {
        tls.use_certificate_chain(net::buffer(opts.cert_pem));
        tls.use_private_key(net::buffer(opts.key_pem), ssl::context::pem);
    }

    net::io_context& ioc;
    inference_options opts;
    ssl::context tls;
    tcp::acceptor acceptor;
    inference_stats stats;
    std::uint16_t port = 0;
    openai::service openai;  // `/openai/v1/*`
    mutable std::mutex fault_mu;
    std::optional<fault> fault_set;  // guarded by fault_mu

    // The fault for one request, counted down (and cleared at 0); nullopt when none is set.
    std::optional<fault> take_fault()
    {
        std::lock_guard l(fault_mu);
        if (!fault_set) {
            return std::nullopt;
        }
        fault f = *fault_set;
        if (fault_set->count && --*fault_set->count == 0) {
            fault_set.reset();
        }
        return f;
    }

    void put_fault(std::optional<fault> f)
    {
        std::lock_guard l(fault_mu);
        fault_set = f && f->count == std::uint64_t{0} ? std::nullopt : std::move(f);
    }

    std::optional<fault> get_fault() const
    {
        std::lock_guard l(fault_mu);
        return fault_set;
    }

    // The requests a fault applies to.
    static bool faultable(const http::request<http::string_body>& req, std::string_view path)
    {
        return req.method() == http::verb::post &&
               (path == "/20231130/actions/chat" || path == "/20231130/actions/embedText" ||
                path == "/openai/v1/chat/completions" || path == "/openai/v1/responses");
    }

    // `/mock/fault`: GET, POST (set), DELETE (clear).
    reply fault_control(const http::request<http::string_body>& req)
    {
        reply r;
        if (req.method() == http::verb::post) {
            std::string why;
            auto f = parse_fault(req.body(), why);
            if (!f) {
                return error_reply(400, "InvalidParameter", why);
            }
            put_fault(*f);
        } else if (req.method() == http::verb::delete_) {
            put_fault(std::nullopt);
        } else if (req.method() != http::verb::get) {
            return error_reply(405, "MethodNotAllowed", "GET, POST or DELETE /mock/fault.");
        }
        auto now = get_fault();
        r.body = now ? fault_json(*now) : std::string(R"({"mode":"none"})");
        return r;
    }

    // Checks the OCI signature of `req`; empty string when valid, else why not.
    std::string verify(const http::request<http::string_body>& req)
    {
        auto auth = req.find(http::field::authorization);
        if (auth == req.end()) {
            return "missing authorization header";
        }
        auto p = parse_signature_params(auth->value());
        if (!signature_well_formed(p)) {
            return "malformed authorization header";
        }
        const bool body_method =
            req.method() == http::verb::post || req.method() == http::verb::put;
        const std::string expected =
            body_method ? "date (request-target) host content-length content-type x-content-sha256"
                        : "date (request-target) host";
        std::string headers = p["headers"];
        std::string alt = headers;
        if (alt.starts_with("x-date ")) {
            alt = "date " + alt.substr(7);
        }
        if (alt != expected) {
            return "signed header set is '" + headers + "', expected '" + expected + "'";
        }
        // Rebuild the signing string from what arrived.
        std::string missing;
        auto signing = signing_string(
            headers, lower(req.method_string()) + " " + std::string(req.target()),
            [&](const std::string& name) -> std::optional<std::string> {
                auto it = req.find(name);
                return it == req.end() ? std::nullopt : std::optional(std::string(it->value()));
            },
            missing);
        if (!signing) {
            return "signed header '" + missing + "' is missing";
        }
        // The headers must describe this request.
        std::string date = std::string(req[headers.starts_with("x-date") ? "x-date" : "date"]);
        auto when = parse_http_date(date);
        if (!when) {
            return "unparsable date '" + date + "'";
        }
        auto skew = std::abs(std::difftime(std::time(nullptr), *when));
        if (skew > static_cast<double>(opts.max_skew.count())) {
            return "date skew of " + std::to_string(static_cast<long>(skew)) + " s";
        }
        std::string host(req[http::field::host]);
        if (host != "127.0.0.1:" + std::to_string(port) &&
            host != "localhost:" + std::to_string(port)) {
            return "host header '" + host + "' does not name this server";
        }
        if (body_method) {
            unsigned char digest[SHA256_DIGEST_LENGTH];
            SHA256(reinterpret_cast<const unsigned char*>(req.body().data()), req.body().size(),
                   digest);
            std::string b64 = auth::base64_encode(
                std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
            if (req["x-content-sha256"] != b64) {
                return "x-content-sha256 does not match the body";
            }
            if (req[http::field::content_length] != std::to_string(req.body().size())) {
                return "content-length does not match the body";
            }
        }
        std::string why;
        auto key = opts.lookup(p["keyId"], why);
        if (!key) {
            return why.empty() ? "unknown keyId" : why;
        }
        if (!signature_verifies(key.get(), *signing, p["signature"])) {
            return "signature does not verify";
        }
        return {};
    }

    reply handle(const http::request<http::string_body>& req)
    {
        std::string target(req.target());
        auto q = target.find('?');
        std::string path = target.substr(0, q);
        if (path == "/mock/stats") {
            reply r;
            r.body =
                "{\"connections\":" + std::to_string(stats.connections.load()) +
                ",\"resumed\":" + std::to_string(stats.resumed.load()) +
                ",\"requests\":" + std::to_string(stats.requests.load()) +
                ",\"chat\":" + std::to_string(stats.chat.load()) +
                ",\"embed\":" + std::to_string(stats.embed.load()) +
                ",\"rejected_signatures\":" + std::to_string(stats.rejected_signatures.load()) +
                ",\"closed_by_client\":" + std::to_string(stats.closed_by_client.load()) +
                ",\"open_connections\":" + std::to_string(stats.open_connections.load()) +
                ",\"open_used\":" + std::to_string(stats.open_used.load()) +
                ",\"stale_drops\":" + std::to_string(stats.stale_drops.load()) +
                ",\"faulted\":" + std::to_string(stats.faulted.load()) + openai.stats_fields() +
                "}";
            return r;
        }
        if (path == "/mock/openai/last") {
            reply r;
            r.body = openai.last_json();
            return r;
        }
        if (path == "/mock/fault") {
            return fault_control(req);
        }
        ++stats.requests;
        if (faultable(req, path)) {
            if (auto f = take_fault()) {
                ++stats.faulted;
                if (f->mode == "status") {
                    return status_fault_reply(*f, path.starts_with("/openai/"));
                }
                reply r;
                if (f->mode == "reset") {
                    r.reset_now = true;
                } else if (f->mode == "hang") {
                    r.hang = true;
                } else {
                    r = answer(req, path, target, q, false);
                    cut_after_first(r);
                }
                return r;
            }
        }
        return answer(req, path, target, q, true);
    }

    // The answer to a request past /mock/*; `count`: counts it in chat/embed.
    reply answer(const http::request<http::string_body>& req, const std::string& path,
                 const std::string& target, std::size_t q, bool count)
    {
        if (path.starts_with("/openai/")) {
            return openai_reply(req);
        }
        if (auto why = verify(req); !why.empty()) {
            ++stats.rejected_signatures;
            spdlog::warn("mock: 401 for {} {}: {}", req.method_string(), path, why);
            return error_reply(401, "NotAuthenticated",
                               "The required information to complete authentication was not "
                               "provided or was incorrect.");
        }
        if (path == "/20231130/models" && req.method() == http::verb::get) {
            return list_models_reply(q == std::string::npos ? std::string_view()
                                                            : std::string_view(target).substr(q));
        }
        if (req.method() != http::verb::post) {
            return error_reply(404, "NotAuthorizedOrNotFound", "Unknown resource " + path);
        }
        rapidjson::Document d;
        d.Parse<rapidjson::kParseIterativeFlag>(req.body().c_str());
        if (d.HasParseError() || !d.IsObject()) {
            return error_reply(400, "CannotParseRequest", "The request body is not valid JSON.");
        }
        if (!d.HasMember("compartmentId") || !d["compartmentId"].IsString() ||
            !std::string_view(d["compartmentId"].GetString()).starts_with("ocid1.")) {
            return error_reply(400, "MissingParameter", "compartmentId is required.");
        }
        std::string model;
        if (d.HasMember("servingMode") && d["servingMode"].IsObject()) {
            const auto& sm = d["servingMode"];
            for (const char* k : {"modelId", "endpointId"}) {
                if (sm.HasMember(k) && sm[k].IsString()) {
                    model = sm[k].GetString();
                }
            }
        }
        if (model.empty()) {
            return error_reply(400, "MissingParameter", "servingMode is required.");
        }
        // Faults on demand, by model name.
        if (model.find("mock-429") != std::string::npos) {
            auto r = error_reply(429, "TooManyRequests", "Too many requests for the tenancy.");
            r.headers.emplace_back("Retry-After", "1");
            return r;
        }
        if (model.find("mock-500") != std::string::npos) {
            return error_reply(500, "500", "Internal Server Error.");
        }
        if (model.find("mock-503") != std::string::npos) {
            return error_reply(503, "ServiceUnavailable",
                               "The service is temporarily unavailable.");
        }
        if (model.find("mock-401") != std::string::npos) {
            return error_reply(401, "NotAuthenticated",
                               "The required information to complete authentication was not "
                               "provided or was incorrect.");
        }
        if (model.find("unknown") != std::string::npos) {
            return error_reply(404, "NotAuthorizedOrNotFound",
                               "Entity with key " + model + " not found");
        }
        if (path == "/20231130/actions/embedText") {
            stats.embed += count ? 1 : 0;
            return embed_reply(d, model);
        }
        if (path != "/20231130/actions/chat") {
            return error_reply(404, "NotAuthorizedOrNotFound", "Unknown action " + path);
        }
        stats.chat += count ? 1 : 0;
        std::string format;
        if (d.HasMember("chatRequest") && d["chatRequest"].IsObject() &&
            d["chatRequest"].HasMember("apiFormat") && d["chatRequest"]["apiFormat"].IsString()) {
            format = d["chatRequest"]["apiFormat"].GetString();
        }
        // A model OCID is served like the model it names.
        const bool cohere = mock_model_name(model).starts_with("cohere.");
        if ((cohere && format != "COHERE" && format != "COHEREV2") ||
            (!cohere && format != "GENERIC")) {
            return error_reply(400, "400", "Chat request type does not match serving model.");
        }
        if (auto bad = check_content_parts(d["chatRequest"], format); !bad.empty()) {
            return error_reply(400, "InvalidParameter", bad);
        }
        if (auto bad = check_length(d, mock_model_name(model)); !bad.empty()) {
            return error_reply(400, "400", bad);
        }
        auto r = chat_reply(d, model, format, opts.token_delay);
        // `mock-slow` also paces the writes of `mock-reset` and `mock-stall` when combined.
        if (model.find("mock-slow") != std::string::npos) {
            r.delay = std::chrono::milliseconds(100);
        }
        if (model.find("mock-reset") != std::string::npos) {
            r.writes.resize(std::min<std::size_t>(r.writes.size(), 2));
            r.end = reply::tail::reset;
        } else if (model.find("mock-stall") != std::string::npos) {
            r.writes.resize(std::min<std::size_t>(r.writes.size(), 1));
            r.end = reply::tail::stall;
        } else if (model.find("mock-long") != std::string::npos && r.stream &&
                   format == "GENERIC") {
            r.writes = long_stream();
        } else if (model.find("mock-hang") != std::string::npos) {
            r.hang = true;
        } else if (model.find("mock-cl-te") != std::string::npos) {
            r.raw = bad_framing(r, true);
        } else if (model.find("mock-bad-chunk") != std::string::npos) {
            r.raw = bad_framing(r, false);
        } else if (model.find("mock-comments") != std::string::npos && r.stream) {
            // A stream that only ever sends SSE comments: alive, but never an event.
            r.writes.assign(1000, ": keep-alive\n\n");
            r.delay = std::chrono::milliseconds(200);
        } else if (model.find("mock-drip") != std::string::npos && !r.stream) {
            r.drip = true;
            r.delay = std::chrono::milliseconds(200);
        }
        if (model.find("mock-1xx") != std::string::npos) {
            r.interim =
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; "
                "rel=preload\r\n\r\n";
        }
        return r;
    }

    // OCI's OpenAI-compatible API: its own authentication and answers; a signature is verified
    // as on the native API.
    reply openai_reply(const http::request<http::string_body>& req)
    {
        auto a = openai.handle(req, [this](const openai::request& rq) {
            auto why = verify(rq);
            if (!why.empty()) {
                ++stats.rejected_signatures;
                spdlog::warn("mock: 401 for {} {}: {}", rq.method_string(),
                             rq.target().substr(0, rq.target().find('?')), why);
            }
            return why;
        });
        reply r;
        r.status = a.status;
        r.content_type = std::move(a.content_type);
        r.headers = std::move(a.headers);
        r.body = std::move(a.body);
        r.stream = a.stream;
        r.writes = std::move(a.writes);
        r.delay = a.delay;
        r.end = a.stall ? reply::tail::stall : reply::tail::finish;
        return r;
    }

    // A 16 MiB GENERIC stream (2048 events of 8 KiB text, one per write), never finished:
    // enough to fill every socket buffer between the mock and a client that stops reading.
    static std::vector<std::string> long_stream()
    {
        std::string filler;
        while (filler.size() < 8192) {
            filler += "lorem ipsum dolor sit amet ";
        }
        filler.resize(8192);
        const std::string event =
            "data: {\"index\":0,\"message\":{\"role\":\"ASSISTANT\",\"content\":[{\"type\":"
            "\"TEXT\",\"text\":" +
            quote(filler) + "}]}}\n\n";
        return std::vector<std::string>(2048, event);
    }

    // The response `r` with broken HTTP framing: `cl_te`: both Content-Length and chunked
    // Transfer-Encoding (a smuggling vector OCI never sends); otherwise a valid first chunk
    // followed by an invalid chunk-size line.
    static std::string bad_framing(const reply& r, bool cl_te)
    {
        std::string body;
        if (r.stream) {
            for (const auto& w : r.writes) {
                body += w;
            }
        } else {
            body = r.body;
        }
        const std::size_t half = body.size() / 2;
        char size[20];
        int len = std::snprintf(size, sizeof size, "%zx\r\n", half);
        std::string out = "HTTP/1.1 200 OK\r\nContent-Type: " + r.content_type + "\r\n";
        if (cl_te) {
            out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        }
        out += "Transfer-Encoding: chunked\r\n\r\n";
        out += std::string(size, static_cast<std::size_t>(len)) + body.substr(0, half) + "\r\n";
        if (cl_te) {
            len = std::snprintf(size, sizeof size, "%zx\r\n", body.size() - half);
            out += std::string(size, static_cast<std::size_t>(len)) + body.substr(half) +
                   "\r\n0\r\n\r\n";
        } else {
            out += "zz\r\n" + body.substr(half) + "\r\n0\r\n\r\n";
        }
        return out;
    }

    reply embed_reply(const rapidjson::Document& d, const std::string& model)
    {
        int dims = 16;
        // As OCI: outputDimensions only from embed v4 on, and only its four sizes.
        const std::string_view name = mock_model_name(model);
        if (d.HasMember("outputDimensions")) {
            const bool v4 = name.starts_with("cohere.embed-v4");
            const int want = d["outputDimensions"].IsInt() ? d["outputDimensions"].GetInt() : 0;
            if (!v4 || (want != 256 && want != 512 && want != 1024 && want != 1536)) {
                return error_reply(400, "InvalidParameter",
                                   "outputDimensions must be 256, 512, 1024 or 1536 and is only "
                                   "available for embed-v4 and newer models.");
            }
            dims = want;
        }
        // Inputs over 512 tokens (words here): an error with truncate NONE, cut otherwise.
        const std::string truncate =
            d.HasMember("truncate") && d["truncate"].IsString() ? d["truncate"].GetString() : "END";
        if (!d.HasMember("inputs") || !d["inputs"].IsArray() || d["inputs"].Empty() ||
            d["inputs"].Size() > 96) {
            return error_reply(400, "InvalidParameter", "inputs must hold 1 to 96 strings.");
        }
        std::string body =
            "{\"id\":\"mock-embed\",\"modelId\":" + quote(model) + ",\"embeddings\":[";
        int tokens = 0;
        bool first = true;
        for (const auto& in : d["inputs"].GetArray()) {
            if (!in.IsString()) {
                return error_reply(400, "InvalidParameter", "inputs must be strings.");
            }
            const auto words = static_cast<int>(replies::words_of(in.GetString()).size());
            if (words > 512 && truncate == "NONE") {
                return error_reply(400, "InvalidParameter",
                                   "An input is longer than the model's 512 tokens; set truncate "
                                   "to START or END to cut it.");
            }
            tokens += std::min(words, 512);
            body += first ? "[" : ",[";
            first = false;
            auto v = replies::embedding(in.GetString(), dims);
            for (std::size_t i = 0; i < v.size(); ++i) {
                char num[32];
                std::snprintf(num, sizeof num, "%s%.7g", i ? "," : "", static_cast<double>(v[i]));
                body += num;
            }
            body += "]";
        }
        body += "],\"usage\":{\"promptTokens\":" + std::to_string(tokens) +
                ",\"totalTokens\":" + std::to_string(tokens) + "}}";
        reply r;
        r.body = std::move(body);
        return r;
    }
};

namespace {

using impl_ptr = std::shared_ptr<inference_server::impl>;

net::awaitable<void> wait_for_close(ssl::stream<tcp::socket>& s)
{
    char buf[256];
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(net::buffer(buf), use_nothrow);
        if (ec) {
            co_return;
        }
    }
}

// An abrupt reset (RST): linger 0, then close.
void abort_connection(ssl::stream<tcp::socket>& s)
{
    error_code ignored;
    s.next_layer().set_option(net::socket_base::linger(true, 0), ignored);
    s.next_layer().close(ignored);
}

net::awaitable<void> serve(impl_ptr im, tcp::socket socket)
{
    ++im->stats.connections;
    ++im->stats.open_connections;
    ssl::stream<tcp::socket> s(std::move(socket), im->tls);
    beast::flat_buffer buffer;
    auto [hec] = co_await s.async_handshake(ssl::stream_base::server, use_nothrow);
    if (!hec && SSL_session_reused(s.native_handle()) == 1) {
        ++im->stats.resumed;
    }
    // Idle from the handshake on, and again after each answer (as a server's idle timeout).
    bool used = false;  // has carried a request
    std::optional<std::chrono::steady_clock::time_point> idle_since;
    if (!hec) {
        idle_since = std::chrono::steady_clock::now();
    }
    for (; !hec;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto [hrec, hrn] = co_await http::async_read_header(s, buffer, parser, use_nothrow);
        if (hrec) {
            break;
        }
        // The control paths take small bodies only: 413 (and close) past 4 KiB.
        const bool control = parser.get().target().starts_with("/mock/");
        if (control) {
            parser.body_limit(max_fault_body);
        }
        error_code rec;
        if (control && parser.content_length() && *parser.content_length() > max_fault_body) {
            rec = http::error::body_limit;
        } else {
            auto [bec, bn] = co_await http::async_read(s, buffer, parser, use_nothrow);
            rec = bec;
        }
        if (rec == http::error::body_limit && control) {
            const std::string body =
                oci_error_body("PayloadTooLarge", "A /mock/ body holds at most 4096 bytes.");
            const std::string too_large =
                "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                "Connection: close\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
            co_await net::async_write(s, net::buffer(too_large), use_nothrow);
            break;
        }
        if (rec) {
            break;
        }
        // A kept-alive connection idle past stale_after: our idle close "crossed" the request.
        const auto stale = im->opts.stale_after;
        if (idle_since && stale.count() > 0 &&
            std::chrono::steady_clock::now() - *idle_since >= stale) {
            ++im->stats.stale_drops;
            break;
        }
        auto req = parser.release();
        if (!used) {
            used = true;
            ++im->stats.open_used;
        }
        reply r = im->handle(req);
        std::string opc = "mock-" + std::to_string(im->stats.requests.load());
        if (r.hang) {
            co_await wait_for_close(s);
            break;
        }
        if (r.reset_now) {
            abort_connection(s);
            break;
        }
        if (!r.interim.empty()) {
            auto [iec, iw] = co_await net::async_write(s, net::buffer(r.interim), use_nothrow);
            if (iec) {
                break;
            }
        }
        if (!r.raw.empty()) {
            auto [rwec, rwn] = co_await net::async_write(s, net::buffer(r.raw), use_nothrow);
            if (!rwec) {
                co_await wait_for_close(s);
            }
            break;
        }
        if (!r.stream) {
            http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
            res.set(http::field::content_type, r.content_type);
            res.set("opc-request-id", opc);
            for (auto& [k, v] : r.headers) {
                res.set(k, v);
            }
            res.body() = std::move(r.body);
            res.prepare_payload();
            res.keep_alive(req.keep_alive());
            // One buffer, so one TLS record for a small answer (as a production server sends).
            std::ostringstream wire;
            wire << res;
            const std::string bytes = wire.str();
            if (r.cut) {
                // The head and half the body, then a reset.
                const std::size_t body_at = bytes.find("\r\n\r\n") + 4;
                const std::size_t upto = body_at + (bytes.size() - body_at) / 2;
                auto [cec, cn] =
                    co_await net::async_write(s, net::buffer(bytes.data(), upto), use_nothrow);
                if (!cec) {
                    abort_connection(s);
                }
                break;
            }
            if (r.drip) {
                // The head at once, then the body a byte at a time: never idle for long, never
                // done.
                const std::size_t body_at = bytes.find("\r\n\r\n") + 4;
                auto [dec, dn] =
                    co_await net::async_write(s, net::buffer(bytes.data(), body_at), use_nothrow);
                net::steady_timer tick(co_await net::this_coro::executor);
                for (std::size_t i = body_at; !dec && i < bytes.size(); ++i) {
                    tick.expires_after(r.delay);
                    co_await tick.async_wait(use_nothrow);
                    auto [bec, bn] =
                        co_await net::async_write(s, net::buffer(bytes.data() + i, 1), use_nothrow);
                    dec = bec;
                }
                break;
            }
            auto [wec, wn] = co_await net::async_write(s, net::buffer(bytes), use_nothrow);
            if (wec || !req.keep_alive()) {
                break;
            }
            idle_since = std::chrono::steady_clock::now();
            continue;
        }
        // Stream: headers, then one chunk per write; OCI never terminates the body.
        std::string head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            "opc-request-id: " +
            opc + "\r\n";
        for (const auto& [k, v] : r.headers) {
            head += k + ": " + v + "\r\n";
        }
        head += "\r\n";
        auto [hwec, hwn] = co_await net::async_write(s, net::buffer(head), use_nothrow);
        bool failed = static_cast<bool>(hwec);
        net::steady_timer pause(co_await net::this_coro::executor);
        for (const auto& w : r.writes) {
            if (failed) {
                break;
            }
            if (r.delay.count() > 0) {
                pause.expires_after(r.delay);
                co_await pause.async_wait(use_nothrow);
            }
            char size[20];
            int len = std::snprintf(size, sizeof size, "%zx\r\n", w.size());
            std::string chunk = std::string(size, static_cast<std::size_t>(len)) + w + "\r\n";
            auto [cec, cn] = co_await net::async_write(s, net::buffer(chunk), use_nothrow);
            failed = static_cast<bool>(cec);
        }
        if (failed) {
            ++im->stats.closed_by_client;
            break;
        }
        if (r.end == reply::tail::finish) {
            // The OpenAI-compatible API ends its streams (the native one never does).
            auto [fec, fn] = co_await net::async_write(s, net::buffer("0\r\n\r\n", 5), use_nothrow);
            if (fec || !req.keep_alive()) {
                break;
            }
            idle_since = std::chrono::steady_clock::now();
            continue;
        }
        if (r.end == reply::tail::reset) {
            abort_connection(s);
            break;
        }
        // keep_open and stall: hold the connection until the client closes it.
        co_await wait_for_close(s);
        break;
    }
    error_code ignored;
    s.next_layer().close(ignored);
    --im->stats.open_connections;
    if (used) {
        --im->stats.open_used;
    }
}

net::awaitable<void> accept_loop(impl_ptr im)
{
    for (;;) {
        auto [ec, socket] =
            co_await im->acceptor.async_accept(net::make_strand(im->ioc), use_nothrow);
        if (ec) {
            if (!im->acceptor.is_open()) {
                co_return;
            }
            continue;
        }
        // Every write goes out at once, as OCI's do (no Nagle coalescing of stream events).
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto ex = socket.get_executor();
        net::co_spawn(ex, serve(im, std::move(socket)), net::detached);
    }
}

}  // namespace

inference_server::inference_server(net::io_context& ioc, inference_options options,
                                   std::uint16_t port)
    : impl_(std::make_shared<impl>(ioc, std::move(options)))
{
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(net::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    impl_->port = impl_->acceptor.local_endpoint().port();
    net::co_spawn(impl_->acceptor.get_executor(), accept_loop(impl_), net::detached);
}

inference_server::~inference_server()
{
    error_code ignored;
    impl_->acceptor.close(ignored);
}

std::uint16_t inference_server::port() const
{
    return impl_->port;
}

inference_stats& inference_server::stats()
{
    return impl_->stats;
}

void inference_server::set_fault(fault f)
{
    if (auto why = fault_error(f); !why.empty()) {
        throw std::invalid_argument("mock fault: " + why);
    }
    impl_->put_fault(std::move(f));
}

void inference_server::clear_fault()
{
    impl_->put_fault(std::nullopt);
}

std::optional<fault> inference_server::current_fault() const
{
    return impl_->get_fault();
}

}  // namespace ogp::mock
