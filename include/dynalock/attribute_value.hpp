#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace dynalock {

/// A DynamoDB number, kept as the exact decimal string DynamoDB sends: no
/// rounding through double, no overflow through integers.
struct number {
    std::string text;
    friend bool operator==(const number&, const number&) = default;
};

/// Raw bytes of a B attribute (base64 only on the wire).
using bytes = std::vector<std::byte>;

struct null_value {
    friend bool operator==(null_value, null_value) = default;
};

class attribute_value;
using attribute_list = std::vector<attribute_value>;
using attribute_map = std::map<std::string, attribute_value, std::less<>>;
/// An item (or key): attribute name to value.
using item = attribute_map;

struct string_set {
    std::vector<std::string> values;
    friend bool operator==(const string_set&, const string_set&) = default;
};
struct number_set {
    std::vector<number> values;
    friend bool operator==(const number_set&, const number_set&) = default;
};
struct binary_set {
    std::vector<bytes> values;
    friend bool operator==(const binary_set&, const binary_set&) = default;
};

/// One DynamoDB attribute value: S, N, B, BOOL, NULL, L, M, SS, NS or BS.
class attribute_value {
public:
    using variant_type = std::variant<std::string, number, bytes, bool, null_value, attribute_list,
                                      attribute_map, string_set, number_set, binary_set>;

    attribute_value() : v_(null_value{}) {}
    attribute_value(std::string s) : v_(std::move(s)) {}
    attribute_value(const char* s) : v_(std::string(s)) {}
    attribute_value(number n) : v_(std::move(n)) {}
    attribute_value(bytes b) : v_(std::move(b)) {}
    attribute_value(bool b) : v_(b) {}
    attribute_value(null_value n) : v_(n) {}
    attribute_value(attribute_list l) : v_(std::move(l)) {}
    attribute_value(attribute_map m) : v_(std::move(m)) {}
    attribute_value(string_set s) : v_(std::move(s)) {}
    attribute_value(number_set s) : v_(std::move(s)) {}
    attribute_value(binary_set s) : v_(std::move(s)) {}

    const variant_type& value() const noexcept { return v_; }
    variant_type& value() noexcept { return v_; }

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

    friend bool operator==(const attribute_value&, const attribute_value&) = default;

private:
    variant_type v_;
};

}  // namespace dynalock
