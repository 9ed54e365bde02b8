#include "lock/lock_item.hpp"

#include "dynamodb/decimal.hpp"
#include "dynamodb/protocol.hpp"

#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <variant>

namespace dynalock::lock {

namespace {

constexpr std::array lock_attributes{owner_attribute,          lease_attribute,
                                     record_version_attribute, fence_attribute,
                                     data_attribute,           released_attribute,
                                     session_key_attribute,    session_sort_key_attribute,
                                     session_epoch_attribute,  is_session_attribute};

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

// Values from a table are data: quoted, escaped and bounded in messages.
constexpr std::size_t max_value_bytes = 64;

std::string quoted(std::string_view text) {
    return "\"" + dynamodb::sanitized(text, max_value_bytes) + "\"";
}

/// What `v` is, for a message: its type, and its value when it is a scalar.
std::string describe_value(const attribute_value& v) {
    if (const std::string* s = v.as_string()) {
        return "the string " + quoted(*s);
    }
    if (const number* n = v.as_number()) {
        return "the number " + dynamodb::sanitized(n->text, max_value_bytes);
    }
    if (const bytes* b = v.as_bytes()) {
        return "binary data of " + std::to_string(b->size()) + " bytes";
    }
    if (const bool* b = std::get_if<bool>(&v.value())) {
        return *b ? "the boolean true" : "the boolean false";
    }
    return v.is<null_value>()       ? "null"
           : v.is<attribute_list>() ? "a list"
           : v.is<attribute_map>()  ? "a map"
           : v.is<string_set>()     ? "a string set"
           : v.is<number_set>()     ? "a number set"
                                    : "a binary set";
}

/// The S value of key attribute `name`; nullptr (with `why` set) when it is
/// missing or of another type.
const std::string* string_attribute(const item& in, std::string_view name, std::string& why) {
    const auto it = in.find(name);
    if (it == in.end()) {
        why = "lock item lacks its key attribute " + std::string(name);
        return nullptr;
    }
    const std::string* s = it->second.as_string();
    if (s == nullptr) {
        why = "lock item key attribute " + std::string(name) + " is " + describe_value(it->second) +
              ", not a string";
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

// One pool per thread for every random token.
random_pool& thread_pool() {
    thread_local random_pool pool;
    return pool;
}

}  // namespace

std::string random_hex(std::size_t bytes) {
    std::array<unsigned char, 32> raw{};
    if (bytes > raw.size()) {
        throw std::runtime_error("random_hex: at most 32 bytes");
    }
    thread_pool().take(raw.data(), bytes);
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
    // 15 symbols of 6 random bits: 90 bits, far beyond what could ever
    // repeat on one item, and short enough to live inside a std::string, so
    // that a heartbeat's version and its copies allocate nothing (32 hex
    // digits took 48 bytes of heap in every held lease).
    static constexpr char symbols[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::array<unsigned char, 12> raw{};
    thread_pool().take(raw.data(), raw.size());
    std::string out(record_version_length, '\0');
    for (std::size_t i = 0; i < record_version_length; ++i) {
        // Symbol i takes bits 6i to 6i + 5 of the 96 drawn.
        const std::size_t bit = 6 * i;
        const unsigned pair =
            raw[bit / 8] | (bit / 8 + 1 < raw.size() ? raw[bit / 8 + 1] << 8 : 0U);
        out[i] = symbols[(pair >> (bit % 8)) & 63U];
    }
    return out;
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

error_code parse_lock_item(item&& in, const key_schema& schema, lock_record& out,
                           std::string& why) {
    lock_record r;
    if (auto ec = parse_lock_key(in, schema, r.key, why)) {
        return ec;
    }
    std::string problems;
    // Attribute `name` (nullptr: absent) is not what the protocol needs: say
    // so, and keep it as it was.
    const auto deviates = [&](std::string_view name, const attribute_value* value,
                              std::string_view expected) {
        problems += (problems.empty() ? "" : "; ") + std::string(name) + " is " +
                    (value ? describe_value(*value) : "missing") + ", expected " +
                    std::string(expected);
        if (value != nullptr) {
            r.other.emplace(name, *value);
        }
    };
    // Values are moved out only where nothing reads them again.
    const auto find = [&in](std::string_view name) -> attribute_value* {
        const auto it = in.find(name);
        return it == in.end() ? nullptr : &it->second;
    };

    for (auto [name, field] : {std::pair{owner_attribute, &r.owner},
                               std::pair{record_version_attribute, &r.record_version}}) {
        attribute_value* v = find(name);
        if (std::string* s = v ? std::get_if<std::string>(&v->value()) : nullptr) {
            *field = std::move(*s);
        } else {
            deviates(name, v, "a string");
        }
    }

    const attribute_value* session_key = find(session_key_attribute);
    const attribute_value* session_sort = find(session_sort_key_attribute);
    const attribute_value* session_epoch = find(session_epoch_attribute);
    if (session_key != nullptr || session_epoch != nullptr || session_sort != nullptr) {
        const std::string* k = session_key ? session_key->as_string() : nullptr;
        const std::string* sort = session_sort ? session_sort->as_string() : nullptr;
        const number* e = session_epoch ? session_epoch->as_number() : nullptr;
        const auto epoch = e ? parse_unsigned(e->text) : std::nullopt;
        if (k == nullptr || k->empty()) {
            deviates(session_key_attribute, session_key, "a non-empty string with sessionEpoch");
        } else if (!epoch) {
            deviates(session_epoch_attribute, session_epoch,
                     "a number from 0 to 2^64 - 1 with sessionKey");
        } else if (session_sort != nullptr && (sort == nullptr || sort->empty())) {
            deviates(session_sort_key_attribute, session_sort,
                     "a non-empty string, or no sessionSortKey");
        } else {
            r.session =
                session_ref{lock_key{*k, sort ? std::optional(*sort) : std::nullopt}, *epoch};
        }
    }

    const attribute_value* lease = find(lease_attribute);
    const std::string* lease_text = lease ? lease->as_string() : nullptr;
    if (lease != nullptr && lease->as_number() != nullptr) {
        lease_text = &lease->as_number()->text;
    }
    const bool session_lease = lease_text != nullptr && lease->as_string() != nullptr &&
                               *lease_text == session_lease_value;
    const auto lease_ms = lease_text ? parse_unsigned(*lease_text) : std::nullopt;
    if (session_lease) {
        if (!r.session && session_key == nullptr && session_epoch == nullptr) {
            deviates(lease_attribute, lease,
                     "\"session\" only with sessionKey and sessionEpoch, else milliseconds");
        }
    } else if (lease_ms && *lease_ms <= static_cast<std::uint64_t>(max_lease.count())) {
        r.lease = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*lease_ms));
    } else {
        deviates(lease_attribute, lease,
                 "a whole number of milliseconds from 0 to " + std::to_string(max_lease.count()) +
                     " (7 days)");
    }
    if (r.session && !session_lease) {
        r.session.reset();
        deviates(session_key_attribute, session_key,
                 "no session attributes unless leaseDuration is \"session\"");
    }

    if (const attribute_value* fence = find(fence_attribute)) {
        const number* n = fence->as_number();
        r.fence = n ? parse_unsigned(n->text) : std::nullopt;
        if (!r.fence) {
            deviates(fence_attribute, fence,
                     "a number from 0 to " +
                         std::to_string(std::numeric_limits<std::uint64_t>::max()) +
                         ", or no fence");
        }
    }
    if (attribute_value* data = find(data_attribute)) {
        if (bytes* b = std::get_if<bytes>(&data->value())) {
            r.data = std::move(*b);
        } else {
            deviates(data_attribute, data, "binary data, or no data");
        }
    }
    if (const attribute_value* marker = find(is_session_attribute)) {
        const std::string* s = marker->as_string();
        if (s != nullptr && *s == released_value) {
            r.is_session = true;
        } else {
            deviates(is_session_attribute, marker, "the string \"1\", or no isSession");
        }
    }
    if (const attribute_value* released = find(released_attribute)) {
        const std::string* s = released->as_string();
        if (s != nullptr && *s == released_value) {
            r.released = true;
        } else {
            deviates(released_attribute, released, "the string \"1\", or no isReleased");
        }
    }
    // The other attributes' nodes move over whole.
    for (auto it = in.begin(); it != in.end();) {
        const auto& name = it->first;
        const auto next = std::next(it);
        if (!is_lock_attribute(name) && name != schema.partition_key_name &&
            name != schema.sort_key_name) {
            r.other.insert(in.extract(it));
        }
        it = next;
    }
    if (!problems.empty()) {
        r.malformed = std::move(problems);
    }
    out = std::move(r);
    return {};
}

std::string describe_lock(const lock_key& key) {
    return "lock " + quoted(key.partition) +
           (key.sort ? " (sort key " + quoted(*key.sort) + ")" : "");
}

bool condition_holds(const lock_write& w, const lock_record* current) {
    if (w.require_existing && current == nullptr) {
        return false;
    }
    if (w.kind == write_kind::grant && current != nullptr &&
        current->fence.value_or(0) > max_fence_before_grant) {
        return false;
    }
    switch (w.condition) {
        case write_condition::free:
            return current == nullptr || current->released ||
                   (current->session && std::find(w.ended_sessions.begin(), w.ended_sessions.end(),
                                                  *current->session) != w.ended_sessions.end());
        case write_condition::version:
            return current != nullptr && current->record_version == w.expected_version;
        case write_condition::version_and_owner:
            return current != nullptr && current->record_version == w.expected_version &&
                   current->owner == w.owner && !current->released;
        case write_condition::fence_and_owner:
            return current != nullptr && current->fence == w.expected_fence &&
                   current->owner == w.owner && !current->released;
    }
    return false;
}

error_code validate_write(const lock_write& w, std::string& why) {
    if (auto ec = validate_key(w.key, why)) {
        return ec;
    }
    const auto invalid = [&why](const char* reason) {
        why = reason;
        return make_error_code(errc::invalid_argument);
    };
    if ((w.condition == write_condition::version ||
         w.condition == write_condition::version_and_owner) &&
        w.expected_version.empty()) {
        return invalid("a version condition needs the expected record version");
    }
    if ((w.condition == write_condition::version_and_owner ||
         w.condition == write_condition::fence_and_owner) &&
        w.owner.empty()) {
        return invalid("an owner condition needs the owner");
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
    if (w.lease > max_lease) {
        return invalid("a lease is at most 7 days (max_lease)");
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
    if (w.kind != write_kind::grant && (w.session || w.session_item)) {
        return invalid("only a grant binds a lock to a session or makes a session item");
    }
    if (!w.ended_sessions.empty() &&
        (w.kind != write_kind::grant || w.condition != write_condition::free)) {
        return invalid("only a grant of a free lock names ended sessions");
    }
    if (w.ended_sessions.size() > max_ended_sessions) {
        return invalid("a grant names at most 16 ended sessions");
    }
    if (w.session && w.session_item) {
        return invalid("a session's own item is not held under a session");
    }
    if (w.session) {
        if (auto ec = validate_key(w.session->key, why)) {
            why = "the session's key: " + why;
            return ec;
        }
    }
    return {};
}

}  // namespace dynalock::lock
