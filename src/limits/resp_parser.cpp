// RESP2 without I/O: command encoding and the bounded incremental reply parser (apart from
// the client so that the fuzz build compiles it alone: clang 14 cannot instrument coroutines).
#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include "resp.hpp"

namespace ogp::limits::resp {

void encode_command(std::string& out, std::span<const std::string_view> args)
{
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const auto a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out.append(a.data(), a.size());
        out += "\r\n";
    }
}

// ---- parser -------------------------------------------------------------------------------

namespace {

// A whole-line integer: optional '-', then digits only (no '+', no spaces, no empty).
bool parse_integer(std::string_view s, std::int64_t& out)
{
    if (s.empty() || (s[0] == '-' && s.size() == 1)) {
        return false;
    }
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, out);
    return ec == std::errc() && ptr == end;
}

}  // namespace

void parser::reset()
{
    status_ = status::more;
    reason_ = {};
    total_ = 0;
    values_ = 0;
    in_bulk_ = false;
    bulk_left_ = 0;
    bulk_size_ = 0;
    line_.clear();
    bulk_.clear();
    stack_.clear();
    root_ = value{};
}

parser::status parser::fail(std::string_view why)
{
    status_ = status::error;
    reason_ = why;
    stack_.clear();
    return status_;
}

parser::status parser::complete(value v)
{
    if (stack_.empty()) {
        root_ = std::move(v);
        status_ = status::done;
        return status_;
    }
    stack_.back().target->elements.push_back(std::move(v));
    // Close every array that is now full (its parent gains one item: already counted).
    while (!stack_.empty() && --stack_.back().left == 0) {
        stack_.pop_back();
    }
    if (stack_.empty()) {
        status_ = status::done;
    }
    return status_;
}

parser::status parser::header_line()
{
    if (line_.empty()) {
        return fail("empty line");
    }
    if (++values_ > limits_.max_values) {
        return fail("too many values");
    }
    const char type = line_[0];
    const std::string_view payload = std::string_view(line_).substr(1);
    value v;
    switch (type) {
        case '+':
        case '-':
            v.type = type == '+' ? kind::simple : kind::error;
            v.text.assign(payload.data(), payload.size());
            line_.clear();
            return complete(std::move(v));
        case ':':
            if (!parse_integer(payload, v.integer)) {
                return fail("malformed integer");
            }
            v.type = kind::integer;
            line_.clear();
            return complete(std::move(v));
        case '$': {
            std::int64_t n = 0;
            if (!parse_integer(payload, n) || n < -1) {
                return fail("malformed bulk string length");
            }
            line_.clear();
            if (n == -1) {
                return complete(value{});
            }
            // Checked before a byte of it is stored: the body and its CRLF must fit.
            const auto size = static_cast<std::uint64_t>(n);
            if (size > limits_.max_bytes || total_ + size + 2 > limits_.max_bytes) {
                return fail("reply too long");
            }
            in_bulk_ = true;
            bulk_size_ = static_cast<std::size_t>(size);
            bulk_left_ = bulk_size_ + 2;
            bulk_.clear();
            return status::more;
        }
        case '*': {
            std::int64_t n = 0;
            if (!parse_integer(payload, n) || n < -1) {
                return fail("malformed array length");
            }
            line_.clear();
            if (n == -1) {
                return complete(value{});
            }
            if (static_cast<std::uint64_t>(n) > limits_.max_elements) {
                return fail("array too long");
            }
            if (stack_.size() + 1 > limits_.max_depth) {
                return fail("arrays nested too deep");
            }
            v.type = kind::array;
            if (n == 0) {
                return complete(std::move(v));
            }
            // The new array goes into its parent now; items arrive after it. A parent's vector
            // grows again only once this array is complete, so the pointer stays valid.
            value* target = nullptr;
            if (stack_.empty()) {
                root_ = std::move(v);
                target = &root_;
            } else {
                auto& siblings = stack_.back().target->elements;
                siblings.push_back(std::move(v));
                target = &siblings.back();
            }
            stack_.push_back(frame{target, static_cast<std::size_t>(n)});
            return status::more;
        }
        default:
            return fail("unknown reply type");
    }
}

parser::status parser::feed(std::string_view data, std::size_t& consumed)
{
    consumed = 0;
    while (status_ == status::more && consumed < data.size()) {
        if (in_bulk_) {
            const std::size_t n = std::min(bulk_left_, data.size() - consumed);
            bulk_.append(data.data() + consumed, n);
            consumed += n;
            total_ += n;
            bulk_left_ -= n;
            if (bulk_left_ != 0) {
                continue;
            }
            if (bulk_.compare(bulk_size_, 2, "\r\n") != 0) {
                return fail("bulk string not terminated by CRLF");
            }
            bulk_.resize(bulk_size_);
            in_bulk_ = false;
            value v;
            v.type = kind::bulk;
            v.text = std::move(bulk_);
            bulk_.clear();
            complete(std::move(v));
            continue;
        }
        if (total_ + 1 > limits_.max_bytes) {
            return fail("reply too long");
        }
        const char ch = data[consumed++];
        ++total_;
        const bool after_cr = !line_.empty() && line_.back() == '\r';
        if (ch == '\n') {
            if (!after_cr) {
                return fail("bare LF in a line");
            }
            line_.pop_back();
            header_line();
        } else if (after_cr) {
            return fail("bare CR in a line");
        } else {
            line_.push_back(ch);
        }
    }
    return status_;
}

}  // namespace ogp::limits::resp
