// Fuzzes JSON-schema preparation ($ref inlining, the Gemini and COHERE v1 rewrites) on its
// own: the input is a schema as a tool's `parameters` or a `json_schema` response format would
// carry it, cleaned in every dialect.
//
// Properties: no crash, sanitizer report or timeout; a cleaned schema is JSON and stays within
// the expansion budget (fan-out through $ref cannot blow a small schema up); the budget only
// shrinks. `keep` (every model but Gemini) changes nothing in a schema that has nothing to
// normalise ($ref/definitions/$schema/$id/$comment, an array without items); `gemini` leaves
// only Google's Schema fields on every schema node, with a single `type`.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "fuzz_support.hpp"
#include "transform/schema.hpp"

namespace {

using ogp_fuzz::check;
namespace detail = ogp::transform::detail;

// Smaller than a request's (config limits) so that each run stays fast; the same code path.
constexpr std::size_t budget_nodes = 20000;
constexpr std::size_t budget_bytes = 4 * 1024 * 1024;

// Nodes of a value (explicit stack: cleaned schemas can be deep).
std::size_t count_nodes(const rapidjson::Value& v)
{
    std::size_t n = 0;
    std::vector<const rapidjson::Value*> todo{&v};
    while (!todo.empty()) {
        const rapidjson::Value* x = todo.back();
        todo.pop_back();
        ++n;
        if (x->IsObject()) {
            for (auto it = x->MemberBegin(); it != x->MemberEnd(); ++it) {
                todo.push_back(&it->value);
            }
        } else if (x->IsArray()) {
            for (auto& e : x->GetArray()) {
                todo.push_back(&e);
            }
        }
    }
    return n;
}

// The value as JSON text; empty when the writer refuses it (a number that overflowed to
// infinity when parsed).
std::string write(const rapidjson::Value& v)
{
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    if (!v.Accept(w)) {
        return {};
    }
    return {sb.GetString(), sb.GetSize()};
}

// The fields Google's Schema object has (schema.cpp's list, plus anyOf).
constexpr std::array<std::string_view, 23> gemini_fields{"type",          "format",
                                                         "title",         "description",
                                                         "nullable",      "default",
                                                         "items",         "minItems",
                                                         "maxItems",      "enum",
                                                         "properties",    "propertyOrdering",
                                                         "required",      "minProperties",
                                                         "maxProperties", "minLength",
                                                         "maxLength",     "pattern",
                                                         "example",       "minimum",
                                                         "maximum",       "additionalProperties",
                                                         "anyOf"};

// Every schema node of a Gemini-dialect schema (walking schema positions only: property
// names and data such as `enum` or `default` may hold any name) has Google's fields only,
// and a single type.
void check_gemini(const rapidjson::Value& schema)
{
    std::vector<const rapidjson::Value*> todo{&schema};
    while (!todo.empty()) {
        const rapidjson::Value* n = todo.back();
        todo.pop_back();
        if (!n->IsObject()) {
            continue;
        }
        for (auto it = n->MemberBegin(); it != n->MemberEnd(); ++it) {
            std::string_view k(it->name.GetString(), it->name.GetStringLength());
            const rapidjson::Value& v = it->value;
            check(std::find(gemini_fields.begin(), gemini_fields.end(), k) != gemini_fields.end(),
                  "a Gemini schema has Google's fields only");
            check(k != "type" || !v.IsArray(), "a Gemini schema has one type per node");
            if ((k == "properties") && v.IsObject()) {
                for (auto p = v.MemberBegin(); p != v.MemberEnd(); ++p) {
                    todo.push_back(&p->value);
                }
            } else if (k == "items" || k == "additionalProperties") {
                todo.push_back(&v);
            } else if (k == "anyOf" && v.IsArray()) {
                for (auto& e : v.GetArray()) {
                    todo.push_back(&e);
                }
            }
        }
    }
}

// True when nothing in `v` (at any depth, data included) is something `keep` normalises,
// and no object repeats a name.
bool nothing_to_normalise(const rapidjson::Value& v)
{
    std::vector<const rapidjson::Value*> todo{&v};
    while (!todo.empty()) {
        const rapidjson::Value* n = todo.back();
        todo.pop_back();
        if (n->IsString() && std::string_view(n->GetString(), n->GetStringLength()) == "array") {
            return false;
        }
        if (n->IsObject()) {
            // Duplicate names make RapidJSON's comparison order-dependent: not comparable.
            std::unordered_set<std::string_view> names;
            for (auto it = n->MemberBegin(); it != n->MemberEnd(); ++it) {
                std::string_view k(it->name.GetString(), it->name.GetStringLength());
                if (!names.insert(k).second || k == "$ref" || k == "$defs" || k == "definitions" ||
                    k == "$schema" || k == "$id" || k == "$comment") {
                    return false;
                }
                todo.push_back(&it->value);
            }
        } else if (n->IsArray()) {
            for (auto& e : n->GetArray()) {
                todo.push_back(&e);
            }
        }
    }
    return true;
}

void clean_once(const rapidjson::Value& schema, detail::schema_dialect dialect)
{
    rapidjson::Document scratch;
    detail::schema_options opts;
    opts.dialect = dialect;
    detail::schema_budget budget{budget_nodes, budget_bytes};
    std::string error;
    rapidjson::Value out =
        detail::clean_schema(schema, scratch.GetAllocator(), opts, budget, error);
    check(budget.nodes_left <= budget_nodes && budget.bytes_left <= budget_bytes,
          "the budget only shrinks");
    if (!error.empty()) {
        return;
    }
    // Every written node is charged; an array schema may gain an `items` object on top.
    check(count_nodes(out) <= 2 * budget_nodes, "the cleaned schema stays within its budget");
    check(ogp_fuzz::is_json(write(out)), "the cleaned schema is JSON");
    if (dialect == detail::schema_dialect::keep && nothing_to_normalise(schema)) {
        check(out == schema, "keep changes nothing in a schema with nothing to normalise");
    }
    if (dialect == detail::schema_dialect::gemini) {
        check_gemini(out);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // Schemas reach the cleaner inside request bodies, nested at most max_json_depth deep.
    if (ogp_fuzz::json_depth(in) > ogp_fuzz::fuzz_config().limits.max_json_depth) {
        return 0;
    }
    rapidjson::Document doc;
    if (!ogp_fuzz::parse_json(in, doc) || !ogp_fuzz::is_json(write(doc))) {
        // Not JSON, or what RapidJSON 1.1 parses but cannot write back (a lone `\udc00`
        // decoded to invalid UTF-8, `1e309` to infinity): request parsing must refuse those
        // (the chat targets check it), the cleaner only copies them.
        return 0;
    }
    ogp_fuzz::on_small_stack([&] {
        clean_once(doc, detail::schema_dialect::keep);
        clean_once(doc, detail::schema_dialect::gemini);
        clean_once(doc, detail::schema_dialect::flat);
    });
    return 0;
}
