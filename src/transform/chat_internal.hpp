#pragma once

// Private to the chat request translation: error helpers shared by the parser and the
// format validation, and the format validation step itself.

#include <optional>
#include <string>
#include <string_view>

#include "ogp/transform/chat_request_types.hpp"

namespace ogp::transform::detail {

using error_opt = std::optional<api_error>;

/// 400 for a value of the wrong JSON type.
api_error bad_type(std::string_view param, std::string_view expected);

/// OCI's `reasoningEffort` for an OpenAI effort (any case): NONE, MINIMAL, LOW, MEDIUM or
/// HIGH; `disable` is NONE, and the efforts newer than OCI's enum (`xhigh`, `max`) are its
/// nearest value, HIGH. Empty for anything else.
std::string oci_reasoning_effort(std::string_view effort);

/// An `input_audio` part (`{input_audio: {data, format}}`, chat and Responses alike) into
/// `p`: format wav or mp3, data non-empty base64; a 400 naming `param.input_audio...` else.
error_opt parse_input_audio(const rapidjson::Value& part, const std::string& param, chat_part& p);

/// 400 for a feature the OCI format `f` cannot express.
api_error not_expressible(std::string_view what, std::string_view param, api_format f);

/// `base[i]`.
std::string idx(std::string_view base, std::size_t i);

/// Reads an optional number (nullptr: absent) within [lo, hi] into `out`; a 400 otherwise.
error_opt number_in(const rapidjson::Value* v, std::string_view param, double lo, double hi,
                    std::optional<double>& out);

/// Reads an optional integer within [lo, hi] into `out`; a 400 otherwise.
error_opt int_in(const rapidjson::Value* v, std::string_view param, std::int64_t lo,
                 std::int64_t hi, std::optional<std::int64_t>& out);

/// A parameter path built only when an error names it: `base[index]suffix`, or
/// `basesuffix` without an index.
struct param_ref
{
    static constexpr std::size_t no_index = static_cast<std::size_t>(-1);
    std::string_view base;
    std::size_t index = no_index;
    std::string_view suffix;

    std::string str() const
    {
        std::string s = index == no_index ? std::string(base) : idx(base, index);
        s += suffix;
        return s;
    }
};

/// What the format cannot express among the top-level parameters (run before the messages
/// are parsed, so that such a refusal comes first, as it always has). The presence of
/// `prediction` and `web_search_options` is passed in: they are parsed later.
error_opt check_format_limits(chat_request& req, bool prediction_sent, bool web_search_sent);

/// The checks that depend on the resolved format (what it cannot express, how it spells
/// messages), plus the work that can fail and needs the model: schema clean-up (its budget is
/// per request) and COHERE's parsing of tool-call arguments. Run once, after parsing.
error_opt validate_for_format(chat_request& req, const config& cfg);

}  // namespace ogp::transform::detail
