#pragma once

// A conditional UpdateItem or DeleteItem built from views of the caller's
// strings and values, checked and encoded straight into a request body, with
// the client sending the body as it is (encoded_request). The lock store
// writes every heartbeat this way: an update_item_request owns its key, names
// and values in maps, a dozen allocations per write that are freed again as
// soon as the body is encoded.

#include <dynalock/attribute_value.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/error.hpp>

#include <span>
#include <string>
#include <string_view>

namespace dynalock::dynamodb {

/// One key attribute of type S.
struct string_key_attribute {
    std::string_view name;
    std::string_view value;
};

/// `#placeholder` to attribute name. Placeholders are short enough for a
/// string's inline bytes.
struct expression_name {
    std::string placeholder;
    std::string_view name;
};

/// `:placeholder` to a value the caller keeps alive until it is encoded.
struct expression_value {
    std::string placeholder;
    const attribute_value* value = nullptr;
};

/// An UpdateItem when `update_expression` is set, otherwise a DeleteItem.
struct item_write {
    std::string_view table_name;
    /// The partition key, then the sort key when the table has one.
    std::span<const string_key_attribute> key;
    std::string_view update_expression;
    std::string_view condition_expression;
    std::span<const expression_name> names;
    std::span<const expression_value> values;
    /// ALL_NEW for an update; a delete takes only none or all_old.
    dynamodb::return_values return_values = return_values::none;
    dynamodb::return_values_on_condition_check_failure return_values_on_condition_check_failure =
        return_values_on_condition_check_failure::none;
};

/// The checks the client applies to an update_item_request or a
/// delete_item_request with the same content (validate.hpp), with the same
/// errors and messages.
error_code validate(const item_write& write, diagnostics& diag);

/// The body of the request, replacing `body`'s content; the same bytes as
/// encoding the update_item_request or delete_item_request with the same
/// content (names and values in placeholder order).
void encode(const item_write& write, std::string& body);

/// A request whose body the caller encoded (and checked); the client signs,
/// sends, retries and classifies it as any other, and hands back the body of
/// the 2xx answer undecoded.
struct encoded_request {
    std::string_view target;  ///< a constant, such as `operation<...>::target`
    std::string body;
    /// Whether repeating it after an unknown outcome does no harm.
    bool repeatable = false;
};

/// The answer to an encoded_request: on success the 2xx body, to decode as its
/// operation's response; after a failure, the error response's body, if any.
struct encoded_response {
    std::string body;
};

template <>
struct response_of<encoded_request> {
    using type = encoded_response;
};

}  // namespace dynalock::dynamodb
