#include "dynamodb/validate.hpp"

#include "byte_scan.hpp"

#include "dynamodb/decimal.hpp"
#include "dynamodb/item_write.hpp"
#include "dynamodb/limits.hpp"

#include <algorithm>
#include <tuple>
#include <variant>

namespace dynalock::dynamodb {
namespace {

constexpr std::size_t max_transact_items = 100;
constexpr std::size_t max_client_request_token = 36;
constexpr std::size_t max_key_attribute_name = 255;
constexpr std::uint32_t max_total_segments = 1'000'000;

error_code fail(diagnostics& diag, errc code, std::string message) {
    diag.message = std::move(message);
    return code;
}

error_code invalid(diagnostics& diag, std::string message) {
    return fail(diag, errc::invalid_argument, std::move(message));
}

}  // namespace

// No overlong forms, surrogates or code points past U+10FFFF: DynamoDB stores
// strings as UTF-8 and rejects anything else.
bool is_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        // ASCII, eight bytes at a time: a heartbeat checks its key, owner
        // and versions.
        if (text.size() - i >= 8 &&
            (dynalock::detail::load_word(text.data() + i) & dynalock::detail::byte_highs) == 0) {
            i += 8;
            continue;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        unsigned char low = 0x80;
        unsigned char high = 0xbf;  // bounds of the second byte
        if (c >= 0xc2 && c <= 0xdf) {
            length = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            length = 3;
            low = c == 0xe0 ? 0xa0 : 0x80;
            high = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            length = 4;
            low = c == 0xf0 ? 0x90 : 0x80;
            high = c == 0xf4 ? 0x8f : 0xbf;
        } else {
            return false;
        }
        if (text.size() - i < length) {
            return false;
        }
        const auto second = static_cast<unsigned char>(text[i + 1]);
        if (second < low || second > high) {
            return false;
        }
        for (std::size_t k = 2; k < length; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) {
                return false;
            }
        }
        i += length;
    }
    return true;
}

