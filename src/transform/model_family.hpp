#pragma once

// Private: what the daemon knows of an OCI model family for the answer's length, from one
// documented table (model_family.cpp; README "Output length per model family").

#include <cstdint>
#include <span>
#include <string_view>

#include "ogp/config/config.hpp"
#include "ogp/transform/chat_request_types.hpp"

namespace ogp::transform::detail {

/// OCI's documented on-demand cap ("the response length is capped at 4,000 tokens for each
/// run", SDK `maxTokens`): the length of a model family the table does not know.
inline constexpr std::int64_t default_max_output_tokens = 4000;

/// One row of the table: the OCI model ids starting with `prefix`. Plain constant data.
struct model_family
{
    std::string_view prefix;         ///< e.g. `meta.llama-3.3`, `openai.gpt-5`
    std::int64_t max_output_tokens;  ///< the longest answer OCI takes on demand
    bool max_completion_tokens;      ///< GENERIC wants `maxCompletionTokens`, not `maxTokens`
    std::string_view source;         ///< where the figure comes from (for README and review)
};

/// Every row, in table order.
std::span<const model_family> model_families();

/// The row with the longest prefix of `oci_model_id`; nullptr when none matches.
const model_family* find_model_family(std::string_view oci_model_id);

/// The length and its key for one request, decided once for the writer and the Responses echo.
struct output_length
{
    std::int64_t max_tokens = default_max_output_tokens;  ///< always sent, >= 1
    bool completion_key = false;  ///< GENERIC: `maxCompletionTokens` instead of `maxTokens`
    /// An OpenAI reasoning model (it takes `maxCompletionTokens`): configured sampling
    /// defaults are not sent to it, only the client's own values.
    bool no_sampling_defaults = false;
};

/// The client's `max_tokens`/`max_completion_tokens`, else the alias' `max_tokens`, else
/// `defaults.max_tokens`, else the family's maximum (default_max_output_tokens for a
/// dedicated endpoint or an unknown family). The key: the alias' `max_completion_tokens` when
/// set, else the family's (never for a dedicated endpoint, whose id names no family).
output_length plan_output_length(const chat_request& req, const config& cfg);

}  // namespace ogp::transform::detail
