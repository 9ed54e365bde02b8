#include "credential_providers/credential_process.hpp"

#include "aws/credentials_json.hpp"
#include "credential_providers/child_process.hpp"

namespace dynalock::aws {
namespace {

// The JSON document is a few hundred bytes; anything much larger is not one.
constexpr std::size_t max_output_bytes = 64 * 1024;
// Enough of standard error to explain a failure without flooding a log.
constexpr std::size_t stderr_excerpt_bytes = 512;

std::string excerpt(const std::string& text) {
    std::string_view trimmed(text);
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) {
        trimmed.remove_suffix(1);
    }
    if (trimmed.size() <= stderr_excerpt_bytes) {
        return std::string(trimmed);
    }
    return std::string(trimmed.substr(0, stderr_excerpt_bytes)) + "...";
}

}  // namespace

boost::asio::awaitable<error_code> credential_process_provider::fetch(
    credentials& out, diagnostics& diag, std::chrono::steady_clock::time_point deadline) {
    child_process_result result;
    auto run = run_child_process(executor_, command_, deadline, max_output_bytes, result, diag);
    if (error_code ec = co_await std::move(run)) {
        co_return ec;
    }
    if (result.exit_status != 0) {
        diag.message = "credential_process: the command exited with status " +
                       std::to_string(result.exit_status);
        if (!result.standard_error.empty()) {
            diag.message += ": " + excerpt(result.standard_error);
        }
        co_return errc::credentials_unavailable;
    }
    co_return parse_credentials_json(result.standard_output,
                                     credentials_json_dialect::credential_process,
                                     "credential_process output", now_(), out, diag);
}

}  // namespace dynalock::aws
