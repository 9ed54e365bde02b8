#include "aws/sts.hpp"

#include "aws/credentials_json.hpp"

#include "sigv4/signer.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace dynalock::aws {
namespace {

namespace asio = boost::asio;

constexpr std::string_view source_name = "STS";
constexpr std::chrono::milliseconds connect_timeout{5000};
constexpr std::string_view form_content_type = "application/x-www-form-urlencoded; charset=utf-8";

std::optional<std::string> non_empty_env(const config_sources& sources, std::string_view name) {
    std::optional<std::string> value = sources.get_env(name);
    return value && !value->empty() ? value : std::nullopt;
}

// The text of the only `<name>` element of `xml`, entities decoded. False when
// it is absent, repeated or holds markup: STS answers are flat where we look.
bool element_text(std::string_view xml, std::string_view name, std::string& out) {
    std::string open = "<" + std::string(name) + ">";
    std::string close = "</" + std::string(name) + ">";
    std::size_t start = xml.find(open);
    if (start == std::string_view::npos || xml.find(open, start + 1) != std::string_view::npos) {
        return false;
    }
    start += open.size();
    std::size_t end = xml.find(close, start);
    if (end == std::string_view::npos) {
        return false;
    }
    std::string_view raw = xml.substr(start, end - start);
    static constexpr std::array<std::pair<std::string_view, char>, 5> entities{
        {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}}};
    std::string text;
    for (std::size_t i = 0; i < raw.size();) {
        if (raw[i] == '<') {
            return false;
        }
        if (raw[i] != '&') {
            text += raw[i++];
            continue;
        }
        auto entity = std::find_if(entities.begin(), entities.end(), [&](const auto& e) {
            return raw.substr(i).starts_with(e.first);
        });
        if (entity == entities.end()) {
            return false;
        }
        text += entity->second;
        i += entity->first.size();
    }
    out = std::move(text);
    return true;
}

// The regions AWS served from the global endpoint before regional ones
// became the default.
bool is_legacy_global_region(std::string_view region) {
    static constexpr std::array<std::string_view, 16> regions{
        "ap-northeast-1", "ap-south-1",   "ap-southeast-1", "ap-southeast-2",
        "aws-global",     "ca-central-1", "eu-central-1",   "eu-north-1",
        "eu-west-1",      "eu-west-2",    "eu-west-3",      "sa-east-1",
        "us-east-1",      "us-east-2",    "us-west-1",      "us-west-2"};
    return std::find(regions.begin(), regions.end(), region) != regions.end();
}

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

error_code resolve_sts_endpoint(const config_sources& sources, std::string_view region,
                                sts_endpoint& out, diagnostics& diag) {
    std::string url;
    std::string setting;
    sts_endpoint result;
    result.signing_region = region.empty() ? "us-east-1" : std::string(region);
    if (auto configured = non_empty_env(sources, "AWS_ENDPOINT_URL_STS")) {
        url = *configured;
        setting = "AWS_ENDPOINT_URL_STS";
    } else if (auto general = non_empty_env(sources, "AWS_ENDPOINT_URL")) {
        url = *general;
        setting = "AWS_ENDPOINT_URL";
    } else {
        bool legacy = sources.get_env("AWS_STS_REGIONAL_ENDPOINTS").value_or("") == "legacy";
        if (region.empty() || (legacy && is_legacy_global_region(region))) {
            url = "https://sts.amazonaws.com";
            result.signing_region = "us-east-1";
        } else {
            url = "https://sts." + std::string(region) + ".amazonaws.com" +
                  (region.starts_with("cn-") ? ".cn" : "");
        }
        setting = "the STS endpoint for region \"" + std::string(region) + "\"";
    }
    if (error_code ec = parse_metadata_url(url, setting, result.url, diag)) {
        return ec;
    }
    out = std::move(result);
    return {};
}

error_code parse_sts_response(std::string_view xml, unsigned http_status, credentials& out,
                              diagnostics& diag) {
    diag.http_status = http_status;
    if (http_status != 200) {
        std::string code;
        std::string message;
        if (!element_text(xml, "Code", code)) {
            diag.message =
                "STS answered HTTP " + std::to_string(http_status) + " without an error code";
            return errc::malformed_response;
        }
        element_text(xml, "Message", message);
        diag.aws_type = code;
        diag.message = "STS: " + code + (message.empty() ? "" : ": " + message);
        return code == "AccessDenied" ? errc::access_denied : errc::unknown_service_error;
    }
    std::size_t section_start = xml.find("<Credentials>");
    std::size_t section_end = xml.find("</Credentials>");
    if (section_start == std::string_view::npos || section_end == std::string_view::npos ||
        section_end < section_start) {
        diag.message = "STS: the answer has no <Credentials>";
        return errc::malformed_response;
    }
    std::string_view section = xml.substr(section_start, section_end - section_start);
    credentials result;
    std::string expiration;
    wall_clock::time_point expires;
    if (!element_text(section, "AccessKeyId", result.access_key_id) ||
        !element_text(section, "SecretAccessKey", result.secret_access_key) ||
        !element_text(section, "SessionToken", result.session_token) ||
        !element_text(section, "Expiration", expiration) || !parse_iso8601(expiration, expires) ||
        result.access_key_id.empty() || result.secret_access_key.empty()) {
        diag.message = "STS: the <Credentials> are incomplete or malformed";
        return errc::malformed_response;
    }
    result.expiration = expires;
    out = std::move(result);
    return {};
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& pairs) {
    auto encode = [](std::string_view text, std::string& out) {
        static constexpr char hex[] = "0123456789ABCDEF";
        for (char c : text) {
            auto byte = static_cast<unsigned char>(c);
            if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
                out += c;
            } else {
                out += '%';
                out += hex[byte >> 4];
                out += hex[byte & 0x0f];
            }
        }
    };
    std::string body;
    for (const auto& [name, value] : pairs) {
        if (!body.empty()) {
            body += '&';
        }
        encode(name, body);
        body += '=';
        encode(value, body);
    }
    return body;
}

std::string default_role_session_name(wall_clock::time_point now) {
    return "dynalock-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            now.time_since_epoch())
                                            .count());
}

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
