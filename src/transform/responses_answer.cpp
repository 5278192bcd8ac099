#include "ogp/transform/responses.hpp"

// Placeholder: replaced by the Response object and stream writers.

namespace ogp::transform {

std::string make_response_id(std::uint64_t, std::uint32_t)
{
    return "resp_0";
}

std::string write_response(const chat_answer&, const responses_plan&, std::string_view,
                           std::int64_t)
{
    return "{}";
}

result<std::string> responses_answer_to_openai(std::string_view, const responses_plan&,
                                               std::string_view, std::int64_t)
{
    return make_error(501, "The Responses API is not implemented yet.", "not_implemented");
}

std::unique_ptr<stream_writer> make_responses_stream_writer(const responses_plan&, std::string,
                                                            std::int64_t, std::size_t)
{
    return nullptr;
}

}  // namespace ogp::transform
