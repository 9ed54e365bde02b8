#pragma once

#include "credential_providers/async_credentials_provider.hpp"
#include "credential_providers/credentials_cache.hpp"
#include "credential_providers/metadata_endpoint.hpp"

#include "aws/aws_settings.hpp"
#include "aws/sts_protocol.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dynalock::aws {

/// What AssumeRole needs besides the source credentials.
struct assume_role_parameters {
    std::string role_arn;
    std::string role_session_name;
    std::string external_id{};       ///< empty: not sent
    std::string duration_seconds{};  ///< empty: STS's default (one hour)
};

/// `AssumeRole` signed with the credentials of `source` (itself any provider:
/// a profile's static keys, or another assumed role).
class assume_role_provider final : public async_credentials_provider {
public:
    assume_role_provider(boost::asio::any_io_executor executor, sts_endpoint endpoint,
                         assume_role_parameters parameters,
                         std::unique_ptr<async_credentials_provider> source,
                         std::function<wall_clock::time_point()> now = &wall_clock::now);
    boost::asio::awaitable<error_code> fetch(
        credentials& out, diagnostics& diag,
        std::chrono::steady_clock::time_point deadline) override;

private:
    boost::asio::any_io_executor executor_;
    sts_endpoint endpoint_;
    assume_role_parameters parameters_;
    std::unique_ptr<async_credentials_provider> source_;
    std::function<wall_clock::time_point()> now_;
};

/// `AssumeRoleWithWebIdentity` (unsigned) with the token read from
/// `token_file` at each fetch, since it is rotated.
class web_identity_provider final : public async_credentials_provider {
public:
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`).
    /// Neither set: errc::credentials_unavailable; only one: errc::invalid_config.
    static error_code from_environment(
        boost::asio::any_io_executor executor, const config_sources& sources,
        std::string_view region, std::unique_ptr<async_credentials_provider>& out,
        diagnostics& diag, std::function<wall_clock::time_point()> now = &wall_clock::now);

    web_identity_provider(boost::asio::any_io_executor executor, config_sources sources,
                          sts_endpoint endpoint, std::string token_file,
                          assume_role_parameters parameters,
                          std::function<wall_clock::time_point()> now);
    boost::asio::awaitable<error_code> fetch(
        credentials& out, diagnostics& diag,
        std::chrono::steady_clock::time_point deadline) override;

private:
    boost::asio::any_io_executor executor_;
    config_sources sources_;
    sts_endpoint endpoint_;
    std::string token_file_;
    assume_role_parameters parameters_;
    std::function<wall_clock::time_point()> now_;
};

}  // namespace dynalock::aws
