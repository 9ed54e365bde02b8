#pragma once

// The STS query protocol without the I/O: where STS is, the form a call
// sends, and what its XML answer says. The providers that call STS are in
// credential_providers/sts.hpp.

#include "aws/aws_settings.hpp"
#include "aws/endpoint.hpp"

#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <chrono>
#include <string>
#include <string_view>
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

/// A session name unique enough to tell sessions apart in CloudTrail.
std::string default_role_session_name(std::chrono::system_clock::time_point now);

}  // namespace dynalock::aws
