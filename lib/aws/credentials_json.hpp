#pragma once

#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <chrono>
#include <string_view>

namespace dynalock::aws {

/// Parses an ISO 8601 UTC instant as AWS writes them:
/// `2026-11-27T09:00:00Z`, with optional fractional seconds and a `Z` or
/// `+hh:mm`/`-hh:mm` offset. False for anything else.
bool parse_iso8601(std::string_view text, std::chrono::system_clock::time_point& out);

/// The JSON dialects that carry temporary credentials. They share
/// `AccessKeyId`, `SecretAccessKey` and `Expiration`, and name the session
/// token differently.
enum class credentials_json_dialect {
    credential_process,  ///< `Version: 1`, `SessionToken`, optional `Expiration`
    metadata_service,    ///< container and IMDS: `Token`, `Expiration`, optional `Code`
};

/// Reads credentials from `body`. `source` names where the body came from, for
/// messages (which never quote a secret). Fails with errc::malformed_response
/// for bad JSON, a missing or mistyped field, a wrong `Version` or a `Code`
/// other than "Success", and with errc::credentials_expired when `Expiration`
/// is not after `now`.
error_code parse_credentials_json(std::string_view body, credentials_json_dialect dialect,
                                  std::string_view source,
                                  std::chrono::system_clock::time_point now, credentials& out,
                                  diagnostics& diag);

}  // namespace dynalock::aws
