#pragma once

#include <dynalock/attribute_value.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace dynalock::dynamodb {

/// A member name the encoder spells out: a literal, checked when compiled to
/// need no escaping, so that it is written as it is (most of a request's
/// names are these).
class json_name {
public:
    template <std::size_t N>
    consteval json_name(const char (&name)[N]) : text_(name, N - 1) {  // NOLINT: implicit
        for (const char c : text_) {
            if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') {
                throw "a json_name is written unescaped";  // not a constant: a compile error
            }
        }
    }
    std::string_view text() const noexcept { return text_; }

private:
    std::string_view text_;
};

/// Appends `text` to `out` as a JSON string: quoted, and escaped where JSON
/// requires it.
void append_json_string(std::string& out, std::string_view text);

/// Writes compact JSON straight into a string: request encoding is on the path
/// of every heartbeat, and a DOM would allocate once per node.
///
/// Commas are placed automatically; the caller is responsible for balancing
/// begin/end calls and for giving every key a value.
class json_writer {
public:
    explicit json_writer(std::string& out) : out_(out) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    /// A member's name known when compiled.
    void key(json_name name);
    /// A member's name from data (an attribute's, a placeholder), escaped.
    void escaped_key(std::string_view name);
    void string(std::string_view value);
    void boolean(bool value);
    /// A B value: a base64 string.
    void binary(const bytes& value);
    void unsigned_number(std::uint64_t value);
    /// The wire form of a DynamoDB value: {"S":...}, {"M":{...}}, ...
    void attribute(const attribute_value& value);
    /// {"name":{"S":...},...}
    void attributes(const attribute_map& map);
    /// {"#k":"name",...}
    void string_map(const std::map<std::string, std::string>& map);

    // Members written only when they carry something, as the API treats an
    // absent member and an empty one differently for most fields.
    void optional_string(json_name name, std::string_view value);
    void optional_names(json_name name, const std::map<std::string, std::string>& map);
    void optional_attributes(json_name name, const attribute_map& map);

private:
    void separate();
    void open(char c);
    void close(char c);
    void escaped(std::string_view text);

    std::string& out_;
    bool first_ = true;  // no value yet at this level: no comma before the next
};

}  // namespace dynalock::dynamodb
