#pragma once

#include "credential_providers/async_credentials_provider.hpp"
#include "credential_providers/container_credentials.hpp"
#include "credential_providers/credentials_cache.hpp"

#include "aws/aws_settings.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace dynalock::aws {

/// Fixed credentials: the environment's, a profile's static keys, or given
/// explicitly.
class static_credentials_provider final : public async_credentials_provider {
public:
    explicit static_credentials_provider(credentials creds) : credentials_(std::move(creds)) {}
    boost::asio::awaitable<error_code> fetch(credentials& out, diagnostics& diag,
                                             std::chrono::steady_clock::time_point) override;

private:
    credentials credentials_;
};

struct credential_chain_options {
    /// The profile of the shared files (already resolved: options,
    /// `AWS_PROFILE`, "default").
    std::string profile = "default";
    /// The profile was named by the program (client_options::profile), not
    /// picked up from AWS_PROFILE: then, as in botocore, keys in the
    /// environment are passed over, so that the profile's own sources apply.
    bool explicit_profile = false;
    /// The region, for the STS endpoint; empty: the global endpoint.
    std::string region{};
    /// Replaced by tests, which must never reach 169.254.170.2.
    std::string container_base_url{ecs_credentials_base_url};
    std::function<wall_clock::time_point()> now = &wall_clock::now;
};

/// Picks the source the AWS SDKs would use, the first configured in this order:
/// 1. environment: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`),
///    unless the profile was chosen explicitly;
/// 2. web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` → STS;
/// 3. the profile in the shared files: `role_arn` with `web_identity_token_file`
///    → STS AssumeRoleWithWebIdentity; `role_arn` with `source_profile` (the
///    source profile resolved the same way, cycles refused) or
///    `credential_source` (`Environment`, `EcsContainer`, `Ec2InstanceMetadata`)
///    → STS AssumeRole; static keys (credentials file, then config file);
///    `credential_process`;
/// 4. container credentials (`AWS_CONTAINER_CREDENTIALS_*`);
/// 5. instance metadata (IMDSv2) unless `AWS_EC2_METADATA_DISABLED`.
/// The instance metadata service can only be known absent by asking it, so
/// when it is picked as the last resort its failures carry every earlier
/// source's reason too. When none applies: errc::credentials_unavailable with
/// `diag.message` listing each source and why it had nothing. A source
/// configured wrongly (half a key pair, a `source_profile` cycle, an unknown
/// profile named by `source_profile`, a `credential_source` that is unknown or
/// has no credentials, both `source_profile` and `credential_source`):
/// errc::invalid_config.
error_code select_credentials_provider(boost::asio::any_io_executor executor,
                                       const config_sources& sources,
                                       const credential_chain_options& options,
                                       std::unique_ptr<async_credentials_provider>& out,
                                       diagnostics& diag);

}  // namespace dynalock::aws
