#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/config/config.hpp"
#include "ogp/transform/result.hpp"

namespace ogp::transform {

/// OCI path of the embeddings action.
inline constexpr std::string_view embed_path = "/20231130/actions/embedText";
/// Most inputs OCI accepts in one embedText call.
inline constexpr std::size_t embed_batch_limit = 96;

/// A translated `/v1/embeddings` request: one OCI `EmbedTextDetails` body per batch of at
/// most 96 inputs, to be sent (in any order) and merged in order.
struct embeddings_plan
{
    std::vector<std::string> bodies;  ///< one per batch
    std::vector<std::size_t> batch_sizes;
    std::string path{embed_path};
    std::string client_model;
    std::string oci_model;
    bool base64 = false;  ///< `encoding_format: base64` (little-endian float32)
    std::size_t input_count = 0;
};

/// Translates an OpenAI embeddings body. Token-array input, an unknown encoding, input type
/// or truncate value give a 400 naming `param`.
result<embeddings_plan> plan_embeddings(std::string_view openai_body, const config& cfg);

/// Merges the OCI `EmbedTextResult` bodies (same order as plan.bodies) into one OpenAI
/// `list` of embeddings with usage. A body that does not match its batch gives a 502.
result<std::string> embeddings_response_to_openai(const std::vector<std::string>& oci_bodies,
                                                  const embeddings_plan& plan);

/// Standard base64 (with padding) of `data`.
std::string base64_encode(std::string_view data);

}  // namespace ogp::transform
