#pragma once

/// \file
/// DynamoDB attribute values and items, as the client reads and writes them.

#include <cstddef>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace dynalock {

/// A DynamoDB number, kept as the exact decimal string DynamoDB sends: no
/// rounding through double, no overflow through integers.
struct number {
    /// The decimal digits as DynamoDB writes them, such as "42" or "-1.5E+3".
    std::string text;
    /// Equal when the texts are: "1" and "1.0" differ here.
    friend bool operator==(const number&, const number&) = default;
};

/// Raw bytes of a B attribute (base64 only on the wire).
using bytes = std::vector<std::byte>;

/// The NULL attribute value (`{"NULL": true}`).
struct null_value {
    /// Always true: there is one null.
    friend bool operator==(null_value, null_value) = default;
};

class attribute_value;
/// An L value: a list of values of any types.
using attribute_list = std::vector<attribute_value>;
/// An M value: attribute name to value, ordered by name.
using attribute_map = std::map<std::string, attribute_value, std::less<>>;
/// An item (or key): attribute name to value.
using item = attribute_map;

/// An SS value: a set of strings. The client refuses an empty set or duplicate
/// members before sending (errc::invalid_argument).
struct string_set {
    /// The members, in the order they were sent or received.
    std::vector<std::string> values;
    /// Equal when the members are, in the same order.
    friend bool operator==(const string_set&, const string_set&) = default;
};
/// An NS value: a set of numbers. The client refuses an empty set or duplicate
/// members before sending (errc::invalid_argument); "1" and "1.0" are one
/// member to DynamoDB.
struct number_set {
    /// The members, in the order they were sent or received.
    std::vector<number> values;
    /// Equal when the members are, in the same order.
    friend bool operator==(const number_set&, const number_set&) = default;
};
/// A BS value: a set of byte strings. The client refuses an empty set or duplicate
/// members before sending (errc::invalid_argument).
struct binary_set {
    /// The members, in the order they were sent or received.
    std::vector<bytes> values;
    /// Equal when the members are, in the same order.
    friend bool operator==(const binary_set&, const binary_set&) = default;
};

/// One DynamoDB attribute value: S, N, B, BOOL, NULL, L, M, SS, NS or BS.
class attribute_value {
public:
    /// One alternative per DynamoDB type, in the order of the class
    /// description (std::string for S, bool for BOOL).
    using variant_type = std::variant<std::string, number, bytes, bool, null_value, attribute_list,
                                      attribute_map, string_set, number_set, binary_set>;

    /// NULL.
    attribute_value() : v_(null_value{}) {}
    /// An S value. Implicit, as are the others, so that an item can be
    /// written as `{{"key", "job"}, {"count", number{"1"}}}`.
    attribute_value(std::string s) : v_(std::move(s)) {}
    /// An S value (a string literal would otherwise convert to bool).
    attribute_value(const char* s) : v_(std::string(s)) {}
    /// An N value.
    attribute_value(number n) : v_(std::move(n)) {}
    /// A B value.
    attribute_value(bytes b) : v_(std::move(b)) {}
    /// A BOOL value.
    attribute_value(bool b) : v_(b) {}
    /// NULL.
    attribute_value(null_value n) : v_(n) {}
    /// An L value.
    attribute_value(attribute_list l) : v_(std::move(l)) {}
    /// An M value.
    attribute_value(attribute_map m) : v_(std::move(m)) {}
    /// An SS value.
    attribute_value(string_set s) : v_(std::move(s)) {}
    /// An NS value.
    attribute_value(number_set s) : v_(std::move(s)) {}
    /// A BS value.
    attribute_value(binary_set s) : v_(std::move(s)) {}

    /// The value, for std::visit or std::get.
    const variant_type& value() const noexcept { return v_; }
    /// The value, to change in place.
    variant_type& value() noexcept { return v_; }

    /// True when the value is of type `T`, one of variant_type's
    /// alternatives: `v.is<bool>()`.
    template <class T>
    bool is() const noexcept {
        return std::holds_alternative<T>(v_);
    }
    /// The S value, or nullptr for another type.
    const std::string* as_string() const noexcept { return std::get_if<std::string>(&v_); }
    /// The N value, or nullptr for another type.
    const number* as_number() const noexcept { return std::get_if<number>(&v_); }
    /// The B value, or nullptr for another type.
    const bytes* as_bytes() const noexcept { return std::get_if<bytes>(&v_); }

    /// Same type and equal value; numbers compare as text.
    friend bool operator==(const attribute_value&, const attribute_value&) = default;

private:
    variant_type v_;
};

}  // namespace dynalock
