#pragma once

/// \file
/// Requests and responses of the DynamoDB operations dynalock speaks, as plain
/// aggregates named after the DynamoDB API (snake_case): `table_name` is
/// `TableName`, `condition_expression` is `ConditionExpression`. An empty
/// string or an empty map means "not sent"; the JSON encoding lives in
/// lib/dynamodb. The client checks each request before sending it (table name,
/// key shape, expression placeholders, sizes) and refuses a malformed one with
/// errc::invalid_argument or errc::value_too_large, the reason in diagnostics.

#include <dynalock/attribute_value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace dynalock::dynamodb {

/// `#name` placeholder to attribute name.
using expression_names = std::map<std::string, std::string>;
/// `:value` placeholder to value.
using expression_values = attribute_map;

/// ReturnValues. PutItem and DeleteItem accept only none and all_old.
enum class return_values {
    none,         ///< NONE: nothing (the default)
    all_old,      ///< ALL_OLD: the item as it was before the write
    updated_old,  ///< UPDATED_OLD: the updated attributes, as they were
    all_new,      ///< ALL_NEW: the item as it is after the write
    updated_new   ///< UPDATED_NEW: the updated attributes, as they are now
};

/// ReturnValuesOnConditionCheckFailure: all_old returns the item as it is when
/// the condition failed, saving a read.
enum class return_values_on_condition_check_failure {
    none,    ///< NONE: nothing (the default)
    all_old  ///< ALL_OLD: the item as it is, in diagnostics::item or cancellation_reason::item
};

/// Select of Query and Scan; unspecified leaves DynamoDB's default.
enum class select_attributes {
    unspecified,               ///< not sent: all attributes, or the projection when one is given
    all_attributes,            ///< ALL_ATTRIBUTES
    all_projected_attributes,  ///< ALL_PROJECTED_ATTRIBUTES (index queries)
    specific_attributes,       ///< SPECIFIC_ATTRIBUTES: those of the projection expression
    count,                     ///< COUNT: only the number of matching items
};

// --- single-item operations ---------------------------------------------------

/// GetItem: one item by its key.
struct get_item_request {
    std::string table_name{};  ///< TableName: 3 to 255 characters of a-z, A-Z, 0-9, _ . -
    item key{};                ///< Key: the partition key and, when the table has one, the sort key
    /// ConsistentRead: reflect every write that succeeded before the read.
    bool consistent_read = false;
    std::string projection_expression{};  ///< ProjectionExpression: the attributes to return
    expression_names expression_attribute_names{};  ///< ExpressionAttributeNames
};

/// The answer to GetItem.
struct get_item_response {
    /// Absent when no item has this key.
    std::optional<dynalock::item> item{};
};

/// PutItem: writes a whole item, replacing any with its key.
struct put_item_request {
    std::string table_name{};  ///< TableName
    dynalock::item item{};     ///< Item: the key attributes and every other attribute
    /// ConditionExpression: the write applies only when it holds
    /// (errc::conditional_check_failed otherwise).
    std::string condition_expression{};
    expression_names expression_attribute_names{};                ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};              ///< ExpressionAttributeValues
    dynamodb::return_values return_values = return_values::none;  ///< ReturnValues: none or all_old
    /// ReturnValuesOnConditionCheckFailure.
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// The answer to PutItem.
struct put_item_response {
    /// Present when `return_values` asked for them and there were any.
    std::optional<attribute_map> attributes{};
};

/// UpdateItem: changes attributes of an item, creating it when there is none.
struct update_item_request {
    std::string table_name{};         ///< TableName
    item key{};                       ///< Key
    std::string update_expression{};  ///< UpdateExpression, such as "SET #n = :v REMOVE #old"
    /// ConditionExpression: the write applies only when it holds
    /// (errc::conditional_check_failed otherwise).
    std::string condition_expression{};
    expression_names expression_attribute_names{};                ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};              ///< ExpressionAttributeValues
    dynamodb::return_values return_values = return_values::none;  ///< ReturnValues
    /// ReturnValuesOnConditionCheckFailure.
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// The answer to UpdateItem.
struct update_item_response {
    /// Present when `return_values` asked for them and there were any.
    std::optional<attribute_map> attributes{};
};

