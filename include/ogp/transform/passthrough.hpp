#pragma once

// The `openai` model route forwards the client's body to OCI's OpenAI-compatible endpoint with
// one change: the top-level `model` string becomes the alias' OCI id. These functions find that
// string's bytes with one SAX pass (no DOM) and splice a new string in, leaving every other byte
// of the body as the client sent it.

#include <cstddef>
#include <string>
#include <string_view>

#include "ogp/transform/result.hpp"

namespace ogp::transform {

/// Where the top-level `model` value sits in a JSON object body, and what it says. Plain value
/// type; the offsets index the body it was located in.
struct model_field
{
    std::string value;      ///< the decoded string (escapes resolved)
    std::size_t begin = 0;  ///< offset of the value's opening quote
    std::size_t end = 0;    ///< one past its closing quote
    /// The top-level `stream` member is the literal `true` (the last one when repeated): the
    /// request counts against its key's max_streams.
    bool stream = false;
};

/// Finds the top-level `model` string of `body` in one bounded, iterative pass that also
/// validates the whole text (UTF-8 included; numbers are not converted). Errors are OpenAI 400s
/// (code `invalid_json` for a text that is not a JSON object or nests deeper than `max_depth`;
/// param `model` when it is missing, not a string, or given twice). Also reads the top-level
/// `stream` flag in the same pass. Pure, thread-safe.
result<model_field> locate_model(std::string_view body, std::size_t max_depth = 64);

/// `body` with the bytes [at.begin, at.end) replaced by `new_model` as a JSON string literal;
/// every other byte unchanged. `at` must come from locate_model(body).
std::string splice_model(std::string_view body, const model_field& at, std::string_view new_model);

}  // namespace ogp::transform
