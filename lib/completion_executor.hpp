#pragma once

// The executor a handler is completed on, found without the heap.

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/io_context.hpp>

namespace dynalock::detail {

/// The executor associated with `handler`, or `fallback` when it has none.
///
/// Asio holds an `any_io_executor` converted to an `any_completion_executor`
/// (the candidate for a type-erased handler, and again the result asked for
/// outstanding work) in a shared, reference-counted wrapper: an allocation per
/// conversion, several per operation, and atomic counts on every copy. The
/// `io_context` executor it usually wraps is stored inline and stands for it
/// exactly: it is the candidate, and it replaces a handler's own converted
/// executor (a coroutine's), so that at least the copies and conversions after
/// this one are inline.
template <class Handler>
boost::asio::any_completion_executor completion_executor(
    const Handler& handler, const boost::asio::any_io_executor& fallback) {
    namespace asio = boost::asio;
    using io_executor = asio::io_context::executor_type;
    const auto* io = fallback.target<io_executor>();
    asio::any_completion_executor found = io != nullptr
                                              ? asio::get_associated_executor(handler, *io)
                                              : asio::get_associated_executor(handler, fallback);
    if (const auto* found_io = found.target<io_executor>()) {
        return asio::any_completion_executor(*found_io);
    }
    return found;
}

}  // namespace dynalock::detail
