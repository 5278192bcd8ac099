#pragma once
// curl as a user runs it, for the e2e programs: OGP_CURL_PATH is their compile definition
// (tests/e2e/CMakeLists.txt), so this helper is a header rather than part of ogp_test_support.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.hpp"

#ifndef OGP_CURL_PATH
#error "support/curl.hpp needs OGP_CURL_PATH (tests/e2e/CMakeLists.txt defines it)"
#endif

namespace ogp::test {

/// One curl run: its exit code, the HTTP status written by `-w \n%{http_code}` (0 when there
/// is none), what curl wrote before it, its stderr and how long it took.
struct curl_run
{
    int exit_code = -1;
    int status = 0;
    std::string body;
    std::string err;
    double seconds = 0;
};

/// Runs curl with -sS, --max-time 20 and `-w \n%{http_code}` before `args`, killed after 30 s.
/// Fails the test when curl was not found at configure time or did not exit by itself; a
/// non-zero exit code is the caller's to judge (some tests expect one).
inline curl_run run_curl(const std::vector<std::string>& args)
{
    const std::string path = OGP_CURL_PATH;
    if (path.empty() || !std::filesystem::exists(path)) {
        FAIL("curl not found at configure time (scripts/install-deps installs it)");
    }
    std::vector<std::string> argv{path, "-sS", "--max-time", "20", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_program(argv, std::chrono::seconds(30));
    REQUIRE(r.status.has_value());
    REQUIRE(r.status->exited);
    curl_run out;
    out.exit_code = r.status->code;
    out.err = r.err;
    out.seconds = r.seconds;
    auto nl = r.out.rfind('\n');
    if (nl != std::string::npos) {
        out.status = std::atoi(r.out.c_str() + nl + 1);
        out.body = r.out.substr(0, nl);
    }
    return out;
}

}  // namespace ogp::test
