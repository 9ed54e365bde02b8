#pragma once

#include "credential_providers/async_credentials_provider.hpp"
#include "credential_providers/credentials_cache.hpp"
#include "credential_providers/metadata_endpoint.hpp"

#include "aws/aws_settings.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace dynalock::aws {

/// The instance role's credentials from the EC2 instance metadata service,
/// IMDSv2 only: a session token from `PUT /latest/api/token`, then the role
/// name and its credentials under `/latest/meta-data/iam/security-credentials/`.
class imds_credentials_provider final : public async_credentials_provider {
public:
    /// `AWS_EC2_METADATA_DISABLED=true`: errc::credentials_unavailable. The
    /// endpoint is `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else
    /// `http://[fd00:ec2::254]` when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`
    /// is IPv6, else `http://169.254.169.254`.
    static error_code from_environment(
        boost::asio::any_io_executor executor, const config_sources& sources,
        std::unique_ptr<async_credentials_provider>& out, diagnostics& diag,
        std::function<wall_clock::time_point()> now = &wall_clock::now);

    /// Each request is bounded by one second (and by `deadline`), so that a
    /// machine outside EC2 learns quickly that there is no metadata service.
    /// The session token is kept between fetches; a 401 fetches a new one,
    /// once. Failures: transport errors with their code, any other unexpected
    /// status as errc::credentials_unavailable, errc::malformed_response for a
    /// document that is not the credentials.
    boost::asio::awaitable<error_code> fetch(
        credentials& out, diagnostics& diag,
        std::chrono::steady_clock::time_point deadline) override;

    imds_credentials_provider(boost::asio::any_io_executor executor, aws::endpoint endpoint,
                              std::function<wall_clock::time_point()> now);

private:
    boost::asio::awaitable<error_code> fetch_token(std::chrono::steady_clock::time_point deadline,
                                                   diagnostics& diag);
    boost::asio::awaitable<error_code> get_with_token(
        std::string target, std::string& body, bool& token_renewed,
        std::chrono::steady_clock::time_point deadline, diagnostics& diag);

    boost::asio::any_io_executor executor_;
    aws::endpoint endpoint_;
    std::string host_;
    std::function<wall_clock::time_point()> now_;
    std::string token_;
};

}  // namespace dynalock::aws
