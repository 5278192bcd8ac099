#pragma once
// The model aliases the transform unit tests and the fuzz targets translate with: one of each
// kind (dedicated endpoint with its own compartment, format override, embeddings default
// input type, plain on-demand), so the golden fixture bodies are also valid fuzz seeds.

#include <optional>

#include "ogp/config/config.hpp"

namespace ogp::test {

/// A config with compartment ocid1.compartment.oc1..test and the aliases my-endpoint,
/// command-v2 (coherev2), embed (search_document) and llama.
inline ogp::config transform_config()
{
    ogp::config c;
    c.oci.compartment_id = "ocid1.compartment.oc1..test";
    c.models.push_back({"my-endpoint", "ocid1.generativeaiendpoint.oc1.us-chicago-1.abc",
                        std::nullopt, "ocid1.compartment.oc1..other", ""});
    c.models.push_back(
        {"command-v2", "cohere.command-a-03-2025", ogp::api_format::coherev2, "", ""});
    c.models.push_back({"embed", "cohere.embed-v4.0", std::nullopt, "", "search_document"});
    c.models.push_back({"llama", "meta.llama-3.3-70b-instruct", std::nullopt, "", ""});
    return c;
}

}  // namespace ogp::test
