// OpenSSL 3 deprecates the SHA-256 functions used here in favour of EVP,
// whose contexts (in 3.0) allocate on every digest and copy themselves,
// allocating again, for every HMAC: four heap allocations and frees per
// signed request. These keep the whole state in a plain struct.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "sigv4/crypto.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

namespace dynalock::sigv4::detail {

namespace {

[[noreturn]] void throw_openssl_failure(const char* what) {
    throw std::runtime_error(std::string("dynalock sigv4: OpenSSL failed: ") + what);
}

}  // namespace

namespace {

constexpr std::size_t block_size = 64;

const unsigned char* bytes_of(std::string_view data) {
    return reinterpret_cast<const unsigned char*>(data.data());
}

void start(SHA256_CTX& ctx) {
    if (SHA256_Init(&ctx) != 1) {
        throw_openssl_failure("SHA256");
    }
}

void absorb(SHA256_CTX& ctx, const unsigned char* data, std::size_t size) {
    if (SHA256_Update(&ctx, data, size) != 1) {
        throw_openssl_failure("SHA256");
    }
}

sha256_digest finish(SHA256_CTX& ctx) {
    sha256_digest result;
    if (SHA256_Final(result.data(), &ctx) != 1) {
        throw_openssl_failure("SHA256");
    }
    return result;
}

}  // namespace

sha256_digest sha256_hasher::digest(std::string_view data) {
    SHA256_CTX ctx;
    start(ctx);
    absorb(ctx, bytes_of(data), data.size());
    return finish(ctx);
}

hmac_sha256::~hmac_sha256() {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
}

// RFC 2104: a key longer than a block is hashed first; the padded key, XORed
// with 0x36 and 0x5c, starts the inner and outer hashes.
void hmac_sha256::set_key(std::span<const unsigned char> key) {
    std::array<unsigned char, block_size> pad{};
    if (key.size() > block_size) {
        SHA256_CTX ctx;
        start(ctx);
        absorb(ctx, key.data(), key.size());
        const sha256_digest hashed = finish(ctx);
        std::copy(hashed.begin(), hashed.end(), pad.begin());
    } else {
        std::copy(key.begin(), key.end(), pad.begin());
    }
    for (unsigned char& b : pad) {
        b ^= 0x36;
    }
    start(inner_);
    absorb(inner_, pad.data(), pad.size());
    for (unsigned char& b : pad) {
        b ^= 0x36 ^ 0x5c;
    }
    start(outer_);
    absorb(outer_, pad.data(), pad.size());
    OPENSSL_cleanse(pad.data(), pad.size());
}

sha256_digest hmac_sha256::mac(std::string_view data) {
    SHA256_CTX ctx = inner_;
    absorb(ctx, bytes_of(data), data.size());
    const sha256_digest inner_hash = finish(ctx);
    ctx = outer_;
    absorb(ctx, inner_hash.data(), inner_hash.size());
    sha256_digest result = finish(ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return result;
}

// Both digits of a byte from one table: three digests a request.
void append_hex(std::string& out, std::span<const unsigned char> bytes) {
    static constexpr auto pairs = [] {
        constexpr char digits[] = "0123456789abcdef";
        std::array<char, 512> table{};
        for (std::size_t b = 0; b < 256; ++b) {
            table[2 * b] = digits[b >> 4];
            table[2 * b + 1] = digits[b & 0x0f];
        }
        return table;
    }();
    const std::size_t at = out.size();
    out.resize(at + 2 * bytes.size());
    char* hex = out.data() + at;
    for (unsigned char byte : bytes) {
        std::memcpy(hex, &pairs[2 * std::size_t{byte}], 2);
        hex += 2;
    }
}

}  // namespace dynalock::sigv4::detail
