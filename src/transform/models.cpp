#include "ogp/transform/models.hpp"

#include <unordered_set>

#include "json_util.hpp"

namespace ogp::transform {

namespace {

// `cohere.command-r` → `cohere`; OCIDs and bare names → `oci`.
std::string_view owner_of(std::string_view oci_id)
{
    if (oci_id.starts_with("ocid1.")) {
        return "oci";
    }
    auto dot = oci_id.find('.');
    return dot == std::string_view::npos || dot == 0 ? std::string_view("oci")
                                                     : oci_id.substr(0, dot);
}

void append_model(std::string& out, std::string_view id, std::string_view owner,
                  std::int64_t created, bool& first)
{
    out += first ? "{\"id\":" : ",{\"id\":";
    first = false;
    detail::append_json_string(out, id);
    out += ",\"object\":\"model\",\"created\":";
    detail::append_int(out, created);
    out += ",\"owned_by\":";
    detail::append_json_string(out, owner);
    out += "}";
}

}  // namespace

std::string models_list_json(const config& cfg, std::int64_t created,
                             const std::vector<std::string>& extra_oci_ids)
{
    std::string out = "{\"object\":\"list\",\"data\":[";
    std::unordered_set<std::string_view> seen;
    bool first = true;
    // Aliases first, in configuration order.
    for (const model_alias& a : cfg.models) {
        if (seen.insert(a.name).second) {
            append_model(out, a.name, owner_of(a.id), created, first);
        }
    }
    // Then OCI ids not already listed.
    for (const std::string& id : extra_oci_ids) {
        if (!id.empty() && !detail::has_control_chars(id) && seen.insert(id).second) {
            append_model(out, id, owner_of(id), created, first);
        }
    }
    out += "]}";
    return out;
}

std::vector<std::string> model_ids_from_oci_list(std::string_view body)
{
    std::vector<std::string> ids;
    rapidjson::Document d;
    if (!detail::parse_upstream(body, d) || !d.IsObject() || !d.HasMember("items") ||
        !d["items"].IsArray()) {
        return ids;
    }
    std::unordered_set<std::string> seen;
    for (const auto& m : d["items"].GetArray()) {
        if (!m.IsObject() || !m.HasMember("id") || !m["id"].IsString()) {
            continue;
        }
        // Only active models the OpenAI API can use: chat and embeddings.
        if (m.HasMember("lifecycleState") && m["lifecycleState"].IsString() &&
            std::string_view(m["lifecycleState"].GetString()) != "ACTIVE") {
            continue;
        }
        bool usable = !m.HasMember("capabilities");
        if (m.HasMember("capabilities") && m["capabilities"].IsArray()) {
            for (const auto& c : m["capabilities"].GetArray()) {
                if (c.IsString() && (std::string_view(c.GetString()) == "CHAT" ||
                                     std::string_view(c.GetString()) == "TEXT_EMBEDDINGS")) {
                    usable = true;
                }
            }
        }
        std::string id = m["id"].GetString();
        // Ids end up in JSON only, but keep them printable and bounded anyway.
        bool printable = !id.empty() && id.size() <= 256;
        for (char ch : id) {
            printable = printable && static_cast<unsigned char>(ch) > 0x20 && ch != 0x7f;
        }
        if (usable && printable && seen.insert(id).second) {
            ids.push_back(std::move(id));
        }
    }
    return ids;
}

}  // namespace ogp::transform
