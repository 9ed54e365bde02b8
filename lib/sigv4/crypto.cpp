#include "sigv4/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdexcept>

namespace dynalock::sigv4::detail {

namespace {

[[noreturn]] void throw_openssl_failure(const char* what) {
    throw std::runtime_error(std::string("dynalock sigv4: OpenSSL failed: ") + what);
}

}  // namespace

sha256_hasher::sha256_hasher()
    : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (md_ == nullptr || ctx_ == nullptr) {
        EVP_MD_CTX_free(ctx_);
        EVP_MD_free(md_);
        throw_openssl_failure("SHA256 fetch");
    }
}

sha256_hasher::~sha256_hasher() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
}

sha256_digest sha256_hasher::digest(std::string_view data) {
    sha256_digest result;
    if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, result.data(), nullptr) != 1) {
        throw_openssl_failure("SHA256");
    }
    return result;
}

hmac_sha256::hmac_sha256() : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)), ctx_(nullptr) {
    if (mac_ != nullptr) {
        ctx_ = EVP_MAC_CTX_new(mac_);
    }
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx_ == nullptr || EVP_MAC_CTX_set_params(ctx_, params) != 1) {
        EVP_MAC_CTX_free(ctx_);
        EVP_MAC_free(mac_);
        throw_openssl_failure("HMAC fetch");
    }
}

hmac_sha256::~hmac_sha256() {
    EVP_MAC_CTX_free(ctx_);
    EVP_MAC_free(mac_);
}

void hmac_sha256::set_key(std::span<const unsigned char> key) {
    if (EVP_MAC_init(ctx_, key.data(), key.size(), nullptr) != 1) {
        throw_openssl_failure("HMAC key");
    }
}

sha256_digest hmac_sha256::mac(std::string_view data) {
    sha256_digest result;
    std::size_t size = 0;
    // A null key restarts the MAC with the key given to set_key.
    if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1 ||
        EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
            1 ||
        EVP_MAC_final(ctx_, result.data(), &size, result.size()) != 1 || size != result.size()) {
        throw_openssl_failure("HMAC");
    }
    return result;
}

void append_hex(std::string& out, std::span<const unsigned char> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    const std::size_t at = out.size();
    out.resize(at + 2 * bytes.size());
    char* hex = out.data() + at;
    for (unsigned char byte : bytes) {
        *hex++ = digits[byte >> 4];
        *hex++ = digits[byte & 0x0f];
    }
}

}  // namespace dynalock::sigv4::detail
