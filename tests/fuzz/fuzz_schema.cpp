// Fuzzes JSON-schema clean-up ($ref inlining, anyOf/allOf collapsing) on its own: the input is
// a schema as a tool's `parameters` or a `json_schema` response format would carry it.
//
// Properties: no crash, sanitizer report or timeout; a cleaned schema is JSON and stays within
// the expansion budget (fan-out through $ref cannot blow a small schema up); the budget only
// shrinks.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>
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

void clean_once(const rapidjson::Value& schema, bool drop_exclusive_bounds)
{
    rapidjson::Document scratch;
    detail::schema_options opts;
    opts.drop_exclusive_bounds = drop_exclusive_bounds;
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
        clean_once(doc, false);
        clean_once(doc, true);
    });
    return 0;
}