/// DeleteItem: deletes an item by its key (success when there is none).
struct delete_item_request {
    std::string table_name{};  ///< TableName
    item key{};                ///< Key
    /// ConditionExpression: the delete applies only when it holds
    /// (errc::conditional_check_failed otherwise).
    std::string condition_expression{};
    expression_names expression_attribute_names{};                ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};              ///< ExpressionAttributeValues
    dynamodb::return_values return_values = return_values::none;  ///< ReturnValues: none or all_old
    /// ReturnValuesOnConditionCheckFailure.
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// The answer to DeleteItem.
struct delete_item_response {
    /// Present when `return_values` asked for them and there was an item.
    std::optional<attribute_map> attributes{};
};

// --- Query and Scan -------------------------------------------------------------

/// Query: one page of the items of one partition key value (of the table or of
/// an index), in sort key order.
struct query_request {
    std::string table_name{};  ///< TableName
    std::string index_name{};  ///< IndexName; empty: the table itself
    /// KeyConditionExpression, required, such as "#pk = :p AND begins_with(#sk, :s)".
    std::string key_condition_expression{};
    /// FilterExpression: applied after the read, so filtered-out items still
    /// count against `limit` and capacity.
    std::string filter_expression{};
    std::string projection_expression{};              ///< ProjectionExpression
    expression_names expression_attribute_names{};    ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};  ///< ExpressionAttributeValues
    /// Limit: at most this many items read for the page (at least 1); unset:
    /// DynamoDB's 1 MB pages.
    std::optional<std::uint32_t> limit{};
    bool consistent_read = false;    ///< ConsistentRead (not on global secondary indexes)
    bool scan_index_forward = true;  ///< ScanIndexForward: false for descending sort keys
    select_attributes select = select_attributes::unspecified;  ///< Select
    /// The previous page's `last_evaluated_key`.
    std::optional<item> exclusive_start_key{};
};

/// Scan: one page of every item of a table or index, in no particular order.
struct scan_request {
    std::string table_name{};  ///< TableName
    std::string index_name{};  ///< IndexName; empty: the table itself
    /// FilterExpression: applied after the read, so filtered-out items still
    /// count against `limit` and capacity.
    std::string filter_expression{};
    std::string projection_expression{};              ///< ProjectionExpression
    expression_names expression_attribute_names{};    ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};  ///< ExpressionAttributeValues
    /// Limit: at most this many items read for the page (at least 1); unset:
    /// DynamoDB's 1 MB pages.
    std::optional<std::uint32_t> limit{};
    bool consistent_read = false;                               ///< ConsistentRead
    select_attributes select = select_attributes::unspecified;  ///< Select
    /// The previous page's `last_evaluated_key`.
    std::optional<item> exclusive_start_key{};
    /// Parallel scan: both set, or neither.
    std::optional<std::uint32_t> segment{};
    /// Parallel scan: the number of segments, 1 to 1,000,000 (`segment` below it).
    std::optional<std::uint32_t> total_segments{};
};

/// One page of Query or Scan results.
struct item_page {
    std::vector<item> items{};        ///< empty for select_attributes::count
    std::uint64_t count = 0;          ///< Count: items on this page, after the filter
    std::uint64_t scanned_count = 0;  ///< ScannedCount: items read for this page, before the filter
    /// Present when there are more pages: pass it as `exclusive_start_key`.
    std::optional<item> last_evaluated_key{};
};

/// The answer to Query: one page.
using query_response = item_page;
/// The answer to Scan: one page.
using scan_response = item_page;

// --- TransactWriteItems ---------------------------------------------------------

