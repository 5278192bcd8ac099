#pragma once
// Asio vocabulary shared by every coroutine of the daemon.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ogp {

/// Completion token for the data path: an awaited operation yields a tuple (error_code first)
/// instead of throwing, so a failed read or write is a value the caller handles.
inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace ogp
