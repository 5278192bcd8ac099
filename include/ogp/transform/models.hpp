#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/config/config.hpp"

namespace ogp::transform {

/// The OpenAI `/v1/models` body: every alias, then every id of `extra_oci_ids` (e.g. OCI's
/// own model list) not already listed, each `{id, object: model, created, owned_by}` where
/// `owned_by` is the vendor prefix of the OCI id (`cohere`, `meta`, ...) or `oci`.
std::string models_list_json(const config& cfg, std::int64_t created,
                             const std::vector<std::string>& extra_oci_ids = {});

/// The usable model ids of an OCI `ModelCollection` body (`{"items":[{id, capabilities,
/// lifecycleState}]}`): ACTIVE models with the CHAT or TEXT_EMBEDDINGS capability, in order,
/// without duplicates. Anything unparsable gives an empty list.
std::vector<std::string> model_ids_from_oci_list(std::string_view body);

}  // namespace ogp::transform
