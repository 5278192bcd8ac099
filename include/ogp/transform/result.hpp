#pragma once

#include <utility>
#include <variant>

#include "ogp/openai/error.hpp"

namespace ogp::transform {

/// A value or the OpenAI error to send instead. The data path never throws; callers test
/// ok() and then read value() or error().
template <class T>
class result
{
public:
    result(T value) : v_(std::move(value)) {}
    result(api_error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    const api_error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, api_error> v_;
};

}  // namespace ogp::transform
