#pragma once

// Private: JSON-schema clean-up for tool parameters and response formats.

#include <optional>
#include <string>

#include "json_util.hpp"

namespace ogp::transform::detail {

/// Which constructs to rewrite.
struct schema_options
{
    bool drop_exclusive_bounds = false;  ///< Gemini rejects exclusiveMinimum/Maximum
};

/// What the expanded schemas of one request may still grow by: every node written (inlined
/// `$ref` targets included) costs one node and its strings' bytes. Shared by all the schemas
/// of a request, so that fan-out through `$ref` cannot turn a small body into a huge one.
struct schema_budget
{
    std::size_t nodes_left = 0;
    std::size_t bytes_left = 0;
};

/// Returns a copy of `schema` (allocated in `alloc`) that OCI accepts: local `$ref`s into
/// `$defs`/`definitions` inlined (recursive ones give an error), `$defs`, `$schema`, `$id`,
/// `title` and `default: null` removed, `anyOf`/`oneOf` collapsed to the one non-null branch
/// (or the first), `allOf` merged, type lists reduced to one non-null type, arrays given
/// `items`. On failure (including an exhausted `budget`) sets `error` to a short reason.
rapidjson::Value clean_schema(const rapidjson::Value& schema,
                              rapidjson::Document::AllocatorType& alloc, const schema_options& opts,
                              schema_budget& budget, std::string& error);

}  // namespace ogp::transform::detail
