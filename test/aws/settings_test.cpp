#include "fake_sources.hpp"

#include "aws/aws_settings.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace dynalock::aws {
namespace {

constexpr const char* credentials_path = "/home/u/.aws/credentials";
constexpr const char* config_path = "/home/u/.aws/config";

class AwsSettings : public testing::Test {
protected:
    AwsSettings() { fake.env["HOME"] = "/home/u"; }

    error_code resolve(const aws_settings_options& options = {}) {
        diag.clear();
        settings = {};
        return resolve_aws_settings(options, fake.sources(), settings, diag);
    }

    test::fake_sources fake;
    aws_settings settings;
    diagnostics diag;
};

TEST_F(AwsSettings, EnvironmentOnly) {
    fake.env["AWS_REGION"] = "eu-west-1";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.profile, "default");
    EXPECT_EQ(settings.region, "eu-west-1");
    EXPECT_EQ(settings.endpoint_url, "https://dynamodb.eu-west-1.amazonaws.com");
    EXPECT_EQ(settings.endpoint, (endpoint{true, "dynamodb.eu-west-1.amazonaws.com", 443}));
}

TEST_F(AwsSettings, ChinaRegionsUseTheCnDomain) {
    fake.env["AWS_REGION"] = "cn-north-1";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint_url, "https://dynamodb.cn-north-1.amazonaws.com.cn");
    EXPECT_EQ(settings.endpoint.host, "dynamodb.cn-north-1.amazonaws.com.cn");
    // Only a `cn-` prefix counts.
    fake.env["AWS_REGION"] = "xcn-north-1";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint_url, "https://dynamodb.xcn-north-1.amazonaws.com");
}

TEST_F(AwsSettings, ExplicitOptionsWinOverEverything) {
    fake.env["AWS_PROFILE"] = "envprofile";
    fake.env["AWS_REGION"] = "eu-west-1";
    fake.env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://env-dynamodb:1";
    fake.files[config_path] = "[profile mine]\nregion = us-west-1\n";
    ASSERT_FALSE(resolve(
        {.profile = "mine", .region = "ap-northeast-1", .endpoint_url = "http://[::1]:8000"}))
        << diag.message;
    EXPECT_EQ(settings.profile, "mine");
    EXPECT_EQ(settings.region, "ap-northeast-1");
    EXPECT_EQ(settings.endpoint_url, "http://[::1]:8000");
    EXPECT_EQ(settings.endpoint, (endpoint{false, "::1", 8000}));
}

TEST_F(AwsSettings, ProfileFromEnvironment) {
    fake.env["AWS_PROFILE"] = "dev";
    fake.files[config_path] =
        "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-central-1\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.profile, "dev");
    EXPECT_EQ(settings.region, "eu-central-1");
}

TEST_F(AwsSettings, EmptyEnvironmentVariablesCountAsUnset) {
    fake.env["AWS_PROFILE"] = "";
    fake.env["AWS_REGION"] = "";
    fake.env["AWS_ENDPOINT_URL"] = "";
    fake.files[config_path] = "[default]\nregion = us-east-2\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.profile, "default");
    EXPECT_EQ(settings.region, "us-east-2");
    EXPECT_EQ(settings.endpoint_url, "https://dynamodb.us-east-2.amazonaws.com");
}

TEST_F(AwsSettings, RegionPrecedence) {
    fake.files[config_path] = "[default]\nregion = from-config-1\n";
    fake.env["AWS_DEFAULT_REGION"] = "from-default-1";
    fake.env["AWS_REGION"] = "from-region-1";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.region, "from-region-1");
    fake.env.erase("AWS_REGION");
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.region, "from-default-1");
    fake.env.erase("AWS_DEFAULT_REGION");
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.region, "from-config-1");
}

TEST_F(AwsSettings, RegionIsNotReadFromTheCredentialsFile) {
    fake.files[credentials_path] =
        "[default]\naws_access_key_id = K\naws_secret_access_key = s\nregion = us-east-1\n";
    EXPECT_EQ(resolve(), errc::region_missing);
}

TEST_F(AwsSettings, RegionMissingNamesEveryPlace) {
    EXPECT_EQ(resolve(), errc::region_missing);
    EXPECT_EQ(diag.message,
              "no AWS region: none in the options, AWS_REGION and AWS_DEFAULT_REGION are not set, "
              "and /home/u/.aws/config does not exist");

    fake.files[config_path] = "[profile other]\nregion = us-east-1\n";
    EXPECT_EQ(resolve(), errc::region_missing);
    EXPECT_EQ(diag.message,
              "no AWS region: none in the options, AWS_REGION and AWS_DEFAULT_REGION are not set, "
              "and /home/u/.aws/config has no profile \"default\"");

    fake.files[config_path] = "[default]\noutput = json\n";
    EXPECT_EQ(resolve(), errc::region_missing);
    EXPECT_EQ(diag.message,
              "no AWS region: none in the options, AWS_REGION and AWS_DEFAULT_REGION are not set, "
              "and profile \"default\" in /home/u/.aws/config has no region");
}

