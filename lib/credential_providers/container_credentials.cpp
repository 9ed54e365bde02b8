#include "credential_providers/container_credentials.hpp"

#include "aws/credentials_json.hpp"

namespace dynalock::aws {
namespace {

constexpr std::string_view source_name = "container credentials";
constexpr std::chrono::milliseconds connect_timeout{2000};

}  // namespace

container_credentials_provider::container_credentials_provider(
    boost::asio::any_io_executor executor, config_sources sources, metadata_url url,
    std::optional<std::string> token, std::optional<std::string> token_file,
    std::function<wall_clock::time_point()> now)
    : executor_(std::move(executor)),
      sources_(std::move(sources)),
      url_(std::move(url)),
      token_(std::move(token)),
      token_file_(std::move(token_file)),
      now_(std::move(now)) {}

error_code container_credentials_provider::from_environment(
    boost::asio::any_io_executor executor, const config_sources& sources,
    std::unique_ptr<async_credentials_provider>& out, diagnostics& diag,
    std::string_view relative_base_url, std::function<wall_clock::time_point()> now) {
    metadata_url url;
    if (auto relative = non_empty_env(sources, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        if (!relative->starts_with('/')) {
            diag.message = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI does not start with '/'";
            return errc::invalid_config;
        }
        if (error_code ec =
                parse_metadata_url(std::string(relative_base_url) + *relative,
                                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", url, diag)) {
            return ec;
        }
    } else if (auto full = non_empty_env(sources, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        if (error_code ec =
                parse_metadata_url(*full, "AWS_CONTAINER_CREDENTIALS_FULL_URI", url, diag)) {
            return ec;
        }
        if (!url.endpoint.tls && !is_trusted_plain_http_host(url.endpoint.host)) {
            diag.message = "AWS_CONTAINER_CREDENTIALS_FULL_URI uses plain HTTP to \"" +
                           url.endpoint.host +
                           "\"; only loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 "
                           "may be reached without TLS";
            return errc::invalid_config;
        }
    } else {
        diag.message =
            "container: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
            "AWS_CONTAINER_CREDENTIALS_FULL_URI is set";
        return errc::credentials_unavailable;
    }
    out = std::make_unique<container_credentials_provider>(
        std::move(executor), sources, std::move(url),
        non_empty_env(sources, "AWS_CONTAINER_AUTHORIZATION_TOKEN"),
        non_empty_env(sources, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), std::move(now));
    return {};
}

boost::asio::awaitable<error_code> container_credentials_provider::fetch(
    credentials& out, diagnostics& diag, std::chrono::steady_clock::time_point deadline) {
    std::optional<std::string> token = token_;
    if (!token && token_file_) {
        std::string contents;
        if (error_code ec = sources_.read_file(*token_file_, contents)) {
            diag.message =
                std::string(source_name) + ": cannot read " + *token_file_ + ": " + ec.message();
            co_return errc::credentials_unavailable;
        }
        while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) {
            contents.pop_back();
        }
        token = std::move(contents);
    }
    std::string host = host_header(url_.endpoint);
    http::request req{.method = "GET", .target = url_.target};
    req.headers.emplace_back("Host", host);
    req.headers.emplace_back("Accept", "application/json");
    if (token) {
        req.headers.emplace_back("Authorization", *token);
    }
    http::response res;
    auto exchange = exchange_once(executor_, url_.endpoint, req, res, deadline, connect_timeout,
                                  source_name, diag);
    if (error_code ec = co_await std::move(exchange)) {
        if (ec == errc::invalid_argument) {
            diag.message =
                std::string(source_name) + ": the authorization token contains a line break or NUL";
        }
        co_return ec;
    }
    if (res.result_int() != 200) {
        co_return unexpected_status(source_name, url_.target, res, diag);
    }
    co_return parse_credentials_json(res.body(), credentials_json_dialect::metadata_service,
                                     source_name, now_(), out, diag);
}

}  // namespace dynalock::aws
