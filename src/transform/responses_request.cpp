#include "ogp/transform/responses.hpp"

// Placeholder: replaced by the Responses request translation.

namespace ogp::transform {

result<responses_plan> plan_responses(std::string_view, const config&)
{
    return make_error(501, "The Responses API is not implemented yet.", "not_implemented");
}

}  // namespace ogp::transform
