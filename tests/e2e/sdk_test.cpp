// Node clients against the daemon backed by oci-genai-mock: each test case starts the stack and
// runs one case of a script in sdk/ with the machine's node. The clients are installed at pinned
// versions into their own prefixes by ctest fixtures (tests/e2e/CMakeLists.txt):
//   [openai]  the official OpenAI SDK 6.x   sdk/cases.mjs (chat completions), sdk/responses.mjs
//             and on the `openai` route (both auth modes)                 sdk/openai_route.mjs
//   [ai-sdk]  the Vercel AI SDK's openai(model) (a Responses model)            sdk/ai_sdk.mjs
//             and openai.chat(model), openai.embedding(model)              sdk/ai_sdk_chat.mjs
//   [agents]  the OpenAI Agents SDK on its default (Responses) model provider  sdk/agents.mjs
//             and on OpenAIChatCompletionsModel
//   [langchain] LangChain JS: ChatOpenAI, OpenAIEmbeddings                 sdk/langchain.mjs
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

// One Node client: its script in sdk/, its prefix, a package that must be there and the
// fixture test that installs it.
struct node_client
{
    std::string_view script;
    std::string_view prefix;
    std::string_view package;
    std::string_view fixture;
};

const node_client openai_chat{"cases.mjs", OGP_NODE_PREFIX, "openai", "e2e:npm_install_openai"};
const node_client openai_responses{"responses.mjs", OGP_NODE_PREFIX, "openai",
                                   "e2e:npm_install_openai"};
const node_client openai_route{"openai_route.mjs", OGP_NODE_PREFIX, "openai",
                               "e2e:npm_install_openai"};
const node_client ai_sdk{"ai_sdk.mjs", OGP_NODE_PREFIX_AI, "@ai-sdk/openai",
                         "e2e:npm_install_ai_sdk"};
const node_client agents_sdk{"agents.mjs", OGP_NODE_PREFIX_AGENTS, "@openai/agents",
                             "e2e:npm_install_agents"};
const node_client ai_sdk_chat{"ai_sdk_chat.mjs", OGP_NODE_PREFIX_AI, "@ai-sdk/openai",
                              "e2e:npm_install_ai_sdk"};
const node_client langchain{"langchain.mjs", OGP_NODE_PREFIX_LANGCHAIN, "@langchain/openai",
                            "e2e:npm_install_langchain"};

// What the daemon's access log says about the routes a case used.
struct routes_used
{
    std::size_t responses_ok = 0;       ///< POST /v1/responses answered 200
    std::size_t responses_all = 0;      ///< any request to /v1/responses...
    std::size_t chat_all = 0;           ///< any request to /v1/chat/completions
    std::size_t chat_ok = 0;            ///< POST /v1/chat/completions answered 200
    std::size_t embeddings_ok = 0;      ///< POST /v1/embeddings answered 200
    std::size_t files_all = 0;          ///< any request to /v1/files...
    std::size_t conversations_all = 0;  ///< any request to /v1/conversations...
    std::size_t vector_stores_all = 0;  ///< any request to /v1/vector_stores...
};

// How run_case sets up the stack: daemon options, mock arguments, extra environment for the
// script, and checks on the mock and the daemon once the script has ended.
struct stack_setup
{
    daemon_options options;
    std::vector<std::string> mock_args;
    std::vector<std::string> env;
    std::function<void(mock&, proxy&)> after;
};

