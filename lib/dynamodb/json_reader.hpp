#pragma once

// Reading DynamoDB's response JSON into our types, shared by the decoders of
// successful and error responses. A shape we do not expect throws
// `malformed_json`, which `decode_guarded` turns into errc::malformed_response;
// the exception never leaves lib/dynamodb.

#include <dynalock/attribute_value.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dynalock::dynamodb {

using json = nlohmann::json;

struct malformed_json : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// nullopt when `body` is not JSON; never throws for any input.
std::optional<json> parse_json(std::string_view body);

/// The member, or nullptr when absent or null.
const json* find_member(const json& object, std::string_view name);
/// The member; throws when absent or null.
const json& member(const json& object, std::string_view name);

const json& as_object(const json& value, std::string_view what);
const json& as_array(const json& value, std::string_view what);
const std::string& as_string(const json& value, std::string_view what);
bool as_bool(const json& value, std::string_view what);
std::uint64_t as_unsigned(const json& value, std::string_view what);

/// A wire attribute value ({"S": ...}) of at most DynamoDB's nesting depth.
attribute_value as_attribute(const json& value, std::string_view what);
/// A wire map of attribute values ({"name": {"S": ...}, ...}).
attribute_map as_attributes(const json& value, std::string_view what);

/// The fast path for the hot item responses, which skips the JSON DOM: reads a
/// body that is exactly `{}` or `{"<name>": <attribute map>}` written the way
/// DynamoDB writes it (ASCII strings without escapes, no duplicate names, no
/// nulls, every value valid) into `attributes` and returns true. Returns false,
/// leaving `attributes` alone, for any other body, valid or not: the caller
/// then reads it in full, which gives the authoritative result or error. So
/// whatever this accepts, the full reader accepts with the same result. Never
/// throws.
bool read_canonical_attributes_member(std::string_view body, std::string_view name,
                                      std::optional<attribute_map>& attributes) noexcept;

/// Parses `body` as a JSON object and runs `read(object)`; a body that is not
/// a JSON object, or a `malformed_json` thrown by `read`, gives
/// errc::malformed_response with the reason in `diag.message`.
template <class Reader>
error_code decode_guarded(std::string_view body, diagnostics& diag, Reader&& read) {
    try {
        const auto document = parse_json(body);
        if (!document || !document->is_object()) {
            throw malformed_json("the body is not a JSON object");
        }
        read(*document);
        return {};
    } catch (const std::exception& e) {
        // Includes allocation failures on absurd inputs: the caller gets an
        // error code, never an exception.
        diag.message = std::string("malformed response: ") + e.what();
        return errc::malformed_response;
    }
}

}  // namespace dynalock::dynamodb
