#pragma once

#include <dynalock/store.hpp>

#include <cstdint>

namespace dynalock::detail {

// Passes every request to the user's store and counts them, for
// lock_client_stats::store_reads and store_writes: what the client asked of
// its store, whatever the store is.
class counting_store final : public store {
public:
    explicit counting_store(store& inner) : inner_(inner) {}

    executor_type get_executor() const override { return inner_.get_executor(); }
    std::uint64_t reads() const noexcept { return reads_; }
    std::uint64_t writes() const noexcept { return writes_; }

protected:
    void do_write(lock_write&& w, clock::time_point deadline,
                  boost::asio::any_completion_handler<void(error_code, write_result)> h) override {
        ++writes_;
        inner_.async_write(std::move(w), deadline, std::move(h));
    }
    void do_read(lock_key key, clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, std::optional<lock_record>)>
                     h) override {
        ++reads_;
        inner_.async_read(std::move(key), deadline, std::move(h));
    }
    void do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                 clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, record_page)> h) override {
        ++reads_;
        inner_.async_list(std::move(partition), std::move(after), deadline, std::move(h));
    }

private:
    store& inner_;
    std::uint64_t reads_ = 0;
    std::uint64_t writes_ = 0;
};

}  // namespace dynalock::detail
