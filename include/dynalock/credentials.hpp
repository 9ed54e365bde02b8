#pragma once

/// \file
/// AWS credentials.

#include <dynalock/error.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace dynalock {

/// AWS credentials as used to sign a request.
struct credentials {
    std::string access_key_id{};  ///< "AKIA..." for long-term keys, "ASIA..." for temporary ones
    std::string secret_access_key{};  ///< the key that signs (never sent itself)
    std::string session_token{};      ///< empty for long-term keys
    /// When temporary credentials stop working; empty for long-term keys.
    std::optional<std::chrono::system_clock::time_point> expiration{};
};

/// One fetch of a client's credentials from the AWS SDKs' chain (the first,
/// and each refresh), as dynamodb::client_options::on_credentials reports it.
struct credentials_event {
    /// New credentials were fetched; else the fetch failed.
    bool refreshed = false;
    /// Why the fetch failed (errc::credentials_unavailable, errc::invalid_config…).
    error_code error{};
    /// The provider's reason for the failure.
    std::string message{};
    /// When the credentials in use now stop working: the new ones' after a
    /// refresh, the old ones' after a failure (empty for long-term keys, or
    /// when there are none).
    std::optional<std::chrono::system_clock::time_point> expiration{};
};

}  // namespace dynalock
