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

// The canonical subset of the attribute-value JSON, read straight from the
// text. Every `read_*` answers false for anything outside that subset (the
// caller then hands the body to the full reader), so it needs no error
// reporting of its own; it mirrors `attribute_at` type by type.
class canonical_reader {
public:
    explicit canonical_reader(std::string_view text)
        : at_(text.data()), end_(text.data() + text.size()) {}

    bool read_body(std::string_view name, std::optional<attribute_map>& attributes) {
        if (!consume('{')) {
            return false;
        }
        if (consume('}')) {
            if (!at_end()) {
                return false;
            }
            attributes.reset();
            return true;
        }
        std::string_view key;
        attribute_map map;
        if (!read_string(key) || key != name || !consume(':') ||
            !read_map(map, max_nesting_levels) || !consume('}') || !at_end()) {
            return false;
        }
        attributes = std::move(map);
        return true;
    }

private:
    void skip_space() {
        while (at_ != end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) {
            ++at_;
        }
    }

    bool consume(char c) {
        skip_space();
        if (at_ == end_ || *at_ != c) {
            return false;
        }
        ++at_;
        return true;
    }

    bool at_end() {
        skip_space();
        return at_ == end_;
    }

    // A string is canonical when its bytes are printable ASCII other than the
    // backslash: then its JSON text is its value.
    bool read_string(std::string_view& value) {
        if (!consume('"')) {
            return false;
        }
        const char* const begin = at_;
        while (at_ != end_ && *at_ != '"') {
            const auto byte = static_cast<unsigned char>(*at_);
            if (byte < 0x20 || byte >= 0x80 || byte == '\\') {
                return false;
            }
            ++at_;
        }
        if (at_ == end_) {
            return false;
        }
        value = std::string_view(begin, static_cast<std::size_t>(at_ - begin));
        ++at_;
        return true;
    }

    bool read_literal(std::string_view literal) {
        skip_space();
        if (static_cast<std::size_t>(end_ - at_) < literal.size() ||
            std::string_view(at_, literal.size()) != literal) {
            return false;
        }
        at_ += literal.size();
        return true;
    }

    bool read_bool(bool& value) {
        if (read_literal("true")) {
            value = true;
            return true;
        }
        value = false;
        return read_literal("false");
    }

    bool read_text(std::string& value) {
        std::string_view text;
        if (!read_string(text)) {
            return false;
        }
        value.assign(text);
        return true;
    }

    bool read_number(number& value) {
        std::string_view text;
        if (!read_string(text) || !parse_decimal(text)) {
            return false;
        }
        value.text.assign(text);
        return true;
    }

    bool read_binary(bytes& value) {
        std::string_view text;
        if (!read_string(text)) {
            return false;
        }
        auto decoded = decode_base64(text);
        if (!decoded) {
            return false;
        }
        value = std::move(*decoded);
        return true;
    }

    template <class T, class Read>
    bool read_array(std::vector<T>& values, Read read) {
        if (!consume('[')) {
            return false;
        }
        if (consume(']')) {
            return true;
        }
        do {
            if (!read(values.emplace_back())) {
                return false;
            }
        } while (consume(','));
        return consume(']');
    }

    bool read_map(attribute_map& map, int levels_left) {
        if (!consume('{')) {
            return false;
        }
        if (consume('}')) {
            return true;
        }
        do {
            std::string_view name;
            attribute_value value;
            // A repeated name is valid JSON the full reader resolves (the last
            // one wins); it is left to it.
            if (!read_string(name) || !consume(':') || !read_value(value, levels_left) ||
                !map.emplace(name, std::move(value)).second) {
                return false;
            }
        } while (consume(','));
        return consume('}');
    }

    // One {"<type>": <content>} object; a second member is left to the full
    // reader, which rejects it.
    bool read_value(attribute_value& value, int levels_left) {
        std::string_view type;
        return consume('{') && read_string(type) && consume(':') &&
               read_content(type, value, levels_left) && consume('}');
    }

    template <class T, class Read>
    bool read_as(attribute_value& value, Read read) {
        T content;
        if (!read(content)) {
            return false;
        }
        value = std::move(content);
        return true;
    }

    bool read_content(std::string_view type, attribute_value& value, int levels_left) {
        const auto text = [this](std::string& v) { return read_text(v); };
        const auto numeric = [this](number& v) { return read_number(v); };
        const auto binary = [this](bytes& v) { return read_binary(v); };
        if (type == "S") {
            return read_as<std::string>(value, text);
        }
        if (type == "N") {
            return read_as<number>(value, numeric);
        }
        if (type == "B") {
            return read_as<bytes>(value, binary);
        }
        if (type == "BOOL") {
            return read_as<bool>(value, [this](bool& v) { return read_bool(v); });
        }
        if (type == "NULL") {
            value = null_value{};
            return read_literal("true");
        }
        if (type == "L" || type == "M") {
            if (levels_left == 0) {
                return false;
            }
            if (type == "M") {
                return read_as<attribute_map>(
                    value, [&](attribute_map& v) { return read_map(v, levels_left - 1); });
            }
            return read_as<attribute_list>(value, [&](attribute_list& v) {
                return read_array(
                    v, [&](attribute_value& e) { return read_value(e, levels_left - 1); });
            });
        }
        if (type == "SS") {
            return read_as<string_set>(value,
                                       [&](string_set& v) { return read_array(v.values, text); });
        }
        if (type == "NS") {
            return read_as<number_set>(
                value, [&](number_set& v) { return read_array(v.values, numeric); });
        }
        if (type == "BS") {
            return read_as<binary_set>(value,
                                       [&](binary_set& v) { return read_array(v.values, binary); });
        }
        return false;
    }

    const char* at_;
    const char* end_;
};

}  // namespace

bool read_canonical_attributes_member(std::string_view body, std::string_view name,
                                      std::optional<attribute_map>& attributes) noexcept {
    try {
        return canonical_reader(body).read_body(name, attributes);
    } catch (const std::exception&) {
        return false;  // allocation failure: the full reader reports it
    }
}

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
