#include "schema.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ogp::transform::detail {

namespace {

using rapidjson::Value;
using allocator = rapidjson::Document::AllocatorType;

constexpr int max_ref_depth = 16;

// The fields of Google's Schema object ("a select subset of an OpenAPI 3.0 schema object",
// Gemini API and Vertex AI references) kept for Gemini, beside `anyOf` which is rebuilt. Its
// JSON parser refuses any other name (`Unknown name "exclusiveMinimum" ... Cannot find
// field`), so the rest is rewritten or dropped.
constexpr std::array<std::string_view, 22> gemini_fields{"type",          "format",
                                                         "title",         "description",
                                                         "nullable",      "default",
                                                         "items",         "minItems",
                                                         "maxItems",      "enum",
                                                         "properties",    "propertyOrdering",
                                                         "required",      "minProperties",
                                                         "maxProperties", "minLength",
                                                         "maxLength",     "pattern",
                                                         "example",       "minimum",
                                                         "maximum",       "additionalProperties"};

bool gemini_field(std::string_view k)
{
    return std::find(gemini_fields.begin(), gemini_fields.end(), k) != gemini_fields.end();
}

// The names of an object's members, for constant-time lookups while merging (a schema
// object may have many members: merging must stay linear).
std::unordered_set<std::string_view> member_names(const Value& obj)
{
    std::unordered_set<std::string_view> names;
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        names.insert(sv(it->name));
    }
    return names;
}

// The members of a mutable object, by index: C++20's reversed operators make RapidJSON's
// non-const iterator comparisons ambiguous (clang's -Wambiguous-reversed-operator).
Value::Member& member_at(Value& obj, rapidjson::SizeType i)
{
    return obj.MemberBegin()[i];
}

// The value of member `k` of `obj`, or null.
Value* find_member(Value& obj, std::string_view k)
{
    for (rapidjson::SizeType i = 0; i < obj.MemberCount(); ++i) {
        if (sv(member_at(obj, i).name) == k) {
            return &member_at(obj, i).value;
        }
    }
    return nullptr;
}

struct cleaner
{
    const Value& root;
    allocator& alloc;
    const schema_options& opts;
    schema_budget& budget;
    std::string& error;

    bool keep() const { return opts.dialect == schema_dialect::keep; }
    bool gemini() const { return opts.dialect == schema_dialect::gemini; }
    bool flat() const { return opts.dialect == schema_dialect::flat; }

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

    // Keys no family gets: definitions are inlined, the others identify the document only.
    static bool dropped_key(std::string_view k)
    {
        return k == "$defs" || k == "definitions" || k == "$schema" || k == "$id" ||
               k == "$comment";
    }

    static bool is_null_schema(const Value& v)
    {
        return v.IsObject() && get_string(v, "type") == "null";
    }

    // Moves the members of `from` that `into` lacks into `into` (both already charged).
    // Names are looked up before anything moves: short names live inside the member arrays.
    void merge_missing(Value& into, Value& from)
    {
        if (!from.IsObject() || !into.IsObject()) {
            return;
        }
        auto names = member_names(into);
        std::vector<rapidjson::SizeType> add;
        for (rapidjson::SizeType i = 0; i < from.MemberCount(); ++i) {
            if (names.insert(sv(member_at(from, i).name)).second) {
                add.push_back(i);
            }
        }
        for (auto i : add) {
            into.AddMember(member_at(from, i).name, member_at(from, i).value, alloc);
        }
    }

    // Moves every member of `from` into `into`, replacing those of the same name.
    void override_with(Value& into, Value& from)
    {
        if (!from.IsObject() || !into.IsObject()) {
            return;
        }
        std::unordered_map<std::string_view, Value*> values;
        for (rapidjson::SizeType i = 0; i < into.MemberCount(); ++i) {
            values.emplace(sv(member_at(into, i).name), &member_at(into, i).value);
        }
        std::unordered_set<std::string_view> added;
        std::vector<rapidjson::SizeType> add;
        for (rapidjson::SizeType i = 0; i < from.MemberCount(); ++i) {
            Value::Member& m = member_at(from, i);
            if (auto f = values.find(sv(m.name)); f != values.end()) {
                *f->second = m.value;
            } else if (added.insert(sv(m.name)).second) {
                add.push_back(i);
            }
        }
        for (auto i : add) {
            into.AddMember(member_at(from, i).name, member_at(from, i).value, alloc);
        }
    }

