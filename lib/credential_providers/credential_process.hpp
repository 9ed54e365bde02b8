#pragma once

#include "credential_providers/async_credentials_provider.hpp"
#include "credential_providers/credentials_cache.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <string>

namespace dynalock::aws {

/// The `credential_process` of a profile: a command whose standard output is
/// the JSON document of version 1 (`Version`, `AccessKeyId`,
/// `SecretAccessKey`, optional `SessionToken` and `Expiration`).
class credential_process_provider final : public async_credentials_provider {
public:
    credential_process_provider(boost::asio::any_io_executor executor, std::string command,
                                std::function<wall_clock::time_point()> now = &wall_clock::now)
        : executor_(std::move(executor)), command_(std::move(command)), now_(std::move(now)) {}

    /// Failures: errc::credentials_unavailable when the command cannot start or
    /// exits non-zero (with the start of its standard error), errc::timeout,
    /// errc::malformed_response for output that is not the document, and
    /// errc::credentials_expired for credentials already expired.
    boost::asio::awaitable<error_code> fetch(
        credentials& out, diagnostics& diag,
        std::chrono::steady_clock::time_point deadline) override;

private:
    boost::asio::any_io_executor executor_;
    std::string command_;
    std::function<wall_clock::time_point()> now_;
};

}  // namespace dynalock::aws
