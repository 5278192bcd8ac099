#include "ogp/transform/models.hpp"

#include <unordered_map>
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

// Printable ASCII without spaces, within the bound: safe in JSON, logs and URLs.
bool printable(std::string_view s)
{
    if (s.empty() || s.size() > max_model_field) {
        return false;
    }
    for (char ch : s) {
        auto u = static_cast<unsigned char>(ch);
        if (u <= 0x20 || u >= 0x7f) {
            return false;
        }
    }
    return true;
}

// Digits at `s[pos..pos+n)` as a number; -1 when not all digits.
int digits(std::string_view s, std::size_t pos, std::size_t n)
{
    if (pos + n > s.size()) {
        return -1;
    }
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// One listed model: the id, who owns it and when it was made.
struct entry
{
    std::string_view id;
    std::string_view owner;
    std::int64_t created;
};

void append_model(std::string& out, const entry& e)
{
    out += "{\"id\":";
    detail::append_json_string(out, e.id);
    out += ",\"object\":\"model\",\"created\":";
    detail::append_int(out, e.created);
    out += ",\"owned_by\":";
    detail::append_json_string(out, e.owner);
    out += "}";
}

const oci_model* find_ocid(const std::vector<oci_model>& discovered, std::string_view ocid)
{
    for (const oci_model& m : discovered) {
        if (m.id == ocid) {
            return &m;
        }
    }
    return nullptr;
}

// Every listed model, in order: the aliases, then each usable discovered name once (views
// into `cfg` and `discovered`).
std::vector<entry> listed(const config& cfg, std::int64_t created,
                          const std::vector<oci_model>& discovered, std::int64_t now)
{
    std::vector<entry> out;
    std::unordered_map<std::string_view, std::size_t> at;  // id -> index in out
    for (const model_alias& a : cfg.models) {
        if (!at.contains(a.name)) {
            const oci_model* m = a.id.starts_with("ocid1.") ? find_ocid(discovered, a.id) : nullptr;
            std::string_view owner =
                m != nullptr && !m->vendor.empty() ? std::string_view(m->vendor) : owner_of(a.id);
            at.emplace(a.name, out.size());
            out.push_back({a.name, owner, created});
        }
    }
    const std::size_t aliases = out.size();
    for (const oci_model& m : discovered) {
        if (m.retired && *m.retired <= now) {
            continue;  // no longer served on demand
        }
        std::string_view owner = m.vendor.empty() ? owner_of(m.name) : std::string_view(m.vendor);
        auto [it, fresh] = at.emplace(m.name, out.size());
        if (fresh) {
            out.push_back({m.name, owner, m.created});
        } else if (it->second >= aliases && out[it->second].created < m.created) {
            out[it->second] = {m.name, owner, m.created};  // the newest version speaks
        }
    }
    return out;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view t)
{
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
    const int year = digits(t, 0, 4);
    const int month = digits(t, 5, 2);
    const int day = digits(t, 8, 2);
    const int hour = digits(t, 11, 2);
    const int minute = digits(t, 14, 2);
    const int second = digits(t, 17, 2);
    if (t.size() < 20 || year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 ||
        hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 || t[4] != '-' ||
        t[7] != '-' || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || t[13] != ':' ||
        t[16] != ':') {
        return std::nullopt;
    }
    std::size_t pos = 19;
    if (t[pos] == '.') {
        ++pos;
        const std::size_t first = pos;
        while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
            ++pos;
        }
        if (pos == first) {
            return std::nullopt;
        }
    }
    std::int64_t offset = 0;
    if (pos + 1 == t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
        offset = 0;
    } else if (pos + 6 == t.size() && (t[pos] == '+' || t[pos] == '-') && t[pos + 3] == ':') {
        const int oh = digits(t, pos + 1, 2);
        const int om = digits(t, pos + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) {
            return std::nullopt;
        }
        offset = (oh * 3600 + om * 60) * (t[pos] == '-' ? -1 : 1);
    } else {
        return std::nullopt;
    }
    const std::int64_t days =
        days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    return days * 86400 + hour * 3600 + minute * 60 + second - offset;
}

