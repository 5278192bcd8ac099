// The official OpenAI Node SDK (openai@6, installed into <build>/e2e-node by the ctest fixture
// e2e:npm_install_openai) against the daemon backed by oci-genai-mock: each test case starts the
// stack and runs one case of sdk/cases.mjs with the machine's node.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "support/http.hpp"
#include "support/json.hpp"
#include "support/net.hpp"
#include "support/stack.hpp"

using namespace ogp::test;

namespace {

// Runs `node sdk/cases.mjs <name>` against a fresh stack; the case's output is shown on failure.
void run_case(const std::string& name)
{
    const std::string node = OGP_NODE_PATH;
    if (node.empty() || !std::filesystem::exists(node)) {
        FAIL(
            "node not found at configure time: the OpenAI SDK tests need Node.js 20 and npm "
            "(scripts/install-deps --test installs them), then re-run cmake");
    }
    const std::string prefix = OGP_NODE_PREFIX;
    if (!std::filesystem::exists(prefix + "/node_modules/openai/package.json")) {
        FAIL("the openai SDK is not installed in " + prefix +
             ": run the fixture test e2e:npm_install_openai (ctest -R e2e runs it first)");
    }
    mock m;
    proxy d(m);
    auto r = run_program({node, std::string(OGP_E2E_SDK_DIR) + "/cases.mjs", name}, 60s,
                         {"OGP_BASE_URL=" + d.base_url(), "OGP_API_KEY=" + std::string(test_key),
                          "OGP_NODE_PREFIX=" + prefix});
    INFO("node stdout:\n" << r.out << "\nnode stderr:\n" << r.err);
    REQUIRE(r.status.has_value());  // not killed at the timeout
    CHECK(r.status->success());
    CHECK(r.out.find("PASS " + name) != std::string::npos);
    CHECK(m.stats().rejected_signatures == 0);
}

}  // namespace

TEST_CASE("openai SDK: chat completions", "[e2e][sdk]")
{
    run_case("chat");
}

TEST_CASE("openai SDK: streaming", "[e2e][sdk]")
{
    run_case("stream");
}

TEST_CASE("openai SDK: tool call round trip", "[e2e][sdk]")
{
    run_case("tools");
}

TEST_CASE("openai SDK: embeddings with the default base64 encoding", "[e2e][sdk]")
{
    run_case("embeddings");
}

TEST_CASE("openai SDK: models", "[e2e][sdk]")
{
    run_case("models");
}

TEST_CASE("openai SDK: error classes", "[e2e][sdk]")
{
    run_case("errors");
}
