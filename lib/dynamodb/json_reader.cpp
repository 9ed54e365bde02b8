#include "dynamodb/json_reader.hpp"

#include "dynamodb/base64.hpp"
#include "dynamodb/decimal.hpp"
#include "dynamodb/limits.hpp"

namespace dynalock::dynamodb {
namespace {

[[noreturn]] void fail(std::string_view what, std::string_view problem) {
    std::string message(what);
    message += ": ";
    message += problem;
    throw malformed_json(message);
}

number as_number_text(const json& value, std::string_view what) {
    const std::string& text = as_string(value, what);
    if (!parse_decimal(text)) {
        fail(what, "N is not a decimal number");
    }
    return number{text};
}

bytes as_base64(const json& value, std::string_view what) {
    auto decoded = decode_base64(as_string(value, what));
    if (!decoded) {
        fail(what, "B is not valid base64");
    }
    return std::move(*decoded);
}

attribute_value attribute_at(const json& value, std::string_view what, int levels_left);

attribute_map attributes_at(const json& value, std::string_view what, int levels_left) {
    attribute_map map;
    for (const auto& [name, element] : as_object(value, what).items()) {
        map.emplace(name, attribute_at(element, what, levels_left));
    }
    return map;
}

template <class T, class Convert>
std::vector<T> set_of(const json& value, std::string_view what, Convert convert) {
    std::vector<T> values;
    for (const auto& element : as_array(value, what)) {
        values.push_back(convert(element, what));
    }
    return values;
}

attribute_value attribute_at(const json& value, std::string_view what, int levels_left) {
    const json& object = as_object(value, what);
    if (object.size() != 1) {
        fail(what, "an attribute value must have exactly one type member");
    }
    const auto only = object.begin();
    const std::string& type = only.key();
    const json& content = only.value();
    if (type == "S") {
        return as_string(content, what);
    }
    if (type == "N") {
        return as_number_text(content, what);
    }
    if (type == "B") {
        return as_base64(content, what);
    }
    if (type == "BOOL") {
        return as_bool(content, what);
    }
    if (type == "NULL") {
        if (!as_bool(content, what)) {
            fail(what, "NULL must be true");
        }
        return null_value{};
    }
    if (type == "L" || type == "M") {
        if (levels_left == 0) {
            fail(what, "attribute values nested too deeply");
        }
        if (type == "M") {
            return attributes_at(content, what, levels_left - 1);
        }
        attribute_list list;
        for (const auto& element : as_array(content, what)) {
            list.push_back(attribute_at(element, what, levels_left - 1));
        }
        return list;
    }
    if (type == "SS") {
        return string_set{set_of<std::string>(content, what, as_string)};
    }
    if (type == "NS") {
        return number_set{set_of<number>(content, what, as_number_text)};
    }
    if (type == "BS") {
        return binary_set{set_of<bytes>(content, what, as_base64)};
    }
    fail(what, "unknown attribute type");
}

}  // namespace

std::optional<json> parse_json(std::string_view body) {
    try {
        auto document = json::parse(body, nullptr, false);
        if (document.is_discarded()) {
            return std::nullopt;
        }
        return document;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

const json* find_member(const json& object, std::string_view name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

const json& member(const json& object, std::string_view name) {
    const json* found = find_member(object, name);
    if (found == nullptr) {
        fail(name, "missing");
    }
    return *found;
}

const json& as_object(const json& value, std::string_view what) {
    if (!value.is_object()) {
        fail(what, "expected an object");
    }
    return value;
}

const json& as_array(const json& value, std::string_view what) {
    if (!value.is_array()) {
        fail(what, "expected an array");
    }
    return value;
}

const std::string& as_string(const json& value, std::string_view what) {
    if (!value.is_string()) {
        fail(what, "expected a string");
    }
    return value.get_ref<const std::string&>();
}

bool as_bool(const json& value, std::string_view what) {
    if (!value.is_boolean()) {
        fail(what, "expected true or false");
    }
    return value.get<bool>();
}

std::uint64_t as_unsigned(const json& value, std::string_view what) {
    if (value.is_number_unsigned()) {
        return value.get<std::uint64_t>();
    }
    fail(what, "expected a non-negative integer");
}

attribute_value as_attribute(const json& value, std::string_view what) {
    return attribute_at(value, what, max_nesting_levels);
}

attribute_map as_attributes(const json& value, std::string_view what) {
    return attributes_at(value, what, max_nesting_levels);
}

}  // namespace dynalock::dynamodb
