// Codex CLI (npm @openai/codex at OGP_CODEX_VERSION, installed into OGP_CODEX_PREFIX by the ctest
// fixture e2e:npm_install_codex) configured with a custom model provider whose base URL is the
// daemon (`wire_api = "responses"`), run non-interactively (`codex exec`) against the daemon
// backed by oci-genai-mock: each case must complete one turn. docs/clients.md holds the same
// configuration as a manual check, and what Codex sends.
//
// Loopback only: Codex runs with an empty environment (env -i) but PATH, a private HOME and
// CODEX_HOME, every proxy variable pointing at a closed loopback port (NO_PROXY for the daemon)
// and the features that call chatgpt.com or github.com (plugins, apps, update checks, model
// discovery) turned off; each run is killed after a hard timeout.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/json.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "support/stack.hpp"
#include "support/temp_dir.hpp"

using namespace ogp::test;

namespace {

// `codex exec` runs under coreutils timeout, which signals its whole process group (node, the
// native binary node spawns, the commands Codex runs): nothing outlives a hung run. The
// harness' own bound (it kills only its direct child) is the backstop.
constexpr int codex_timeout_s = 35;
constexpr ms harness_timeout = 45s;
constexpr const char* timeout_path = "/usr/bin/timeout";

std::string read_text(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The launcher bin/codex.js of the pinned package; FAILs (never skips) with the reason when
/// node, the package, its version or its native binary is missing.
std::string codex_launcher()
{
    if (!std::filesystem::exists(timeout_path)) {
        FAIL(timeout_path << " (coreutils) not found: the Codex CLI tests run codex under it");
    }
    const std::string node = OGP_NODE_PATH;
    if (node.empty() || !std::filesystem::exists(node)) {
        FAIL(
            "node not found at configure time: the Codex CLI tests need Node.js 20 and npm "
            "(scripts/install-deps --test installs them), then re-run cmake");
    }
    const std::string scope = std::string(OGP_CODEX_PREFIX) + "/node_modules/@openai";
    const std::string manifest = scope + "/codex/package.json";
    if (!std::filesystem::exists(manifest)) {
        FAIL("@openai/codex is not installed in " << OGP_CODEX_PREFIX
                                                  << ": run the fixture test e2e:npm_install_codex "
                                                     "(ctest -R e2e:codex runs it first)");
    }
    const std::string version = json_string(read_text(manifest), "/version");
    if (version != OGP_CODEX_VERSION) {
        FAIL("@openai/codex " << version << " is installed in " << OGP_CODEX_PREFIX
                              << ", the tests pin " << OGP_CODEX_VERSION
                              << ": remove that node_modules and re-run e2e:npm_install_codex");
    }
    // The native binary comes in an optional dependency (@openai/codex-linux-x64, ...).
    bool native = false;
    for (const auto& entry : std::filesystem::directory_iterator(scope)) {
        native = native || entry.path().filename().string().starts_with("codex-linux-");
    }
    if (!native) {
        FAIL("@openai/codex is installed in " << OGP_CODEX_PREFIX
                                              << " without its native binary package "
                                                 "(@openai/codex-linux-*): npm skipped optional "
                                                 "dependencies (--omit=optional?)");
    }
    return scope + "/codex/bin/codex.js";
}

/// Which of Codex's tools a run keeps.
enum class codex_tools {
    none,  ///< every tool off: the request carries `tools: []`
    all,   ///< Codex's defaults
};

/// config.toml for a custom provider `ogp` at `base_url`, model `model` (an alias of the
/// daemon). Turning tools off matters because the mock calls the first tool it is given
/// whenever there is one.
std::string codex_config(const std::string& base_url, codex_tools tools,
                         const std::string& model = "gpt-4o-mini")
{
    std::string c = "model = \"" + model +
                    "\"\n"
                    "model_provider = \"ogp\"\n"
                    "approval_policy = \"never\"\n"
                    "sandbox_mode = \"read-only\"\n"
                    "check_for_update_on_startup = false\n";
    if (tools == codex_tools::none) {
        c += "web_search = \"disabled\"\n";
    }
    c += "\n[model_providers.ogp]\n"
         "name = \"oci-genai-proxy\"\n"
         "base_url = \"" +
         base_url +
         "\"\n"
         "env_key = \"OGP_KEY\"\n"
         "wire_api = \"responses\"\n"
         "request_max_retries = 0\n"
         "stream_max_retries = 0\n"
         "\n[analytics]\nenabled = false\n"
         "\n[otel]\nexporter = \"none\"\n"
         "\n[features]\n"
         "plugins = false\n"
         "remote_plugin = false\n"
         "plugin_sharing = false\n"
         "apps = false\n"
         "in_app_updates = false\n"
         "api_key_model_discovery = false\n"
         "unbounded_connection_retries = false\n";
    if (tools == codex_tools::none) {
        c += "shell_tool = false\n"
             "unified_exec = false\n"
             "view_image = false\n"
             "multi_agent = false\n"
             "goals = false\n"
             "\n[tools.experimental_request_user_input]\nenabled = false\n";
    }
    return c;
}

/// Runs `codex exec <prompt>` against the daemon `d` with a fresh CODEX_HOME.
program_result run_codex(const proxy& d, codex_tools tools, const std::string& prompt,
                         const std::string& model = "gpt-4o-mini")
{
    const std::string launcher = codex_launcher();
    temp_dir home;
    const std::string codex_home = home.path() + "/codex";
    const std::string work = home.path() + "/work";
    std::filesystem::create_directories(codex_home);
    std::filesystem::create_directories(work);
    std::ofstream(codex_home + "/config.toml") << codex_config(d.base_url(), tools, model);

    const char* path = std::getenv("PATH");
    const std::string dead_proxy = "http://127.0.0.1:" + std::to_string(closed_port());
    std::vector<std::string> argv{"/usr/bin/env",
                                  "-i",
                                  "PATH=" + std::string(path != nullptr ? path : "/usr/bin:/bin"),
                                  "HOME=" + home.path(),
                                  "CODEX_HOME=" + codex_home,
                                  "OGP_KEY=" + std::string(test_key),
                                  "NO_COLOR=1"};
    for (const char* var :
         {"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"}) {
        argv.push_back(std::string(var) + "=" + dead_proxy);
    }
    argv.insert(argv.end(),
                {"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost", timeout_path, "-k",
                 "3", std::to_string(codex_timeout_s), OGP_NODE_PATH, launcher, "exec",
                 "--skip-git-repo-check", "--ephemeral", "--color", "never", "-C", work, prompt});
    return run_program(argv, harness_timeout);
}

void require_turn_completed(const program_result& r, const proxy& d)
{
    INFO("codex stdout:\n"
         << r.out << "\ncodex stderr:\n"
         << r.err << "\ndaemon log:\n"
         << d.captured_stderr());
    INFO("codex ran " << r.seconds << " s");
    REQUIRE(r.status.has_value());  // not killed at the harness' timeout
    if (r.status->exited && r.status->code == 124) {
        FAIL("codex exec did not finish within " << codex_timeout_s << " s");
    }
    REQUIRE(r.status->success());
}

}  // namespace

TEST_CASE("codex exec: one turn of plain text", "[e2e][codex]")
{
    mock m;
    proxy d(m);
    const auto r = run_codex(d, codex_tools::none, "say hello");
    require_turn_completed(r, d);
    INFO("codex stdout:\n" << r.out << "\ncodex stderr:\n" << r.err);
    // The final message is the only thing `codex exec` writes to stdout.
    CHECK(r.out.find("Hello from the OCI mock. You said: say hello") != std::string::npos);
    const auto s = m.stats();
    CHECK(s.chat == 1);
    CHECK(s.rejected_signatures == 0);
}

TEST_CASE("codex exec: one turn with Codex tools, a function call round trip", "[e2e][codex]")
{
    // With tools the mock calls the first one (exec_command) with arguments of its own
    // ({"city":"Paris",...}); Codex rejects them (missing field `cmd`) and sends that back as
    // the function_call_output, which the mock's next answer quotes: "The tool returned: ...".
    mock m;
    proxy d(m);
    const auto r = run_codex(d, codex_tools::all, "say hello");
    require_turn_completed(r, d);
    INFO("codex stdout:\n" << r.out << "\ncodex stderr:\n" << r.err);
    CHECK(r.out.find("The tool returned:") != std::string::npos);
    CHECK(r.out.find("missing field") != std::string::npos);
    const auto s = m.stats();
    CHECK(s.chat == 2);
    CHECK(s.rejected_signatures == 0);
}

namespace {

// An alias named like a model Codex has metadata for: Codex then sends its freeform
// apply_patch (`type: custom`, a Lark grammar), a client-executed tool_search,
// `reasoning.effort` and `text.verbosity`, which the daemon offers to OCI as functions.
daemon_options known_model_alias()
{
    daemon_options o;
    o.models = "  - name: gpt-5.5\n    id: meta.llama-3.3-70b-instruct\n";
    return o;
}

}  // namespace

TEST_CASE("codex exec: a model name Codex knows, with its custom and tool_search tools",
          "[e2e][codex]")
{
    // As with gpt-4o-mini the mock calls the first tool (exec_command); the turn completes.
    mock m;
    proxy d(m, known_model_alias());
    const auto r = run_codex(d, codex_tools::all, "say hello", "gpt-5.5");
    require_turn_completed(r, d);
    INFO("codex stdout:\n" << r.out << "\ncodex stderr:\n" << r.err);
    CHECK(r.out.find("The tool returned:") != std::string::npos);
    const auto s = m.stats();
    CHECK(s.chat == 2);
    CHECK(s.rejected_signatures == 0);
}
