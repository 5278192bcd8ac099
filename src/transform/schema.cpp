#include "schema.hpp"

#include <vector>

namespace ogp::transform::detail {

namespace {

using rapidjson::Value;
using allocator = rapidjson::Document::AllocatorType;

constexpr int max_ref_depth = 16;

struct cleaner
{
    const Value& root;
    allocator& alloc;
    const schema_options& opts;
    schema_budget& budget;
    std::string& error;

    // Takes `nodes` and `bytes` from the budget; false (with the error set) when exhausted.
    bool charge(std::size_t nodes, std::size_t bytes)
    {
        if (nodes > budget.nodes_left || bytes > budget.bytes_left) {
            budget.nodes_left = 0;
            if (error.empty()) {
                error = "the schemas expand (through $ref) beyond the size this proxy accepts";
            }
            return false;
        }
        budget.nodes_left -= nodes;
        budget.bytes_left -= bytes;
        return true;
    }

    // Charges a whole subtree about to be copied, walking it with an explicit stack.
    bool charge_tree(const Value& v)
    {
        std::vector<const Value*> todo{&v};
        while (!todo.empty()) {
            const Value* n = todo.back();
            todo.pop_back();
            std::size_t bytes = n->IsString() ? n->GetStringLength() : 8;
            if (!charge(1, bytes)) {
                return false;
            }
            if (n->IsObject()) {
                for (auto it = n->MemberBegin(); it != n->MemberEnd(); ++it) {
                    if (!charge(0, it->name.GetStringLength())) {
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

    // A charged deep copy (null once the budget is gone).
    Value copy(const Value& v)
    {
        if (!charge_tree(v)) {
            return Value();
        }
        return Value(v, alloc);
    }

    // A charged copy of a key.
    Value key(const Value& name)
    {
        charge(0, name.GetStringLength());
        return Value(name, alloc);
    }

    // Resolves `#/$defs/x` or `#/definitions/x` against the root schema.
    const Value* resolve(std::string_view ref)
    {
        std::string_view rest;
        const Value* defs = nullptr;
        if (ref.starts_with("#/$defs/")) {
            rest = ref.substr(8);
            defs = get(root, "$defs");
        } else if (ref.starts_with("#/definitions/")) {
            rest = ref.substr(14);
            defs = get(root, "definitions");
        } else if (ref == "#") {
            return &root;
        }
        if (defs == nullptr || rest.find('/') != std::string_view::npos) {
            return nullptr;
        }
        return get(*defs, rest);
    }

    // Keys OCI does not take, beside a `$ref` too (definitions are inlined, not sent).
    static bool dropped_key(std::string_view k)
    {
        return k == "$defs" || k == "definitions" || k == "$schema" || k == "$id" ||
               k == "$comment";
    }

    static bool is_null_schema(const Value& v)
    {
        if (!v.IsObject()) {
            return false;
        }
        std::string_view t = get_string(v, "type");
        return t == "null" && v.MemberCount() == 1;
    }

    // Adds members of `from` to `into` that `into` lacks.
    void merge_missing(Value& into, const Value& from)
    {
        if (!from.IsObject()) {
            return;
        }
        for (auto it = from.MemberBegin(); it != from.MemberEnd() && error.empty(); ++it) {
            if (!into.HasMember(it->name)) {
                into.AddMember(key(it->name), copy(it->value), alloc);
            }
        }
    }

    // Cleans a map of name → schema (properties, patternProperties).
    Value clean_map(const Value& map, int ref_depth)
    {
        if (!map.IsObject()) {
            return copy(map);
        }
        Value out(rapidjson::kObjectType);
        for (auto it = map.MemberBegin(); it != map.MemberEnd() && error.empty(); ++it) {
            out.AddMember(key(it->name), clean(it->value, ref_depth), alloc);
        }
        return out;
    }

    Value clean(const Value& node, int ref_depth)
    {
        // Nothing more once the budget is gone; booleans and non-objects pass through.
        if (!error.empty() || !charge(1, 8)) {
            return Value();
        }
        if (!node.IsObject()) {
            return copy(node);
        }
        // Inline local references.
        if (const Value* ref = get(node, "$ref"); ref != nullptr && ref->IsString()) {
            if (ref_depth >= max_ref_depth) {
                error = "recursive or too deep $ref";
                return Value(rapidjson::kObjectType);
            }
            const Value* target = resolve(sv(*ref));
            if (target == nullptr) {
                error = "unresolvable $ref '" + std::string(sv(*ref)) + "'";
                return Value(rapidjson::kObjectType);
            }
            Value out = clean(*target, ref_depth + 1);
            // Sibling keys (description, ...) of the $ref win over the target's.
            for (auto it = node.MemberBegin(); it != node.MemberEnd(); ++it) {
                std::string_view k = sv(it->name);
                if (k == "$ref" || !out.IsObject() || !error.empty() || dropped_key(k)) {
                    continue;
                }
                if (out.HasMember(it->name)) {
                    out[it->name] = clean_member(k, it->value, ref_depth);
                } else {
                    out.AddMember(key(it->name), clean_member(k, it->value, ref_depth), alloc);
                }
            }
            return out;
        }
        Value out(rapidjson::kObjectType);
        const Value* any_of = nullptr;
        const Value* all_of = nullptr;
        // Copy the keys OCI accepts, cleaning the nested schemas.
        for (auto it = node.MemberBegin(); it != node.MemberEnd() && error.empty(); ++it) {
            std::string_view k = sv(it->name);
            if (dropped_key(k) || k == "title") {
                continue;
            }
            if (k == "default" && it->value.IsNull()) {
                continue;
            }
            if (opts.drop_exclusive_bounds &&
                (k == "exclusiveMinimum" || k == "exclusiveMaximum")) {
                continue;
            }
            if (k == "anyOf" || k == "oneOf") {
                any_of = &it->value;
                continue;
            }
            if (k == "allOf") {
                all_of = &it->value;
                continue;
            }
            if (k == "type" && it->value.IsArray()) {
                // A type list becomes its first non-null type.
                Value t;
                for (auto& e : it->value.GetArray()) {
                    if (e.IsString() && sv(e) != "null") {
                        t = Value(e, alloc);
                        break;
                    }
                }
                if (!t.IsNull() && charge(1, t.GetStringLength())) {
                    out.AddMember("type", t, alloc);
                }
                continue;
            }
            out.AddMember(key(it->name), clean_member(k, it->value, ref_depth), alloc);
        }
        // Collapse anyOf/oneOf to the single non-null branch, else the first one.
        if (any_of != nullptr && any_of->IsArray() && error.empty()) {
            const Value* pick = nullptr;
            for (auto& alt : any_of->GetArray()) {
                if (!is_null_schema(alt)) {
                    pick = &alt;
                    break;
                }
            }
            if (pick != nullptr) {
                Value alt = clean(*pick, ref_depth);
                merge_missing(out, alt);
            }
        }
        // Merge allOf branches.
        if (all_of != nullptr && all_of->IsArray() && error.empty()) {
            for (auto& alt : all_of->GetArray()) {
                if (!error.empty()) {
                    break;
                }
                Value a = clean(alt, ref_depth);
                merge_missing(out, a);
            }
        }
        // Arrays need `items`.
        if (get_string(out, "type") == "array" && !out.HasMember("items")) {
            out.AddMember("items", Value(rapidjson::kObjectType), alloc);
        }
        return out;
    }

    // Cleans one member's value according to what the key holds.
    Value clean_member(std::string_view k, const Value& v, int ref_depth)
    {
        if (k == "properties" || k == "patternProperties") {
            return clean_map(v, ref_depth);
        }
        if (k == "items" || k == "additionalProperties" || k == "not" || k == "contains") {
            return v.IsArray() ? clean_each(v, ref_depth) : clean(v, ref_depth);
        }
        if (k == "prefixItems" && v.IsArray()) {
            return clean_each(v, ref_depth);
        }
        return copy(v);
    }

    // Cleans each schema of array `v`, up to the first error.
    Value clean_each(const Value& v, int ref_depth)
    {
        Value arr(rapidjson::kArrayType);
        for (auto& e : v.GetArray()) {
            if (!error.empty()) {
                break;
            }
            arr.PushBack(clean(e, ref_depth), alloc);
        }
        return arr;
    }
};

}  // namespace

rapidjson::Value clean_schema(const rapidjson::Value& schema, allocator& alloc,
                              const schema_options& opts, schema_budget& budget, std::string& error)
{
    cleaner c{schema, alloc, opts, budget, error};
    return c.clean(schema, 0);
}

}  // namespace ogp::transform::detail
