#pragma once

#include "credential_providers/async_credentials_provider.hpp"
#include "credential_providers/credentials_cache.hpp"
#include "credential_providers/metadata_endpoint.hpp"

#include "aws/aws_settings.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <optional>
#include <string>

namespace dynalock::aws {

/// Where ECS tasks find the endpoint named by
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
inline constexpr std::string_view ecs_credentials_base_url = "http://169.254.170.2";

/// Credentials of an ECS task or an EKS pod (Pod Identity), from the HTTP
/// endpoint the environment names.
class container_credentials_provider final : public async_credentials_provider {
public:
    /// Reads `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (appended to
    /// `relative_base_url`, which tests replace) or else
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, and `AWS_CONTAINER_AUTHORIZATION_TOKEN`
    /// or else `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read at each fetch,
    /// since it is rotated). Neither URI set: errc::credentials_unavailable. A
    /// full URI over plain HTTP to any host but loopback or the ECS/EKS
    /// addresses is refused (errc::invalid_config), as the SDKs do, so that a
    /// token is never sent in clear across a network.
    static error_code from_environment(
        boost::asio::any_io_executor executor, const config_sources& sources,
        std::unique_ptr<async_credentials_provider>& out, diagnostics& diag,
        std::string_view relative_base_url = ecs_credentials_base_url,
        std::function<wall_clock::time_point()> now = &wall_clock::now);

    /// GETs the URL with the token as `Authorization`. Failures: transport
    /// errors (errc::timeout, errc::connect_failed, ...), any status but 200 as
    /// errc::credentials_unavailable with the status, errc::malformed_response
    /// for a body that is not the credentials document.
    boost::asio::awaitable<error_code> fetch(
        credentials& out, diagnostics& diag,
        std::chrono::steady_clock::time_point deadline) override;

    container_credentials_provider(boost::asio::any_io_executor executor, config_sources sources,
                                   metadata_url url, std::optional<std::string> token,
                                   std::optional<std::string> token_file,
                                   std::function<wall_clock::time_point()> now);

private:
    boost::asio::any_io_executor executor_;
    config_sources sources_;
    metadata_url url_;
    std::optional<std::string> token_;
    std::optional<std::string> token_file_;
    std::function<wall_clock::time_point()> now_;
};

}  // namespace dynalock::aws
