#pragma once

namespace ogp {

/// Runs the daemon as the command line asks (`--config`, `--check-config`, `--version`,
/// `--help`) and returns the process exit code: 0 on a clean stop, 2 for bad usage or
/// configuration (one line per problem on stderr), 1 for a fatal start-up error.
int run_daemon(int argc, char** argv);

}  // namespace ogp
