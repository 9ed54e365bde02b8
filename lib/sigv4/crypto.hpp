#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

// OpenSSL types, declared rather than included so this header stays light.
struct evp_md_st;
struct evp_md_ctx_st;
struct evp_mac_st;
struct evp_mac_ctx_st;

namespace dynalock::sigv4::detail {

using sha256_digest = std::array<unsigned char, 32>;

/// SHA-256 with the algorithm fetched and the context allocated once: OpenSSL 3's
/// implicit fetch on every one-shot call costs more than hashing a small request.
/// Throws std::runtime_error only if OpenSSL itself fails.
class sha256_hasher {
public:
    sha256_hasher();
    sha256_hasher(const sha256_hasher&) = delete;
    sha256_hasher& operator=(const sha256_hasher&) = delete;
    ~sha256_hasher();

    sha256_digest digest(std::string_view data);

private:
    evp_md_st* md_;
    evp_md_ctx_st* ctx_;
};

/// HMAC-SHA-256 that keeps its key: after `set_key`, each `mac` call reuses the
/// already-absorbed key pads instead of processing the key again.
/// Throws std::runtime_error only if OpenSSL itself fails.
class hmac_sha256 {
public:
    hmac_sha256();
    hmac_sha256(const hmac_sha256&) = delete;
    hmac_sha256& operator=(const hmac_sha256&) = delete;
    ~hmac_sha256();

    void set_key(std::span<const unsigned char> key);
    sha256_digest mac(std::string_view data);

private:
    evp_mac_st* mac_;
    evp_mac_ctx_st* ctx_;
};

/// Appends `bytes` as lowercase hex.
void append_hex(std::string& out, std::span<const unsigned char> bytes);

}  // namespace dynalock::sigv4::detail
