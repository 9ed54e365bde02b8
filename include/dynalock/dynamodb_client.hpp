#pragma once

/// \file
/// The asynchronous DynamoDB client.

#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/error.hpp>
#include <dynalock/http_options.hpp>
#include <dynalock/retry_options.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace dynalock::dynamodb {

/// How a client finds its region, endpoint and credentials. Empty fields are
/// resolved the way the AWS SDKs do (environment, then the shared config and
/// credentials files of `profile`); see README "Configuration".
struct client_options {
    /// The region, such as "eu-west-1"; empty: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the
    /// profile's `region` (the constructor throws errc::region_missing when
    /// none has one).
    std::string region{};
    /// `http://host:port` or `https://host[:port]`; empty: from the environment
    /// or profile, else the public endpoint of `region`.
    std::string endpoint_url{};
    /// Profile of the shared config files; empty: `AWS_PROFILE`, else `default`.
    /// A profile named here is preferred to keys in the environment (as in
    /// botocore); one from `AWS_PROFILE` is not.
    std::string profile{};
    /// Static credentials; empty: the AWS SDKs' chain (see README "Where
    /// credentials come from"), cached and refreshed before they expire.
    std::optional<dynalock::credentials> credentials{};
    /// Temporary credentials from the chain are refreshed this long before
    /// they expire (but not before half their lifetime has passed), so that no
    /// request waits for a refresh or is signed with expired credentials.
    /// At most 12 hours.
    std::chrono::seconds credentials_refresh_margin{std::chrono::minutes(5)};
    /// Told of each fetch of credentials from the chain: the first, each
    /// refresh, and each failure (the old credentials stay in use while
    /// valid; the next try is after a pause). Called on the client's
    /// executor from its queue, never after the client is destroyed; never
    /// with static `credentials`. The lock client sees only a store, so
    /// these are not lock_client_options::on_event's (docs/observability.md).
    std::function<void(const dynalock::credentials_event&)> on_credentials{};
    /// The connection pool: connections, timeouts, TLS trust.
    http_options http{};
    /// How failed requests are retried.
    retry_options retry{};
    /// Deadline of an operation that names none, from its start, covering
    /// every attempt and every backoff. At most 1 hour.
    std::chrono::milliseconds default_timeout{std::chrono::seconds(10)};
};

/// Per-call settings of client::async_execute.
struct operation_options {
    /// Absolute deadline for all attempts; unset: now + client_options::default_timeout.
    std::optional<std::chrono::steady_clock::time_point> deadline{};
    /// When set, filled with what the server said on failure (and the request id on success).
    dynalock::diagnostics* diagnostics = nullptr;
};

/// An asynchronous DynamoDB client speaking the JSON protocol over HTTP/1.1
/// (keep-alive connection pool, TLS), signing every request with SigV4 and
/// retrying in AWS "standard" mode.
///
/// Retries: throttling and transient failures are retried with backoff within
/// the operation's deadline, never past it. A failure that may hide a
/// completed write (timeout, 5xx, connection lost after sending) is retried
/// only for requests that are safe to repeat (reads, unconditional puts and
/// deletes, transactions with a client request token); otherwise it is
/// returned, and `is_ambiguous(ec)` says so. A failed condition is never
/// retried.
///
/// Thread safety: distinct objects safe; a shared object is not: use it from
/// one thread (or strand) of its executor.
class client {
public:
    /// The executor every operation runs on and completes on.
    using executor_type = boost::asio::any_io_executor;

    /// Resolves region and endpoint now and throws `std::system_error` with a
    /// message naming the missing setting or the malformed file and line.
    /// Missing credentials are not an error here: each operation then fails
    /// with `errc::credentials_unavailable` and the reason. Options out of
    /// their documented bounds throw `std::system_error` with
    /// errc::invalid_argument, naming the option.
    client(executor_type ex, client_options opts = {});
    ~client();
    /// Takes over the connections and settings of the client moved from,
    /// which may then only be destroyed or assigned to.
    client(client&&) noexcept;
    /// Takes over the connections and settings of the client moved from, as
    /// the move constructor does.
    client& operator=(client&&) noexcept;

    /// The executor given to the constructor.
    executor_type get_executor() const noexcept;
    /// The region in use (after resolution), such as "eu-west-1".
    const std::string& region() const noexcept;
    /// The endpoint in use (after resolution): the configured one, or the
    /// public endpoint of the region, such as "https://dynamodb.eu-west-1.amazonaws.com".
    const std::string& endpoint_url() const noexcept;

    /// Runs one DynamoDB operation: `co_await c.async_execute(get_item_request{...})`.
    ///
    /// Completion signature: `void(error_code, response_t<Request>)`.
    ///
    /// Per-operation cancellation: terminal cancellation is supported, at any
    /// point (waiting for a connection, in the exchange, in a retry backoff).
    /// The operation completes with `asio::error::operation_aborted`; a write
    /// cancelled after it was sent may have taken effect. The client stays
    /// usable. Partial and total cancellation are not supported: an HTTP
    /// exchange cut in the middle leaves nothing consistent to resume.
    template <request Request,
              boost::asio::completion_token_for<void(error_code, response_t<Request>)> Token =
                  boost::asio::deferred_t>
    auto async_execute(Request req, operation_options opts, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, response_t<Request>)>(
            [this](auto handler, Request req, operation_options opts) {
                this->start(std::move(req), opts, std::move(handler));
            },
            token, std::move(req), opts);
    }

    /// Runs one DynamoDB operation with default operation_options (deadline
    /// client_options::default_timeout from now, no diagnostics); as the
    /// overload above otherwise.
    template <request Request,
              boost::asio::completion_token_for<void(error_code, response_t<Request>)> Token =
                  boost::asio::deferred_t>
    auto async_execute(Request req, Token&& token = {}) {
        return async_execute(std::move(req), operation_options{}, std::forward<Token>(token));
    }

private:
    template <request Request>
    void start(Request req, operation_options opts,
               boost::asio::any_completion_handler<void(error_code, response_t<Request>)> handler);

    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace dynalock::dynamodb
