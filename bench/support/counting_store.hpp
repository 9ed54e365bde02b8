#pragma once

#include <dynalock/store.hpp>

#include <cstdint>

namespace dynalock::bench {

/// Passes every request to another store and counts them: what a lock client
/// asks of its store, whatever store it is (`store_requests_during_hold`).
class counting_store final : public store {
public:
    explicit counting_store(store& inner) : inner_(inner) {}

    executor_type get_executor() const override { return inner_.get_executor(); }
    std::uint64_t requests() const noexcept { return requests_; }

protected:
    void do_write(lock_write w, clock::time_point deadline,
                  boost::asio::any_completion_handler<void(error_code, write_result)> h) override {
        ++requests_;
        inner_.async_write(std::move(w), deadline, std::move(h));
    }
    void do_read(lock_key key, clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, std::optional<lock_record>)>
                     h) override {
        ++requests_;
        inner_.async_read(std::move(key), deadline, std::move(h));
    }
    void do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                 clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, record_page)> h) override {
        ++requests_;
        inner_.async_list(std::move(partition), std::move(after), deadline, std::move(h));
    }

private:
    store& inner_;
    std::uint64_t requests_ = 0;
};

}  // namespace dynalock::bench