/// A Put entry of a transaction: as put_item_request, without return values.
struct transact_put {
    std::string table_name{};            ///< TableName
    dynalock::item item{};               ///< Item
    std::string condition_expression{};  ///< ConditionExpression: fails the whole transaction
    expression_names expression_attribute_names{};    ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};  ///< ExpressionAttributeValues
    /// ReturnValuesOnConditionCheckFailure: the item lands in cancellation_reason::item.
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// An Update entry of a transaction: as update_item_request, without return
/// values.
struct transact_update {
    std::string table_name{};            ///< TableName
    item key{};                          ///< Key
    std::string update_expression{};     ///< UpdateExpression, required
    std::string condition_expression{};  ///< ConditionExpression: fails the whole transaction
    expression_names expression_attribute_names{};    ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};  ///< ExpressionAttributeValues
    /// ReturnValuesOnConditionCheckFailure: the item lands in cancellation_reason::item.
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// A Delete entry of a transaction: as delete_item_request, without return
/// values.
struct transact_delete {
    std::string table_name{};            ///< TableName
    item key{};                          ///< Key
    std::string condition_expression{};  ///< ConditionExpression: fails the whole transaction
    expression_names expression_attribute_names{};    ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};  ///< ExpressionAttributeValues
    /// ReturnValuesOnConditionCheckFailure: the item lands in cancellation_reason::item.
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// A ConditionCheck entry of a transaction: writes nothing, fails the
/// transaction unless its condition holds (lease_check builds one).
struct condition_check {
    std::string table_name{};                         ///< TableName
    item key{};                                       ///< Key
    std::string condition_expression{};               ///< required
    expression_names expression_attribute_names{};    ///< ExpressionAttributeNames
    expression_values expression_attribute_values{};  ///< ExpressionAttributeValues
    /// ReturnValuesOnConditionCheckFailure: the item lands in cancellation_reason::item.
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// One entry of TransactWriteItems.
using transact_write_item =
    std::variant<transact_put, transact_update, transact_delete, condition_check>;

/// TransactWriteItems: up to 100 writes that all apply or none does.
struct transact_write_items_request {
    std::vector<transact_write_item> transact_items{};  ///< 1 to 100
    /// Idempotency token (≤ 36 characters); empty: none sent.
    std::string client_request_token{};
};

/// Why one entry of a canceled transaction failed.
struct cancellation_reason {
    std::string code{};     ///< "None", "ConditionalCheckFailed", "TransactionConflict", ...
    std::string message{};  ///< the server's text: data, not for what()
    /// The item as it is, when the entry asked for ALL_OLD and its condition failed.
    std::optional<dynalock::item> item{};
};

/// The answer to TransactWriteItems.
struct transact_write_items_response {
    /// When the transaction failed with errc::transaction_canceled: one reason
    /// per entry, in request order.
    std::vector<cancellation_reason> cancellation_reasons{};
};

// --- tables -------------------------------------------------------------------------

/// ScalarAttributeType of a key attribute.
enum class scalar_attribute_type {
    s,  ///< S: string
    n,  ///< N: number
    b   ///< B: binary
};

/// One attribute of a key schema: its name and type.
struct key_attribute {
    std::string name{};                                     ///< 1 to 255 bytes of UTF-8
    scalar_attribute_type type = scalar_attribute_type::s;  ///< its type
    /// Same name and type.
    friend bool operator==(const key_attribute&, const key_attribute&) = default;
};

/// BillingMode of a table.
enum class billing_mode {
    pay_per_request,  ///< PAY_PER_REQUEST: on demand, billed per request
    provisioned       ///< PROVISIONED: billed for the throughput set in advance
};

/// ProvisionedThroughput: capacity units per second, for billing_mode::provisioned.
struct throughput {
    std::uint64_t read_capacity_units = 0;   ///< ReadCapacityUnits
    std::uint64_t write_capacity_units = 0;  ///< WriteCapacityUnits
    /// Same units.
    friend bool operator==(const throughput&, const throughput&) = default;
};

/// CreateTable: a table with a partition key and an optional sort key. It is
/// usable once its status is table_status::active (describe_table_request).
struct create_table_request {
    std::string table_name{};                 ///< TableName
    key_attribute partition_key{};            ///< the HASH key
    std::optional<key_attribute> sort_key{};  ///< the RANGE key, different from the partition key
    dynamodb::billing_mode billing_mode = billing_mode::pay_per_request;  ///< BillingMode
    /// Used only with billing_mode::provisioned (both units ≥ 1).
    throughput provisioned_throughput{};
};

/// TableStatus.
enum class table_status {
    unknown,                              ///< a status this version does not know
    creating,                             ///< CREATING: not usable yet
    updating,                             ///< UPDATING: usable
    deleting,                             ///< DELETING
    active,                               ///< ACTIVE: usable
    inaccessible_encryption_credentials,  ///< INACCESSIBLE_ENCRYPTION_CREDENTIALS: its KMS key is
                                          ///< unusable
    archiving,                            ///< ARCHIVING
    archived,                             ///< ARCHIVED
};

/// TableDescription: what DynamoDB says of a table.
struct table_description {
    std::string table_name{};                     ///< TableName
    std::string table_arn{};                      ///< TableArn
    table_status status = table_status::unknown;  ///< TableStatus
    key_attribute partition_key{};                ///< the HASH key of KeySchema
    std::optional<key_attribute> sort_key{};      ///< the RANGE key of KeySchema, if any
    std::uint64_t item_count = 0;        ///< ItemCount: approximate, updated about every six hours
    std::uint64_t table_size_bytes = 0;  ///< TableSizeBytes: approximate, as item_count
    /// From BillingModeSummary; tables that never had one are provisioned.
    dynamodb::billing_mode billing_mode = billing_mode::provisioned;
    throughput provisioned_throughput{};  ///< ProvisionedThroughput (zero units on demand)
};

/// The answer to CreateTable.
struct create_table_response {
    dynamodb::table_description table_description{};  ///< the new table, usually creating
};

/// DescribeTable.
struct describe_table_request {
    std::string table_name{};  ///< TableName
};

/// The answer to DescribeTable.
struct describe_table_response {
    dynamodb::table_description table{};  ///< Table
};

/// DeleteTable: deletes a table and every item in it.
struct delete_table_request {
    std::string table_name{};  ///< TableName
};

/// The answer to DeleteTable.
struct delete_table_response {
    dynamodb::table_description table_description{};  ///< the table, usually deleting
};

// --- time to live ---------------------------------------------------------------------

/// UpdateTimeToLive: turns DynamoDB's deletion of expired items on or off.
struct update_time_to_live_request {
    std::string table_name{};  ///< TableName
    /// The attribute holding each item's expiry time, in epoch seconds (N).
    std::string attribute_name{};
    bool enabled = true;  ///< true to turn deletion on, false to turn it off
};

/// The answer to UpdateTimeToLive: the specification as DynamoDB took it.
struct update_time_to_live_response {
    std::string attribute_name{};  ///< AttributeName
    bool enabled = false;          ///< Enabled
};

/// TimeToLiveStatus.
enum class time_to_live_status {
    unknown,    ///< a status this version does not know
    enabling,   ///< ENABLING
    disabling,  ///< DISABLING
    enabled,    ///< ENABLED
    disabled    ///< DISABLED: also for a table where TTL was never enabled
};

/// DescribeTimeToLive.
struct describe_time_to_live_request {
    std::string table_name{};  ///< TableName
};

/// The answer to DescribeTimeToLive.
struct describe_time_to_live_response {
    time_to_live_status status = time_to_live_status::unknown;  ///< TimeToLiveStatus
    std::string attribute_name{};  ///< empty when TTL was never enabled
};

// --- requests and their responses -------------------------------------------------

/// The response type of each request type, in `type`: specialized for every
/// request of this header, whose response is the struct of the same name
/// ending in `_response`.
template <class Request>
struct response_of;
// The specializations are listed above, not one by one in the reference.
/// \cond
// clang-format off
template <> struct response_of<get_item_request> { using type = get_item_response; };
template <> struct response_of<put_item_request> { using type = put_item_response; };
template <> struct response_of<update_item_request> { using type = update_item_response; };
template <> struct response_of<delete_item_request> { using type = delete_item_response; };
template <> struct response_of<query_request> { using type = query_response; };
template <> struct response_of<scan_request> { using type = scan_response; };
template <> struct response_of<transact_write_items_request> { using type = transact_write_items_response; };
template <> struct response_of<create_table_request> { using type = create_table_response; };
template <> struct response_of<describe_table_request> { using type = describe_table_response; };
template <> struct response_of<delete_table_request> { using type = delete_table_response; };
template <> struct response_of<update_time_to_live_request> { using type = update_time_to_live_response; };
template <> struct response_of<describe_time_to_live_request> { using type = describe_time_to_live_response; };
// clang-format on
/// \endcond

/// A request type of this header: one that client::async_execute runs.
template <class Request>
concept request = requires {
    typename response_of<Request>::type;
};

/// The response type of `Request`: `response_t<get_item_request>` is
/// get_item_response.
template <request Request>
using response_t = typename response_of<Request>::type;

}  // namespace dynalock::dynamodb
