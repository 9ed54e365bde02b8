#include "fake_sources.hpp"

#include <dynalock/aws_settings.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace dynalock {
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

    void set_env_credentials() {
        fake.env["AWS_ACCESS_KEY_ID"] = "ENVKEY";
        fake.env["AWS_SECRET_ACCESS_KEY"] = "envsecret";
    }

    test::fake_sources fake;
    aws_settings settings;
    diagnostics diag;
};

TEST_F(AwsSettings, EnvironmentOnly) {
    set_env_credentials();
    fake.env["AWS_SESSION_TOKEN"] = "envtoken";
    fake.env["AWS_REGION"] = "eu-west-1";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.profile, "default");
    EXPECT_EQ(settings.region, "eu-west-1");
    EXPECT_EQ(settings.credentials.access_key_id, "ENVKEY");
    EXPECT_EQ(settings.credentials.secret_access_key, "envsecret");
    EXPECT_EQ(settings.credentials.session_token, "envtoken");
    EXPECT_FALSE(settings.credentials.expiration);
    EXPECT_EQ(settings.endpoint_url, "https://dynamodb.eu-west-1.amazonaws.com");
    EXPECT_EQ(settings.endpoint, (endpoint{true, "dynamodb.eu-west-1.amazonaws.com", 443}));
}

TEST_F(AwsSettings, ChinaRegionsUseTheCnDomain) {
    set_env_credentials();
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
    set_env_credentials();
    fake.env["AWS_PROFILE"] = "envprofile";
    fake.env["AWS_REGION"] = "eu-west-1";
    fake.env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://env-dynamodb:1";
    fake.files[config_path] = "[profile mine]\nregion = us-west-1\n";
    ASSERT_FALSE(resolve({.profile = "mine",
                          .region = "ap-northeast-1",
                          .endpoint_url = "http://[::1]:8000",
                          .credentials = credentials{.access_key_id = "OPT",
                                                     .secret_access_key = "optsecret",
                                                     .session_token = "",
                                                     .expiration = std::nullopt}}))
        << diag.message;
    EXPECT_EQ(settings.profile, "mine");
    EXPECT_EQ(settings.region, "ap-northeast-1");
    EXPECT_EQ(settings.credentials.access_key_id, "OPT");
    EXPECT_EQ(settings.endpoint_url, "http://[::1]:8000");
    EXPECT_EQ(settings.endpoint, (endpoint{false, "::1", 8000}));
}

TEST_F(AwsSettings, ProfileFromEnvironment) {
    fake.env["AWS_PROFILE"] = "dev";
    fake.files[credentials_path] =
        "[default]\naws_access_key_id = DEF\naws_secret_access_key = d\n"
        "[dev]\naws_access_key_id = DEV\naws_secret_access_key = s\n";
    fake.files[config_path] =
        "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-central-1\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.profile, "dev");
    EXPECT_EQ(settings.credentials.access_key_id, "DEV");
    EXPECT_EQ(settings.region, "eu-central-1");
}

TEST_F(AwsSettings, EmptyEnvironmentVariablesCountAsUnset) {
    fake.env["AWS_PROFILE"] = "";
    fake.env["AWS_REGION"] = "";
    fake.env["AWS_ACCESS_KEY_ID"] = "";
    fake.env["AWS_SECRET_ACCESS_KEY"] = "";
    fake.env["AWS_ENDPOINT_URL"] = "";
    fake.files[credentials_path] = "[default]\naws_access_key_id = K\naws_secret_access_key = S\n";
    fake.files[config_path] = "[default]\nregion = us-east-2\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.profile, "default");
    EXPECT_EQ(settings.credentials.access_key_id, "K");
    EXPECT_EQ(settings.region, "us-east-2");
    EXPECT_EQ(settings.endpoint_url, "https://dynamodb.us-east-2.amazonaws.com");
}

TEST_F(AwsSettings, CredentialsPrecedence) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[credentials_path] =
        "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = f\n"
        "aws_session_token = filetoken\n";
    fake.files[config_path] = "[default]\naws_access_key_id = CFGKEY\naws_secret_access_key = c\n";

    set_env_credentials();
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.credentials.access_key_id, "ENVKEY");
    EXPECT_EQ(settings.credentials.session_token, "");

    fake.env.erase("AWS_ACCESS_KEY_ID");
    fake.env.erase("AWS_SECRET_ACCESS_KEY");
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.credentials.access_key_id, "FILEKEY");
    EXPECT_EQ(settings.credentials.session_token, "filetoken");

    fake.files.erase(credentials_path);
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.credentials.access_key_id, "CFGKEY");
}

TEST_F(AwsSettings, CredentialsFileProfileWithoutKeysFallsThroughToConfig) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[credentials_path] = "[default]\nsomething = else\n";
    fake.files[config_path] = "[default]\naws_access_key_id = CFG\naws_secret_access_key = c\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.credentials.access_key_id, "CFG");
}

TEST_F(AwsSettings, CredentialsFileDoesNotStripProfilePrefix) {
    fake.env["AWS_PROFILE"] = "dev";
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[credentials_path] =
        "[profile dev]\naws_access_key_id = K\naws_secret_access_key = s\n";
    EXPECT_EQ(resolve(), errc::credentials_unavailable);
    EXPECT_NE(diag.message.find(std::string(credentials_path) + ": no profile \"dev\""),
              std::string::npos)
        << diag.message;
}

