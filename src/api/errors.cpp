#include "ogp/api/errors.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace ogp {

std::string api_error::body() const
{
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    // One object with the four fields OpenAI's SDKs read; absent ones are null.
    w.StartObject();
    w.Key("error");
    w.StartObject();
    w.Key("message");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    w.Key("type");
    w.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
    w.Key("param");
    if (param.empty()) {
        w.Null();
    } else {
        w.String(param.data(), static_cast<rapidjson::SizeType>(param.size()));
    }
    w.Key("code");
    if (code.empty()) {
        w.Null();
    } else {
        w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
    }
    w.EndObject();
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
}

api_error invalid_request(std::string message, std::string param, std::string code)
{
    return api_error{
        400, std::move(message), "invalid_request_error", std::move(param), std::move(code), {}};
}

api_error invalid_api_key(std::string message)
{
    return api_error{401, std::move(message), "invalid_request_error", {}, "invalid_api_key", {}};
}

api_error not_found(std::string message, std::string code)
{
    return api_error{404, std::move(message), "invalid_request_error", {}, std::move(code), {}};
}

api_error method_not_allowed(std::string message)
{
    return api_error{405, std::move(message),   "invalid_request_error",
                     {},  "method_not_allowed", {}};
}

api_error not_implemented(std::string message, std::string param)
{
    return api_error{
        501, std::move(message), "not_implemented_error", std::move(param), "not_implemented", {}};
}

api_error service_unavailable(std::string message, std::string retry_after, std::string code)
{
    return api_error{503, std::move(message), "service_unavailable_error",
                     {},  std::move(code),    std::move(retry_after)};
}

std::string json_quote(std::string_view s)
{
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace ogp
