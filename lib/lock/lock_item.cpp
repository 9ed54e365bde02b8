#include "lock/lock_item.hpp"

#include "dynamodb/decimal.hpp"

#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>

namespace dynalock::lock {

namespace {

constexpr std::array lock_attributes{owner_attribute, lease_attribute, record_version_attribute,
                                     fence_attribute, data_attribute,  released_attribute};

/// The value of a decimal text that is a non-negative integer fitting 64 bits
/// ("1", "1.0", "1E3" alike: DynamoDB may canonicalise numbers).
std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
    const auto d = dynamodb::parse_decimal(text);
    if (!d) {
        return std::nullopt;
    }
    if (d->digits.empty()) {
        return 0;
    }
    if (d->negative || d->exponent < static_cast<std::int64_t>(d->digits.size())) {
        return std::nullopt;  // negative or fractional
    }
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t value = 0;
    for (std::int64_t i = 0; i < d->exponent; ++i) {
        const auto i_digit = static_cast<std::size_t>(i);
        const unsigned digit = i_digit < d->digits.size() ? d->digits[i_digit] - '0' : 0;
        if (value > (max - digit) / 10) {
            return std::nullopt;
        }
        value = value * 10 + digit;
    }
    return value;
}

error_code malformed(std::string& why, std::string reason) {
    why = std::move(reason);
    return errc::malformed_response;
}

/// The S value of attribute `name`; nullptr (with `why` set) when it is
/// missing or of another type.
const std::string* string_attribute(const item& in, std::string_view name, std::string& why) {
    const auto it = in.find(name);
    if (it == in.end()) {
        why = "lock item lacks " + std::string(name);
        return nullptr;
    }
    const std::string* s = it->second.as_string();
    if (s == nullptr) {
        why = "lock item attribute " + std::string(name) + " is not a string";
    }
    return s;
}

}  // namespace

error_code validate_key(const lock_key& key, std::string& why) {
    if (key.partition.empty() || key.partition.size() > max_partition_key_bytes) {
        why = "the lock name (partition key) must have 1 to 2048 bytes";
        return errc::invalid_argument;
    }
    if (key.sort && (key.sort->empty() || key.sort->size() > max_sort_key_bytes)) {
        why = "the lock sub-name (sort key) must have 1 to 1024 bytes";
        return errc::invalid_argument;
    }
    return {};
}

namespace {

// OpenSSL's generator checks for a fork (a getpid system call) on every call:
// one call per heartbeat is a measurable share of its cost. Bytes are drawn
// in blocks instead, and a forked child throws away what its parent drew, so
// that two processes never hand out the same bytes.
struct random_pool {
    std::array<unsigned char, 4096> bytes{};
    std::size_t used = bytes.size();

    random_pool() {
        static const int registered = ::pthread_atfork(nullptr, nullptr, [] { forked = true; });
        static_cast<void>(registered);
    }

    void take(unsigned char* out, std::size_t n) {
        if (forked || used + n > bytes.size()) {
            forked = false;
            if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
                throw std::runtime_error("the random number generator failed");
            }
            used = 0;
        }
        std::memcpy(out, bytes.data() + used, n);
        // Bytes handed out are not kept.
        std::memset(bytes.data() + used, 0, n);
        used += n;
    }

    static inline thread_local bool forked = false;
};

}  // namespace

std::string random_hex(std::size_t bytes) {
    std::array<unsigned char, 32> raw{};
    if (bytes > raw.size()) {
        throw std::runtime_error("random_hex: at most 32 bytes");
    }
    thread_local random_pool pool;
    pool.take(raw.data(), bytes);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (std::size_t i = 0; i < bytes; ++i) {
        out += digits[raw[i] >> 4];
        out += digits[raw[i] & 15];
    }
    return out;
}

std::string new_record_version() {
    return random_hex(16);
}