std::vector<oci_model> models_from_oci_list(std::string_view body, std::size_t max_items)
{
    std::vector<oci_model> out;
    rapidjson::Document d;
    if (!detail::parse_upstream(body, d) || !d.IsObject()) {
        return out;
    }
    const rapidjson::Value* items = detail::get(d, "items");
    if (items == nullptr || !items->IsArray()) {
        return out;
    }
    std::unordered_set<std::string_view> seen;  // ids, into `d`
    for (const auto& m : items->GetArray()) {
        if (out.size() >= max_items) {
            break;
        }
        if (!m.IsObject()) {
            continue;
        }
        std::string_view id = detail::get_string(m, "id");
        // Only ACTIVE (there is no DEPRECATED state: deprecation is a date).
        if (!printable(id) || detail::get_string(m, "lifecycleState") != "ACTIVE" ||
            detail::get_string(m, "type") == "CUSTOM") {
            continue;
        }
        // Only what the OpenAI API can use: chat and embeddings.
        bool usable = false;
        if (const rapidjson::Value* caps = detail::get(m, "capabilities");
            caps != nullptr && caps->IsArray()) {
            for (const auto& c : caps->GetArray()) {
                usable = usable || (c.IsString() && (detail::sv(c) == "CHAT" ||
                                                     detail::sv(c) == "TEXT_EMBEDDINGS"));
            }
        }
        std::string_view name = detail::get_string(m, "displayName");
        if (name.empty()) {
            name = id;
        }
        std::string_view vendor = detail::get_string(m, "vendor");
        if (!usable || !printable(name) || (!vendor.empty() && !printable(vendor)) ||
            !seen.insert(id).second) {
            continue;
        }
        oci_model om;
        om.id = std::string(id);
        om.name = std::string(name);
        om.vendor = std::string(vendor);
        om.created = parse_rfc3339(detail::get_string(m, "timeCreated")).value_or(0);
        om.retired = parse_rfc3339(detail::get_string(m, "timeOnDemandRetired"));
        out.push_back(std::move(om));
    }
    return out;
}

std::string models_list_json(const config& cfg, std::int64_t created,
                             const std::vector<oci_model>& discovered, std::int64_t now,
                             const model_filter& visible)
{
    std::string out = "{\"object\":\"list\",\"data\":[";
    bool first = true;
    for (const entry& e : listed(cfg, created, discovered, now)) {
        if (visible && !visible(e.id)) {
            continue;
        }
        if (!first) {
            out += ',';
        }
        first = false;
        append_model(out, e);
    }
    out += "]}";
    return out;
}

std::optional<std::string> model_json(const config& cfg, std::int64_t created,
                                      const std::vector<oci_model>& discovered, std::int64_t now,
                                      std::string_view id, const model_filter& visible)
{
    if (visible && !visible(id)) {
        return std::nullopt;  // hidden from this client: exactly like a model that does not exist
    }
    std::string out;
    for (const entry& e : listed(cfg, created, discovered, now)) {
        if (e.id == id) {
            append_model(out, e);
            return out;
        }
    }
    // A model OCID a request may name: the object of its usable name, under the OCID.
    if (id.starts_with("ocid1.generativeaimodel.")) {
        if (const oci_model* m = find_ocid(discovered, id);
            m != nullptr && !(m->retired && *m->retired <= now)) {
            append_model(out, {id, m->vendor.empty() ? owner_of(m->name) : m->vendor, m->created});
            return out;
        }
    }
    return std::nullopt;
}

std::string_view model_name_of(const std::vector<oci_model>& discovered, std::string_view ocid)
{
    const oci_model* m = find_ocid(discovered, ocid);
    return m != nullptr ? std::string_view(m->name) : std::string_view();
}

}  // namespace ogp::transform
