#include "dynamodb/crc32.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dynalock::dynamodb {
namespace {

// Bit-at-a-time reference, to check the sliced implementation on every length
// and alignment.
std::uint32_t reference_crc32(std::string_view data) {
    std::uint32_t crc = 0xffffffffu;
    for (const char ch : data) {
        crc ^= static_cast<unsigned char>(ch);
        for (int k = 0; k < 8; ++k) {
            crc = (crc & 1) != 0 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
        }
    }
    return ~crc;
}

TEST(DynamodbCrc32, KnownValues) {
    EXPECT_EQ(crc32(""), 0u);
    EXPECT_EQ(crc32("123456789"), 3421780262u);  // the CRC-32/IEEE check value
    EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414fa339u);
    EXPECT_EQ(crc32("{}"), 2745614147u);  // zlib.crc32(b"{}")
}

TEST(DynamodbCrc32, MatchesReferenceOnEveryLengthAndOffset) {
    std::string data;
    for (int i = 0; i < 300; ++i) {
        data += static_cast<char>((i * 131 + 7) & 0xff);
    }
    for (std::size_t offset = 0; offset < 8; ++offset) {
        for (std::size_t length = 0; offset + length <= data.size(); length += 13) {
            const std::string_view slice = std::string_view(data).substr(offset, length);
            EXPECT_EQ(crc32(slice), reference_crc32(slice)) << offset << " " << length;
        }
    }
}

TEST(DynamodbCrc32, Incremental) {
    const std::string_view whole = "123456789abcdefghijklmnop";
    EXPECT_EQ(crc32(whole.substr(11), crc32(whole.substr(0, 11))), crc32(whole));
}

TEST(DynamodbCrc32, Verify) {
    EXPECT_FALSE(verify_crc32("3421780262", "123456789"));
    EXPECT_FALSE(verify_crc32("0", ""));
    EXPECT_EQ(verify_crc32("3421780263", "123456789"), errc::crc32_mismatch);
    EXPECT_EQ(verify_crc32("3421780262", "123456780"), errc::crc32_mismatch);
    for (const char* bad : {"", "abc", "-1", "+1", " 1", "1 ", "0x10", "4294967296",
                            "99999999999999999999", "12.0"}) {
        EXPECT_EQ(verify_crc32(bad, ""), errc::malformed_response) << bad;
    }
    EXPECT_EQ(verify_crc32("4294967295", ""), errc::crc32_mismatch);
}

}  // namespace
}  // namespace dynalock::dynamodb
