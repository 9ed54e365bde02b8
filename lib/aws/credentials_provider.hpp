#pragma once

#include "aws/aws_settings.hpp"
#include "aws/profile_file.hpp"

#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <string>

namespace dynalock::aws {

// The two sources of static keys the chain reads without waiting (see
// credential_chain.hpp). Each `resolve` fills `out` when the source has
// credentials. When it simply has none it returns
// errc::credentials_unavailable with the reason in `diag.message`, and the
// chain moves on; any other error (a half configured key pair) ends the
// search: the user meant this source.

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
class environment_credentials_provider {
public:
    explicit environment_credentials_provider(const config_sources& sources) : sources_(sources) {}
    error_code resolve(credentials& out, diagnostics& diag) const;

private:
    const config_sources& sources_;
};

/// `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token` of one
/// profile of a shared file.
class profile_credentials_provider {
public:
    profile_credentials_provider(const loaded_profile_file& file, std::string_view profile_name)
        : file_(file), profile_name_(profile_name) {}
    error_code resolve(credentials& out, diagnostics& diag) const;

private:
    const loaded_profile_file& file_;
    std::string_view profile_name_;
};

}  // namespace dynalock::aws