double random_unit() {
    thread_local std::minstd_rand generator{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

bool is_lock_attribute(std::string_view name) noexcept {
    for (const auto a : lock_attributes) {
        if (a == name) {
            return true;
        }
    }
    return false;
}

item key_item(const key_schema& schema, const lock_key& key) {
    item out{{schema.partition_key_name, attribute_value{key.partition}}};
    if (!schema.sort_key_name.empty() && key.sort) {
        out.emplace(schema.sort_key_name, attribute_value{*key.sort});
    }
    return out;
}

error_code parse_lock_key(const item& in, const key_schema& schema, lock_key& out,
                          std::string& why) {
    const std::string* partition = string_attribute(in, schema.partition_key_name, why);
    if (partition == nullptr) {
        return errc::malformed_response;
    }
    out.partition = *partition;
    out.sort.reset();
    if (!schema.sort_key_name.empty()) {
        const std::string* sort = string_attribute(in, schema.sort_key_name, why);
        if (sort == nullptr) {
            return errc::malformed_response;
        }
        out.sort = *sort;
    }
    return {};
}

error_code parse_lock_item(const item& in, const key_schema& schema, lock_record& out,
                           std::string& why) {
    lock_record r;
    if (auto ec = parse_lock_key(in, schema, r.key, why)) {
        return ec;
    }
    const std::string* owner = string_attribute(in, owner_attribute, why);
    const std::string* version = string_attribute(in, record_version_attribute, why);
    if (owner == nullptr || version == nullptr) {
        return errc::malformed_response;
    }
    r.owner = *owner;
    r.record_version = *version;

    const auto lease = in.find(lease_attribute);
    if (lease == in.end()) {
        return malformed(why, "lock item lacks leaseDuration");
    }
    const std::string* lease_text = lease->second.as_string();
    if (lease_text == nullptr && lease->second.as_number() != nullptr) {
        lease_text = &lease->second.as_number()->text;
    }
    const auto lease_ms = lease_text ? parse_unsigned(*lease_text) : std::nullopt;
    if (!lease_ms || *lease_ms > static_cast<std::uint64_t>(
                                     std::numeric_limits<std::chrono::milliseconds::rep>::max())) {
        return malformed(why, "lock item leaseDuration is not a whole number of milliseconds");
    }
    r.lease = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*lease_ms));

    if (const auto fence = in.find(fence_attribute); fence != in.end()) {
        const number* n = fence->second.as_number();
        r.fence = n ? parse_unsigned(n->text) : std::nullopt;
        if (!r.fence) {
            return malformed(why, "lock item fence is not an unsigned 64-bit number");
        }
    }
    if (const auto data = in.find(data_attribute); data != in.end()) {
        if (data->second.as_bytes() == nullptr) {
            return malformed(why, "lock item data is not binary");
        }
        r.data = *data->second.as_bytes();
    }
    if (const auto released = in.find(released_attribute); released != in.end()) {
        const std::string* s = released->second.as_string();
        if (s == nullptr || *s != released_value) {
            return malformed(why, "lock item isReleased is not the string \"1\"");
        }
        r.released = true;
    }
    for (const auto& [name, value] : in) {
        if (!is_lock_attribute(name) && name != schema.partition_key_name &&
            name != schema.sort_key_name) {
            r.other.emplace(name, value);
        }
    }
    out = std::move(r);
    return {};
}

error_code validate_write(const lock_write& w, std::string& why) {
    if (auto ec = validate_key(w.key, why)) {
        return ec;
    }
    const auto invalid = [&why](const char* reason) {
        why = reason;
        return make_error_code(errc::invalid_argument);
    };
    if (w.condition != write_condition::free && w.expected_version.empty()) {
        return invalid("a version condition needs the expected record version");
    }
    if (w.condition == write_condition::version_and_owner && w.owner.empty()) {
        return invalid("a version-and-owner condition needs the owner");
    }
    if (w.kind != write_kind::grant && w.condition == write_condition::free) {
        return invalid("only a grant may be conditioned on a free lock");
    }
    if (w.kind == write_kind::grant && w.owner.empty()) {
        return invalid("a grant needs the new owner");
    }
    if (w.kind != write_kind::release && (w.new_version.empty() || w.lease.count() < 0)) {
        return invalid("a grant or refresh needs a new record version and a lease >= 0");
    }
    if (w.kind != write_kind::release && w.delete_item) {
        return invalid("only a release may delete the item");
    }
    if (w.delete_item && w.data_action != data_change::keep) {
        return invalid("a release that deletes the item cannot change its data");
    }
    if (w.kind != write_kind::grant && !w.extra.empty()) {
        return invalid("extra attributes are set by a grant only");
    }
    for (const auto& [name, value] : w.extra) {
        if (name.empty() || is_lock_attribute(name)) {
            return invalid("an extra attribute is unnamed or collides with a lock attribute");
        }
    }
    return {};
}

}  // namespace dynalock::lock
