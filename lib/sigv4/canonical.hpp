#pragma once

#include "sigv4/signer.hpp"

#include <dynalock/error.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Building blocks of the SigV4 canonical request (step 1 of the algorithm).
namespace dynalock::sigv4::detail {

/// Appends `text` percent-encoded per RFC 3986: unreserved bytes (A-Z a-z 0-9 - . _ ~)
/// stay, every other byte becomes %XX (uppercase), except '/' when `keep_slash`.
void append_uri_encoded(std::string& out, std::string_view text, bool keep_slash);

/// Appends the canonical URI for `path`. With `normalize`, `.`, `..` and empty segments
/// are removed first (a trailing '/' is kept). The result is percent-encoded again, so a
/// path sent as "/a%20b" is signed as "/a%2520b", as AWS expects outside S3.
/// Fails with errc::invalid_argument unless `path` is empty or starts with '/'.
error_code append_canonical_uri(std::string& out, std::string_view path, bool normalize,
                                std::string& scratch);

/// Appends the canonical query: parameters split on '&', decoded, re-encoded per RFC
/// 3986, sorted by name then value, each written `name=value` (also for empty values).
void append_canonical_query(std::string& out, std::string_view query,
                            std::vector<std::pair<std::string, std::string>>& scratch);

/// The canonical header block, reused across requests so that its buffers keep their
/// capacity.
class canonical_headers {
public:
    /// Collects `headers` plus the signer's own `x-amz-date` and (when not empty)
    /// `x-amz-security-token`. Hop-by-hop headers, `user-agent`, `expect` and
    /// `x-amzn-trace-id` are left out, as the AWS SDKs do. Fails with errc::invalid_argument if a
    /// name is empty or not an HTTP token, if `host` is missing, or if a caller passes a header the
    /// signer produces.
    error_code assign(std::span<const header> headers, std::string_view amz_date,
                      std::string_view session_token);

    /// Appends `name:value\n` per distinct lowercase name, sorted by name; values are
    /// trimmed, inner whitespace runs collapsed to one space, repeats joined by ','.
    void append_canonical(std::string& out) const;

    /// The distinct lowercase names, sorted, joined by ';'.
    const std::string& signed_headers() const noexcept { return signed_headers_; }

private:
    struct entry {
        std::uint32_t name_offset;
        std::uint32_t name_size;
        std::uint32_t source;  // index in assign's `headers`, then the date, then the token
        std::string_view value;
    };

    // Whether `headers` has the names, in order, of the last assign that
    // succeeded, and a session token when it had one: a client signs the
    // same headers on every request, so they are checked, lowercased and
    // sorted once, and then only their values change.
    bool same_names(std::span<const header> headers, bool has_token) const noexcept;
    void remember_names(std::span<const header> headers, bool has_token);

    std::string_view name_of(const entry& e) const {
        return std::string_view(lowercase_names_).substr(e.name_offset, e.name_size);
    }
    void add(std::string_view name, std::string_view value, std::uint32_t source);
    void sort_by_name();

    std::string lowercase_names_;  // every entry's name, back to back
    std::vector<entry> entries_;
    std::string signed_headers_;

    bool remembered_ = false;
    bool had_token_ = false;
    std::string given_names_;                // the last headers' names, back to back
    std::vector<std::uint32_t> given_ends_;  // where each ends in given_names_
    // The entry of each source (see entry::source); -1 for one left unsigned.
    std::vector<std::int32_t> entry_of_;
};

}  // namespace dynalock::sigv4::detail
