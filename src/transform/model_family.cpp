// The model-family table: the longest answer OCI takes on demand per family, and which length
// key the family wants. README "Output length per model family" prints the same table.
//
// Each figure comes from the family's page among OCI's pretrained models
// (docs.oracle.com/en-us/iaas/Content/generative-ai/<page>.htm). Where the page gives none,
// the SDK's `maxTokens` comment applies ("for on-demand inferencing, the response length is
// capped at 4,000 tokens for each run"): 4,000, never more, so that a request the client left
// without a length is never refused for it.

#include "model_family.hpp"

#include <algorithm>

namespace ogp::transform::detail {

namespace {

// clang-format off
constexpr model_family table[] = {
    // "For on-demand inferencing, the response length is capped at 4,000 tokens for each run."
    {"meta.llama-3", 4000, false, "meta-llama-3-3-70b: on-demand response length capped at 4,000"},
    {"meta.llama-4", 4000, false, "meta-llama-4-scout, -maverick: on-demand response capped at 4,000"},
    {"cohere.command-a", 4000, false, "cohere-command-a-03-2025, -reasoning-08-2025: on-demand capped at 4,000"},
    {"cohere.command-r", 4000, false, "no figure found on the page: SDK on-demand cap 4,000"},
    // "Maximum Output Tokens: 65,536 (default) (Console and API)".
    {"google.gemini-2.5", 65536, false, "google-gemini-2-5-pro, -flash: maximum output tokens 65,536 (Console and API)"},
    // "In the playground, the response length is capped at 16,000 tokens for each run": the
    // playground calls the same on-demand API, so OCI takes 16,000 for these.
    {"xai.grok-4", 16000, false, "xai-grok-4: response length capped at 16,000 (playground)"},
    {"xai.grok-3-mini", 16000, false, "xai-grok-3-mini: response length capped at 16,000 (playground)"},
    {"xai.grok-3", 4000, false, "no figure found on the page: SDK on-demand cap 4,000"},
    {"openai.gpt-oss", 16000, false, "openai-gpt-oss-120b, -20b: response length capped at 16,000 (playground)"},
    // OpenAI's own models refuse `maxTokens` ("Use 'maxCompletionTokens' instead").
    {"openai.gpt-5", 4000, true, "no OCI page figure found: SDK on-demand cap 4,000"},
    {"openai.o", 4000, true, "no OCI page figure found: SDK on-demand cap 4,000"},
    {"openai.", 4000, true, "no OCI page figure found: SDK on-demand cap 4,000"},
};
// clang-format on

}  // namespace

std::span<const model_family> model_families()
{
    return table;
}

const model_family* find_model_family(std::string_view oci_model_id)
{
    const model_family* best = nullptr;
    for (const auto& f : table) {
        if (oci_model_id.starts_with(f.prefix) &&
            (best == nullptr || f.prefix.size() > best->prefix.size())) {
            best = &f;
        }
    }
    return best;
}

output_length plan_output_length(const chat_request& req, const config& cfg)
{
    // The alias the request named (resolve_model looks aliases up first, by the same name).
    const model_alias* alias = cfg.find_model(req.model_name);
    // A dedicated endpoint's OCID names no family.
    const model_family* family =
        req.model.dedicated ? nullptr : find_model_family(req.model.oci_id);
    output_length out;
    if (alias != nullptr && alias->max_completion_tokens) {
        out.completion_key = *alias->max_completion_tokens;
    } else {
        out.completion_key = family != nullptr && family->max_completion_tokens;
    }
    out.no_sampling_defaults = out.completion_key;
    if (req.max_tokens) {
        out.max_tokens = *req.max_tokens;
    } else if (alias != nullptr && alias->max_tokens) {
        out.max_tokens = *alias->max_tokens;
    } else if (cfg.defaults.max_tokens) {
        out.max_tokens = *cfg.defaults.max_tokens;
    } else if (family != nullptr) {
        out.max_tokens = family->max_output_tokens;
    }
    out.max_tokens = std::max<std::int64_t>(out.max_tokens, 1);
    return out;
}

}  // namespace ogp::transform::detail
