#pragma once

/// \file
/// AWS credentials.

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

}  // namespace dynalock
