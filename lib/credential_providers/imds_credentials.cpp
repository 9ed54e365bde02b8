#include "credential_providers/imds_credentials.hpp"

#include "aws/credentials_json.hpp"

#include <algorithm>
#include <cctype>

namespace dynalock::aws {
namespace {

constexpr std::string_view source_name = "instance metadata";
constexpr std::chrono::milliseconds request_timeout{1000};
constexpr std::string_view credentials_path = "/latest/meta-data/iam/security-credentials/";
// Six hours, the longest IMDS grants; a 401 renews it sooner if need be.
constexpr std::string_view token_ttl_seconds = "21600";

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

std::chrono::steady_clock::time_point request_deadline(
    std::chrono::steady_clock::time_point deadline) {
    return std::min(deadline, std::chrono::steady_clock::now() + request_timeout);
}

}  // namespace

imds_credentials_provider::imds_credentials_provider(boost::asio::any_io_executor executor,
                                                     aws::endpoint endpoint,
                                                     std::function<wall_clock::time_point()> now)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      host_(host_header(endpoint_)),
      now_(std::move(now)) {}

error_code imds_credentials_provider::from_environment(
    boost::asio::any_io_executor executor, const config_sources& sources,
    std::unique_ptr<async_credentials_provider>& out, diagnostics& diag,
    std::function<wall_clock::time_point()> now) {
    if (iequals(sources.get_env("AWS_EC2_METADATA_DISABLED").value_or(""), "true")) {
        diag.message = "instance metadata: AWS_EC2_METADATA_DISABLED is true";
        return errc::credentials_unavailable;
    }
    std::string url = "http://169.254.169.254";
    std::string setting = "the default instance metadata endpoint";
    if (auto configured = sources.get_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        configured && !configured->empty()) {
        url = *configured;
        setting = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
    } else if (iequals(sources.get_env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE").value_or(""),
                       "IPv6")) {
        url = "http://[fd00:ec2::254]";
    }
    while (url.ends_with('/')) {
        url.pop_back();
    }
    metadata_url parsed;
    if (error_code ec = parse_metadata_url(url, setting, parsed, diag)) {
        return ec;
    }
    if (parsed.target != "/") {
        diag.message = "AWS_EC2_METADATA_SERVICE_ENDPOINT must not have a path";
        return errc::invalid_endpoint;
    }
    out = std::make_unique<imds_credentials_provider>(std::move(executor),
                                                      std::move(parsed.endpoint), std::move(now));
    return {};
}

boost::asio::awaitable<error_code> imds_credentials_provider::fetch_token(
    std::chrono::steady_clock::time_point deadline, diagnostics& diag) {
    http::request req{.method = "PUT", .target = "/latest/api/token"};
    req.headers.emplace_back("Host", host_);
    req.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", token_ttl_seconds);
    http::response res;
    auto exchange = exchange_once(executor_, endpoint_, req, res, request_deadline(deadline),
                                  request_timeout, source_name, diag);
    if (error_code ec = co_await std::move(exchange)) {
        co_return ec;
    }
    if (res.result_int() != 200 || res.body().empty()) {
        co_return unexpected_status(source_name, req.target, res, diag);
    }
    token_ = std::move(res.body());
    co_return error_code{};
}

boost::asio::awaitable<error_code> imds_credentials_provider::get_with_token(
    std::string target, std::string& body, bool& token_renewed,
    std::chrono::steady_clock::time_point deadline, diagnostics& diag) {
    for (;;) {
        if (token_.empty()) {
            auto renew = fetch_token(deadline, diag);
            if (error_code ec = co_await std::move(renew)) {
                co_return ec;
            }
            token_renewed = true;
        }
        http::request req{.method = "GET", .target = target};
        req.headers.emplace_back("Host", host_);
        req.headers.emplace_back("X-aws-ec2-metadata-token", token_);
        http::response res;
        auto exchange = exchange_once(executor_, endpoint_, req, res, request_deadline(deadline),
                                      request_timeout, source_name, diag);
        if (error_code ec = co_await std::move(exchange)) {
            co_return ec;
        }
        if (res.result_int() == 401) {
            // The session token expired (or the service restarted).
            token_.clear();
            if (!token_renewed) {
                continue;
            }
        }
        if (res.result_int() != 200) {
            co_return unexpected_status(source_name, target, res, diag);
        }
        body = std::move(res.body());
        co_return error_code{};
    }
}

boost::asio::awaitable<error_code> imds_credentials_provider::fetch(
    credentials& out, diagnostics& diag, std::chrono::steady_clock::time_point deadline) {
    bool token_renewed = false;
    std::string roles;
    auto list = get_with_token(std::string(credentials_path), roles, token_renewed, deadline, diag);
    if (error_code ec = co_await std::move(list)) {
        co_return ec;
    }
    // One role per line; an instance profile has exactly one.
    std::string role = roles.substr(0, roles.find_first_of("\r\n"));
    if (role.empty() || role.find_first_of("/?#% ") != std::string::npos) {
        diag.message = std::string(source_name) +
                       ": no usable role name (is an instance profile "
                       "attached?)";
        co_return errc::credentials_unavailable;
    }
    std::string document;
    auto get = get_with_token(std::string(credentials_path) + role, document, token_renewed,
                              deadline, diag);
    if (error_code ec = co_await std::move(get)) {
        co_return ec;
    }
    co_return parse_credentials_json(document, credentials_json_dialect::metadata_service,
                                     source_name, now_(), out, diag);
}

}  // namespace dynalock::aws
