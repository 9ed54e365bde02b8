#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

#include <openssl/sha.h>

namespace dynalock::sigv4::detail {

using sha256_digest = std::array<unsigned char, 32>;

/// SHA-256 of a small request: no allocation, no algorithm fetch.
/// Throws std::runtime_error only if OpenSSL itself fails.
class sha256_hasher {
public:
    sha256_digest digest(std::string_view data);
};

/// HMAC-SHA-256 that keeps its key: after `set_key`, each `mac` call starts
/// from the already-absorbed key pads instead of processing the key again.
/// Throws std::runtime_error only if OpenSSL itself fails.
class hmac_sha256 {
public:
    hmac_sha256() = default;
    hmac_sha256(const hmac_sha256&) = delete;
    hmac_sha256& operator=(const hmac_sha256&) = delete;
    ~hmac_sha256();

    void set_key(std::span<const unsigned char> key);
    sha256_digest mac(std::string_view data);

private:
    // The hash states after the inner and outer key pads.
    SHA256_CTX inner_{};
    SHA256_CTX outer_{};
};

/// Appends `bytes` as lowercase hex.
void append_hex(std::string& out, std::span<const unsigned char> bytes);

}  // namespace dynalock::sigv4::detail
