#include "credential_providers/credential_chain.hpp"
#include "aws/fake_sources.hpp"
#include "coroutine_test_support.hpp"
#include "credential_providers/credential_process.hpp"
#include "credential_providers/imds_credentials.hpp"
#include "credential_providers/sts.hpp"

#include <gtest/gtest.h>

namespace dynalock::aws {
namespace {

// Selection only: no provider here is asked to fetch over the network.
class CredentialChain : public ::testing::Test {
protected:
    CredentialChain() { fake.env = {{"HOME", "/home/u"}, {"AWS_EC2_METADATA_DISABLED", "true"}}; }

    error_code select(diagnostics& diag, std::string profile = "default") {
        options.profile = std::move(profile);
        return select_credentials_provider(ctx.get_executor(), fake.sources(), options, provider,
                                           diag);
    }

    credentials fetch_static() {
        credentials out;
        diagnostics diag;
        EXPECT_FALSE(test::fetch_credentials(ctx, *provider, out, diag, {})) << diag.message;
        return out;
    }

    boost::asio::io_context ctx;
    test::fake_sources fake;
    credential_chain_options options;
    std::unique_ptr<async_credentials_provider> provider;
};

TEST_F(CredentialChain, NothingFoundListsEverySource) {
    diagnostics diag;
    EXPECT_EQ(select(diag), errc::credentials_unavailable);
    EXPECT_EQ(diag.message,
              "no AWS credentials found: environment: AWS_ACCESS_KEY_ID is not set; web identity: "
              "AWS_WEB_IDENTITY_TOKEN_FILE is not set; /home/u/.aws/credentials does not exist; "
              "/home/u/.aws/config does not exist; profile \"default\" has no credential_process; "
              "container: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
              "AWS_CONTAINER_CREDENTIALS_FULL_URI is set; instance metadata: "
              "AWS_EC2_METADATA_DISABLED is true");
}

TEST_F(CredentialChain, EnvironmentFirst) {
    fake.env["AWS_ACCESS_KEY_ID"] = "AKENV";
    fake.env["AWS_SECRET_ACCESS_KEY"] = "SK";
    fake.files["/home/u/.aws/credentials"] =
        "[default]\naws_access_key_id = AKFILE\n"
        "aws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    EXPECT_EQ(fetch_static().access_key_id, "AKENV");
}

TEST_F(CredentialChain, EnvironmentKeysWithSessionToken) {
    fake.env["AWS_ACCESS_KEY_ID"] = "AKENV";
    fake.env["AWS_SECRET_ACCESS_KEY"] = "envsecret";
    fake.env["AWS_SESSION_TOKEN"] = "envtoken";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    credentials got = fetch_static();
    EXPECT_EQ(got.access_key_id, "AKENV");
    EXPECT_EQ(got.secret_access_key, "envsecret");
    EXPECT_EQ(got.session_token, "envtoken");
    EXPECT_FALSE(got.expiration);
}

TEST_F(CredentialChain, EmptyEnvironmentVariablesCountAsUnset) {
    fake.env["AWS_ACCESS_KEY_ID"] = "";
    fake.env["AWS_SECRET_ACCESS_KEY"] = "";
    fake.files["/home/u/.aws/credentials"] =
        "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    EXPECT_EQ(fetch_static().access_key_id, "AKFILE");
}

TEST_F(CredentialChain, HalfAnEnvironmentKeyPairIsAMistake) {
    fake.files["/home/u/.aws/credentials"] =
        "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = S\n";
    fake.env["AWS_ACCESS_KEY_ID"] = "AKENV";
    diagnostics diag;
    EXPECT_EQ(select(diag), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "the environment sets AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY; set both or "
              "neither");
    fake.env.erase("AWS_ACCESS_KEY_ID");
    fake.env["AWS_SECRET_ACCESS_KEY"] = "secret";
    diag = {};
    EXPECT_EQ(select(diag), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "the environment sets AWS_SECRET_ACCESS_KEY but not AWS_ACCESS_KEY_ID; set both or "
              "neither");
}

TEST_F(CredentialChain, CredentialsFileBeforeConfigFile) {
    fake.files["/home/u/.aws/credentials"] =
        "[default]\naws_access_key_id = AKFILE\naws_secret_access_key = f\n"
        "aws_session_token = filetoken\n";
    fake.files["/home/u/.aws/config"] =
        "[default]\naws_access_key_id = AKCFG\naws_secret_access_key = c\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    credentials got = fetch_static();
    EXPECT_EQ(got.access_key_id, "AKFILE");
    EXPECT_EQ(got.session_token, "filetoken");

    fake.files["/home/u/.aws/credentials"] = "[default]\nsomething = else\n";
    ASSERT_FALSE(select(diag)) << diag.message;
    EXPECT_EQ(fetch_static().access_key_id, "AKCFG");
}

TEST_F(CredentialChain, CredentialsFileDoesNotStripProfilePrefix) {
    fake.files["/home/u/.aws/credentials"] =
        "[profile dev]\naws_access_key_id = K\naws_secret_access_key = s\n";
    diagnostics diag;
    EXPECT_EQ(select(diag, "dev"), errc::credentials_unavailable);
    EXPECT_NE(diag.message.find("/home/u/.aws/credentials: no profile \"dev\""), std::string::npos)
        << diag.message;
}

TEST_F(CredentialChain, HalfAProfileKeyPairIsAMistake) {
    fake.files["/home/u/.aws/credentials"] = "[default]\naws_access_key_id = K\n";
    diagnostics diag;
    EXPECT_EQ(select(diag), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "/home/u/.aws/credentials profile \"default\" sets aws_access_key_id but not "
              "aws_secret_access_key; set both or neither");
}

TEST_F(CredentialChain, CredentialsFileLocationFromEnvironment) {
    fake.env["AWS_SHARED_CREDENTIALS_FILE"] = "/etc/creds";
    fake.files["/etc/creds"] = "[default]\naws_access_key_id = AKETC\naws_secret_access_key = s\n";
    // A decoy at the default place must be ignored.
    fake.files["/home/u/.aws/credentials"] =
        "[default]\naws_access_key_id = WRONG\naws_secret_access_key = s\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    EXPECT_EQ(fetch_static().access_key_id, "AKETC");
}

TEST_F(CredentialChain, WithoutHomeTheDefaultFilesAreSkipped) {
    fake.env.erase("HOME");
    diagnostics diag;
    EXPECT_EQ(select(diag), errc::credentials_unavailable);
    EXPECT_NE(diag.message.find("HOME is not set, so ~/.aws/credentials cannot be located"),
              std::string::npos)
        << diag.message;
    EXPECT_NE(diag.message.find("HOME is not set, so ~/.aws/config cannot be located"),
              std::string::npos)
        << diag.message;
}

TEST_F(CredentialChain, WebIdentityBeforeSharedFiles) {
    fake.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/token";
    fake.env["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r";
    fake.files["/home/u/.aws/credentials"] =
        "[default]\naws_access_key_id = AKFILE\n"
        "aws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    EXPECT_NE(dynamic_cast<web_identity_provider*>(provider.get()), nullptr);
}

TEST_F(CredentialChain, HalfAWebIdentityIsAMistake) {
    fake.env["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r";
    diagnostics diag;
    EXPECT_EQ(select(diag), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "the environment sets AWS_ROLE_ARN but not AWS_WEB_IDENTITY_TOKEN_FILE; set both or "
              "neither");
}

TEST_F(CredentialChain, StaticKeysOfTheProfile) {
    fake.files["/home/u/.aws/config"] =
        "[profile work]\naws_access_key_id = AKWORK\n"
        "aws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag, "work")) << diag.message;
    EXPECT_EQ(fetch_static().access_key_id, "AKWORK");
}

TEST_F(CredentialChain, CredentialProcessOfTheProfile) {
    fake.files["/home/u/.aws/config"] = "[default]\ncredential_process = /bin/get-creds --x\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    EXPECT_NE(dynamic_cast<credential_process_provider*>(provider.get()), nullptr);
}

TEST_F(CredentialChain, RoleWithSourceProfile) {
    fake.files["/home/u/.aws/config"] =
        "[profile admin]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = base\n"
        "[profile base]\naws_access_key_id = AK\naws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag, "admin")) << diag.message;
    EXPECT_NE(dynamic_cast<assume_role_provider*>(provider.get()), nullptr);
}

TEST_F(CredentialChain, RoleWhoseSourceIsItself) {
    fake.files["/home/u/.aws/config"] =
        "[profile admin]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = admin\n"
        "aws_access_key_id = AK\naws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag, "admin")) << diag.message;
    EXPECT_NE(dynamic_cast<assume_role_provider*>(provider.get()), nullptr);
}

TEST_F(CredentialChain, SourceProfileCycle) {
    fake.files["/home/u/.aws/config"] =
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = c\n"
        "[profile c]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = a\n";
    diagnostics diag;
    EXPECT_EQ(select(diag, "a"), errc::invalid_config);
    EXPECT_EQ(diag.message, "source_profile cycle: a -> b -> c -> a");
}

TEST_F(CredentialChain, MissingSourceProfile) {
    fake.files["/home/u/.aws/config"] =
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = nope\n";
    diagnostics diag;
    EXPECT_EQ(select(diag, "a"), errc::invalid_config);
    EXPECT_EQ(diag.message, "profile \"a\" names source_profile \"nope\", which does not exist");
}

TEST_F(CredentialChain, RoleWithoutSource) {
    fake.files["/home/u/.aws/config"] = "[profile a]\nrole_arn = arn:aws:iam::1:role/a\n";
    diagnostics diag;
    EXPECT_EQ(select(diag, "a"), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "profile \"a\" has role_arn but no source_profile, credential_source or "
              "web_identity_token_file");
}

TEST_F(CredentialChain, SourceProfileWithoutCredentials) {
    fake.files["/home/u/.aws/config"] =
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n[profile b]\n"
        "region = eu-west-1\n";
    diagnostics diag;
    EXPECT_EQ(select(diag, "a"), errc::invalid_config);
    EXPECT_TRUE(
        diag.message.starts_with("source_profile \"b\" of profile \"a\" has no credentials: "))
        << diag.message;
}

TEST_F(CredentialChain, ExplicitProfilePassesOverTheEnvironment) {
    fake.env["AWS_ACCESS_KEY_ID"] = "AKENV";
    fake.env["AWS_SECRET_ACCESS_KEY"] = "SK";
    fake.files["/home/u/.aws/config"] =
        "[profile work]\naws_access_key_id = AKWORK\naws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag, "work")) << diag.message;
    EXPECT_EQ(fetch_static().access_key_id, "AKENV");
    options.explicit_profile = true;
    ASSERT_FALSE(select(diag, "work")) << diag.message;
    EXPECT_EQ(fetch_static().access_key_id, "AKWORK");
}

TEST_F(CredentialChain, RoleWithCredentialSource) {
    fake.env.erase("AWS_EC2_METADATA_DISABLED");
    fake.env["AWS_ACCESS_KEY_ID"] = "AKENV";
    fake.env["AWS_SECRET_ACCESS_KEY"] = "SK";
    fake.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/x";
    options.container_base_url = "http://127.0.0.1:1";
    options.explicit_profile = true;
    for (const char* source : {"Environment", "EcsContainer", "Ec2InstanceMetadata"}) {
        fake.files["/home/u/.aws/config"] =
            std::string("[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = ") +
            source + "\n";
        diagnostics diag;
        ASSERT_FALSE(select(diag, "a")) << source << ": " << diag.message;
        EXPECT_NE(dynamic_cast<assume_role_provider*>(provider.get()), nullptr) << source;
    }
}

TEST_F(CredentialChain, CredentialSourceWithoutCredentialsIsAMistake) {
    options.explicit_profile = true;
    const std::pair<const char*, const char*> cases[] = {
        {"Environment", "environment: AWS_ACCESS_KEY_ID is not set"},
        {"EcsContainer",
         "container: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
         "AWS_CONTAINER_CREDENTIALS_FULL_URI is set"},
        {"Ec2InstanceMetadata", "instance metadata: AWS_EC2_METADATA_DISABLED is true"}};
    for (auto [source, reason] : cases) {
        fake.files["/home/u/.aws/config"] =
            std::string("[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = ") +
            source + "\n";
        diagnostics diag;
        EXPECT_EQ(select(diag, "a"), errc::invalid_config) << source;
        EXPECT_EQ(diag.message, std::string("credential_source ") + source +
                                    " of profile \"a\" has no credentials: " + reason);
    }
}

TEST_F(CredentialChain, UnknownCredentialSource) {
    fake.files["/home/u/.aws/config"] =
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\ncredential_source = Laptop\n";
    diagnostics diag;
    EXPECT_EQ(select(diag, "a"), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "profile \"a\" has credential_source \"Laptop\"; expected Environment, "
              "EcsContainer or Ec2InstanceMetadata");
}

TEST_F(CredentialChain, SourceProfileAndCredentialSourceTogether) {
    fake.files["/home/u/.aws/config"] =
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
        "credential_source = Environment\n[profile b]\naws_access_key_id = AK\n"
        "aws_secret_access_key = S\n";
    diagnostics diag;
    EXPECT_EQ(select(diag, "a"), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "profile \"a\" sets both source_profile and credential_source; set one");
}

TEST_F(CredentialChain, WebIdentityTokenFileOfTheProfile) {
    // As botocore: the token file decides, even beside a source_profile.
    fake.files["/home/u/.aws/config"] =
        "[profile pod]\nrole_arn = arn:aws:iam::1:role/pod\n"
        "web_identity_token_file = /var/run/token\nsource_profile = base\n"
        "[profile base]\naws_access_key_id = AK\naws_secret_access_key = S\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag, "pod")) << diag.message;
    EXPECT_NE(dynamic_cast<web_identity_provider*>(provider.get()), nullptr);
}

TEST_F(CredentialChain, WebIdentityProfileAsASourceProfile) {
    fake.files["/home/u/.aws/config"] =
        "[profile admin]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = pod\n"
        "[profile pod]\nrole_arn = arn:aws:iam::1:role/pod\n"
        "web_identity_token_file = /var/run/token\n";
    diagnostics diag;
    ASSERT_FALSE(select(diag, "admin")) << diag.message;
    EXPECT_NE(dynamic_cast<assume_role_provider*>(provider.get()), nullptr);
}

TEST_F(CredentialChain, ContainerBeforeInstanceMetadata) {
    fake.env.erase("AWS_EC2_METADATA_DISABLED");
    fake.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/x";
    options.container_base_url = "http://127.0.0.1:1";
    diagnostics diag;
    ASSERT_FALSE(select(diag)) << diag.message;
    EXPECT_NE(dynamic_cast<container_credentials_provider*>(provider.get()), nullptr);
}

TEST_F(CredentialChain, AMalformedFileIsReported) {
    fake.files["/home/u/.aws/config"] = "[default\n";
    diagnostics diag;
    EXPECT_EQ(select(diag), errc::invalid_config);
    EXPECT_TRUE(diag.message.starts_with("/home/u/.aws/config:1: ")) << diag.message;

    fake.files.erase("/home/u/.aws/config");
    fake.files["/home/u/.aws/credentials"] = "[default\n";
    diag = {};
    EXPECT_EQ(select(diag), errc::invalid_config);
    EXPECT_EQ(diag.message,
              "/home/u/.aws/credentials:1: section header is missing its closing ']'");
}

}  // namespace
}  // namespace dynalock::aws
