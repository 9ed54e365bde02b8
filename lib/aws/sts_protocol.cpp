#include "aws/sts_protocol.hpp"

#include "aws/credentials_json.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace dynalock::aws {
namespace {

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
    std::chrono::system_clock::time_point expires;
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

std::string default_role_session_name(std::chrono::system_clock::time_point now) {
    return "dynalock-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            now.time_since_epoch())
                                            .count());
}

}  // namespace dynalock::aws
