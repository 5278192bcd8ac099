#pragma once

#include <string_view>

namespace ogp {

/// Sends `state` (e.g. "READY=1", "STOPPING=1") to systemd over `$NOTIFY_SOCKET`
/// (a path or an abstract `@name`). A no-op without the variable; never throws.
/// Returns true when a datagram was sent.
bool systemd_notify(std::string_view state);

}  // namespace ogp
