#include "support/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

namespace ogp::test {
namespace {

const rapidjson::Value* at_pointer(rapidjson::Document& d, std::string_view text,
                                   const char* pointer)
{
    d.Parse(text.data(), text.size());
    return d.HasParseError() ? nullptr : rapidjson::Pointer(pointer).Get(d);
}

}  // namespace

bool json_ok(std::string_view text)
{
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    return !d.HasParseError();
}

std::string json_string(std::string_view text, const char* pointer)
{
    rapidjson::Document d;
    const auto* v = at_pointer(d, text, pointer);
    return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                         : std::string();
}

long long json_int(std::string_view text, const char* pointer)
{
    rapidjson::Document d;
    const auto* v = at_pointer(d, text, pointer);
    return v != nullptr && v->IsInt64() ? v->GetInt64() : -1;
}

bool is_openai_error(std::string_view body)
{
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error")) {
        return false;
    }
    const auto& e = doc["error"];
    if (!e.IsObject()) {
        return false;
    }
    for (const char* key : {"message", "type", "param", "code"}) {
        if (!e.HasMember(key)) {
            return false;
        }
    }
    return e["message"].IsString() && e["message"].GetStringLength() > 0 && e["type"].IsString() &&
           e["type"].GetStringLength() > 0 && (e["param"].IsNull() || e["param"].IsString()) &&
           (e["code"].IsNull() || e["code"].IsString());
}

}  // namespace ogp::test