    // Cleans a map of name → schema (properties, patternProperties, dependentSchemas).
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
        const Value* ref = get(node, "$ref");
        if (ref == nullptr || !ref->IsString()) {
            return clean_object(node, ref_depth, false);
        }
        // Inline local references.
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
        if (!error.empty() || !out.IsObject() || node.MemberCount() == 1) {
            return out;
        }
        // Sibling keys (description, ...) of the $ref win over the target's.
        Value siblings = clean_object(node, ref_depth, true);
        if (error.empty()) {
            override_with(out, siblings);
        }
        return out;
    }

    // What the rewriting dialects collect from a node before rebuilding it.
    struct pending
    {
        const Value* unions = nullptr;  // anyOf, else oneOf
        const Value* all_of = nullptr;
        const Value* type_list = nullptr;
        const Value* exclusive_min = nullptr;
        const Value* exclusive_max = nullptr;
        const Value* constant = nullptr;
        bool nullable = false;
    };

    Value clean_object(const Value& node, int ref_depth, bool skip_ref)
    {
        Value out(rapidjson::kObjectType);
        pending p;
        for (auto it = node.MemberBegin(); it != node.MemberEnd() && error.empty(); ++it) {
            std::string_view k = sv(it->name);
            const Value& v = it->value;
            if ((skip_ref && k == "$ref") || dropped_key(k)) {
                continue;
            }
            if (!keep() && !take_rewritten(k, v, p)) {
                continue;
            }
            out.AddMember(key(it->name), clean_member(k, v, ref_depth), alloc);
        }
        if (!keep() && error.empty()) {
            rebuild(out, p, ref_depth);
        }
        // An array without `items` means any items: say so (semantics unchanged; Gemini and
        // OpenAI's strict mode want the key).
        if (error.empty() && get_string(out, "type") == "array" && !out.HasMember("items") &&
            charge(1, 8)) {
            out.AddMember("items", Value(rapidjson::kObjectType), alloc);
        }
        return out;
    }

    // Sets aside the keys `gemini` and `flat` rewrite; false when `k` is not copied as is.
    bool take_rewritten(std::string_view k, const Value& v, pending& p) const
    {
        if (k == "anyOf" || k == "oneOf") {
            if (p.unions == nullptr) {
                p.unions = &v;
            }
            return false;
        }
        if (k == "allOf") {
            p.all_of = &v;
            return false;
        }
        if (k == "type" && v.IsArray()) {
            p.type_list = &v;
            return false;
        }
        if (k == "nullable") {
            p.nullable = p.nullable || (v.IsBool() && v.GetBool());
            return false;
        }
        if (!gemini()) {
            return true;
        }
        if (k == "exclusiveMinimum") {
            p.exclusive_min = &v;
            return false;
        }
        if (k == "exclusiveMaximum") {
            p.exclusive_max = &v;
            return false;
        }
        if (k == "const") {
            p.constant = &v;
            return false;
        }
        return gemini_field(k);
    }

    // A charged string value (a type name).
    Value string_value(const Value& s)
    {
        charge(1, s.GetStringLength());
        return Value(s, alloc);
    }

    // The `gemini`/`flat` rewrites of one node, after its plain keys were copied.
    void rebuild(Value& out, pending& p, int ref_depth)
    {
        if (p.type_list != nullptr) {
            rebuild_type_list(out, p);
        }
        if (p.unions != nullptr && p.unions->IsArray() && error.empty()) {
            rebuild_unions(out, p, ref_depth);
        }
        if (p.all_of != nullptr && p.all_of->IsArray()) {
            for (auto& alt : p.all_of->GetArray()) {
                if (!error.empty()) {
                    break;
                }
                Value a = clean(alt, ref_depth);
                merge_missing(out, a);
            }
        }
        if (p.exclusive_min != nullptr) {
            tighten(out, "minimum", *p.exclusive_min, true);
        }
        if (p.exclusive_max != nullptr) {
            tighten(out, "maximum", *p.exclusive_max, false);
        }
        if (p.constant != nullptr && !out.HasMember("enum") && charge(1, 8)) {
            Value values(rapidjson::kArrayType);
            values.PushBack(copy(*p.constant), alloc);
            out.AddMember("enum", values, alloc);
        }
        if (p.nullable && !out.HasMember("nullable") && charge(1, 8)) {
            out.AddMember("nullable", true, alloc);
        }
        if (flat() && error.empty()) {
            drop_nullable_from_required(out);
        }
    }

    // `["T", "null"]` → `T` + nullable; several types → `anyOf` of one type each (gemini) or
    // the first (flat).
    void rebuild_type_list(Value& out, pending& p)
    {
        std::vector<const Value*> types;
        for (auto& e : p.type_list->GetArray()) {
            if (!e.IsString()) {
                continue;
            }
            if (sv(e) == "null") {
                p.nullable = true;
            } else {
                types.push_back(&e);
            }
        }
        if (types.empty()) {
            if (p.nullable && charge(1, 4)) {
                out.AddMember("type", "null", alloc);
                p.nullable = false;
            }
            return;
        }
        if (types.size() == 1 || flat() || p.unions != nullptr || out.HasMember("anyOf")) {
            out.AddMember("type", string_value(*types.front()), alloc);
            return;
        }
        if (!charge(1, 8)) {
            return;
        }
        Value alts(rapidjson::kArrayType);
        for (const Value* t : types) {
            if (!charge(1, 8)) {
                return;
            }
            Value alt(rapidjson::kObjectType);
            alt.AddMember("type", string_value(*t), alloc);
            alts.PushBack(alt, alloc);
        }
        out.AddMember("anyOf", alts, alloc);
    }

    // `null` branches → nullable; one branch left (or flat: the first) → merged into the
    // node; several (gemini) → `anyOf`, whether the client wrote anyOf or oneOf.
    void rebuild_unions(Value& out, pending& p, int ref_depth)
    {
        std::vector<const Value*> alts;
        for (auto& alt : p.unions->GetArray()) {
            if (is_null_schema(alt)) {
                p.nullable = true;
            } else {
                alts.push_back(&alt);
            }
        }
        if (alts.empty()) {
            return;
        }
        if (alts.size() == 1 || flat()) {
            Value a = clean(*alts.front(), ref_depth);
            merge_missing(out, a);
            return;
        }
        if (out.HasMember("anyOf") || !charge(1, 8)) {
            return;
        }
        Value arr(rapidjson::kArrayType);
        for (const Value* alt : alts) {
            if (!error.empty()) {
                return;
            }
            arr.PushBack(clean(*alt, ref_depth), alloc);
        }
        out.AddMember("anyOf", arr, alloc);
    }

    // exclusiveMinimum/Maximum (a number since draft 6) → minimum/maximum, unless the plain
    // bound is already as tight; draft 4's boolean form only qualified that bound.
    void tighten(Value& out, const char* name, const Value& exclusive, bool lower)
    {
        if (!exclusive.IsNumber()) {
            return;
        }
        Value* bound = find_member(out, name);
        if (bound == nullptr) {
            if (charge(1, 8)) {
                out.AddMember(rapidjson::StringRef(name), Value(exclusive, alloc), alloc);
            }
            return;
        }
        if (bound->IsNumber()) {
            double e = exclusive.GetDouble();
            double b = bound->GetDouble();
            if (lower ? e > b : e < b) {
                *bound = Value(exclusive, alloc);
            }
        }
    }

    // COHERE v1 has one `isRequired` per parameter: a parameter that may be null is not
    // required (Pydantic's strict schemas list every property as required).
    void drop_nullable_from_required(Value& out)
    {
        const Value* props = get(out, "properties");
        Value* req = find_member(out, "required");
        if (props == nullptr || req == nullptr || !props->IsObject() || !req->IsArray()) {
            return;
        }
        std::unordered_set<std::string_view> nullable;
        for (auto it = props->MemberBegin(); it != props->MemberEnd(); ++it) {
            const Value* n = get(it->value, "nullable");
            if (n != nullptr && n->IsBool() && n->GetBool()) {
                nullable.insert(sv(it->name));
            }
        }
        if (nullable.empty()) {
            return;
        }
        Value kept(rapidjson::kArrayType);
        for (auto& name : req->GetArray()) {
            if (!name.IsString() || !nullable.contains(sv(name))) {
                kept.PushBack(name, alloc);
            }
        }
        *req = kept;
    }

    // Cleans one member's value according to what the key holds: every place a schema can
    // sit, so that no `$ref` is left pointing at the removed definitions.
    Value clean_member(std::string_view k, const Value& v, int ref_depth)
    {
        if (k == "properties" || k == "patternProperties" || k == "dependentSchemas") {
            return clean_map(v, ref_depth);
        }
        if (k == "items" || k == "additionalProperties" || k == "not" || k == "contains" ||
            k == "additionalItems" || k == "propertyNames" || k == "if" || k == "then" ||
            k == "else" || k == "unevaluatedItems" || k == "unevaluatedProperties") {
            return v.IsArray() ? clean_each(v, ref_depth) : clean(v, ref_depth);
        }
        if ((k == "prefixItems" || k == "anyOf" || k == "oneOf" || k == "allOf") && v.IsArray()) {
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

schema_options schema_options_for(std::string_view oci_model_id)
{
    schema_options opts;
    if (oci_model_id.starts_with("google.")) {
        opts.dialect = schema_dialect::gemini;
    }
    return opts;
}

rapidjson::Value clean_schema(const rapidjson::Value& schema, allocator& alloc,
                              const schema_options& opts, schema_budget& budget, std::string& error)
{
    cleaner c{schema, alloc, opts, budget, error};
    return c.clean(schema, 0);
}

}  // namespace ogp::transform::detail
