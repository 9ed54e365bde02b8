#pragma once

/// \file
/// The error codes of dynalock and how to classify them.

// Every header with asynchronous operations includes this one, and with it
// the check of the compiler.
#include <dynalock/compiler.hpp>

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace dynalock {

/// The error type of every operation: Boost.System's, so that Asio's own
/// errors (such as asio::error::operation_aborted) and dynalock's (errc) travel
/// in one type.
using boost::system::error_code;

/// Errors raised by dynalock. Each distinct failure has its own code so that a
/// log line explains itself; `is_retryable` and `is_ambiguous` classify them.
enum class errc {
    // Answers from DynamoDB, mapped from the `__type` of an error response.
    conditional_check_failed = 1,  ///< ConditionalCheckFailedException
    transaction_canceled,          ///< TransactionCanceledException
    transaction_conflict,          ///< TransactionConflictException
    throttled,  ///< ThrottlingException, ProvisionedThroughputExceeded, RequestLimitExceeded
    resource_not_found,         ///< ResourceNotFoundException (table missing)
    resource_in_use,            ///< ResourceInUseException (table exists / is being changed)
    validation_failed,          ///< ValidationException and other malformed-request answers
    item_collection_too_large,  ///< ItemCollectionSizeLimitExceededException
    access_denied,              ///< AccessDeniedException
    unrecognized_client,        ///< UnrecognizedClientException, InvalidClientTokenId: unknown key
    signature_rejected,         ///< InvalidSignatureException, SignatureDoesNotMatch
    credentials_expired,        ///< ExpiredTokenException
    clock_skew,                 ///< the server rejected our signing time
    internal_server_error,      ///< InternalServerError, any other 5xx
    service_unavailable,        ///< ServiceUnavailable (503)
    unknown_service_error,      ///< an error `__type` we do not know

    // Client-side configuration and input.
    credentials_unavailable,  ///< no credentials could be found or loaded
    region_missing,           ///< no region configured anywhere
    invalid_endpoint,         ///< an endpoint URL we cannot use
    invalid_config,           ///< a malformed shared config/credentials file
    invalid_argument,         ///< a request rejected before it was sent
    value_too_large,          ///< an item or key over DynamoDB's size limits

    // Transport and response.
    timeout,             ///< the operation's deadline passed
    connect_failed,      ///< could not connect (refused, unreachable, resolve failure)
    tls_failed,          ///< TLS handshake or certificate verification failed
    connection_lost,     ///< the connection closed or reset mid-request
    response_too_large,  ///< the response exceeded the configured size limit
    malformed_response,  ///< bytes that are not a valid HTTP response or not the JSON we expect
    crc32_mismatch,      ///< the body does not match `x-amz-crc32`

    // The lock.
    lock_not_granted,  ///< another owner held the lock for the whole wait (or try_acquire found it
                       ///< held)
    lease_lost,        ///< the lease ended before the operation (lease::reason() says why)
    client_closed,     ///< the lock client was closed
    /// A lock item that is not one: an attribute of the wrong type or value,
    /// or one missing (lock_record::malformed says which, with its value).
    malformed_item,
    /// The lock's fence is at the largest value a client can hold: no grant
    /// can raise it, so none is written.
    fence_exhausted,
};

/// The category of errc codes, named "dynalock"; its message() is a
/// sentence for each code.
const boost::system::error_category& dynalock_category() noexcept;

/// An error_code of dynalock_category(). Called by error_code's constructor,
/// so that `error_code ec = errc::timeout;` and `ec == errc::timeout` work.
inline error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), dynalock_category()};
}

/// True for failures where repeating the same request may succeed (throttling,
/// transient server and transport faults). A conditional write that failed its
/// condition is never retryable. False for every code of another category.
bool is_retryable(error_code ec) noexcept;

/// True when a request may have taken effect although we saw a failure: the
/// request was (or may have been) sent and no definite answer came back
/// (timeout, lost connection, 5xx, an unreadable or oversized response). A
/// conditional write that failed this way must be settled with a read. False
/// for every code of another category.
bool is_ambiguous(error_code ec) noexcept;

}  // namespace dynalock

// Lets an errc convert to an error_code. Hidden from the reference: doxygen
// cannot place a specialization named from outside its namespace.
/// \cond
template <>
struct boost::system::is_error_code_enum<dynalock::errc> : std::true_type {};
/// \endcond
