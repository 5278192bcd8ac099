// Fuzzes the embeddings translation in both directions: request planning (batches of 96) and
// the merge of OCI's per-batch answers (whole, and incrementally as the daemon does).
//
// Input: an OpenAI /v1/embeddings body, optionally followed by parts (see part_separator) that
// are OCI EmbedTextResult bodies, used for the batches in turn. Without them the harness answers
// every batch with a well-formed result, so the merge itself must succeed.
//
// Properties: no crash, sanitizer report or timeout; a refused request is a 400; batches cover
// the inputs in order, each a JSON body of at most 96 inputs; a merged answer is JSON with one
// embedding per input, indexed in order; a rejected answer is a 502.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "ogp/transform/embeddings.hpp"

namespace {

using namespace ogp::transform;
using ogp_fuzz::check;
using ogp_fuzz::member;

// A well-formed EmbedTextResult for `count` inputs; values and token counts from `r`.
std::string synthetic_answer(std::size_t count, ogp_fuzz::rng& r)
{
    static constexpr const char* values[] = {"0.5", "-0.25", "1e-3", "0", "3.25", "-1"};
    std::string s = R"({"id":"e","embeddings":[)";
    std::size_t dims = r.between(1, 4);
    for (std::size_t i = 0; i < count; ++i) {
        s += i > 0 ? ",[" : "[";
        for (std::size_t d = 0; d < dims; ++d) {
            s += d > 0 ? "," : "";
            s += values[r.next() % 6];
        }
        s += "]";
    }
    s += R"(],"inputTextTokenCounts":[)";
    for (std::size_t i = 0; i < count; ++i) {
        s += i > 0 ? "," : "";
        s += std::to_string(r.between(1, 1000));
    }
    return s + "]}";
}

// The merged list: JSON, one embedding per input in index order.
void check_merged(const std::string& merged, const embeddings_plan& plan)
{
    rapidjson::Document d;
    check(ogp_fuzz::parse_json(merged, d) && d.IsObject(), "the merged answer is a JSON object");
    const rapidjson::Value* data = member(d, "data");
    check(data != nullptr && data->IsArray() && data->Size() == plan.input_count,
          "one embedding per input");
    for (rapidjson::SizeType i = 0; i < data->Size(); ++i) {
        const rapidjson::Value* index = member((*data)[i], "index");
        check(index != nullptr && index->IsUint() && index->GetUint() == i,
              "embeddings in input order");
        const rapidjson::Value* e = member((*data)[i], "embedding");
        check(e != nullptr && (plan.base64 ? e->IsString() : e->IsArray()),
              "each embedding in the requested encoding");
    }
}

void fuzz_embeddings(std::string_view in)
{
    auto parts = ogp_fuzz::split_parts(in);
    check(base64_encode(parts[0]).size() == (parts[0].size() + 2) / 3 * 4, "base64 length");

    auto plan = plan_embeddings(parts[0], ogp_fuzz::fuzz_config());
    if (!plan) {
        check(plan.error().status == 400, "a refused embeddings request is a 400");
        check(ogp_fuzz::is_json(plan.error().body()), "the error body is JSON");
        return;
    }
    const embeddings_plan& p = plan.value();
    check(p.bodies.size() == p.batch_sizes.size() && !p.bodies.empty(), "one body per batch");
    std::size_t total = 0;
    for (std::size_t b = 0; b < p.bodies.size(); ++b) {
        check(p.batch_sizes[b] >= 1 && p.batch_sizes[b] <= embed_batch_limit, "batch size");
        total += p.batch_sizes[b];
        rapidjson::Document d;
        check(ogp_fuzz::parse_json(p.bodies[b], d) && d.IsObject(), "EmbedTextDetails is JSON");
        const rapidjson::Value* inputs = member(d, "inputs");
        check(inputs != nullptr && inputs->IsArray() && inputs->Size() == p.batch_sizes[b],
              "a batch body holds its inputs");
    }
    check(total == p.input_count, "the batches cover every input");

    // OCI's answers: the given parts in turn, else well-formed ones.
    std::vector<std::string> answers;
    ogp_fuzz::rng r(in.size());
    for (std::size_t b = 0; b < p.bodies.size(); ++b) {
        answers.push_back(parts.size() > 1 ? std::string(parts[1 + b % (parts.size() - 1)])
                                           : synthetic_answer(p.batch_sizes[b], r));
    }
    auto merged = embeddings_response_to_openai(answers, p);
    if (merged) {
        check_merged(merged.value(), p);
    } else {
        check(parts.size() > 1, "well-formed answers merge");
        check(merged.error().status == 502, "a bad OCI answer is a 502");
    }
    // The daemon's path: batches merged as they arrive; the same answer, and none before the
    // last batch.
    embeddings_merger m(p);
    bool refused = false;
    for (std::size_t b = 0; b < answers.size() && !refused; ++b) {
        if (auto e = m.add(answers[b])) {
            check(e->status == 502, "a bad OCI answer is a 502");
            refused = true;
        }
    }
    check(refused == !merged, "the incremental merge agrees with the whole one");
    if (!refused) {
        auto whole = m.finish();
        check(whole && whole.value() == merged.value(), "the incremental merge gives the same");
    }
    embeddings_merger early(p);
    for (std::size_t b = 0; b + 1 < answers.size(); ++b) {
        if (early.add(answers[b])) {
            break;
        }
    }
    check(!early.finish(), "an answer is refused until every batch is in");
    // One answer short: always refused.
    answers.pop_back();
    check(!embeddings_response_to_openai(answers, p), "a missing batch answer is refused");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    ogp_fuzz::on_small_stack([&] { fuzz_embeddings(in); });
    return 0;
}
