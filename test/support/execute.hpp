#pragma once

// Runs one client operation to completion on an io_context, with a guard so
// that a hang fails the test instead of stalling the suite.

#include <dynalock/dynamodb_client.hpp>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <optional>
#include <tuple>

namespace dynalock::test {

template <class Request>
std::tuple<error_code, dynamodb::response_t<Request>> execute(
    boost::asio::io_context& io, dynamodb::client& c, Request req,
    dynamodb::operation_options opts = {},
    std::chrono::steady_clock::duration guard = std::chrono::seconds(60)) {
    std::optional<std::tuple<error_code, dynamodb::response_t<Request>>> out;
    c.async_execute(std::move(req), opts, [&](error_code ec, dynamodb::response_t<Request> r) {
        out.emplace(ec, std::move(r));
    });
    io.restart();
    const auto until = std::chrono::steady_clock::now() + guard;
    while (!out && io.run_one_until(until) != 0) {
    }
    if (!out) {
        ADD_FAILURE() << "the operation did not complete within the guard time";
        return {make_error_code(errc::timeout), {}};
    }
    return std::move(*out);
}

}  // namespace dynalock::test