// Runs `node sdk/<script> <name>` against a fresh stack; the case's output (and the daemon's log)
// is shown on failure.
routes_used run_case(const node_client& client, const std::string& name,
                     const stack_setup& setup = {})
{
    const std::string node = OGP_NODE_PATH;
    if (node.empty() || !std::filesystem::exists(node)) {
        FAIL(
            "node not found at configure time: the Node client tests need Node.js 20 and npm "
            "(scripts/install-deps --test installs them), then re-run cmake");
    }
    const std::string prefix(client.prefix);
    const std::string package(client.package);
    if (!std::filesystem::exists(prefix + "/node_modules/" + package + "/package.json")) {
        FAIL(package + " is not installed in " + prefix + ": run the fixture test " +
             std::string(client.fixture) + " (ctest -R e2e runs it first)");
    }
    mock m(setup.mock_args);
    proxy d(m, setup.options);
    std::vector<std::string> env{"OGP_BASE_URL=" + d.base_url(),
                                 "OGP_API_KEY=" + std::string(test_key),
                                 "OGP_NODE_PREFIX=" + prefix};
    env.insert(env.end(), setup.env.begin(), setup.env.end());
    auto r = run_program(
        {node, std::string(OGP_E2E_SDK_DIR) + "/" + std::string(client.script), name}, 60s, env);
    // The access log line of the last request may trail the client's exit.
    d.wait_for_log("path=/v", 2s);
    routes_used used;
    used.responses_ok = d.log_count("method=POST path=/v1/responses status=200 ");
    used.responses_all = d.log_count("path=/v1/responses");
    used.chat_all = d.log_count("path=/v1/chat/completions");
    used.chat_ok = d.log_count("method=POST path=/v1/chat/completions status=200 ");
    used.embeddings_ok = d.log_count("method=POST path=/v1/embeddings status=200 ");
    used.files_all = d.log_count("path=/v1/files");
    used.conversations_all = d.log_count("path=/v1/conversations");
    used.vector_stores_all = d.log_count("path=/v1/vector_stores");
    INFO("node stdout:\n"
         << r.out << "\nnode stderr:\n"
         << r.err << "\n(" << r.seconds << " s)\ndaemon log:\n"
         << d.captured_stderr());
    REQUIRE(r.status.has_value());  // not killed at the timeout
    CHECK(r.status->success());
    CHECK(r.out.find("PASS " + name) != std::string::npos);
    CHECK(m.stats().rejected_signatures == 0);
    if (setup.after) {
        setup.after(m, d);
    }
    return used;
}

// A case of a Responses client: it must have used /v1/responses (and, with `only`, nothing
// else: a client falling back to chat completions would hide a broken Responses route).
void run_responses_case(const node_client& client, const std::string& name, bool only = true)
{
    auto used = run_case(client, name);
    CHECK(used.responses_ok > 0);
    if (only) {
        CHECK(used.chat_all == 0);
    }
}

// A case of a client's chat completions model: it must have used /v1/chat/completions and
// never /v1/responses (a client switching to Responses would hide a broken chat route).
void run_chat_case(const node_client& client, const std::string& name)
{
    auto used = run_case(client, name);
    CHECK(used.chat_ok > 0);
    CHECK(used.responses_all == 0);
}

// A case of a client's embedding model: only /v1/embeddings.
void run_embeddings_case(const node_client& client, const std::string& name)
{
    auto used = run_case(client, name);
    CHECK(used.embeddings_ok > 0);
    CHECK(used.chat_all == 0);
    CHECK(used.responses_all == 0);
}

constexpr std::string_view route_project = "ocid1.generativeaiproject.oc1.us-chicago-1.e2esdk";
constexpr std::string_view route_genai_key = "e2e-sdk-genai-api-key-0123456789";