namespace {

std::size_t number_size(const decimal& d) {
    return (d.digits.size() + 1) / 2 + 1;
}

std::size_t number_size(const number& n) {
    const auto d = parse_decimal(n.text);
    return d ? number_size(*d) : n.text.size();
}

std::size_t value_size(const attribute_value& value);

std::size_t map_content_size(const attribute_map& map, std::size_t per_entry_overhead) {
    std::size_t size = 0;
    for (const auto& [name, element] : map) {
        size += name.size() + value_size(element) + per_entry_overhead;
    }
    return size;
}

std::size_t value_size(const attribute_value& value) {
    struct visitor {
        std::size_t operator()(const std::string& s) const { return s.size(); }
        std::size_t operator()(const number& n) const { return number_size(n); }
        std::size_t operator()(const bytes& b) const { return b.size(); }
        std::size_t operator()(bool) const { return 1; }
        std::size_t operator()(null_value) const { return 1; }
        std::size_t operator()(const attribute_list& l) const {
            std::size_t size = 3;
            for (const auto& element : l) {
                size += value_size(element) + 1;
            }
            return size;
        }
        std::size_t operator()(const attribute_map& m) const { return 3 + map_content_size(m, 1); }
        std::size_t operator()(const string_set& s) const {
            std::size_t size = 0;
            for (const auto& v : s.values) {
                size += v.size();
            }
            return size;
        }
        std::size_t operator()(const number_set& s) const {
            std::size_t size = 0;
            for (const auto& v : s.values) {
                size += number_size(v);
            }
            return size;
        }
        std::size_t operator()(const binary_set& s) const {
            std::size_t size = 0;
            for (const auto& v : s.values) {
                size += v.size();
            }
            return size;
        }
    };
    return std::visit(visitor{}, value.value());
}

error_code check_number(const number& n, std::string_view where, diagnostics& diag) {
    const auto d = parse_decimal(n.text);
    if (!d) {
        return invalid(diag, std::string(where) + ": \"" + n.text + "\" is not a decimal number");
    }
    if (d->digits.size() > max_significant_digits) {
        return invalid(diag, std::string(where) + ": a number has more than 38 significant digits");
    }
    // 0.digits × 10^exponent is d.ddd × 10^(exponent-1) in scientific form.
    if (!d->digits.empty() &&
        (d->exponent - 1 < min_decimal_exponent || d->exponent - 1 > max_decimal_exponent)) {
        return invalid(diag, std::string(where) + ": a number is out of DynamoDB's range");
    }
    return {};
}

template <class T, class Key>
bool has_duplicates(const std::vector<T>& values, Key key) {
    std::vector<decltype(key(values.front()))> keys;
    keys.reserve(values.size());
    for (const auto& v : values) {
        keys.push_back(key(v));
    }
    std::sort(keys.begin(), keys.end());
    return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

error_code check_value(const attribute_value& value, std::string_view where, int levels_left,
                       diagnostics& diag);

error_code check_names_and_values(const attribute_map& map, std::string_view where, int levels_left,
                                  diagnostics& diag) {
    for (const auto& [name, element] : map) {
        if (!is_utf8(name)) {
            return invalid(diag, std::string(where) + ": an attribute name is not valid UTF-8");
        }
        if (auto ec = check_value(element, name, levels_left, diag)) {
            return ec;
        }
    }
    return {};
}

struct value_checker {
    const std::string& where;
    int levels_left;
    diagnostics& diag;

    error_code operator()(const std::string& s) const {
        return is_utf8(s) ? error_code{} : invalid(diag, where + ": S is not valid UTF-8");
    }
    error_code operator()(const number& n) const { return check_number(n, where, diag); }
    error_code operator()(const bytes&) const { return {}; }
    error_code operator()(bool) const { return {}; }
    error_code operator()(null_value) const { return {}; }
    error_code operator()(const attribute_list& l) const {
        if (levels_left == 0) {
            return invalid(diag, where + ": nested more than 32 levels deep");
        }
        for (const auto& element : l) {
            if (auto ec = check_value(element, where, levels_left - 1, diag)) {
                return ec;
            }
        }
        return {};
    }
    error_code operator()(const attribute_map& m) const {
        if (levels_left == 0) {
            return invalid(diag, where + ": nested more than 32 levels deep");
        }
        return check_names_and_values(m, where, levels_left - 1, diag);
    }
    error_code operator()(const string_set& s) const {
        if (auto ec = check_set_shape(s.values)) {
            return ec;
        }
        for (const auto& v : s.values) {
            if (!is_utf8(v)) {
                return invalid(diag, where + ": a member of SS is not valid UTF-8");
            }
        }
        return has_duplicates(s.values, [](const std::string& v) { return v; })
                   ? invalid(diag, where + ": SS has duplicate members")
                   : error_code{};
    }
    error_code operator()(const number_set& s) const {
        if (auto ec = check_set_shape(s.values)) {
            return ec;
        }
        for (const auto& v : s.values) {
            if (auto ec = check_number(v, where, diag)) {
                return ec;
            }
        }
        // "1" and "1.0" are one number to DynamoDB.
        auto canonical = [](const number& v) {
            const auto d = *parse_decimal(v.text);
            return std::tuple(d.negative, d.digits, d.exponent);
        };
        return has_duplicates(s.values, canonical)
                   ? invalid(diag, where + ": NS has duplicate members")
                   : error_code{};
    }
    error_code operator()(const binary_set& s) const {
        if (auto ec = check_set_shape(s.values)) {
            return ec;
        }
        return has_duplicates(s.values, [](const bytes& v) { return v; })
                   ? invalid(diag, where + ": BS has duplicate members")
                   : error_code{};
    }
    template <class T>
    error_code check_set_shape(const std::vector<T>& values) const {
        return values.empty() ? invalid(diag, where + ": sets must not be empty") : error_code{};
    }
};

error_code check_value(const attribute_value& value, std::string_view where, int levels_left,
                       diagnostics& diag) {
    const std::string context(where);
    return std::visit(value_checker{context, levels_left, diag}, value.value());
}

error_code check_item(const attribute_map& item, std::string_view where, diagnostics& diag) {
    if (auto ec = check_names_and_values(item, where, max_nesting_levels, diag)) {
        return ec;
    }
    for (const auto& [name, value] : item) {
        if (name.empty()) {
            return invalid(diag, std::string(where) + ": an attribute name is empty");
        }
    }
    const std::size_t size = item_size(item);
    if (size > max_item_bytes) {
        return fail(diag, errc::value_too_large,
                    std::string(where) + ": the item is " + std::to_string(size) +
                        " bytes, over DynamoDB's 400 KB");
    }
    return {};
}

error_code key_too_large(std::string_view name, std::size_t size, std::size_t limit,
                         diagnostics& diag) {
    return fail(diag, errc::value_too_large,
                "key attribute " + std::string(name) + ": " + std::to_string(size) +
                    " bytes, over " + std::to_string(limit));
}

error_code check_string_key(std::string_view name, std::string_view value, std::size_t limit,
                            diagnostics& diag) {
    if (!is_utf8(value)) {
        return invalid(diag, std::string(name) + ": S is not valid UTF-8");
    }
    if (value.empty()) {
        return invalid(diag, "key attribute " + std::string(name) + ": must not be empty");
    }
    return value.size() > limit ? key_too_large(name, value.size(), limit, diag) : error_code{};
}

error_code check_key_value(const std::string& name, const attribute_value& value, std::size_t limit,
                           diagnostics& diag) {
    if (const std::string* s = value.as_string()) {
        return check_string_key(name, *s, limit, diag);
    }
    const bool scalar = value.is<std::string>() || value.is<number>() || value.is<bytes>();
    if (!scalar) {
        return invalid(diag, "key attribute " + name + ": must be S, N or B");
    }
    if (auto ec = check_value(value, name, 0, diag)) {
        return ec;
    }
    const std::size_t size = value_size(value);
    if ((value.is<std::string>() || value.is<bytes>()) && size == 0) {
        return invalid(diag, "key attribute " + name + ": must not be empty");
    }
    return size > limit ? key_too_large(name, size, limit, diag) : error_code{};
}

// Without the schema the partition key's bound is the tightest that holds for
// every key attribute; validate_key applies the sort key's.
error_code check_key(const item& key, std::string_view where, diagnostics& diag) {
    if (key.empty() || key.size() > 2) {
        return invalid(diag, std::string(where) + ": a key has one or two attributes");
    }
    for (const auto& [name, value] : key) {
        if (auto ec = check_key_value(name, value, max_partition_key_bytes, diag)) {
            return ec;
        }
    }
    return {};
}

error_code check_expression_name(const std::string& placeholder, std::string_view name,
                                 diagnostics& diag) {
    if (placeholder.size() < 2 || placeholder[0] != '#' || name.empty()) {
        return invalid(diag, "ExpressionAttributeNames: \"" + placeholder +
                                 "\" must be #name and map to a non-empty name");
    }
    return {};
}

error_code check_value_placeholder(const std::string& placeholder, diagnostics& diag) {
    if (placeholder.size() < 2 || placeholder[0] != ':') {
        return invalid(diag, "ExpressionAttributeValues: \"" + placeholder + "\" must be :name");
    }
    return {};
}

error_code check_expressions(const expression_names& names, const expression_values& values,
                             diagnostics& diag) {
    for (const auto& [placeholder, name] : names) {
        if (auto ec = check_expression_name(placeholder, name, diag)) {
            return ec;
        }
    }
    for (const auto& [placeholder, value] : values) {
        if (auto ec = check_value_placeholder(placeholder, diag)) {
            return ec;
        }
    }
    return check_names_and_values(values, "ExpressionAttributeValues", max_nesting_levels, diag);
}

error_code check_put_or_delete_return_values(return_values v, diagnostics& diag) {
    if (v != return_values::none && v != return_values::all_old) {
        return invalid(diag, "ReturnValues: PutItem and DeleteItem accept only NONE or ALL_OLD");
    }
    return {};
}

error_code check_limit(const std::optional<std::uint32_t>& limit, diagnostics& diag) {
    if (limit && *limit == 0) {
        return invalid(diag, "Limit: must be at least 1");
    }
    return {};
}

error_code check_key_attribute_name(std::string_view name, std::string_view what,
                                    diagnostics& diag) {
    if (name.empty() || name.size() > max_key_attribute_name || !is_utf8(name)) {
        return invalid(diag, std::string(what) + ": must be 1 to 255 bytes of UTF-8");
    }
    return {};
}

// Sequences the checks of one request: the first failure wins.
template <class... Checks>
error_code first_failure(Checks&&... checks) {
    error_code ec;
    ((ec = ec ? ec : checks()), ...);
    return ec;
}

template <class Entry>
error_code check_transact_entry(const Entry& e, diagnostics& diag) {
    return first_failure([&] { return validate_table_name(e.table_name, diag); },
                         [&] {
                             if constexpr (std::is_same_v<Entry, transact_put>) {
                                 return check_item(e.item, "Put.Item", diag);
                             } else {
                                 return check_key(e.key, "Key", diag);
                             }
                         },
                         [&] {
                             if constexpr (std::is_same_v<Entry, condition_check>) {
                                 if (e.condition_expression.empty()) {
                                     return invalid(diag,
                                                    "ConditionCheck: needs a ConditionExpression");
                                 }
                             } else if constexpr (std::is_same_v<Entry, transact_update>) {
                                 if (e.update_expression.empty()) {
                                     return invalid(diag, "Update: needs an UpdateExpression");
                                 }
                             }
                             return error_code{};
                         },
                         [&] {
                             return check_expressions(e.expression_attribute_names,
                                                      e.expression_attribute_values, diag);
                         });
}

}  // namespace

std::size_t item_size(const attribute_map& item) {
    return map_content_size(item, 0);
}

error_code validate_table_name(std::string_view name, diagnostics& diag) {
    const bool allowed = std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
    if (name.size() < 3 || name.size() > 255 || !allowed) {
        return invalid(diag, "TableName: must be 3 to 255 characters of a-z, A-Z, 0-9, _ . -");
    }
    return {};
}

error_code validate_key(const item& key_or_item, const key_schema& schema, diagnostics& diag) {
    const auto check = [&](const std::string& name, std::size_t limit) {
        const auto it = key_or_item.find(name);
        if (it == key_or_item.end()) {
            return invalid(diag, "key attribute " + name + ": missing");
        }
        return check_key_value(name, it->second, limit, diag);
    };
    return first_failure([&] { return check(schema.partition_key, max_partition_key_bytes); },
                         [&] {
                             return schema.sort_key.empty()
                                        ? error_code{}
                                        : check(schema.sort_key, max_sort_key_bytes);
                         });
}

error_code validate(const get_item_request& r, diagnostics& diag) {
    return first_failure([&] { return validate_table_name(r.table_name, diag); },
                         [&] { return check_key(r.key, "Key", diag); },
                         [&] { return check_expressions(r.expression_attribute_names, {}, diag); });
}

error_code validate(const put_item_request& r, diagnostics& diag) {
    return first_failure([&] { return validate_table_name(r.table_name, diag); },
                         [&] { return check_item(r.item, "Item", diag); },
                         [&] {
                             return check_expressions(r.expression_attribute_names,
                                                      r.expression_attribute_values, diag);
                         },
                         [&] { return check_put_or_delete_return_values(r.return_values, diag); });
}

error_code validate(const update_item_request& r, diagnostics& diag) {
    return first_failure([&] { return validate_table_name(r.table_name, diag); },
                         [&] { return check_key(r.key, "Key", diag); },
                         [&] {
                             return check_expressions(r.expression_attribute_names,
                                                      r.expression_attribute_values, diag);
                         });
}

error_code validate(const delete_item_request& r, diagnostics& diag) {
    return first_failure([&] { return validate_table_name(r.table_name, diag); },
                         [&] { return check_key(r.key, "Key", diag); },
                         [&] {
                             return check_expressions(r.expression_attribute_names,
                                                      r.expression_attribute_values, diag);
                         },
                         [&] { return check_put_or_delete_return_values(r.return_values, diag); });
}

error_code validate(const query_request& r, diagnostics& diag) {
    return first_failure([&] { return validate_table_name(r.table_name, diag); },
                         [&] {
                             return r.key_condition_expression.empty()
                                        ? invalid(diag, "Query: needs a KeyConditionExpression")
                                        : error_code{};
                         },
                         [&] { return check_limit(r.limit, diag); },
                         [&] {
                             return r.exclusive_start_key ? check_key(*r.exclusive_start_key,
                                                                      "ExclusiveStartKey", diag)
                                                          : error_code{};
                         },
                         [&] {
                             return check_expressions(r.expression_attribute_names,
                                                      r.expression_attribute_values, diag);
                         });
}

error_code validate(const scan_request& r, diagnostics& diag) {
    return first_failure(
        [&] { return validate_table_name(r.table_name, diag); },
        [&] { return check_limit(r.limit, diag); },
        [&] {
            if (r.segment.has_value() != r.total_segments.has_value()) {
                return invalid(diag, "Scan: Segment and TotalSegments go together");
            }
            if (r.total_segments &&
                (*r.total_segments == 0 || *r.total_segments > max_total_segments ||
                 *r.segment >= *r.total_segments)) {
                return invalid(diag,
                               "Scan: need 1 <= TotalSegments <= 1000000 and Segment < "
                               "TotalSegments");
            }
            return error_code{};
        },
        [&] {
            return r.exclusive_start_key
                       ? check_key(*r.exclusive_start_key, "ExclusiveStartKey", diag)
                       : error_code{};
        },
        [&] {
            return check_expressions(r.expression_attribute_names, r.expression_attribute_values,
                                     diag);
        });
}

error_code validate(const transact_write_items_request& r, diagnostics& diag) {
    if (r.transact_items.empty() || r.transact_items.size() > max_transact_items) {
        return invalid(diag, "TransactItems: must hold 1 to 100 entries");
    }
    if (r.client_request_token.size() > max_client_request_token) {
        return invalid(diag, "ClientRequestToken: at most 36 characters");
    }
    for (const auto& entry : r.transact_items) {
        if (auto ec =
                std::visit([&](const auto& e) { return check_transact_entry(e, diag); }, entry)) {
            return ec;
        }
    }
    return {};
}

error_code validate(const create_table_request& r, diagnostics& diag) {
    return first_failure(
        [&] { return validate_table_name(r.table_name, diag); },
        [&] { return check_key_attribute_name(r.partition_key.name, "partition key", diag); },
        [&] {
            if (!r.sort_key) {
                return error_code{};
            }
            if (r.sort_key->name == r.partition_key.name) {
                return invalid(diag, "sort key: must differ from the partition key");
            }
            return check_key_attribute_name(r.sort_key->name, "sort key", diag);
        },
        [&] {
            const auto& units = r.provisioned_throughput;
            if (r.billing_mode == billing_mode::provisioned &&
                (units.read_capacity_units == 0 || units.write_capacity_units == 0)) {
                return invalid(diag,
                               "ProvisionedThroughput: PROVISIONED needs units of at least 1");
            }
            return error_code{};
        });
}

error_code validate(const describe_table_request& r, diagnostics& diag) {
    return validate_table_name(r.table_name, diag);
}

error_code validate(const delete_table_request& r, diagnostics& diag) {
    return validate_table_name(r.table_name, diag);
}

error_code validate(const update_time_to_live_request& r, diagnostics& diag) {
    return first_failure(
        [&] { return validate_table_name(r.table_name, diag); },
        [&] { return check_key_attribute_name(r.attribute_name, "TTL attribute name", diag); });
}

error_code validate(const describe_time_to_live_request& r, diagnostics& diag) {
    return validate_table_name(r.table_name, diag);
}

error_code validate(const item_write& w, diagnostics& diag) {
    if (auto ec = validate_table_name(w.table_name, diag)) {
        return ec;
    }
    if (w.key.empty() || w.key.size() > 2) {
        return invalid(diag, "Key: a key has one or two attributes");
    }
    for (const auto& [name, value] : w.key) {
        // As check_key: without the schema, the partition key's bound for both.
        if (auto ec = check_string_key(name, value, max_partition_key_bytes, diag)) {
            return ec;
        }
    }
    for (const auto& [placeholder, name] : w.names) {
        if (auto ec = check_expression_name(placeholder, name, diag)) {
            return ec;
        }
    }
    for (const auto& [placeholder, value] : w.values) {
        if (auto ec = check_value_placeholder(placeholder, diag)) {
            return ec;
        }
        if (!is_utf8(placeholder)) {
            return invalid(diag, "ExpressionAttributeValues: an attribute name is not valid UTF-8");
        }
        if (auto ec = check_value(*value, placeholder, max_nesting_levels, diag)) {
            return ec;
        }
    }
    if (w.update_expression.empty()) {
        return check_put_or_delete_return_values(w.return_values, diag);
    }
    return {};
}

}  // namespace dynalock::dynamodb
