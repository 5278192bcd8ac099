#pragma once

#include <string>
#include <string_view>

#include "ogp/config/config.hpp"

namespace ogp {

/// Installs the process-wide spdlog logger: stderr, `text` or `json` lines (UTC timestamps),
/// at `cfg.level`. Call once at start-up, before any thread starts.
void setup_logging(const log_config& cfg);

/// A fresh request id: 32 lowercase hex characters from a CSPRNG.
std::string new_request_id();

/// True when a client-supplied `x-request-id` is safe to adopt and echo: 1..128 characters of
/// `[A-Za-z0-9._:-]`. Anything else is replaced by a generated id.
bool valid_request_id(std::string_view id);

}  // namespace ogp
