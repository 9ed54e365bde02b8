#pragma once

#include <dynalock/attribute_value.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace dynalock::dynamodb {

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

    void key(std::string_view name);
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
    void optional_string(std::string_view name, std::string_view value);
    void optional_names(std::string_view name, const std::map<std::string, std::string>& map);
    void optional_attributes(std::string_view name, const attribute_map& map);

private:
    void separate();
    void open(char c);
    void close(char c);
    void escaped(std::string_view text);

    std::string& out_;
    bool first_ = true;  // no value yet at this level: no comma before the next
};

}  // namespace dynalock::dynamodb
