#pragma once

// The DynamoDB JSON protocol, sans-io: request bodies out, response bodies in.
// Every request is a POST of `content_type` with header `X-Amz-Target:
// operation<Request>::target`; a 2xx body goes to `decode`, anything else to
// `parse_error`.

#include <dynalock/diagnostics.hpp>
#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/error.hpp>

#include "dynamodb/crc32.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::dynamodb {

inline constexpr std::string_view content_type = "application/x-amz-json-1.0";

/// What a request type is on the wire: its X-Amz-Target and its response type.
template <class Request>
struct operation;

#define DYNALOCK_DYNAMODB_OPERATION(request_type, response_type, name)        \
    template <>                                                               \
    struct operation<request_type> {                                          \
        using response = response_type;                                       \
        static constexpr std::string_view target = "DynamoDB_20120810." name; \
    }

DYNALOCK_DYNAMODB_OPERATION(get_item_request, get_item_response, "GetItem");
DYNALOCK_DYNAMODB_OPERATION(put_item_request, put_item_response, "PutItem");
DYNALOCK_DYNAMODB_OPERATION(update_item_request, update_item_response, "UpdateItem");
DYNALOCK_DYNAMODB_OPERATION(delete_item_request, delete_item_response, "DeleteItem");
DYNALOCK_DYNAMODB_OPERATION(query_request, query_response, "Query");
DYNALOCK_DYNAMODB_OPERATION(scan_request, scan_response, "Scan");
DYNALOCK_DYNAMODB_OPERATION(transact_write_items_request, transact_write_items_response,
                            "TransactWriteItems");
DYNALOCK_DYNAMODB_OPERATION(create_table_request, create_table_response, "CreateTable");
DYNALOCK_DYNAMODB_OPERATION(describe_table_request, describe_table_response, "DescribeTable");
DYNALOCK_DYNAMODB_OPERATION(delete_table_request, delete_table_response, "DeleteTable");
DYNALOCK_DYNAMODB_OPERATION(update_time_to_live_request, update_time_to_live_response,
                            "UpdateTimeToLive");
DYNALOCK_DYNAMODB_OPERATION(describe_time_to_live_request, describe_time_to_live_response,
                            "DescribeTimeToLive");

#undef DYNALOCK_DYNAMODB_OPERATION

// --- encoding -------------------------------------------------------------------
// Each writes the JSON body of the request into `body`, replacing its content
// and keeping its capacity, so a caller that reuses one string allocates
// nothing in the steady state. Encoding does not validate: see validate.hpp.

void encode(const get_item_request& request, std::string& body);
void encode(const put_item_request& request, std::string& body);
void encode(const update_item_request& request, std::string& body);
void encode(const delete_item_request& request, std::string& body);
void encode(const query_request& request, std::string& body);
void encode(const scan_request& request, std::string& body);
void encode(const transact_write_items_request& request, std::string& body);
void encode(const create_table_request& request, std::string& body);
void encode(const describe_table_request& request, std::string& body);
void encode(const delete_table_request& request, std::string& body);
void encode(const update_time_to_live_request& request, std::string& body);
void encode(const describe_time_to_live_request& request, std::string& body);

/// Room for a lock's writes and reads at once, rather than doubling from a
/// few bytes (a heartbeat's UpdateItem is about 500 bytes and grew through
/// seven allocations and copies). Its heap chunk (with the terminating null
/// and glibc's 8-byte header, rounded to 16) stays under 1,024 bytes, where
/// glibc's large requests begin: when a burst of requests has emptied the
/// per-thread cache, each large request first consolidates every free small
/// chunk (malloc_consolidate in the heartbeat profile).
inline constexpr std::size_t initial_body_capacity = 984;

/// An empty string with room for a request body: one that a finished request
/// gave back on this thread (recycle_body) when there is one, otherwise a new
/// one with initial_body_capacity. Heartbeats come in bursts of dozens, too
/// many for glibc's per-thread cache, so each fresh body was a slow malloc.
std::string new_body();

/// Keeps the room of `body`, which no one reads any more, for a later
/// new_body on this thread. Up to a bound, and only room of a lock's size:
/// a large page's buffer is freed.
void recycle_body(std::string&& body) noexcept;

template <class Request>
std::string encode(const Request& request) {
    std::string body = new_body();
    encode(request, body);
    return body;
}

// --- decoding of 2xx bodies --------------------------------------------------------
// Each fills `response` from the body. Anything that is not the JSON DynamoDB
// sends gives errc::malformed_response with the reason in `diag.message`
// (`response` is then unspecified). Never throws for any input.

error_code decode(std::string_view body, get_item_response& response, diagnostics& diag);
error_code decode(std::string_view body, put_item_response& response, diagnostics& diag);
error_code decode(std::string_view body, update_item_response& response, diagnostics& diag);
error_code decode(std::string_view body, delete_item_response& response, diagnostics& diag);
/// Query and Scan.
error_code decode(std::string_view body, item_page& response, diagnostics& diag);
error_code decode(std::string_view body, transact_write_items_response& response,
                  diagnostics& diag);
error_code decode(std::string_view body, create_table_response& response, diagnostics& diag);
error_code decode(std::string_view body, describe_table_response& response, diagnostics& diag);
error_code decode(std::string_view body, delete_table_response& response, diagnostics& diag);
error_code decode(std::string_view body, update_time_to_live_response& response, diagnostics& diag);
error_code decode(std::string_view body, describe_time_to_live_response& response,
                  diagnostics& diag);

// --- errors -------------------------------------------------------------------------

/// Server text (or values from a table) kept as data for messages: at most
/// `limit` bytes (cut before a UTF-8 character, "..." added), control
/// characters written as escapes, so it cannot forge log lines or terminal
/// escapes.
std::string sanitized(std::string_view text, std::size_t limit);

/// Maps a non-2xx answer to its errc and fills `diag` (aws_type without its
/// prefix, the server's message sanitized and truncated, status, request id;
/// for ConditionalCheckFailedException with ALL_OLD, `diag.item`). A body that
/// is not JSON falls back to the HTTP status. Call only for status ≥ 300; a 2xx
/// status gives errc::malformed_response.
error_code parse_error(unsigned http_status, std::string_view body, std::string_view request_id,
                       diagnostics& diag);

/// The CancellationReasons of a TransactionCanceledException body, one per
/// transaction entry. errc::malformed_response (with `diag.message`) when the
/// body has none or they are malformed; `diag` is otherwise untouched.
error_code parse_cancellation_reasons(std::string_view body,
                                      std::vector<cancellation_reason>& reasons, diagnostics& diag);

}  // namespace dynalock::dynamodb
