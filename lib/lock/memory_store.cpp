#include <dynalock/memory_store.hpp>

#include "lock/lock_item.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>

#include <stdexcept>
#include <system_error>

namespace dynalock {

namespace asio = boost::asio;

namespace {

void change_data(const lock_write& w, lock_record& r) {
    if (w.data_action == data_change::replace) {
        r.data = w.data;
    } else if (w.data_action == data_change::remove) {
        r.data.reset();
    }
}

bool expired(store::clock::time_point deadline) {
    return store::clock::now() >= deadline;
}

}  // namespace

memory_store::memory_store(executor_type ex, std::size_t list_page_size)
    : ex_(std::move(ex)), list_page_size_(list_page_size) {
    if (list_page_size_ == 0) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "memory_store: list_page_size must be at least 1");
    }
}

write_result memory_store::apply(const lock_write& w, error_code& ec) {
    std::string why;
    if ((ec = lock::validate_write(w, why))) {
        return {};
    }
    const auto it = items_.find(w.key);
    const lock_record* current = it == items_.end() ? nullptr : &it->second;
    if (!lock::condition_holds(w, current)) {
        ec = errc::conditional_check_failed;
        return {current ? std::optional(*current) : std::nullopt};
    }
    if (w.kind == write_kind::release && w.delete_item) {
        items_.erase(it);
        return {};
    }
    lock_record& r = it == items_.end() ? items_[w.key] : it->second;
    r.key = w.key;
    switch (w.kind) {
        case write_kind::grant:
            r.owner = w.owner;
            r.lease = w.lease;
            r.record_version = w.new_version;
            r.fence = r.fence.value_or(0) + 1;
            r.released = false;
            r.session = w.session;
            r.is_session = w.session_item;
            if (w.session) {
                r.lease = {};  // "session" in DynamoDB
            }
            for (const auto& [name, value] : w.extra) {
                r.other.insert_or_assign(name, value);
            }
            break;
        case write_kind::refresh:
            r.record_version = w.new_version;
            r.lease = w.lease;
            break;
        case write_kind::release:
            r.released = true;
            break;
    }
    change_data(w, r);
    return {r};
}

void memory_store::do_write(lock_write&& w, clock::time_point deadline,
                            asio::any_completion_handler<void(error_code, write_result)> h) {
    error_code ec = make_error_code(errc::timeout);
    write_result result;
    if (!expired(deadline)) {
        result = apply(w, ec);
    }
    asio::post(ex_, asio::append(std::move(h), ec, std::move(result)));
}

void memory_store::do_read(
    lock_key key, clock::time_point deadline,
    asio::any_completion_handler<void(error_code, std::optional<lock_record>)> h) {
    std::string why;
    const error_code ec =
        expired(deadline) ? make_error_code(errc::timeout) : lock::validate_key(key, why);
    std::optional<lock_record> result;
    if (const auto it = items_.find(key); !ec && it != items_.end()) {
        result = it->second;
    }
    asio::post(ex_, asio::append(std::move(h), ec, std::move(result)));
}

void memory_store::do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                           clock::time_point deadline,
                           asio::any_completion_handler<void(error_code, record_page)> h) {
    error_code ec;
    record_page page;
    std::string why;
    if (expired(deadline)) {
        ec = errc::timeout;
    } else if ((partition && lock::validate_key(lock_key{*partition}, why)) ||
               (after && lock::validate_key(*after, why))) {
        ec = errc::invalid_argument;
    } else {
        auto it = after ? items_.upper_bound(*after) : items_.begin();
        if (partition) {
            // Keys sort by partition first: one partition is one contiguous run.
            const auto first = items_.lower_bound(lock_key{*partition});
            if (it != items_.end() && first != items_.end() && first->first > it->first) {
                it = first;
            }
        }
        for (; it != items_.end(); ++it) {
            if (partition && it->first.partition != *partition) {
                break;
            }
            if (page.records.size() == list_page_size_) {
                page.next = page.records.back().key;
                break;
            }
            page.records.push_back(it->second);
        }
    }
    asio::post(ex_, asio::append(std::move(h), ec, std::move(page)));
}

}  // namespace dynalock
