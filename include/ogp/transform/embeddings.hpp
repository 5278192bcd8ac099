#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ogp/config/config.hpp"
#include "ogp/transform/chat_request.hpp"
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
    std::string oci_model;  ///< what servingMode names (the model OCID when one was named)
    bool base64 = false;    ///< `encoding_format: base64` (little-endian float32)
    std::size_t input_count = 0;
};

/// Translates an OpenAI embeddings body. Token-array input, an unknown encoding, input type
/// or truncate value, or `dimensions` the model does not produce (cohere.embed-v4: 256, 512,
/// 1024, 1536; the v3 models only their own size, which is then not sent; other models: passed
/// to OCI) give a 400 naming `param`. `truncate` defaults to `defaults.embeddings_truncate`
/// (`none`: a too-long input is OCI's 400, as OpenAI answers). `names`: see resolve_model().
result<embeddings_plan> plan_embeddings(std::string_view openai_body, const config& cfg,
                                        const model_name_lookup& names = {});

/// Translates the OCI `EmbedTextResult` of each batch, in plan order, into one OpenAI `list`
/// as the batches arrive: only the answer being built is held, not every batch's body too.
class embeddings_merger
{
public:
    explicit embeddings_merger(const embeddings_plan& plan);

    /// Appends the next batch; the 502 to answer when it does not match its batch.
    std::optional<api_error> add(std::string_view oci_body);

    /// The whole answer with usage, once every batch was added.
    result<std::string> finish();

private:
    const embeddings_plan& plan_;
    std::string out_;
    std::size_t batch_ = 0;
    std::size_t index_ = 0;
    std::int64_t tokens_ = 0;
};

/// Merges the OCI `EmbedTextResult` bodies (same order as plan.bodies) into one OpenAI
/// `list` of embeddings with usage. A body that does not match its batch gives a 502.
result<std::string> embeddings_response_to_openai(const std::vector<std::string>& oci_bodies,
                                                  const embeddings_plan& plan);

/// Standard base64 (with padding) of `data`.
std::string base64_encode(std::string_view data);

}  // namespace ogp::transform
