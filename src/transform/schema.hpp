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

/// Returns a copy of `schema` (allocated in `alloc`) that OCI accepts: local `$ref`s into
/// `$defs`/`definitions` inlined (recursive ones give an error), `$defs`, `$schema`, `$id`,
/// `title` and `default: null` removed, `anyOf`/`oneOf` collapsed to the one non-null branch
/// (or the first), `allOf` merged, type lists reduced to one non-null type, arrays given
/// `items`. On failure sets `error` to a short reason.
rapidjson::Value clean_schema(const rapidjson::Value& schema,
                              rapidjson::Document::AllocatorType& alloc, const schema_options& opts,
                              std::string& error);

}  // namespace ogp::transform::detail
