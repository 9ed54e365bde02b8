#pragma once

// Requests and responses of the DynamoDB operations dynalock speaks, as plain
// aggregates named after the DynamoDB API (snake_case). An empty string or an
// empty map means "not sent"; the JSON encoding lives in lib/dynamodb.

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
enum class return_values { none, all_old, updated_old, all_new, updated_new };

/// ReturnValuesOnConditionCheckFailure: all_old returns the item as it is when
/// the condition failed, saving a read.
enum class return_values_on_condition_check_failure { none, all_old };

/// Select of Query and Scan; unspecified leaves DynamoDB's default.
enum class select_attributes {
    unspecified,
    all_attributes,
    all_projected_attributes,
    specific_attributes,
    count,
};

// --- single-item operations ---------------------------------------------------

struct get_item_request {
    std::string table_name{};
    item key{};
    bool consistent_read = false;
    std::string projection_expression{};
    expression_names expression_attribute_names{};
};

struct get_item_response {
    /// Absent when no item has this key.
    std::optional<dynalock::item> item{};
};

struct put_item_request {
    std::string table_name{};
    dynalock::item item{};
    std::string condition_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    dynamodb::return_values return_values = return_values::none;
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

struct put_item_response {
    /// Present when `return_values` asked for them and there were any.
    std::optional<attribute_map> attributes{};
};

struct update_item_request {
    std::string table_name{};
    item key{};
    std::string update_expression{};
    std::string condition_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    dynamodb::return_values return_values = return_values::none;
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

struct update_item_response {
    std::optional<attribute_map> attributes{};
};

struct delete_item_request {
    std::string table_name{};
    item key{};
    std::string condition_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    dynamodb::return_values return_values = return_values::none;
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

struct delete_item_response {
    std::optional<attribute_map> attributes{};
};

// --- Query and Scan -------------------------------------------------------------

struct query_request {
    std::string table_name{};
    std::string index_name{};
    std::string key_condition_expression{};
    std::string filter_expression{};
    std::string projection_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    std::optional<std::uint32_t> limit{};
    bool consistent_read = false;
    bool scan_index_forward = true;
    select_attributes select = select_attributes::unspecified;
    /// The previous page's `last_evaluated_key`.
    std::optional<item> exclusive_start_key{};
};

struct scan_request {
    std::string table_name{};
    std::string index_name{};
    std::string filter_expression{};
    std::string projection_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    std::optional<std::uint32_t> limit{};
    bool consistent_read = false;
    select_attributes select = select_attributes::unspecified;
    std::optional<item> exclusive_start_key{};
    /// Parallel scan: both set, or neither.
    std::optional<std::uint32_t> segment{};
    std::optional<std::uint32_t> total_segments{};
};

/// One page of Query or Scan results.
struct item_page {
    std::vector<item> items{};  ///< empty for select_attributes::count
    std::uint64_t count = 0;
    std::uint64_t scanned_count = 0;
    /// Present when there are more pages: pass it as `exclusive_start_key`.
    std::optional<item> last_evaluated_key{};
};

using query_response = item_page;
using scan_response = item_page;

// --- TransactWriteItems ---------------------------------------------------------

struct transact_put {
    std::string table_name{};
    dynalock::item item{};
    std::string condition_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

struct transact_update {
    std::string table_name{};
    item key{};
    std::string update_expression{};
    std::string condition_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

struct transact_delete {
    std::string table_name{};
    item key{};
    std::string condition_expression{};
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

struct condition_check {
    std::string table_name{};
    item key{};
    std::string condition_expression{};  ///< required
    expression_names expression_attribute_names{};
    expression_values expression_attribute_values{};
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

using transact_write_item =
    std::variant<transact_put, transact_update, transact_delete, condition_check>;

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

struct transact_write_items_response {
    /// When the transaction failed with errc::transaction_canceled: one reason
    /// per entry, in request order.
    std::vector<cancellation_reason> cancellation_reasons{};
};

// --- tables -------------------------------------------------------------------------

enum class scalar_attribute_type { s, n, b };

struct key_attribute {
    std::string name{};
    scalar_attribute_type type = scalar_attribute_type::s;
    friend bool operator==(const key_attribute&, const key_attribute&) = default;
};

enum class billing_mode { pay_per_request, provisioned };

struct throughput {
    std::uint64_t read_capacity_units = 0;
    std::uint64_t write_capacity_units = 0;
    friend bool operator==(const throughput&, const throughput&) = default;
};

struct create_table_request {
    std::string table_name{};
    key_attribute partition_key{};
    std::optional<key_attribute> sort_key{};
    dynamodb::billing_mode billing_mode = billing_mode::pay_per_request;
    /// Used only with billing_mode::provisioned (both units ≥ 1).
    throughput provisioned_throughput{};
};

enum class table_status {
    unknown,  ///< a status this version does not know
    creating,
    updating,
    deleting,
    active,
    inaccessible_encryption_credentials,
    archiving,
    archived,
};

struct table_description {
    std::string table_name{};
    std::string table_arn{};
    table_status status = table_status::unknown;
    key_attribute partition_key{};
    std::optional<key_attribute> sort_key{};
    std::uint64_t item_count = 0;
    std::uint64_t table_size_bytes = 0;
    /// From BillingModeSummary; tables that never had one are provisioned.
    dynamodb::billing_mode billing_mode = billing_mode::provisioned;
    throughput provisioned_throughput{};
};

struct create_table_response {
    dynamodb::table_description table_description{};
};

struct describe_table_request {
    std::string table_name{};
};

struct describe_table_response {
    dynamodb::table_description table{};
};

struct delete_table_request {
    std::string table_name{};
};

struct delete_table_response {
    dynamodb::table_description table_description{};
};

// --- time to live ---------------------------------------------------------------------

struct update_time_to_live_request {
    std::string table_name{};
    std::string attribute_name{};
    bool enabled = true;
};

struct update_time_to_live_response {
    std::string attribute_name{};
    bool enabled = false;
};

enum class time_to_live_status { unknown, enabling, disabling, enabled, disabled };

struct describe_time_to_live_request {
    std::string table_name{};
};

struct describe_time_to_live_response {
    time_to_live_status status = time_to_live_status::unknown;
    std::string attribute_name{};  ///< empty when TTL was never enabled
};

// --- requests and their responses -------------------------------------------------

/// The response type of each request type.
template <class Request>
struct response_of;
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

template <class Request>
concept request = requires {
    typename response_of<Request>::type;
};

template <request Request>
using response_t = typename response_of<Request>::type;

}  // namespace dynalock::dynamodb
