#include "ogp/transform/chat_request.hpp"

// Model resolution and plan_chat: parse and validate once (chat_parse.cpp,
// chat_validate.cpp), then the writer of the model's format (chat_writer_*.cpp).

#include <string>
#include <utility>

#include "chat_writer.hpp"
#include "json_util.hpp"
#include "model_family.hpp"
#include "ogp/transform/chat_request_types.hpp"

namespace ogp::transform {

api_format detect_format(std::string_view id)
{
    // Cohere models that only accept the v2 chat format.
    if (id.starts_with("cohere.command-a-vision") || id.starts_with("cohere.command-a-reasoning")) {
        return api_format::coherev2;
    }
    if (id.starts_with("cohere.")) {
        return api_format::cohere;
    }
    return api_format::generic;
}

bool uses_max_completion_tokens(std::string_view id)
{
    const detail::model_family* f = detail::find_model_family(id);
    return f != nullptr && f->max_completion_tokens;
}

result<resolved_model> resolve_model(std::string_view name, const config& cfg,
                                     const model_name_lookup& names)
{
    // The name goes into bodies, logs and maybe headers: printable and bounded.
    if (name.empty()) {
        return invalid_request("you must provide a model parameter", "model");
    }
    if (name.size() > 256 || detail::has_control_chars(name)) {
        return invalid_request("The model name is too long or contains control characters.",
                               "model");
    }
    resolved_model m;
    // Alias table first, else the name is the OCI model id.
    if (const model_alias* a = cfg.find_model(name); a != nullptr) {
        m.oci_id = a->id;
        m.compartment_id = a->compartment_id;
        m.input_type = a->input_type;
        m.format = a->format ? *a->format : detect_format(a->id);
    } else {
        m.oci_id = std::string(name);
        m.format = detect_format(name);
    }
    if (m.oci_id.empty() || detail::has_control_chars(m.oci_id) ||
        detail::has_control_chars(m.compartment_id)) {
        return make_error(500, "The model alias '" + std::string(name) + "' is misconfigured.",
                          error_codes::misconfigured_model, "model");
    }
    m.dedicated = m.oci_id.starts_with("ocid1.generativeaiendpoint");
    // A model OCID: sent as is, but format and family follow its usable name when OCI's model
    // list knows it (an alias' explicit format still wins).
    if (m.oci_id.starts_with("ocid1.generativeaimodel.") && names) {
        std::string known = names(m.oci_id);
        if (!known.empty() && known.size() <= 256 && !detail::has_control_chars(known)) {
            m.model_ocid = std::exchange(m.oci_id, std::move(known));
            const model_alias* a = cfg.find_model(name);
            m.format = a != nullptr && a->format ? *a->format : detect_format(m.oci_id);
        }
    }
    // The compartment: per alias, else the daemon's.
    if (m.compartment_id.empty()) {
        m.compartment_id = cfg.oci.compartment_id;
    }
    if (m.compartment_id.empty() || detail::has_control_chars(m.compartment_id)) {
        return make_error(500, "No OCI compartment is configured for this model.",
                          error_codes::misconfigured_compartment);
    }
    return m;
}

namespace detail {

chat_plan make_chat_plan(const chat_request& req, const config& cfg)
{
    chat_plan plan;
    plan.stream = req.stream;
    plan.client_wants_usage = req.include_usage;
    plan.client_model = std::string(req.model_name);
    plan.model = req.model;
    plan.n = static_cast<int>(req.n.value_or(1));
    plan.logprobs = req.logprobs;
    plan.top_logprobs = static_cast<int>(req.top_logprobs.value_or(0));
    plan.service_tier = to_lower(req.service_tier_sent.value_or(""));
    // Validated for its format: writing cannot fail.
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    begin_chat_details(w, req.model);
    switch (req.model.format) {
        case api_format::generic:
            write_chat_generic(w, req, cfg);
            break;
        case api_format::cohere:
            write_chat_cohere(w, req, cfg);
            break;
        case api_format::coherev2:
            write_chat_coherev2(w, req, cfg);
            break;
    }
    w.EndObject();  // chatRequest
    w.EndObject();
    plan.body.assign(sb.GetString(), sb.GetSize());
    return plan;
}

}  // namespace detail

result<chat_plan> plan_chat(std::string_view openai_body, const config& cfg,
                            const model_name_lookup& names)
{
    auto parsed = parse_chat_request(openai_body, cfg, names);
    if (!parsed) {
        return parsed.error();
    }
    return detail::make_chat_plan(parsed.value(), cfg);
}

}  // namespace ogp::transform