// A case of sdk/openai_route.mjs against a daemon whose alias gpt-oss is on the `openai` route
// (with oci.project_id), under instance principal or (`genai_key`) a GenAI API key; checks that
// every forwarded request was authenticated the configured way, that the last one carried the
// configured project (not the SDK's) and none of the SDK's own headers. Returns the routes used.
routes_used run_openai_route_case(bool genai_key, const std::string& name)
{
    stack_setup setup;
    setup.options.project_id = std::string(route_project);
    setup.options.models = openai_alias("gpt-oss", "openai.gpt-oss-120b");
    if (genai_key) {
        setup.options.auth = "genai_api_key";
        setup.options.genai_api_key = std::string(route_genai_key);
        setup.options.native_aliases = false;
    }
    setup.mock_args = {"--genai-api-key", std::string(route_genai_key)};
    setup.env = {"OGP_OPENAI_MODEL=gpt-oss", "OGP_OPENAI_MODEL_ID=openai.gpt-oss-120b"};
    setup.after = [genai_key](mock& m, proxy& d) {
        auto s = m.stats();
        CHECK(s.openai_requests > 0);
        CHECK(s.openai_rejected == 0);
        CHECK(s.chat == 0);  // nothing on the native API
        CHECK((genai_key ? s.openai_bearer : s.openai_signed) == s.openai_requests);
        const std::string last = m.openai_last();
        INFO(printable(last, 3000));
        CHECK(json_string(last, "/headers/openai-project") == route_project);
        CHECK(json_string(last, "/headers/authorization") == (genai_key ? "Bearer" : "Signature"));
        CHECK(json_string(last, "/headers/x-stainless-lang").empty());
        CHECK(last.find("from-the-client") == std::string::npos);
        CHECK(d.captured_stderr().find(std::string(route_genai_key)) == std::string::npos);
    };
    return run_case(openai_route, name, setup);
}

}  // namespace

TEST_CASE("openai SDK: chat completions", "[e2e][sdk][openai]")
{
    run_case(openai_chat, "chat");
}

TEST_CASE("openai SDK: streaming", "[e2e][sdk][openai]")
{
    run_case(openai_chat, "stream");
}

TEST_CASE("openai SDK: tool call round trip", "[e2e][sdk][openai]")
{
    run_case(openai_chat, "tools");
}

TEST_CASE("openai SDK: embeddings with the default base64 encoding", "[e2e][sdk][openai]")
{
    run_case(openai_chat, "embeddings");
}

TEST_CASE("openai SDK: models", "[e2e][sdk][openai]")
{
    run_case(openai_chat, "models");
}

TEST_CASE("openai SDK: error classes", "[e2e][sdk][openai]")
{
    run_case(openai_chat, "errors");
}

TEST_CASE("openai SDK: responses.create", "[e2e][sdk][openai][responses]")
{
    run_responses_case(openai_responses, "create");
}

TEST_CASE("openai SDK: responses.stream and finalResponse", "[e2e][sdk][openai][responses]")
{
    run_responses_case(openai_responses, "stream");
}

TEST_CASE("openai SDK: responses function tool round trip", "[e2e][sdk][openai][responses]")
{
    run_responses_case(openai_responses, "tools");
}

TEST_CASE("openai SDK: responses text.format json_schema", "[e2e][sdk][openai][responses]")
{
    run_responses_case(openai_responses, "json_schema");
}

TEST_CASE("openai SDK on the openai route (instance principal): chat completions and responses",
          "[e2e][sdk][openai][openai-route]")
{
    auto used = run_openai_route_case(false, "inference");
    CHECK(used.chat_ok >= 2);
    CHECK(used.responses_ok >= 3);
}

TEST_CASE("openai SDK on the openai route (genai_api_key): chat completions and responses",
          "[e2e][sdk][openai][openai-route]")
{
    auto used = run_openai_route_case(true, "inference");
    CHECK(used.chat_ok >= 2);
    CHECK(used.responses_ok >= 3);
}

TEST_CASE(
    "openai SDK on the openai route (instance principal): files and conversations and vector "
    "stores",
    "[e2e][sdk][openai][openai-route]")
{
    auto used = run_openai_route_case(false, "state");
    CHECK(used.files_all >= 6);
    CHECK(used.conversations_all >= 4);
    CHECK(used.vector_stores_all >= 3);
}

TEST_CASE(
    "openai SDK on the openai route (genai_api_key): files and conversations and vector stores",
    "[e2e][sdk][openai][openai-route]")
{
    auto used = run_openai_route_case(true, "state");
    CHECK(used.files_all >= 6);
    CHECK(used.conversations_all >= 4);
    CHECK(used.vector_stores_all >= 3);
}

