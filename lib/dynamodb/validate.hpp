#pragma once

// Checks a request against DynamoDB's documented limits before it is sent, so
// that a request the service would reject fails locally with a precise
// message: errc::value_too_large for size limits, errc::invalid_argument for
// everything else, the reason in `diag.message`.
//
// What cannot be checked without the table's key schema (which attributes of
// an item are its keys, the sort key's smaller limit) is checked by
// `validate_key`, given the schema.

#include <dynalock/diagnostics.hpp>
#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace dynalock::dynamodb {

/// The key attribute names of a table.
struct key_schema {
    std::string partition_key;
    std::string sort_key;  ///< empty: the table has none
};

error_code validate(const get_item_request& request, diagnostics& diag);
error_code validate(const put_item_request& request, diagnostics& diag);
error_code validate(const update_item_request& request, diagnostics& diag);
error_code validate(const delete_item_request& request, diagnostics& diag);
error_code validate(const query_request& request, diagnostics& diag);
error_code validate(const scan_request& request, diagnostics& diag);
error_code validate(const transact_write_items_request& request, diagnostics& diag);
error_code validate(const create_table_request& request, diagnostics& diag);
error_code validate(const describe_table_request& request, diagnostics& diag);
error_code validate(const delete_table_request& request, diagnostics& diag);
error_code validate(const update_time_to_live_request& request, diagnostics& diag);
error_code validate(const describe_time_to_live_request& request, diagnostics& diag);

/// Checks the key attributes of `key_or_item` (a key, or a whole item) against
/// `schema`: present, S, N or B, not empty, partition key ≤ 2048 bytes, sort
/// key ≤ 1024 bytes.
error_code validate_key(const item& key_or_item, const key_schema& schema, diagnostics& diag);

/// `text` is well-formed UTF-8, as every string DynamoDB stores must be.
bool is_utf8(std::string_view text);

/// 3 to 255 characters from [a-zA-Z0-9_.-].
error_code validate_table_name(std::string_view name, diagnostics& diag);

/// The size DynamoDB counts for an item: attribute name bytes plus value sizes
/// (see "Item sizes and formats" in the DynamoDB developer guide).
std::size_t item_size(const attribute_map& item);

}  // namespace dynalock::dynamodb
