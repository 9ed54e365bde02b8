#pragma once

#include "aws/async_credentials_provider.hpp"
#include "aws/credentials_cache.hpp"
#include "aws/metadata_endpoint.hpp"

#include "aws/aws_settings.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dynalock::aws {

/// Where STS is reached: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`,
/// else the regional endpoint `https://sts.<region>.amazonaws.com` unless
/// `AWS_STS_REGIONAL_ENDPOINTS` is `legacy` (or no region is known), which
/// selects the global `https://sts.amazonaws.com` signed for us-east-1.
struct sts_endpoint {
    metadata_url url;
    std::string signing_region;
};

error_code resolve_sts_endpoint(const config_sources& sources, std::string_view region,
                                sts_endpoint& out, diagnostics& diag);

/// The `<Credentials>` of an AssumeRole or AssumeRoleWithWebIdentity answer,
/// or the `<Code>` and `<Message>` of an `<Error>` (errc::access_denied for
/// AccessDenied, errc::unknown_service_error otherwise, with the server's
/// message in `diag`). errc::malformed_response for anything else.
error_code parse_sts_response(std::string_view xml, unsigned http_status, credentials& out,
                              diagnostics& diag);

/// `application/x-www-form-urlencoded` body of `pairs`.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& pairs);

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

/// A session name unique enough to tell sessions apart in CloudTrail.
std::string default_role_session_name(wall_clock::time_point now);

}  // namespace dynalock::aws
