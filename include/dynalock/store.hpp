#pragma once

/// \file
/// The store: where lock items live. The lease protocol is written once, above
/// this interface; a store only performs single-item conditional writes and
/// consistent reads with the semantics below. dynamodb_store is the production
/// store; memory_store keeps items in this process (tests, single-process use).

#include <dynalock/error.hpp>
#include <dynalock/lock_record.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace dynalock {

/// What must hold for a write to apply (evaluated atomically with the write).
enum class write_condition {
    /// The item does not exist, or is marked released.
    free,
    /// The item carries `expected_version` (whoever holds it): a takeover
    /// after the holder's lease was waited out, or a consistent take of a
    /// released lock.
    version,
    /// The item carries `expected_version` AND `owner` and is not marked
    /// released: only the holder may heartbeat or release, and a row someone
    /// else released (keeping its version) is no longer the holder's.
    version_and_owner,
    /// The item carries `expected_fence` (no fence at all when that is unset)
    /// AND `owner` and is not marked released: the same grant, whatever
    /// heartbeats it had since. An operator's forced release uses it, so that
    /// it cannot lose a race with the heartbeats of the holder it releases.
    fence_and_owner,
};

/// What a write does.
enum class write_kind {
    /// Take the lock: set owner, lease, new record version; fence =
    /// (fence or 0) + 1; clear the released mark; apply `data` and `extra`;
    /// set the TTL attribute when the store has one. Besides its condition, a
    /// grant needs the item's fence (if any) to be a number from 0 to
    /// 2^64 - 2, so that the new one fits lock_record::fence.
    grant,
    /// Heartbeat: set a new record version and lease (and `data` when set).
    refresh,
    /// Mark released (keeping the fence and the row) — or delete the row when
    /// `delete_item`. `data` replaces the payload when set (mark only).
    release,
};

/// What happens to the `data` attribute.
enum class data_change {
    keep,     ///< left as it is
    replace,  ///< set to lock_write::data
    remove    ///< removed
};

/// One conditional write of a lock item: what the lock client asks of a store.
struct lock_write {
    lock_key key{};                                     ///< the item written
    write_kind kind = write_kind::grant;                ///< what the write does
    write_condition condition = write_condition::free;  ///< what must hold for it to apply
    /// Also require the item to exist already (never create it).
    bool require_existing = false;
    std::string expected_version{};                 ///< for version, version_and_owner
    std::optional<std::uint64_t> expected_fence{};  ///< for fence_and_owner
    /// grant: the new owner; version_and_owner, fence_and_owner: the holder
    std::string owner{};
    std::string new_version{};                    ///< grant, refresh
    std::chrono::milliseconds lease{};            ///< grant, refresh; at most max_lease
    data_change data_action = data_change::keep;  ///< what happens to the payload
    bytes data{};                                 ///< with data_change::replace
    /// grant only: more attributes to set; must not collide with lock attributes.
    attribute_map extra{};
    bool delete_item = false;  ///< release only
    /// grant only: the lock is held under this session (its `leaseDuration`
    /// becomes "session"); unset: the lock has a lease of its own, and any
    /// session attributes are removed.
    std::optional<session_ref> session{};
    /// grant only: the item is a session's (`isSession` = "1").
    bool session_item = false;
    /// grant with write_condition::free only: also take the lock when it is
    /// held under one of these sessions, known to have ended (its holder no
    /// longer believes it), in the same single write.
    std::vector<session_ref> ended_sessions{};
};

/// The outcome of a write that completed (with or without error).
struct write_result {
    /// On success: the item after the write; absent after a delete, and may
    /// be absent after a refresh, whose condition leaves one outcome that the
    /// holder knows (dynamodb_store does not ask for it).
    /// On errc::conditional_check_failed: the item as it is now (absent when
    /// there is none), read consistently — stores whose server does not return
    /// it with the failure read it.
    std::optional<lock_record> record{};
};

