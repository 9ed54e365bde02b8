#include "aws/profile_file.hpp"

#include <gtest/gtest.h>

namespace dynalock::aws {
namespace {

struct parsed {
    error_code ec;
    profile_file file;
    diagnostics diag;
};

parsed parse(std::string_view text, profile_file_kind kind = profile_file_kind::config) {
    parsed result;
    result.ec = parse_profile_file(text, "/home/u/.aws/config", kind, result.file, result.diag);
    return result;
}

std::string value(const profile_file& f, std::string_view profile_name, std::string_view key) {
    auto p = f.profiles.find(profile_name);
    if (p == f.profiles.end()) {
        return "<no profile>";
    }
    const std::string* v = find_property(p->second, key);
    return v ? *v : "<no key>";
}

TEST(ProfileFile, ConfigSectionsNeedProfilePrefixExceptDefault) {
    auto r = parse(
        "[default]\n"
        "region = us-east-1\n"
        "[profile dev]\n"
        "region = eu-west-1\n"
        "[prod]\n"
        "region = ap-south-1\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "region"), "us-east-1");
    EXPECT_EQ(value(r.file, "dev", "region"), "eu-west-1");
    // Without the prefix a config section is not a profile.
    EXPECT_FALSE(r.file.profiles.contains("prod"));
    EXPECT_FALSE(r.file.profiles.contains("profile dev"));
}

TEST(ProfileFile, ConfigProfileDefaultIsTheDefaultProfile) {
    auto r = parse("[profile default]\nregion = us-west-2\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "region"), "us-west-2");
}

TEST(ProfileFile, CredentialsSectionsAreTakenLiterally) {
    auto r = parse(
        "[default]\naws_access_key_id = A\n"
        "[dev]\naws_access_key_id = B\n"
        "[profile x]\naws_access_key_id = C\n",
        profile_file_kind::credentials);
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "aws_access_key_id"), "A");
    EXPECT_EQ(value(r.file, "dev", "aws_access_key_id"), "B");
    EXPECT_EQ(value(r.file, "profile x", "aws_access_key_id"), "C");
    EXPECT_FALSE(r.file.profiles.contains("x"));
}

TEST(ProfileFile, WhitespaceAroundNamesKeysAndValuesIsTrimmed) {
    auto r = parse("[  profile   spaced  ]\n  \n\tregion\t=\t us-east-2  \r\n",
                   profile_file_kind::config);
    // The indented `region` line has no property to continue.
    EXPECT_EQ(r.ec, errc::invalid_config);
    r = parse("[  profile   spaced  ]\r\nregion\t=\t us-east-2  \r\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "spaced", "region"), "us-east-2");
}

TEST(ProfileFile, KeysAreCaseInsensitiveProfileNamesAreNot) {
    auto r = parse("[profile Dev]\nRegion = eu-north-1\nAWS_Access_Key_ID = K\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "Dev", "region"), "eu-north-1");
    EXPECT_EQ(value(r.file, "Dev", "aws_access_key_id"), "K");
    EXPECT_FALSE(r.file.profiles.contains("dev"));
}

TEST(ProfileFile, CommentsAndBlankLines) {
    auto r = parse(
        "# leading comment\n"
        "; another\n"
        "\n"
        "[default] # comment after header\n"
        "  # indented comment\n"
        "region = us-east-1 # trailing\n"
        "output = json ; trailing\n"
        "endpoint_url = http://h/#frag\n"
        "tag = a#b;c\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "region"), "us-east-1");
    EXPECT_EQ(value(r.file, "default", "output"), "json");
    // A '#' not preceded by whitespace is part of the value.
    EXPECT_EQ(value(r.file, "default", "endpoint_url"), "http://h/#frag");
    EXPECT_EQ(value(r.file, "default", "tag"), "a#b;c");
}

TEST(ProfileFile, EmptyValueIsKept) {
    auto r = parse("[default]\nregion =\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "region"), "");
}

TEST(ProfileFile, ValueMayContainEquals) {
    auto r = parse("[default]\naws_secret_access_key = abc=def==\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "aws_secret_access_key"), "abc=def==");
}

TEST(ProfileFile, IndentedBlockUnderEmptyValueIsSubProperties) {
    auto r = parse(
        "[default]\n"
        "s3 =\n"
        "  addressing_style = path\n"
        "\tSignature_Version = s3v4\n"
        "region = us-east-1\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    const profile_property& s3 = r.file.profiles.at("default").at("s3");
    EXPECT_EQ(s3.value, "");
    ASSERT_EQ(s3.sub_properties.size(), 2u);
    EXPECT_EQ(s3.sub_properties.at("addressing_style"), "path");
    EXPECT_EQ(s3.sub_properties.at("signature_version"), "s3v4");
    EXPECT_EQ(value(r.file, "default", "region"), "us-east-1");
}

TEST(ProfileFile, IndentedLinesContinueANonEmptyValue) {
    auto r = parse("[default]\nnote = first\n  second\n\tthird\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "note"), "first\nsecond\nthird");
}

TEST(ProfileFile, ServicesSections) {
    auto r = parse(
        "[profile dev]\nservices = local\n"
        "[services local]\ndynamodb =\n  endpoint_url = http://localhost:8000\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "dev", "services"), "local");
    EXPECT_EQ(r.file.services.at("local").at("dynamodb").sub_properties.at("endpoint_url"),
              "http://localhost:8000");
}

TEST(ProfileFile, OtherSectionKindsAreSkipped) {
    auto r = parse("[sso-session s]\nsso_region = us-east-1\n[default]\nregion = r\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(r.file.profiles.size(), 1u);
    EXPECT_EQ(value(r.file, "default", "region"), "r");
}

TEST(ProfileFile, RepeatedSectionsMergeLaterKeysWin) {
    auto r = parse("[default]\na = 1\nb = 2\n[profile x]\n[default]\nb = 3\n");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "a"), "1");
    EXPECT_EQ(value(r.file, "default", "b"), "3");
}

TEST(ProfileFile, EmptyAndCommentOnlyFiles) {
    EXPECT_FALSE(parse("").ec);
    auto r = parse("# nothing\n\n;\n");
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.file.profiles.empty());
}

TEST(ProfileFile, NoTrailingNewline) {
    auto r = parse("[default]\nregion = us-east-1");
    ASSERT_FALSE(r.ec) << r.diag.message;
    EXPECT_EQ(value(r.file, "default", "region"), "us-east-1");
}

struct malformed_case {
    const char* text;
    int line;
    const char* problem;
};

class ProfileFileMalformed : public testing::TestWithParam<malformed_case> {};

TEST_P(ProfileFileMalformed, NamesPathLineAndProblem) {
    const malformed_case& c = GetParam();
    auto r = parse(c.text);
    EXPECT_EQ(r.ec, errc::invalid_config);
    EXPECT_EQ(r.diag.message, "/home/u/.aws/config:" + std::to_string(c.line) + ": " + c.problem);
}

INSTANTIATE_TEST_SUITE_P(
    Lines, ProfileFileMalformed,
    testing::Values(
        malformed_case{"region = x\n", 1, "property before the first [section] header"},
        malformed_case{"# c\n\n[default\n", 3, "section header is missing its closing ']'"},
        malformed_case{"[default] x\n", 1, "unexpected text after the section header's ']'"},
        malformed_case{"[ ]\n", 1, "empty section name"},
        malformed_case{"[profile]\n", 1, "'[profile]' needs a name after 'profile'"},
        malformed_case{"[profile   ]\n", 1, "'[profile]' needs a name after 'profile'"},
        malformed_case{"[services]\n", 1, "'[services]' needs a name after 'services'"},
        malformed_case{"[default]\nregion\n", 2, "expected 'key = value' or a [section] header"},
        malformed_case{"[default]\n = v\n", 2, "indented line does not continue any property"},
        malformed_case{"[default]\n= v\n", 2, "missing key before '='"},
        malformed_case{"  x = 1\n", 1, "indented line does not continue any property"},
        malformed_case{"[default]\ns3 =\n  nokey\n", 3,
                       "expected 'key = value' in the indented block"},
        malformed_case{"[default]\ns3 =\n  = v\n", 3,
                       "missing key before '=' in the indented block"},
        malformed_case{"[default]\na = 1\n[b]\n  c\n", 4,
                       "indented line does not continue any property"}));

TEST(ProfileFile, MalformedLineTextIsNotQuoted) {
    diagnostics diag;
    profile_file f;
    error_code ec = parse_profile_file("[default]\nAKIASECRETVALUE\n", "creds",
                                       profile_file_kind::credentials, f, diag);
    EXPECT_EQ(ec, errc::invalid_config);
    EXPECT_EQ(diag.message.find("AKIASECRETVALUE"), std::string::npos) << diag.message;
    EXPECT_EQ(diag.message.rfind("creds:2: ", 0), 0u) << diag.message;
}

}  // namespace
}  // namespace dynalock::aws
