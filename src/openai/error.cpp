#include "ogp/openai/error.hpp"

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
    const std::string_view type_text = type_name.empty() ? to_string(type()) : type_name;
    w.String(type_text.data(), static_cast<rapidjson::SizeType>(type_text.size()));
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

std::string_view to_string(error_type t)
{
    switch (t) {
        case error_type::invalid_request:
            return "invalid_request_error";
        case error_type::permission:
            return "permission_error";
        case error_type::rate_limit:
            return "rate_limit_error";
        case error_type::api:
            return "api_error";
        case error_type::not_implemented:
            return "not_implemented_error";
        case error_type::service_unavailable:
            return "service_unavailable_error";
    }
    return "api_error";
}

error_type type_for_status(unsigned status)
{
    switch (status) {
        case 403:
            return error_type::permission;
        case 429:
            return error_type::rate_limit;
        case 501:
            return error_type::not_implemented;
        case 503:
            return error_type::service_unavailable;
        default:
            return status < 500 ? error_type::invalid_request : error_type::api;
    }
}

api_error make_error(unsigned status, std::string message, std::string_view code, std::string param)
{
    api_error e;
    e.status = status;
    e.message = std::move(message);
    e.param = std::move(param);
    e.code = std::string(code);
    return e;
}

api_error invalid_request(std::string message, std::string param, std::string code)
{
    return make_error(400, std::move(message), code, std::move(param));
}

api_error invalid_api_key(std::string message)
{
    return make_error(401, std::move(message), error_codes::invalid_api_key);
}

api_error not_found(std::string message, std::string_view code)
{
    return make_error(404, std::move(message), code);
}

api_error method_not_allowed(std::string message)
{
    return make_error(405, std::move(message), error_codes::method_not_allowed);
}

api_error not_implemented(std::string message, std::string param)
{
    return make_error(501, std::move(message), error_codes::not_implemented, std::move(param));
}

api_error service_unavailable(std::string message, std::string retry_after, std::string_view code)
{
    api_error e = make_error(503, std::move(message), code);
    e.retry_after = std::move(retry_after);
    return e;
}

std::string json_quote(std::string_view s)
{
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace ogp
