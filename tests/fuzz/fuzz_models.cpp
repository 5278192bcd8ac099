// Fuzzes the reading of OCI's model list (ListModels: a ModelCollection of ModelSummary items)
// and what the daemon makes of it: GET /v1/models, GET /v1/models/{id} and the names of model
// OCIDs.
//
// Input: a ModelCollection body, optionally followed by a part whose first 8 bytes (little
// endian) are the "now" for on-demand retirement and whose rest is an id to look up.
//
// Properties: no crash, sanitizer report or timeout; at most `max_items` models, each with a
// printable id, name and vendor within max_model_field, no id twice; the list is JSON whose ids
// are unique, the aliases first; every listed id is answered by model_json with that id, and
// every model's OCID names its model; RFC 3339 parsing of any text is total.

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "ogp/transform/models.hpp"

namespace {

using namespace ogp::transform;
using ogp_fuzz::check;

bool printable(std::string_view s)
{
    if (s.empty() || s.size() > max_model_field) {
        return false;
    }
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto parts = ogp_fuzz::split_parts(in, 2);
    std::int64_t now = 1767225600;  // 2026-01-01
    std::string_view lookup;
    if (parts.size() > 1 && parts[1].size() >= 8) {
        std::uint64_t u = 0;
        std::memcpy(&u, parts[1].data(), 8);
        now = static_cast<std::int64_t>(u >> 1);
        lookup = parts[1].substr(8);
    }
    // Dates: any text, never a crash.
    (void)parse_rfc3339(parts[0].substr(0, 64));
    (void)parse_rfc3339(lookup);

    constexpr std::size_t max_items = 64;
    ogp_fuzz::on_small_stack([&] {
        auto models = models_from_oci_list(parts[0], max_items);
        check(models.size() <= max_items, "at most max_items models");
        std::set<std::string> ids;
        for (const auto& m : models) {
            check(printable(m.id) && printable(m.name), "printable, bounded id and name");
            check(m.vendor.empty() || printable(m.vendor), "printable, bounded vendor");
            check(ids.insert(m.id).second, "no id twice");
            check(model_name_of(models, m.id) == m.name, "an OCID names its model");
        }
        const ogp::config& cfg = ogp_fuzz::fuzz_config();
        std::string list = models_list_json(cfg, 1700000000, models, now);
        rapidjson::Document d;
        check(ogp_fuzz::parse_json(list, d) && d.IsObject(), "the list is a JSON object");
        const rapidjson::Value* data_v = ogp_fuzz::member(d, "data");
        check(data_v != nullptr && data_v->IsArray(), "data is an array");
        std::set<std::string> listed;
        for (rapidjson::SizeType i = 0; i < data_v->Size(); ++i) {
            const rapidjson::Value* id = ogp_fuzz::member((*data_v)[i], "id");
            check(id != nullptr && id->IsString(), "every entry has an id");
            std::string s(ogp_fuzz::sv(*id));
            check(listed.insert(s).second, "no listed id twice");
            if (i < cfg.models.size()) {
                check(s == cfg.models[i].name, "the aliases first, in order");
            }
            auto one = model_json(cfg, 1700000000, models, now, s);
            check(one.has_value(), "a listed id is answered");
            rapidjson::Document o;
            check(ogp_fuzz::parse_json(*one, o) && o.IsObject(), "one model is a JSON object");
        }
        if (!lookup.empty()) {
            if (auto one = model_json(cfg, 1700000000, models, now, lookup)) {
                rapidjson::Document o;
                check(ogp_fuzz::parse_json(*one, o) && o.IsObject(), "one model is JSON");
            }
            (void)model_name_of(models, lookup);
        }
    });
    return 0;
}
