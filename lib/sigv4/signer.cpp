#include "sigv4/signer.hpp"

#include "sigv4/canonical.hpp"
#include "sigv4/crypto.hpp"

#include <array>
#include <cstring>

namespace dynalock::sigv4 {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
constexpr std::size_t amz_date_size = 16;  // YYYYMMDDTHHMMSSZ
constexpr std::size_t date_size = 8;       // YYYYMMDD, the date part of the scope

using amz_date_text = std::array<char, amz_date_size>;

void put_digits(char* out, unsigned value, int count) {
    for (int i = count - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
}

// system_clock counts nanoseconds in 64 bits, so every representable time lies in
// years 1678-2262 and always has four year digits.
amz_date_text format_amz_date(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    const auto day = floor<days>(time);
    const year_month_day ymd{day};
    const hh_mm_ss hms{floor<seconds>(time - day)};
    amz_date_text text;
    put_digits(&text[0], static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
    put_digits(&text[4], static_cast<unsigned>(ymd.month()), 2);
    put_digits(&text[6], static_cast<unsigned>(ymd.day()), 2);
    text[8] = 'T';
    put_digits(&text[9], static_cast<unsigned>(hms.hours().count()), 2);
    put_digits(&text[11], static_cast<unsigned>(hms.minutes().count()), 2);
    put_digits(&text[13], static_cast<unsigned>(hms.seconds().count()), 2);
    text[15] = 'Z';
    return text;
}

std::string_view view(const amz_date_text& text) {
    return {text.data(), text.size()};
}

}  // namespace

std::string host_header_value(std::string_view host, std::uint16_t port, bool tls) {
    std::string value;
    value.reserve(host.size() + 8);
    const bool ipv6_literal = host.find(':') != std::string_view::npos && host.front() != '[';
    if (ipv6_literal) {
        value.push_back('[');
    }
    for (char c : host) {
        value.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    if (ipv6_literal) {
        value.push_back(']');
    }
    if (port != (tls ? 443 : 80)) {
        value.push_back(':');
        value.append(std::to_string(port));
    }
    return value;
}

struct signer::state {
    detail::sha256_hasher sha256;
    detail::hmac_sha256 hmac;  // keyed with the cached signing key between calls

    // The signing key is valid for this secret and scope date only.
    std::string key_secret;
    std::array<char, date_size> key_date{};
    bool has_key = false;

    detail::canonical_headers headers;
    std::string path_scratch;
    std::vector<std::pair<std::string, std::string>> query_scratch;
    std::string canonical_request;
    std::string string_to_sign;

    // Fills headers, canonical_request and string_to_sign.
    error_code build(const signer& owner, const request& req, const credentials& creds,
                     std::string_view amz_date);
    void use_signing_key(const signer& owner, std::string_view secret, std::string_view date);
};

error_code signer::state::build(const signer& owner, const request& req, const credentials& creds,
                                std::string_view amz_date) {
    if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
        return errc::credentials_unavailable;
    }
    if (error_code ec = headers.assign(req.headers, amz_date, creds.session_token)) {
        return ec;
    }

    canonical_request.clear();
    canonical_request.reserve(256 + req.path.size() * 3 + req.query.size() * 3);
    canonical_request.append(req.method);
    canonical_request.push_back('\n');
    if (error_code ec = detail::append_canonical_uri(canonical_request, req.path,
                                                     owner.options_.normalize_path, path_scratch)) {
        return ec;
    }
    canonical_request.push_back('\n');
    detail::append_canonical_query(canonical_request, req.query, query_scratch);
    canonical_request.push_back('\n');
    headers.append_canonical(canonical_request);
    canonical_request.push_back('\n');
    canonical_request.append(headers.signed_headers());
    canonical_request.push_back('\n');
    detail::append_hex(canonical_request, sha256.digest(req.payload));

    string_to_sign.clear();
    string_to_sign.reserve(algorithm.size() + amz_date.size() + owner.region_.size() +
                           owner.service_.size() + 110);
    string_to_sign.append(algorithm);
    string_to_sign.push_back('\n');
    string_to_sign.append(amz_date);
    string_to_sign.push_back('\n');
    string_to_sign.append(amz_date.substr(0, date_size));
    string_to_sign.push_back('/');
    string_to_sign.append(owner.region_);
    string_to_sign.push_back('/');
    string_to_sign.append(owner.service_);
    string_to_sign.append("/aws4_request\n");
    detail::append_hex(string_to_sign, sha256.digest(canonical_request));
    return {};
}

void signer::state::use_signing_key(const signer& owner, std::string_view secret,
                                    std::string_view date) {
    if (has_key && key_secret == secret && std::string_view(key_date.data(), date_size) == date) {
        return;
    }
    has_key = false;  // stays false if OpenSSL throws half-way
    std::string secret_key = "AWS4";
    secret_key.append(secret);
    hmac.set_key({reinterpret_cast<const unsigned char*>(secret_key.data()), secret_key.size()});
    for (std::string_view part :
         {date, std::string_view(owner.region_), std::string_view(owner.service_)}) {
        const detail::sha256_digest next = hmac.mac(part);
        hmac.set_key(next);
    }
    hmac.set_key(hmac.mac("aws4_request"));
    key_secret.assign(secret);
    std::memcpy(key_date.data(), date.data(), date_size);
    has_key = true;
}

signer::signer(std::string region, std::string service, options opts)
    : region_(std::move(region)),
      service_(std::move(service)),
      options_(opts),
      state_(std::make_unique<state>()) {}

signer::signer(signer&&) noexcept = default;
signer& signer::operator=(signer&&) noexcept = default;
signer::~signer() = default;

error_code signer::sign(const request& req, const credentials& creds,
                        std::chrono::system_clock::time_point time, auth_headers& out) {
    const amz_date_text amz_date = format_amz_date(time);
    if (error_code ec = state_->build(*this, req, creds, view(amz_date))) {
        return ec;
    }
    const std::string_view date = view(amz_date).substr(0, date_size);
    state_->use_signing_key(*this, creds.secret_access_key, date);
    const detail::sha256_digest signature = state_->hmac.mac(state_->string_to_sign);

    out.x_amz_date.assign(view(amz_date));
    out.x_amz_security_token.assign(creds.session_token);
    std::string& authorization = out.authorization;
    authorization.clear();
    authorization.reserve(algorithm.size() + creds.access_key_id.size() + region_.size() +
                          service_.size() + state_->headers.signed_headers().size() + 140);
    authorization.append(algorithm);
    authorization.append(" Credential=");
    authorization.append(creds.access_key_id);
    authorization.push_back('/');
    authorization.append(date);
    authorization.push_back('/');
    authorization.append(region_);
    authorization.push_back('/');
    authorization.append(service_);
    authorization.append("/aws4_request, SignedHeaders=");
    authorization.append(state_->headers.signed_headers());
    authorization.append(", Signature=");
    detail::append_hex(authorization, signature);
    return {};
}

error_code signer::canonical_request(const request& req, const credentials& creds,
                                     std::chrono::system_clock::time_point time, std::string& out) {
    if (error_code ec = state_->build(*this, req, creds, view(format_amz_date(time)))) {
        return ec;
    }
    out = state_->canonical_request;
    return {};
}

error_code signer::string_to_sign(const request& req, const credentials& creds,
                                  std::chrono::system_clock::time_point time, std::string& out) {
    if (error_code ec = state_->build(*this, req, creds, view(format_amz_date(time)))) {
        return ec;
    }
    out = state_->string_to_sign;
    return {};
}

}  // namespace dynalock::sigv4
