#pragma once

#include "aws/endpoint.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

#include <dynalock/error.hpp>
#include <dynalock/http_options.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dynalock::http {

/// Where a pool connects (`aws::endpoint`). For TLS, `host` is also the
/// SNI name and the name the certificate must match (a DNS name or an IP
/// address literal).
using aws::endpoint;

struct exchange_result {
    /// Empty on success (any HTTP status counts as success). Otherwise an
    /// `errc` (timeout, connect_failed, tls_failed, connection_lost,
    /// malformed_response, response_too_large, invalid_argument) or
    /// `boost::asio::error::operation_aborted` (cancelled, or the pool closed).
    error_code ec;
    /// False only when the request certainly did not reach the server, so a
    /// failure with `request_sent == false` is never ambiguous.
    bool request_sent = false;
    /// On failure, a human-readable explanation for `diagnostics::message`
    /// (for TLS it carries OpenSSL's reason, e.g. a certificate verify error).
    std::string detail;
};

struct pool_state;

/// Keep-alive HTTP/1.1 connections to one endpoint, plain or TLS.
///
/// Threading: not thread-safe. The pool, every `async_exchange` and its
/// handler must run on the same single-threaded execution context (one
/// io_context thread, or one strand) as the pool's executor.
///
/// Lifetime: the pool may be destroyed (or `close()`d) while exchanges are in
/// flight: their connections are closed, and they complete with
/// `operation_aborted` once the executor runs them; nothing dangles.
class connection_pool {
public:
    connection_pool(boost::asio::any_io_executor executor, endpoint target, http_options options);
    ~connection_pool();
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    /// Sends `req` and reads the response into `res`, all before `deadline`
    /// (which covers waiting for a free connection, resolve, connect, TLS
    /// handshake, write and read). Reuses the most recently idle connection;
    /// when a reused connection turns out closed by the server before any
    /// response byte arrived, retries once on a fresh connection (only a
    /// `req.repeatable` request: otherwise that fails, `request_sent`). A response
    /// with `Connection: close` (or HTTP/1.0 without keep-alive) closes its
    /// connection. `req` and `res` must outlive the operation; after a failure, `res`
    /// holds whatever part of a response was read. Completion signature
    /// `void(exchange_result)`; the handler runs on the pool's thread (see
    /// Threading), and never before this function returns.
    ///
    /// Per-operation cancellation: terminal. It closes the connection in use and
    /// completes with `operation_aborted`; `request_sent` tells whether the request
    /// may have been delivered. Partial and total cancellation are not supported: a
    /// half-written or half-read HTTP exchange leaves nothing to resume, so any
    /// cancellation that the caller's filter lets through acts as terminal.
    template <class CompletionToken = boost::asio::deferred_t>
    auto async_exchange(const request& req, response& res,
                        std::chrono::steady_clock::time_point deadline,
                        CompletionToken&& token = {}) {
        return boost::asio::async_initiate<CompletionToken, void(exchange_result)>(
            [](auto handler, connection_pool* pool, const request* r, response* out,
               std::chrono::steady_clock::time_point until) {
                pool->start(*r, *out, until, std::move(handler));
            },
            token, this, &req, &res, deadline);
    }

    /// Closes every connection, fails waiting and in-flight exchanges with
    /// `operation_aborted`, and makes later exchanges fail the same way.
    void close();

    /// Connections open or being opened (idle + busy), for metrics and tests.
    std::size_t open_connections() const noexcept;
    /// Connections parked for reuse.
    std::size_t idle_connections() const noexcept;

private:
    void start(const request& req, response& res, std::chrono::steady_clock::time_point deadline,
               boost::asio::any_completion_handler<void(exchange_result)> handler);

    // Shared with every exchange in flight, so that destroying the pool leaves
    // them something valid to finish against.
    std::shared_ptr<pool_state> state_;
};

}  // namespace dynalock::http
