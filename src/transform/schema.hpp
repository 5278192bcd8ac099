#pragma once

// Private: JSON-schema preparation for tool parameters and response formats.

#include <optional>
#include <string>
#include <string_view>

#include "json_util.hpp"

namespace ogp::transform::detail {

/// How far a schema is rewritten. `keep` is the default: OpenAI's JSON Schema reaches the
/// model as given (`anyOf`, `oneOf`, type lists and `nullable` included), since Pydantic's
/// `Optional[...]` and Zod's `.nullable()` produce them and strict structured outputs need
/// them. The other dialects exist because a model family is documented to refuse more.
enum class schema_dialect {
    keep,    ///< only the semantics-preserving normalisation every family gets
    gemini,  ///< Google's Schema object (an OpenAPI 3.0 subset): Gemini refuses the rest
    flat,    ///< COHERE v1 tool parameters: one Python type per parameter
};

/// Which rewrites a schema gets.
struct schema_options
{
    schema_dialect dialect = schema_dialect::keep;
};

/// The dialect of the schemas sent to the OCI model `oci_model_id`, in tools and response
/// formats alike (`google.*` → gemini; every other model keeps its schemas).
schema_options schema_options_for(std::string_view oci_model_id);

/// What the expanded schemas of one request may still grow by: every node written (inlined
/// `$ref` targets included) costs one node and its strings' bytes. Shared by all the schemas
/// of a request, so that fan-out through `$ref` cannot turn a small body into a huge one.
struct schema_budget
{
    std::size_t nodes_left = 0;
    std::size_t bytes_left = 0;
};

/// Returns a copy of `schema` (allocated in `alloc`) prepared for OCI.
///
/// Every dialect: local `$ref`s into `$defs`/`definitions` (or `#`) inlined (recursive or
/// unresolvable ones give an error), then `$defs`, `definitions`, `$schema`, `$id` and
/// `$comment` removed; an `array` without `items` gets `items: {}`. Nothing else changes in
/// `keep`.
///
/// `gemini` also: `oneOf` → `anyOf`; `null` branches of `anyOf` and `null` in a type list →
/// `nullable: true`; a single remaining branch merged into the node; several types → `anyOf`
/// of one type each; `allOf` merged; `exclusiveMinimum`/`exclusiveMaximum` → `minimum`/
/// `maximum`; `const` → a one-value `enum`; any other key outside Google's Schema fields
/// dropped.
///
/// `flat` also: `anyOf`/`oneOf` collapsed to the first non-null branch and type lists to
/// their first non-null type, `allOf` merged, and a property that may be null removed from
/// its object's `required`.
///
/// On failure (including an exhausted `budget`) sets `error` to a short reason.
rapidjson::Value clean_schema(const rapidjson::Value& schema,
                              rapidjson::Document::AllocatorType& alloc, const schema_options& opts,
                              schema_budget& budget, std::string& error);

}  // namespace ogp::transform::detail
