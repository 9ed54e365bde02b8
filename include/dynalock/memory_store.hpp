#pragma once

/// \file
/// A store that keeps lock items in this process.

#include <dynalock/store.hpp>

#include <cstddef>
#include <map>

namespace dynalock {

/// A store that keeps lock items in this process: for tests of the lock layer
/// and for locks shared by the coroutines of one process. It accepts, refuses
/// and answers every write exactly as dynamodb_store does (same validation,
/// same conditions, same fence arithmetic and bound, same record on a failed
/// condition), without TTL attribute. Its items are written by its own writes
/// only, so none is ever malformed.
///
/// Every operation takes effect when it is initiated, atomically; its
/// completion is always posted to the executor, never invoked inline. A
/// deadline already passed at initiation fails with errc::timeout and does
/// nothing; cancellation has nothing to interrupt (the write has applied).
///
/// Thread safety: distinct objects safe; a shared object is not: use it from
/// one thread (or strand) of its executor.
class memory_store final : public store {
public:
    /// `list_page_size`: records per page of `async_list` (at least 1).
    explicit memory_store(executor_type ex, std::size_t list_page_size = 100);

    /// The executor given to the constructor: every operation completes on it.
    executor_type get_executor() const override { return ex_; }

private:
    void do_write(lock_write&& w, clock::time_point deadline,
                  boost::asio::any_completion_handler<void(error_code, write_result)> h) override;
    void do_read(lock_key key, clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, std::optional<lock_record>)>
                     h) override;
    void do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                 clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, record_page)> h) override;

    write_result apply(const lock_write& w, error_code& ec);

    executor_type ex_;
    std::size_t list_page_size_;
    std::map<lock_key, lock_record> items_;
};

}  // namespace dynalock
