#pragma once

#include "aws/profile_file.hpp"

#include <dynalock/aws_settings.hpp>
#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <span>
#include <string>

namespace dynalock::aws {

/// One place credentials may come from. The chain asks each in turn; later
/// sources (STS, IMDS, containers, credential_process) are more providers.
class credentials_provider {
public:
    virtual ~credentials_provider() = default;

    /// Fills `out` when this source has credentials. When it simply has none,
    /// returns errc::credentials_unavailable with the reason in
    /// `diag.message`, and the chain moves on. Any other error (a half
    /// configured key pair) ends the search: the user meant this source.
    virtual error_code resolve(credentials& out, diagnostics& diag) const = 0;
};

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
class environment_credentials_provider final : public credentials_provider {
public:
    explicit environment_credentials_provider(const config_sources& sources) : sources_(sources) {}
    error_code resolve(credentials& out, diagnostics& diag) const override;

private:
    const config_sources& sources_;
};

/// `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token` of one
/// profile of a shared file.
class profile_credentials_provider final : public credentials_provider {
public:
    profile_credentials_provider(const loaded_profile_file& file, std::string_view profile_name)
        : file_(file), profile_name_(profile_name) {}
    error_code resolve(credentials& out, diagnostics& diag) const override;

private:
    const loaded_profile_file& file_;
    std::string_view profile_name_;
};

/// Asks each provider in order and returns the first credentials found. When
/// none has any, fails with errc::credentials_unavailable and a message
/// listing each source's reason.
error_code resolve_credentials(std::span<const credentials_provider* const> chain, credentials& out,
                               diagnostics& diag);

}  // namespace dynalock::aws
