#include "aws/endpoint.hpp"

#include "sigv4/signer.hpp"

#include <cctype>

namespace dynalock::aws {
namespace {

// The URL itself is not quoted: its userinfo may hold a password.
error_code invalid(std::string_view problem, diagnostics& diag) {
    diag.message = "invalid endpoint URL: " + std::string(problem);
    return errc::invalid_endpoint;
}

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) {
        return false;
    }
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) {
            return false;
        }
    }
    return true;
}

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

}  // namespace

error_code parse_endpoint(std::string_view url, endpoint& out, diagnostics& diag) {
    endpoint result;
    std::string_view rest;
    if (iequals_prefix(url, "https://")) {
        result.tls = true;
        result.port = 443;
        rest = url.substr(8);
    } else if (iequals_prefix(url, "http://")) {
        result.tls = false;
        result.port = 80;
        rest = url.substr(7);
    } else {
        return invalid("the scheme must be http:// or https://", diag);
    }

    std::size_t authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view tail =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    if (!tail.empty() && tail != "/") {
        return invalid("a path, query or fragment is not allowed (DynamoDB is served at /)", diag);
    }
    if (authority.find('@') != std::string_view::npos) {
        return invalid("user information (user@host) is not allowed", diag);
    }

    std::string_view host;
    std::string_view after_host;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return invalid("the IPv6 address is missing its closing ']'", diag);
        }
        host = authority.substr(1, close - 1);
        after_host = authority.substr(close + 1);
        if (host.find(':') == std::string_view::npos) {
            return invalid("the bracketed host is not an IPv6 address", diag);
        }
        for (char c : host) {
            if (!is_ipv6_char(c)) {
                return invalid("the IPv6 address contains an invalid character", diag);
            }
        }
    } else {
        std::size_t colon = authority.find(':');
        host = authority.substr(0, colon);
        after_host = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
        for (char c : host) {
            if (!is_host_char(c)) {
                return invalid("the host contains an invalid character", diag);
            }
        }
    }
    if (host.empty()) {
        return invalid("the host is empty", diag);
    }

    if (!after_host.empty()) {
        if (after_host.front() != ':') {
            return invalid("unexpected text after the IPv6 address", diag);
        }
        std::string_view digits = after_host.substr(1);
        if (digits.empty() || digits.size() > 5) {
            return invalid("the port must be a number from 1 to 65535", diag);
        }
        unsigned port = 0;
        for (char c : digits) {
            if (!std::isdigit(static_cast<unsigned char>(c))) {
                return invalid("the port must be a number from 1 to 65535", diag);
            }
            port = port * 10 + static_cast<unsigned>(c - '0');
        }
        if (port == 0 || port > 65535) {
            return invalid("the port must be a number from 1 to 65535", diag);
        }
        result.port = static_cast<std::uint16_t>(port);
    }

    result.host = std::string(host);
    out = std::move(result);
    return {};
}

std::string host_header(const endpoint& ep) {
    return sigv4::host_header_value(ep.host, ep.port, ep.tls);
}

error_code parse_metadata_url(std::string_view url, std::string_view setting, metadata_url& out,
                              diagnostics& diag) {
    std::size_t scheme_end = url.find("://");
    std::size_t path_start = scheme_end == std::string_view::npos ? std::string_view::npos
                                                                  : url.find('/', scheme_end + 3);
    std::string_view origin = url.substr(0, path_start);
    std::string_view target = path_start == std::string_view::npos ? "/" : url.substr(path_start);
    metadata_url result;
    if (error_code ec = parse_endpoint(origin, result.endpoint, diag)) {
        diag.message += " (from " + std::string(setting) + ")";
        return ec;
    }
    result.target = std::string(target);
    out = std::move(result);
    return {};
}

}  // namespace dynalock::aws
