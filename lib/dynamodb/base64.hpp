#pragma once

#include <dynalock/attribute_value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dynalock::dynamodb {

/// Appends the standard, padded base64 of `data` to `out` (the wire form of B).
void append_base64(std::string& out, const bytes& data);

/// Decodes standard, padded base64; nullopt for anything else (wrong length,
/// characters outside the alphabet, misplaced padding).
std::optional<bytes> decode_base64(std::string_view text);

}  // namespace dynalock::dynamodb
