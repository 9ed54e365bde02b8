#pragma once

// The executor a handler is completed on, found without the heap.

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/io_context.hpp>

namespace dynalock::detail {

/// The executor associated with `handler`, or `fallback` when it has none.
///
/// An `any_io_executor` converted to an `any_completion_executor` (as
/// Asio does with the candidate for a type-erased handler, and again when it
/// asks the result for outstanding work) is too big for the inline storage of
/// the latter: each conversion costs an allocation and shared reference counts,
/// several per operation. The `io_context` executor it usually wraps fits, and
/// stands for it exactly.
template <class Handler>
boost::asio::any_completion_executor completion_executor(
    const Handler& handler, const boost::asio::any_io_executor& fallback) {
    namespace asio = boost::asio;
    if (const auto* io = fallback.target<asio::io_context::executor_type>()) {
        return asio::get_associated_executor(handler, *io);
    }
    return asio::get_associated_executor(handler, fallback);
}

}  // namespace dynalock::detail
