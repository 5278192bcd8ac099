#include "ogp/transform/embeddings.hpp"

#include <algorithm>
#include <cstring>

#include "ogp/transform/chat_request.hpp"
#include "response_util.hpp"

namespace ogp::transform {

using detail::get;
using detail::get_string;
using detail::sv;
using detail::write_string;
using rapidjson::Value;

std::string base64_encode(std::string_view data)
{
    static constexpr char table[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    // Whole groups of three bytes.
    for (; i + 3 <= data.size(); i += 3) {
        auto a = static_cast<unsigned char>(data[i]);
        auto b = static_cast<unsigned char>(data[i + 1]);
        auto c = static_cast<unsigned char>(data[i + 2]);
        out.push_back(table[a >> 2]);
        out.push_back(table[((a & 3) << 4) | (b >> 4)]);
        out.push_back(table[((b & 15) << 2) | (c >> 6)]);
        out.push_back(table[c & 63]);
    }
    // The padded tail.
    if (i + 1 == data.size()) {
        auto a = static_cast<unsigned char>(data[i]);
        out.push_back(table[a >> 2]);
        out.push_back(table[(a & 3) << 4]);
        out += "==";
    } else if (i + 2 == data.size()) {
        auto a = static_cast<unsigned char>(data[i]);
        auto b = static_cast<unsigned char>(data[i + 1]);
        out.push_back(table[a >> 2]);
        out.push_back(table[((a & 3) << 4) | (b >> 4)]);
        out.push_back(table[(b & 15) << 2]);
        out.push_back('=');
    }
    return out;
}

namespace {

// What `dimensions` a model takes: `sizes` (OCI's `outputDimensions`), else only its native
// size (not sent: OCI takes outputDimensions from embed v4 on); unknown models (dedicated
// endpoints, names this table does not know): passed through for OCI to decide.
struct embed_dimensions
{
    bool known = false;
    std::vector<std::int64_t> sizes;  ///< sent as outputDimensions
    std::int64_t native = 0;          ///< accepted and not sent
};

embed_dimensions dimensions_of(const resolved_model& m)
{
    const std::string_view id = m.oci_id;
    if (m.dedicated || !id.starts_with("cohere.embed-")) {
        return {};
    }
    // cohere.embed-v4.0 (and later): 256, 512, 1024 or 1536 (the SDK's outputDimensions).
    if (id.starts_with("cohere.embed-v") && !id.starts_with("cohere.embed-v3")) {
        return {.known = true, .sizes = {256, 512, 1024, 1536}};
    }
    // The v3 family: 1024, the light models 384.
    if (id.find("-v3") != std::string_view::npos) {
        return {.known = true, .native = id.find("light") != std::string_view::npos ? 384 : 1024};
    }
    return {};
}

std::string join(const std::vector<std::int64_t>& v)
{
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        out += (i == 0 ? "" : i + 1 == v.size() ? " or " : ", ") + std::to_string(v[i]);
    }
    return out;
}

}  // namespace

result<embeddings_plan> plan_embeddings(std::string_view openai_body, const config& cfg,
                                        const model_name_lookup& names)
{
    // Parse and resolve the model.
    rapidjson::Document doc;
    if (auto e = detail::parse_request(openai_body, cfg.limits.max_json_depth, doc)) {
        return *e;
    }
    const Value* model = get(doc, "model");
    if (model == nullptr || !model->IsString()) {
        return invalid_request("you must provide a model parameter", "model",
                               "missing_required_parameter");
    }
    auto resolved = resolve_model(sv(*model), cfg, names);
    if (!resolved) {
        return resolved.error();
    }
    const resolved_model& rm = resolved.value();
    embeddings_plan plan;
    plan.client_model = std::string(sv(*model));
    plan.oci_model = std::string(rm.serving_id());
    // Inputs: a string or a list of strings; token arrays are not supported.
    std::vector<std::string_view> inputs;
    const Value* input = get(doc, "input");
    if (input == nullptr) {
        return invalid_request("'input' is required.", "input", "missing_required_parameter");
    }
    if (input->IsString()) {
        inputs.push_back(sv(*input));
    } else if (input->IsArray() && !input->Empty()) {
        // Bounded before anything is done per input: each batch of 96 is one OCI call.
        if (input->Size() > cfg.limits.max_embedding_inputs) {
            return invalid_request("'input' has " + std::to_string(input->Size()) +
                                       " items; this proxy accepts at most " +
                                       std::to_string(cfg.limits.max_embedding_inputs) +
                                       " per request.",
                                   "input", "array_above_max_length");
        }
        inputs.reserve(input->Size());
        for (auto& v : input->GetArray()) {
            if (v.IsString()) {
                inputs.push_back(sv(v));
            } else if (v.IsNumber() || v.IsArray()) {
                return invalid_request(
                    "Token-array input is not supported by OCI Generative AI; send text.", "input",
                    "unsupported_parameter");
            } else {
                return invalid_request(
                    "Invalid type for 'input': expected a string or an array of strings.", "input",
                    "invalid_type");
            }
        }
    } else {
        return invalid_request(
            "Invalid 'input': expected a string or a non-empty array of strings.", "input",
            "invalid_value");
    }
    for (auto s : inputs) {
        if (s.empty()) {
            return invalid_request("'input' cannot contain an empty string.", "input",
                                   "invalid_value");
        }
    }
    plan.input_count = inputs.size();
    // Encoding.
    std::string_view enc = get_string(doc, "encoding_format");
    if (const Value* e = get(doc, "encoding_format");
        e != nullptr && (!e->IsString() || (enc != "float" && enc != "base64"))) {
        return invalid_request("Invalid 'encoding_format': expected float or base64.",
                               "encoding_format", "invalid_value");
    }
    plan.base64 = enc == "base64";
    // Dimensions, input type, truncation.
    std::int64_t dims = 0;
    if (const Value* d = get(doc, "dimensions"); d != nullptr && !d->IsNull()) {
        if (!detail::as_int(*d, dims) || dims < 1 || dims > 65536) {
            return invalid_request("Invalid 'dimensions': expected a positive integer.",
                                   "dimensions", "invalid_value");
        }
        // Only what the model produces: OCI would refuse (or ignore) any other size.
        const embed_dimensions known = dimensions_of(rm);
        if (known.known && known.native == dims) {
            dims = 0;  // the model's own size: nothing to ask for
        } else if (known.known &&
                   std::find(known.sizes.begin(), known.sizes.end(), dims) == known.sizes.end()) {
            return invalid_request(
                "Invalid 'dimensions': " + std::to_string(dims) + " is not supported by " +
                    rm.oci_id + "; it takes " +
                    (known.sizes.empty() ? "only its own size, " + std::to_string(known.native)
                                         : join(known.sizes)) +
                    ".",
                "dimensions", "invalid_value");
        }
    }
    std::string input_type = detail::to_upper(get_string(doc, "input_type"));
    if (input_type.empty()) {
        input_type = detail::to_upper(rm.input_type);
    }
    if (!input_type.empty() && input_type != "SEARCH_DOCUMENT" && input_type != "SEARCH_QUERY" &&
        input_type != "CLASSIFICATION" && input_type != "CLUSTERING" && input_type != "IMAGE") {
        return invalid_request(
            "Invalid 'input_type': expected search_document, search_query, "
            "classification, clustering or image.",
            "input_type", "invalid_value");
    }
    // OpenAI refuses an input longer than the model takes: so does OCI with NONE, unless the
    // request (the `truncate` extension) or `defaults.embeddings_truncate` says otherwise.
    std::string truncate = detail::to_upper(get_string(doc, "truncate"));
    if (truncate.empty()) {
        truncate = detail::to_upper(cfg.defaults.embeddings_truncate);
    }
    if (truncate != "NONE" && truncate != "START" && truncate != "END") {
        return invalid_request("Invalid 'truncate': expected none, start or end.", "truncate",
                               "invalid_value");
    }
    // One EmbedTextDetails per batch of at most 96 inputs.
    for (std::size_t start = 0; start < inputs.size(); start += embed_batch_limit) {
        std::size_t end = std::min(inputs.size(), start + embed_batch_limit);
        rapidjson::StringBuffer sb;
        detail::json_writer w(sb);
        w.StartObject();
        w.Key("inputs");
        w.StartArray();
        for (std::size_t i = start; i < end; ++i) {
            write_string(w, inputs[i]);
        }
        w.EndArray();
        detail::write_serving_mode(w, rm.dedicated, rm.serving_id());
        w.Key("compartmentId");
        write_string(w, rm.compartment_id);
        w.Key("truncate");
        write_string(w, truncate);
        if (!input_type.empty()) {
            w.Key("inputType");
            write_string(w, input_type);
        }
        if (dims > 0) {
            w.Key("outputDimensions");
            w.Int64(dims);
        }
        w.EndObject();
        plan.bodies.emplace_back(sb.GetString(), sb.GetSize());
        plan.batch_sizes.push_back(end - start);
    }
    return plan;
}

namespace {

api_error bad_upstream(std::string_view why)
{
    return make_error(
        502,
        "OCI Generative AI returned an unexpected embeddings response: " + std::string(why) + ".",
        error_codes::bad_upstream_response);
}

}  // namespace

embeddings_merger::embeddings_merger(const embeddings_plan& plan) : plan_(plan)
{
    out_ = "{\"object\":\"list\",\"data\":[";
}

std::optional<api_error> embeddings_merger::add(std::string_view oci_body)
{
    if (batch_ >= plan_.bodies.size()) {
        return bad_upstream("batch count mismatch");
    }
    rapidjson::Document doc;
    if (!detail::parse_upstream(oci_body, doc) || !doc.IsObject()) {
        return bad_upstream("not JSON");
    }
    const Value* embs = get(doc, "embeddings");
    if (embs == nullptr || !embs->IsArray() || embs->Size() != plan_.batch_sizes[batch_]) {
        return bad_upstream("embedding count does not match the inputs");
    }
    ++batch_;
    std::string floats;
    // The batch's embeddings keep their position in the whole list.
    for (auto& e : embs->GetArray()) {
        if (!e.IsArray()) {
            return bad_upstream("embedding is not an array");
        }
        out_ += index_ > 0 ? ",{\"object\":\"embedding\",\"index\":"
                           : "{\"object\":\"embedding\",\"index\":";
        detail::append_int(out_, static_cast<std::int64_t>(index_++));
        out_ += ",\"embedding\":";
        if (plan_.base64) {
            // Little-endian float32, base64 (what the OpenAI SDKs request by default).
            floats.clear();
            for (auto& x : e.GetArray()) {
                float f = x.IsNumber() ? static_cast<float>(x.GetDouble()) : 0.0f;
                unsigned char bytes[4];
                std::uint32_t u;
                std::memcpy(&u, &f, 4);
                for (int k = 0; k < 4; ++k) {
                    bytes[k] = static_cast<unsigned char>(u >> (8 * k));
                }
                floats.append(reinterpret_cast<const char*>(bytes), 4);
            }
            out_ += '"';
            out_ += base64_encode(floats);
            out_ += '"';
        } else {
            out_ += detail::to_json(e);
        }
        out_ += "}";
    }
    // Usage: the SDK's `usage`, else the summed per-input counts.
    std::int64_t v = 0;
    if (const Value* u = get(doc, "usage"); u != nullptr && u->IsObject()) {
        token_usage tu = detail::read_usage(*u);
        tokens_ += tu.prompt_tokens > 0 ? tu.prompt_tokens : tu.total_tokens;
    } else if (const Value* counts = get(doc, "inputTextTokenCounts");
               counts != nullptr && counts->IsArray()) {
        for (auto& c : counts->GetArray()) {
            if (detail::as_count(c, v)) {
                tokens_ += v;
            }
        }
    }
    return std::nullopt;
}

result<std::string> embeddings_merger::finish()
{
    if (batch_ != plan_.bodies.size()) {
        return bad_upstream("batch count mismatch");
    }
    out_ += "],\"model\":";
    detail::append_json_string(out_, plan_.client_model);
    out_ += ",\"usage\":{\"prompt_tokens\":";
    detail::append_int(out_, tokens_);
    out_ += ",\"total_tokens\":";
    detail::append_int(out_, tokens_);
    out_ += "}}";
    return std::move(out_);
}

result<std::string> embeddings_response_to_openai(const std::vector<std::string>& oci_bodies,
                                                  const embeddings_plan& plan)
{
    if (oci_bodies.size() != plan.bodies.size()) {
        return bad_upstream("batch count mismatch");
    }
    embeddings_merger m(plan);
    for (const auto& body : oci_bodies) {
        if (auto e = m.add(body)) {
            return *e;
        }
    }
    return m.finish();
}

}  // namespace ogp::transform
