#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/config/config.hpp"

namespace ogp::transform {

/// One usable entry of OCI's model list (a management-API `ModelSummary`): an ACTIVE base
/// model with the CHAT or TEXT_EMBEDDINGS capability. Every string is printable, free of
/// control characters and at most `max_model_field` bytes. Plain value type.
struct oci_model
{
    std::string id;            ///< the model OCID (`ocid1.generativeaimodel...`)
    std::string name;          ///< `displayName`, the name requests use; the id when absent
    std::string vendor;        ///< `vendor`; may be empty
    std::int64_t created = 0;  ///< `timeCreated` in unix seconds; 0 when absent or unreadable
    /// `timeOnDemandRetired` in unix seconds: from then on the model no longer serves
    /// on-demand requests and is not listed.
    std::optional<std::int64_t> retired;
};

/// Longest id, displayName or vendor kept from OCI's list (longer entries are skipped).
inline constexpr std::size_t max_model_field = 256;

/// Unix seconds of an RFC 3339 date-time (`2024-06-11T20:44:31.457Z`, `...+02:00`);
/// nullopt when it is not one.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

/// The usable models of one OCI `ModelCollection` page (`{"items":[ModelSummary...]}`), in
/// order: ACTIVE, not CUSTOM (fine-tuned models only serve on dedicated endpoints), with the
/// CHAT or TEXT_EMBEDDINGS capability, an id, and fields within bounds; at most `max_items`.
/// Deprecated and retired models are kept (models_list_json() decides with its `now`).
/// Anything unparsable gives an empty list.
std::vector<oci_model> models_from_oci_list(std::string_view body, std::size_t max_items = 10000);

/// Which model ids a client may see (its key's allow-list); empty: every model.
using model_filter = std::function<bool(std::string_view id)>;

/// The OpenAI `/v1/models` body: every alias in configuration order (`created` = `created`,
/// `owned_by` the vendor of its model: from `discovered` when its id is a listed OCID, else the
/// prefix of the id, else `oci`), then each usable name of `discovered` once: not retired at
/// `now` (unix seconds), not already listed (an alias' own name wins), `created` from
/// `timeCreated` (the newest version's when several versions share a name), `owned_by` the
/// vendor. Only the ids `visible` accepts are listed (all when it is empty).
std::string models_list_json(const config& cfg, std::int64_t created,
                             const std::vector<oci_model>& discovered = {}, std::int64_t now = 0,
                             const model_filter& visible = {});

/// The OpenAI model object `{id, object: model, created, owned_by}` for `GET /v1/models/{id}`:
/// an entry of models_list_json() named `id`, or a listed model's OCID (echoed as given);
/// nullopt when there is none or `visible` (when set) rejects `id`.
std::optional<std::string> model_json(const config& cfg, std::int64_t created,
                                      const std::vector<oci_model>& discovered, std::int64_t now,
                                      std::string_view id, const model_filter& visible = {});

/// The usable name (`displayName`) of model OCID `ocid` in `discovered`; empty when unknown.
std::string_view model_name_of(const std::vector<oci_model>& discovered, std::string_view ocid);

}  // namespace ogp::transform