/// One page of `async_list`.
struct record_page {
    /// This page's records: in key order from memory_store, in DynamoDB's
    /// order from dynamodb_store.
    std::vector<lock_record> records{};
    /// Pass back to get the next page; empty when this was the last.
    std::optional<lock_key> next{};
};

/// A place lock items live.
///
/// Completion signatures: `void(error_code, T)`. Every operation takes an
/// absolute deadline that no attempt or retry passes (errc::timeout).
///
/// Errors: errc::conditional_check_failed (with `write_result::record`) when a
/// write's condition does not hold; `is_ambiguous(ec)` when a write may or may
/// not have applied (the caller resolves it with a read); errc::malformed_item
/// when a write applied but the item it left is not a well-formed lock item
/// (an attribute the write does not set is wrong: `write_result::record` has
/// `malformed` set); any other error means the write did not apply.
///
/// Malformed items (lock_record::malformed): a read of one completes with
/// errc::malformed_item and the record; a failed condition returns it as the
/// item as it is; a listing returns it among the others, without error.
///
/// Per-operation cancellation: terminal; a cancelled write may have applied.
class store {
public:
    /// The executor operations complete on.
    using executor_type = boost::asio::any_io_executor;
    /// The clock of deadlines.
    using clock = std::chrono::steady_clock;

    virtual ~store() = default;
    /// The executor every operation completes on.
    virtual executor_type get_executor() const = 0;

    /// Performs `w` if its condition holds, atomically; completes with the
    /// item as described by write_result.
    template <boost::asio::completion_token_for<void(error_code, write_result)> Token =
                  boost::asio::deferred_t>
    auto async_write(lock_write w, clock::time_point deadline, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, write_result)>(
            [this](auto handler, auto&& w, clock::time_point deadline) {
                // A deferred operation started as an lvalue hands over its
                // copy as const: that one is copied again, as before.
                if constexpr (std::is_same_v<decltype(w), lock_write&&>) {
                    do_write(std::move(w), deadline, std::move(handler));
                } else {
                    do_write(lock_write(w), deadline, std::move(handler));
                }
            },
            token, std::move(w), deadline);
    }

    /// A consistent read; absent when there is no item.
    template <boost::asio::completion_token_for<void(error_code, std::optional<lock_record>)>
                  Token = boost::asio::deferred_t>
    auto async_read(lock_key key, clock::time_point deadline, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, std::optional<lock_record>)>(
            [this](auto handler, lock_key key, clock::time_point deadline) {
                do_read(std::move(key), deadline, std::move(handler));
            },
            token, std::move(key), deadline);
    }

    /// Every lock item, a page at a time (`after`: the previous page's
    /// `next`), or only those of one partition key.
    template <boost::asio::completion_token_for<void(error_code, record_page)> Token =
                  boost::asio::deferred_t>
    auto async_list(std::optional<std::string> partition, std::optional<lock_key> after,
                    clock::time_point deadline, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, record_page)>(
            [this](auto handler, std::optional<std::string> partition,
                   std::optional<lock_key> after, clock::time_point deadline) {
                do_list(std::move(partition), std::move(after), deadline, std::move(handler));
            },
            token, std::move(partition), std::move(after), deadline);
    }

protected:
    /// Implements async_write: calls `h` once, with the outcome, never from
    /// inside this call. `w` is the caller's copy, to move from or not; it
    /// is passed by reference, as moving a write cost more than a hundred
    /// instructions a time, and a heartbeat's went through async_write's
    /// parameter, the initiation's and do_write's in each layered store
    /// (counting, faults).
    virtual void do_write(
        lock_write&& w, clock::time_point deadline,
        boost::asio::any_completion_handler<void(error_code, write_result)> h) = 0;
    /// Implements async_read, as do_write.
    virtual void do_read(
        lock_key key, clock::time_point deadline,
        boost::asio::any_completion_handler<void(error_code, std::optional<lock_record>)> h) = 0;
    /// Implements async_list, as do_write.
    virtual void do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                         clock::time_point deadline,
                         boost::asio::any_completion_handler<void(error_code, record_page)> h) = 0;
};

}  // namespace dynalock
