// The examples' JSON string quoting (examples/support/json_string), which
// their event lines and the benches' result lines use: what it escapes, what
// it keeps, and that a JSON parser reads back every string it is given.

#include "support/json_string.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using examples::json_string;
using namespace std::string_literals;

TEST(json_string, quotes_plain_text) {
    EXPECT_EQ(json_string("w1"), "\"w1\"");
    EXPECT_EQ(json_string(""), "\"\"");
}

TEST(json_string, escapes_quotes_and_backslashes) {
    EXPECT_EQ(json_string(R"(a"b\c)"), R"("a\"b\\c")");
}

TEST(json_string, escapes_control_characters) {
    EXPECT_EQ(json_string("a\nb"), R"("a\u000ab")");
    EXPECT_EQ(json_string("\t\r\x01\x1f"), R"("\u0009\u000d\u0001\u001f")");
    EXPECT_EQ(json_string("\0x"s), R"("\u0000x")");
}

TEST(json_string, keeps_the_rest_as_it_is) {
    EXPECT_EQ(json_string(" ~\x7f/"), "\" ~\x7f/\"");
    // UTF-8 beyond ASCII, two to four bytes a character: byte for byte.
    const std::string utf8 = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x92";
    EXPECT_EQ(json_string(utf8), "\"" + utf8 + "\"");
}

TEST(json_string, a_parser_reads_back_every_ascii_character_and_utf8) {
    std::string ascii;
    for (int c = 0; c < 0x80; ++c) {
        ascii += static_cast<char>(c);
    }
    for (const std::string& s : {ascii, "shard\n7 \"x\" caf\xc3\xa9 \xf0\x9f\x94\x92"s}) {
        const std::string quoted = json_string(s);
        EXPECT_EQ(nlohmann::json::parse(quoted).get<std::string>(), s) << quoted;
        EXPECT_EQ(quoted.find('\n'), std::string::npos) << "one line: " << quoted;
    }
}
