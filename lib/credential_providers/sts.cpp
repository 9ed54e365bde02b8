#include "credential_providers/sts.hpp"

#include "sigv4/signer.hpp"

#include <array>
#include <cctype>

namespace dynalock::aws {
namespace {

namespace asio = boost::asio;

constexpr std::string_view source_name = "STS";
constexpr std::chrono::milliseconds connect_timeout{5000};
constexpr std::string_view form_content_type = "application/x-www-form-urlencoded; charset=utf-8";

asio::awaitable<error_code> call_sts(asio::any_io_executor executor, const sts_endpoint& endpoint,
                                     std::string body, const credentials* signing_credentials,
                                     wall_clock::time_point now,
                                     std::chrono::steady_clock::time_point deadline,
                                     credentials& out, diagnostics& diag) {
    std::string host = host_header(endpoint.url.endpoint);
    http::request req{.method = "POST", .target = endpoint.url.target, .body = std::move(body)};
    req.headers.emplace_back("Host", host);
    req.headers.emplace_back("Content-Type", form_content_type);
    sigv4::auth_headers auth;
    if (signing_credentials != nullptr) {
        const std::array<sigv4::header, 2> signed_headers{{
            {"host", host},
            {"content-type", form_content_type},
        }};
        const sigv4::request to_sign{"POST", endpoint.url.target, "", signed_headers, req.body};
        sigv4::signer signer(endpoint.signing_region, "sts");
        if (error_code ec = signer.sign(to_sign, *signing_credentials, now, auth)) {
            diag.message = "STS: the request could not be signed";
            co_return ec;
        }
        req.headers.emplace_back("X-Amz-Date", auth.x_amz_date);
        if (!auth.x_amz_security_token.empty()) {
            req.headers.emplace_back("X-Amz-Security-Token", auth.x_amz_security_token);
        }
        req.headers.emplace_back("Authorization", auth.authorization);
    }
    http::response res;
    auto exchange = exchange_once(executor, endpoint.url.endpoint, req, res, deadline,
                                  connect_timeout, source_name, diag);
    if (error_code ec = co_await std::move(exchange)) {
        co_return ec;
    }
    co_return parse_sts_response(res.body(), res.result_int(), out, diag);
}

}  // namespace

assume_role_provider::assume_role_provider(asio::any_io_executor executor, sts_endpoint endpoint,
                                           assume_role_parameters parameters,
                                           std::unique_ptr<async_credentials_provider> source,
                                           std::function<wall_clock::time_point()> now)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      parameters_(std::move(parameters)),
      source_(std::move(source)),
      now_(std::move(now)) {}

asio::awaitable<error_code> assume_role_provider::fetch(
    credentials& out, diagnostics& diag, std::chrono::steady_clock::time_point deadline) {
    credentials source_credentials;
    auto fetch_source = source_->fetch(source_credentials, diag, deadline);
    if (error_code ec = co_await std::move(fetch_source)) {
        diag.message = "the source credentials of " + parameters_.role_arn + ": " + diag.message;
        co_return ec;
    }
    std::vector<std::pair<std::string, std::string>> form{
        {"Action", "AssumeRole"},
        {"Version", "2011-06-15"},
        {"RoleArn", parameters_.role_arn},
        {"RoleSessionName", parameters_.role_session_name.empty()
                                ? default_role_session_name(now_())
                                : parameters_.role_session_name}};
    if (!parameters_.external_id.empty()) {
        form.emplace_back("ExternalId", parameters_.external_id);
    }
    if (!parameters_.duration_seconds.empty()) {
        form.emplace_back("DurationSeconds", parameters_.duration_seconds);
    }
    auto call = call_sts(executor_, endpoint_, form_encode(form), &source_credentials, now_(),
                         deadline, out, diag);
    co_return co_await std::move(call);
}

web_identity_provider::web_identity_provider(asio::any_io_executor executor, config_sources sources,
                                             sts_endpoint endpoint, std::string token_file,
                                             assume_role_parameters parameters,
                                             std::function<wall_clock::time_point()> now)
    : executor_(std::move(executor)),
      sources_(std::move(sources)),
      endpoint_(std::move(endpoint)),
      token_file_(std::move(token_file)),
      parameters_(std::move(parameters)),
      now_(std::move(now)) {}

error_code web_identity_provider::from_environment(asio::any_io_executor executor,
                                                   const config_sources& sources,
                                                   std::string_view region,
                                                   std::unique_ptr<async_credentials_provider>& out,
                                                   diagnostics& diag,
                                                   std::function<wall_clock::time_point()> now) {
    std::optional<std::string> token_file = non_empty_env(sources, "AWS_WEB_IDENTITY_TOKEN_FILE");
    std::optional<std::string> role_arn = non_empty_env(sources, "AWS_ROLE_ARN");
    if (!token_file && !role_arn) {
        diag.message = "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set";
        return errc::credentials_unavailable;
    }
    if (!token_file || !role_arn) {
        diag.message = std::string("the environment sets ") +
                       (token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE but not AWS_ROLE_ARN"
                                   : "AWS_ROLE_ARN but not AWS_WEB_IDENTITY_TOKEN_FILE") +
                       "; set both or neither";
        return errc::invalid_config;
    }
    sts_endpoint endpoint;
    if (error_code ec = resolve_sts_endpoint(sources, region, endpoint, diag)) {
        return ec;
    }
    out = std::make_unique<web_identity_provider>(
        std::move(executor), sources, std::move(endpoint), std::move(*token_file),
        assume_role_parameters{
            .role_arn = std::move(*role_arn),
            .role_session_name = non_empty_env(sources, "AWS_ROLE_SESSION_NAME").value_or("")},
        std::move(now));
    return {};
}

asio::awaitable<error_code> web_identity_provider::fetch(
    credentials& out, diagnostics& diag, std::chrono::steady_clock::time_point deadline) {
    std::string token;
    if (error_code ec = sources_.read_file(token_file_, token)) {
        diag.message = "web identity: cannot read " + token_file_ + ": " + ec.message();
        co_return errc::credentials_unavailable;
    }
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
        token.pop_back();
    }
    std::vector<std::pair<std::string, std::string>> form{
        {"Action", "AssumeRoleWithWebIdentity"},
        {"Version", "2011-06-15"},
        {"RoleArn", parameters_.role_arn},
        {"RoleSessionName", parameters_.role_session_name.empty()
                                ? default_role_session_name(now_())
                                : parameters_.role_session_name},
        {"WebIdentityToken", token}};
    auto call =
        call_sts(executor_, endpoint_, form_encode(form), nullptr, now_(), deadline, out, diag);
    co_return co_await std::move(call);
}

}  // namespace dynalock::aws
