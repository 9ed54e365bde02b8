#pragma once

#include "aws/endpoint.hpp"

#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

// Not public: `dynamodb::client` resolves its settings from `client_options`
// when it is constructed, and reports what is missing there.

namespace dynalock::aws {

/// The outside world as settings resolution sees it. Injected so that
/// resolution is a pure function in tests; `system_config_sources()` is the
/// real process environment and file system.
struct config_sources {
    /// An environment variable's value, or nullopt when it is not set.
    std::function<std::optional<std::string>(std::string_view name)> get_env;
    /// Reads a whole file. A file that does not exist is reported as
    /// `boost::system::errc::no_such_file_or_directory`.
    std::function<error_code(const std::string& path, std::string& contents)> read_file;
};

config_sources system_config_sources();

/// The variable's value, or nullopt when it is unset or empty: the AWS SDKs
/// treat an empty variable as unset.
std::optional<std::string> non_empty_env(const config_sources& sources, std::string_view name);

/// What the user states explicitly; every empty field is looked up (see
/// `resolve_aws_settings`).
struct aws_settings_options {
    std::string profile{};
    std::string region{};
    std::string endpoint_url{};
};

/// Where DynamoDB requests go and for which region they are signed.
/// Credentials are not settings: they come from the credential chain (see
/// README "Where credentials come from"), which reads the same profile.
struct aws_settings {
    std::string profile{};
    std::string region{};
    std::string endpoint_url{};
    aws::endpoint endpoint{};
};

/// Resolves the settings the way the AWS CLI and SDKs do:
/// - profile: options, `AWS_PROFILE`, else "default". The file is
///   `AWS_CONFIG_FILE` (default `~/.aws/config`); a missing file is skipped, a
///   malformed one is errc::invalid_config with its path and line.
/// - region: options, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
///   `region`. None: errc::region_missing.
/// - endpoint: options, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL`, the
///   profile's `services` section (`dynamodb = \n endpoint_url = ...`), the
///   profile's `endpoint_url`, else `https://dynamodb.<region>.amazonaws.com`
///   (`.com.cn` for `cn-` regions).
/// Empty environment variables count as unset. On failure `diag.message` says
/// what is wrong and where.
error_code resolve_aws_settings(const aws_settings_options& options, const config_sources& sources,
                                aws_settings& out, diagnostics& diag);

}  // namespace dynalock::aws
