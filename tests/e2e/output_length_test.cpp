// The answer's length end to end: the daemon sends each model family's maximum when the client
// gives none, and oci-genai-mock refuses what OCI refuses on demand (a length above the
// family's cap; `maxTokens` to OpenAI's own models), so a wrong table entry fails here.
#include <catch2/catch.hpp>

#include <string>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

constexpr std::string_view chat_path = "/v1/chat/completions";

daemon_options length_aliases()
{
    daemon_options o;
    o.models =
        "  - name: gpt5-plain\n    id: openai.gpt-5\n    max_completion_tokens: false\n"
        "  - name: grok-long\n    id: xai.grok-4\n    max_tokens: 20000\n"
        "  - name: grok-8k\n    id: xai.grok-4\n    max_tokens: 8000\n";
    return o;
}

}  // namespace

TEST_CASE("output length: family maxima are accepted, lengths OCI refuses are refused",
          "[e2e][chat][length]")
{
    e2e_stack s(length_aliases());
    SECTION("no length from the client: the family's maximum, accepted")
    {
        for (const char* model : {"gpt-4o-mini", "xai.grok-4", "openai.gpt-oss-120b",
                                  "openai.gpt-5", "google.gemini-2.5-flash", "grok-8k"}) {
            INFO(model);
            auto r = s.c.request("POST", chat_path, chat_body(model, "hi"));
            INFO(printable(r.body));
            CHECK(r.status == 200);
            CHECK(json_string(r.body, "/choices/0/finish_reason") == "stop");
        }
    }
    SECTION("a length above the on-demand cap: OCI's 400 reaches the client")
    {
        auto llama = s.c.request("POST", chat_path,
                                 chat_body("gpt-4o-mini", "hi", false, R"("max_tokens":4001)"));
        CHECK(llama.status == 400);
        auto grok_ok = s.c.request("POST", chat_path,
                                   chat_body("xai.grok-4", "hi", false, R"("max_tokens":16000)"));
        CHECK(grok_ok.status == 200);
        auto grok_over = s.c.request("POST", chat_path,
                                     chat_body("xai.grok-4", "hi", false, R"("max_tokens":16001)"));
        CHECK(grok_over.status == 400);
        // A configured length is not trusted either.
        CHECK(s.c.request("POST", chat_path, chat_body("grok-long", "hi")).status == 400);
    }
    SECTION("maxTokens to an OpenAI model is refused as OCI does")
    {
        auto r = s.c.request("POST", chat_path, chat_body("gpt5-plain", "hi"));
        INFO(printable(r.body));
        CHECK(r.status == 400);
        // OCI's own words go to the log, not to the client.
        CHECK(r.body.find("OCI Generative AI rejected the request") != std::string::npos);
    }
}
