#include "dynamodb/crc32.hpp"

#include <array>
#include <charconv>

namespace dynalock::dynamodb {
namespace {

// Slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step,
// which matters for Query and Scan pages of hundreds of kilobytes.
using crc_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc_tables make_tables() {
    crc_tables t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        }
        t[0][i] = c;
    }
    for (std::size_t i = 0; i < 256; ++i) {
        for (std::size_t s = 1; s < 8; ++s) {
            t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
        }
    }
    return t;
}

constexpr crc_tables tables = make_tables();

std::uint32_t load_le32(const unsigned char* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}

}  // namespace

std::uint32_t crc32(std::string_view data, std::uint32_t crc) noexcept {
    crc = ~crc;
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size();
    for (; n >= 8; n -= 8, p += 8) {
        const std::uint32_t low = load_le32(p) ^ crc;
        const std::uint32_t high = load_le32(p + 4);
        crc = tables[7][low & 0xff] ^ tables[6][(low >> 8) & 0xff] ^ tables[5][(low >> 16) & 0xff] ^
              tables[4][low >> 24] ^ tables[3][high & 0xff] ^ tables[2][(high >> 8) & 0xff] ^
              tables[1][(high >> 16) & 0xff] ^ tables[0][high >> 24];
    }
    for (; n > 0; --n, ++p) {
        crc = tables[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

error_code verify_crc32(std::string_view header_value, std::string_view body) noexcept {
    std::uint32_t expected = 0;
    const char* end = header_value.data() + header_value.size();
    const auto [ptr, ec] = std::from_chars(header_value.data(), end, expected);
    if (header_value.empty() || ec != std::errc{} || ptr != end) {
        return errc::malformed_response;
    }
    return crc32(body) == expected ? error_code{} : error_code{errc::crc32_mismatch};
}

}  // namespace dynalock::dynamodb