TEST_F(AwsSettings, NoCredentialsListsEverySource) {
    fake.env["AWS_PROFILE"] = "dev";
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[config_path] = "[profile dev]\nregion = us-east-1\n";
    EXPECT_EQ(resolve(), errc::credentials_unavailable);
    EXPECT_EQ(diag.message,
              "no AWS credentials found: environment: AWS_ACCESS_KEY_ID is not set; "
              "/home/u/.aws/credentials does not exist; "
              "/home/u/.aws/config profile \"dev\" has no aws_access_key_id");
}

TEST_F(AwsSettings, PartialEnvironmentCredentialsAreAnError) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[credentials_path] = "[default]\naws_access_key_id = K\naws_secret_access_key = s\n";
    fake.env["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "the environment sets AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY; set both or "
              "neither");
    fake.env.erase("AWS_ACCESS_KEY_ID");
    fake.env["AWS_SECRET_ACCESS_KEY"] = "secret";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "the environment sets AWS_SECRET_ACCESS_KEY but not AWS_ACCESS_KEY_ID; set both or "
              "neither");
}

TEST_F(AwsSettings, PartialProfileCredentialsAreAnError) {
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[credentials_path] = "[default]\naws_access_key_id = K\n";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "/home/u/.aws/credentials profile \"default\" sets aws_access_key_id but not "
              "aws_secret_access_key; set both or neither");
}

TEST_F(AwsSettings, RegionPrecedence) {
    set_env_credentials();
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
    set_env_credentials();
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
    set_env_credentials();
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
    set_env_credentials();
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
    set_env_credentials();
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[config_path] =
        "[default]\nservices = s\nendpoint_url = http://global\n"
        "[services s]\ns3 =\n  endpoint_url = http://s3-only\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.endpoint_url, "http://global");
}

TEST_F(AwsSettings, InvalidEndpointNamesItsSource) {
    set_env_credentials();
    fake.env["AWS_REGION"] = "us-east-1";
    fake.env["AWS_ENDPOINT_URL"] = "ftp://x";
    EXPECT_EQ(resolve(), errc::invalid_endpoint);
    EXPECT_EQ(diag.message,
              "invalid endpoint URL: the scheme must be http:// or https:// (from "
              "AWS_ENDPOINT_URL)");
    EXPECT_EQ(resolve({.endpoint_url = "http://h/x"}), errc::invalid_endpoint);
    EXPECT_NE(diag.message.find("(from the options)"), std::string::npos) << diag.message;
}

TEST_F(AwsSettings, FileLocationsFromEnvironment) {
    fake.env["AWS_SHARED_CREDENTIALS_FILE"] = "/etc/creds";
    fake.env["AWS_CONFIG_FILE"] = "~/custom/config";
    fake.files["/etc/creds"] = "[default]\naws_access_key_id = K\naws_secret_access_key = s\n";
    fake.files["/home/u/custom/config"] = "[default]\nregion = us-west-2\n";
    // Decoys at the default places must be ignored.
    fake.files[credentials_path] =
        "[default]\naws_access_key_id = WRONG\naws_secret_access_key = s\n";
    fake.files[config_path] = "[default]\nregion = wrong-1\n";
    ASSERT_FALSE(resolve()) << diag.message;
    EXPECT_EQ(settings.credentials.access_key_id, "K");
    EXPECT_EQ(settings.region, "us-west-2");
}

TEST_F(AwsSettings, WithoutHomeTheDefaultFilesAreSkipped) {
    fake.env.erase("HOME");
    fake.env["AWS_REGION"] = "us-east-1";
    EXPECT_EQ(resolve(), errc::credentials_unavailable);
    EXPECT_NE(diag.message.find("HOME is not set, so ~/.aws/credentials cannot be located"),
              std::string::npos)
        << diag.message;
    EXPECT_NE(diag.message.find("HOME is not set, so ~/.aws/config cannot be located"),
              std::string::npos)
        << diag.message;
}

TEST_F(AwsSettings, MalformedFileIsAnErrorNamingFileAndLine) {
    set_env_credentials();
    fake.env["AWS_REGION"] = "us-east-1";
    fake.files[config_path] = "[default]\nregion = us-east-1\nbroken line\n";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message, "/home/u/.aws/config:3: expected 'key = value' or a [section] header");

    fake.files.erase(config_path);
    fake.files[credentials_path] = "[default\n";
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "/home/u/.aws/credentials:1: section header is missing its closing ']'");
}

TEST_F(AwsSettings, UnreadableFileIsAnError) {
    set_env_credentials();
    fake.env["AWS_REGION"] = "us-east-1";
    fake.unreadable[config_path] = make_error_code(boost::system::errc::permission_denied);
    EXPECT_EQ(resolve(), errc::invalid_config);
    EXPECT_EQ(diag.message.rfind("cannot read /home/u/.aws/config: ", 0), 0u) << diag.message;
}

TEST_F(AwsSettings, OutputUntouchedOnFailure) {
    aws_settings before{
        .profile = "p", .region = "r", .endpoint_url = "u", .endpoint = {}, .credentials = {}};
    settings = before;
    EXPECT_EQ(resolve_aws_settings({}, fake.sources(), settings, diag),
              errc::credentials_unavailable);
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
}  // namespace dynalock
