#pragma once

#include "aws/endpoint.hpp"
#include "http/connection_pool.hpp"

#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace dynalock::aws {

/// True for the hosts plain HTTP may carry credentials from: loopback, and the
/// link-local addresses of ECS (169.254.170.2) and EKS Pod Identity
/// (169.254.170.23, fd00:ec2::23).
bool is_trusted_plain_http_host(std::string_view host);

/// One request on a connection of its own, within `deadline` and with
/// connecting bounded by `connect_timeout`. Transport failures come back with
/// their code and `diag.message` = "<source>: <what happened>".
boost::asio::awaitable<error_code> exchange_once(boost::asio::any_io_executor executor,
                                                 const aws::endpoint& target,
                                                 const http::request& req, http::response& res,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 std::chrono::milliseconds connect_timeout,
                                                 std::string_view source, diagnostics& diag);

/// "<source>: <url target> answered HTTP <status>", with the start of the body.
error_code unexpected_status(std::string_view source, std::string_view target,
                             const http::response& res, diagnostics& diag);

}  // namespace dynalock::aws
