#pragma once

// The lock item as DynamoDB holds it (docs/design.md): attribute names, parsing of
// an item into a lock_record, and the checks every store applies to a write
// before it touches anything. Shared by memory_store and dynamodb_store so that
// both accept and refuse exactly the same writes.

#include <dynalock/attribute_value.hpp>
#include <dynalock/error.hpp>
#include <dynalock/lock_record.hpp>
#include <dynalock/store.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace dynalock::lock {

// Attribute names of the AWS Java lock client, so mixed fleets share a table.
inline constexpr std::string_view owner_attribute = "ownerName";
inline constexpr std::string_view lease_attribute = "leaseDuration";
inline constexpr std::string_view record_version_attribute = "recordVersionNumber";
inline constexpr std::string_view fence_attribute = "fence";
inline constexpr std::string_view data_attribute = "data";
inline constexpr std::string_view released_attribute = "isReleased";
/// The only value of `isReleased` (the Java client's `IS_RELEASED_VALUE`).
inline constexpr std::string_view released_value = "1";
// Sessions (docs/sessions.md): a lock held under one names it and its epoch,
// and has "session" for a lease, which no client that does not know sessions
// takes for a number of milliseconds.
inline constexpr std::string_view session_key_attribute = "sessionKey";
inline constexpr std::string_view session_sort_key_attribute = "sessionSortKey";
inline constexpr std::string_view session_epoch_attribute = "sessionEpoch";
inline constexpr std::string_view session_lease_value = "session";
inline constexpr std::string_view is_session_attribute = "isSession";

inline constexpr std::size_t max_partition_key_bytes = 2048;
/// Ended sessions one grant may name (each adds two terms to its condition).
inline constexpr std::size_t max_ended_sessions = 16;
inline constexpr std::size_t max_sort_key_bytes = 1024;

/// The largest fence a grant may find on the item: the grant makes it one
/// more, and a fence must stay within what lock_record::fence can hold.
inline constexpr std::uint64_t max_fence_before_grant =
    std::numeric_limits<std::uint64_t>::max() - 1;

/// `bytes` (at most 32) random bytes from OpenSSL's CSPRNG, as lowercase hex.
/// Throws std::runtime_error when the generator fails.
std::string random_hex(std::size_t bytes);

/// How many symbols (of 64: letters, digits, '-', '_') a record version has.
inline constexpr std::size_t record_version_length = 15;

/// A fresh record version: record_version_length symbols drawn from
/// OpenSSL's CSPRNG. It must be unguessable: a guessed one could release or
/// refresh someone else's lock.
std::string new_record_version();

/// Uniform in [0, 1): for spreading timers, not for secrets.
double random_unit();

/// True for the attributes a lock_record has fields for.
bool is_lock_attribute(std::string_view name) noexcept;

/// Names of a table's key attributes; an empty sort key name: no sort key.
struct key_schema {
    std::string partition_key_name{};
    std::string sort_key_name{};
};

/// The DynamoDB key of `key` (the caller checked that its shape fits `schema`).
item key_item(const key_schema& schema, const lock_key& key);

/// Reads a key (e.g. a LastEvaluatedKey) back. errc::malformed_response, with
/// the reason in `why`, when an attribute is missing or not a string.
error_code parse_lock_key(const item& in, const key_schema& schema, lock_key& out,
                          std::string& why);

/// Reads a lock item: the key attributes into `key`, the lock attributes into
/// their fields (`leaseDuration` as S or N decimal milliseconds up to
/// max_lease, `fence` as an N from 0 to 2^64 - 1, `data` as B, `isReleased`
/// only as S "1"), everything else into `other`. `fence`, `data` and
/// `isReleased` may be absent (rows of the Java client have no fence);
/// `ownerName`, `leaseDuration` and `recordVersionNumber` may not.
///
/// A lock attribute that deviates leaves `out.malformed` set (every deviation,
/// each with its value and what was expected) and stays in `out.other` as it
/// was. Only a key that cannot be read is an error: errc::malformed_response,
/// with the reason in `why`.
/// `in` is taken apart: its strings and its other attributes move into `out`.
error_code parse_lock_item(item&& in, const key_schema& schema, lock_record& out, std::string& why);

/// `lock "name"` (with the sort key when there is one), escaped and bounded,
/// for messages about one lock.
std::string describe_lock(const lock_key& key);

/// Whether `w`'s condition holds on the item as it is (nullptr: none), with
/// the meaning DynamoDB gives the condition dynamodb_store sends: memory_store
/// applies it as is. A grant also needs a fence of at most
/// max_fence_before_grant (or none).
bool condition_holds(const lock_write& w, const lock_record* current);

/// A key DynamoDB accepts: partition 1 to 2048 bytes, sort (when set) 1 to
/// 1024 bytes. errc::invalid_argument with the reason in `why`.
error_code validate_key(const lock_key& key, std::string& why);

/// The checks common to every store: a usable key, the fields the write kind
/// needs, a lease from 0 to max_lease, no `extra` outside a grant or colliding
/// with a lock attribute, no payload change on a delete. errc::invalid_argument
/// with the reason in `why`.
error_code validate_write(const lock_write& w, std::string& why);

}  // namespace dynalock::lock