TEST_F(AwsSettings, InvalidRegionNamesItsSource) {
    fake.env["AWS_REGION"] = "evil.com/x";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message, "the region \"evil.com/x\" from AWS_REGION is not a valid region name");
    fake.env.erase("AWS_REGION");
    fake.files[config_path] = "[default]\nregion = -bad\n";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "the region \"-bad\" from profile \"default\" in /home/u/.aws/config is not a valid "
              "region name");
}

TEST_F(AwsSettings, EndpointPrecedence) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.env["AWS_PROFILE"] = "dev";
    fake.files[config_path] =
        "[profile dev]\nendpoint_url = http://profile-global:4\nservices = local\n"
        "[services local]\ndynamodb =\n  endpoint_url = http://services-section:3\n";
    fake.env["AWS_ENDPOINT_URL"] = "http://env-global:2";
    fake.env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://env-dynamodb:1";

    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint, (endpoint{false, "env-dynamodb", 1}));
    fake.env.erase("AWS_ENDPOINT_URL_DYNAMODB");
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint, (endpoint{false, "env-global", 2}));
    fake.env.erase("AWS_ENDPOINT_URL");
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint, (endpoint{false, "services-section", 3}));
    EXPECT_EQ(settings.endpoint_url, "http://services-section:3");

    fake.files[config_path] = "[profile dev]\nendpoint_url = http://profile-global:4\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint, (endpoint{false, "profile-global", 4}));

    fake.files[config_path] = "[profile dev]\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint_url, "https://dynamodb.us-east-1.amazonaws.com");
}

TEST_F(AwsSettings, ServicesSectionWithoutDynamodbFallsBackToProfileEndpoint) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[config_path] =
        "[default]\nservices = s\nendpoint_url = http://global\n"
        "[services s]\ns3 =\n  endpoint_url = http://s3-only\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint_url, "http://global");
}

TEST_F(AwsSettings, InvalidEndpointNamesItsSource) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.env["AWS_ENDPOINT_URL"] = "ftp://x";
    EXPECT_EQ(resolve(), errc::invalid_endpoint);
    EXPECT_EQ(diag.message,
              "invalid endpoint URL: the scheme must be http:// or https:// (from "
              "AWS_ENDPOINT_URL)");
    EXPECT_EQ(resolve({.endpoint_url = "http://h/x"}), errc::invalid_endpoint);
    EXPECT_NE(diag.message.find("(from the options)"), std::string::npos) << diag.message;
}

TEST_F(AwsSettings, ConfigFileLocationFromEnvironment) {
    fake.env["AWS_CONFIG_FILE"] = "~/custom/config";
    fake.files["/home/u/custom/config"] = "[default]\nregion = us-west-2\n";
    // A decoy at the default place must be ignored.
    fake.files[config_path] = "[default]\nregion = wrong-1\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.region, "us-west-2");
}

TEST_F(AwsSettings, WithoutHomeTheDefaultFileIsSkipped) {
    fake.env.erase("HOME");
    EXPECT_EQ(resolve(), errc::region_missing);
    EXPECT_NE(diag.message.find("HOME is not set, so ~/.aws/config cannot be located"),
              std::string::npos)
        << diag.message;
}

TEST_F(AwsSettings, MalformedFileIsAnErrorNamingFileAndLine) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[config_path] = "[default]\nregion = us-east-1\nbroken line\n";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message, "/home/u/.aws/config:3: expected 'key = value' or a [section] header");
}

TEST_F(AwsSettings, UnreadableFileIsAnError) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.unreadable[config_path] = make_error_code(boost::system::errc::permission_denied);
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message.rfind("cannot read /home/u/.aws/config: ", 0), 0u) << diag.message;
}

TEST_F(AwsSettings, OutputUntouchedOnFailure) {
    aws_settings before{.profile = "p", .region = "r", .endpoint_url = "u", .endpoint = {}};
    settings = before;
    EXPECT_EQ(resolve_aws_settings({}, fake.sources(), settings, diag), errc::region_missing);
    EXPECT_EQ(settings.profile, "p");
    EXPECT_EQ(settings.region, "r");
}

// The real sources: the process environment and the file system.
TEST(SystemConfigSources, ReadsEnvironmentAndFiles) {
    config_sources sources = system_config_sources();
    ASSERT_EQ(::setenv("DYNALOCK_AWS_TEST_VARIABLE", "value 1", 1), 0);
    EXPECT_EQ(sources.get_env("DYNALOCK_AWS_TEST_VARIABLE"), "value 1");
    ASSERT_EQ(::unsetenv("DYNALOCK_AWS_TEST_VARIABLE"), 0);
    EXPECT_EQ(sources.get_env("DYNALOCK_AWS_TEST_VARIABLE"), std::nullopt);

    std::string path = testing::TempDir() + "dynalock_aws_settings_test_file";
    std::string contents(10000, 'x');
    contents += "[default]\n";
    std::ofstream(path, std::ios::binary) << contents;
    std::string read;
    EXPECT_FALSE(sources.read_file(path, read));
    EXPECT_EQ(read, contents);
    std::remove(path.c_str());
    EXPECT_EQ(sources.read_file(path, read), boost::system::errc::no_such_file_or_directory);
    EXPECT_TRUE(sources.read_file(testing::TempDir(), read)) << "a directory is not a file";
}

}  // namespace
}  // namespace dynalock::aws
