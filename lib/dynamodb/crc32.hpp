#pragma once

#include <dynalock/error.hpp>

#include <cstdint>
#include <string_view>

namespace dynalock::dynamodb {

/// CRC-32/IEEE (zlib's crc32) of `data`, continuing from `crc` (0 to start).
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0) noexcept;

/// Checks a body against DynamoDB's `x-amz-crc32` header (the decimal CRC-32
/// of the body bytes): errc::crc32_mismatch when they differ,
/// errc::malformed_response when the header is not a decimal uint32.
error_code verify_crc32(std::string_view header_value, std::string_view body) noexcept;

}  // namespace dynalock::dynamodb
