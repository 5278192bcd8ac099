#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ogp/config/config.hpp"
#include "ogp/transform/result.hpp"

namespace ogp::transform {

/// OCI path of the chat action.
inline constexpr std::string_view chat_path = "/20231130/actions/chat";

/// Where a client-visible model name goes: the OCI model id or dedicated endpoint OCID, the
/// serving mode, the chat format and the compartment. All strings are free of control
/// characters (safe for headers and logs).
struct resolved_model
{
    /// `modelId` (ON_DEMAND) or `endpointId` (DEDICATED); for a model OCID whose usable name
    /// OCI's model list gave, that name (`displayName`): format and family follow it.
    std::string oci_id;
    /// The model OCID sent as `modelId` instead of `oci_id`; empty unless a request (or an
    /// alias) named a model by an OCID whose name is known.
    std::string model_ocid;
    /// What goes into `servingMode`.
    std::string_view serving_id() const { return model_ocid.empty() ? oci_id : model_ocid; }
    bool dedicated = false;  ///< `ocid1.generativeaiendpoint...`
    api_format format = api_format::generic;
    std::string compartment_id;  ///< alias override, else `oci.compartment_id`
    std::string input_type;      ///< alias embeddings default; may be empty
};

/// Chat format OCI expects for a model id: `cohere.*` → COHERE, the Cohere models that only
/// speak v2 (Command A vision and reasoning) → COHEREV2, everything else → GENERIC.
api_format detect_format(std::string_view oci_model_id);

/// True for the model families that reject `maxTokens` and take `maxCompletionTokens`
/// (`openai.*` other than gpt-oss), from the model-family table.
bool uses_max_completion_tokens(std::string_view oci_model_id);

/// The usable name (`displayName`) of a model OCID (`ocid1.generativeaimodel...`) from OCI's
/// model list, empty when unknown: the api layer's answer from its model catalog, so that the
/// transform stays pure.
using model_name_lookup = std::function<std::string(std::string_view model_ocid)>;

/// Resolves `name` through the alias table (else used as the OCI model id). A model OCID (the
/// name, or an alias' id) whose usable name `names` knows is sent as the OCID with the format
/// and family of that name; an unknown one is GENERIC. 400 for an empty, over-long or
/// control-character name; 500 when no compartment is configured.
result<resolved_model> resolve_model(std::string_view name, const config& cfg,
                                     const model_name_lookup& names = {});

/// A translated chat request, ready to sign and send.
struct chat_plan
{
    std::string body;                 ///< OCI `ChatDetails` JSON
    std::string path{chat_path};      ///< `/20231130/actions/chat`
    bool stream = false;              ///< client asked for SSE
    bool client_wants_usage = false;  ///< `stream_options.include_usage`
    std::string client_model;         ///< the `model` the client sent, echoed back
    resolved_model model;             ///< where it goes
    int n = 1;                        ///< choices requested
    bool logprobs = false;            ///< client asked for log probabilities
    int top_logprobs = 0;             ///< alternatives per token it asked for
    std::string service_tier;         ///< `service_tier` as sent (lower case, validated), echoed
};

/// Translates an OpenAI `/v1/chat/completions` body into an OCI chat request. Invalid JSON,
/// nesting beyond `cfg.limits.max_json_depth`, a bad value or a feature the model's format
/// cannot express give a 400 naming `param`. Pure; never throws on bad input.
result<chat_plan> plan_chat(std::string_view openai_body, const config& cfg,
                            const model_name_lookup& names = {});

}  // namespace ogp::transform