TEST_CASE("openai SDK: responses errors", "[e2e][sdk][openai][responses]")
{
    // Only refusals: no 200 expected.
    auto used = run_case(openai_responses, "errors");
    CHECK(used.responses_all > 0);
    CHECK(used.chat_all == 0);
}

TEST_CASE("AI SDK: generateText with openai(model)", "[e2e][sdk][ai-sdk][responses]")
{
    run_responses_case(ai_sdk, "generate");
}

TEST_CASE("AI SDK: a second turn with store false (item_reference with the default store)",
          "[e2e][sdk][ai-sdk][responses]")
{
    run_responses_case(ai_sdk, "conversation");
}

TEST_CASE("AI SDK: streamText with openai(model)", "[e2e][sdk][ai-sdk][responses]")
{
    run_responses_case(ai_sdk, "stream");
}

TEST_CASE("AI SDK: tool round trip with openai(model)", "[e2e][sdk][ai-sdk][responses]")
{
    run_responses_case(ai_sdk, "tools");
}

TEST_CASE("AI SDK: Output.object with openai(model) (nullable field)",
          "[e2e][sdk][ai-sdk][responses]")
{
    run_responses_case(ai_sdk, "object");
}

TEST_CASE("Agents SDK: run with a function tool", "[e2e][sdk][agents][responses]")
{
    run_responses_case(agents_sdk, "run");
}

TEST_CASE("Agents SDK: outputType (zod, nullable field)", "[e2e][sdk][agents][responses]")
{
    run_responses_case(agents_sdk, "output");
}

TEST_CASE("AI SDK: generateText with openai.chat(model)", "[e2e][sdk][ai-sdk][chat]")
{
    run_chat_case(ai_sdk_chat, "generate");
}

TEST_CASE("AI SDK: streamText with openai.chat(model)", "[e2e][sdk][ai-sdk][chat]")
{
    run_chat_case(ai_sdk_chat, "stream");
}

TEST_CASE("AI SDK: tool round trip with openai.chat(model)", "[e2e][sdk][ai-sdk][chat]")
{
    run_chat_case(ai_sdk_chat, "tools");
}

TEST_CASE("AI SDK: generateObject with openai.chat(model) (nullable field)",
          "[e2e][sdk][ai-sdk][chat]")
{
    run_chat_case(ai_sdk_chat, "object");
}

TEST_CASE("AI SDK: embedMany with openai.embedding(model)", "[e2e][sdk][ai-sdk][embeddings]")
{
    run_embeddings_case(ai_sdk_chat, "embed");
}

TEST_CASE("Agents SDK: run with a function tool and an outputType on OpenAIChatCompletionsModel",
          "[e2e][sdk][agents][chat]")
{
    run_chat_case(agents_sdk, "chat");
}

TEST_CASE("LangChain: ChatOpenAI invoke", "[e2e][sdk][langchain][chat]")
{
    run_chat_case(langchain, "invoke");
}

TEST_CASE("LangChain: ChatOpenAI stream", "[e2e][sdk][langchain][chat]")
{
    run_chat_case(langchain, "stream");
}

TEST_CASE("LangChain: bindTools round trip (tool call, ToolMessage, answer)",
          "[e2e][sdk][langchain][chat]")
{
    run_chat_case(langchain, "tools");
}

TEST_CASE("LangChain: withStructuredOutput (zod)", "[e2e][sdk][langchain][chat]")
{
    run_chat_case(langchain, "structured");
}

TEST_CASE("LangChain: OpenAIEmbeddings", "[e2e][sdk][langchain][embeddings]")
{
    run_embeddings_case(langchain, "embeddings");
}

TEST_CASE("LangChain: ChatOpenAI with useResponsesApi (invoke, stream, structured, tools)",
          "[e2e][sdk][langchain][responses]")
{
    run_responses_case(langchain, "responses");
}
