#pragma once

// The fixture shared by the lock-layer suites: one parameter picks the store
// (memory_store, or dynamodb_store on dynalite or moto on a fresh table per
// test), and operations are driven to completion on one io_context.

#include "integration/test_servers.hpp"
#include "lock/foreign_row.hpp"
#include "support/execute.hpp"

#include <dynalock/dynamodb_store.hpp>
#include <dynalock/memory_store.hpp>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace dynalock::test {

struct backend {
    std::string name;
    std::optional<test::server> server{};  ///< unset: memory_store

    friend std::ostream& operator<<(std::ostream& os, const backend& b) { return os << b.name; }
};

inline const backend memory_backend{"memory"};
inline const backend dynalite_backend{"dynalite", dynalite};
inline const backend moto_backend{"moto", moto};

inline bytes to_bytes(std::string_view s) {
    bytes b;
    for (char ch : s) {
        b.push_back(static_cast<std::byte>(ch));
    }
    return b;
}

/// Milliseconds from `from` to `to`, for failure messages.
inline long long ms_between(std::chrono::steady_clock::time_point from,
                            std::chrono::steady_clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

class store_fixture : public ::testing::TestWithParam<backend> {
protected:
    /// `list_page_size`: records per listing page; unset: each store's default.
    explicit store_fixture(std::optional<std::uint32_t> list_page_size = {})
        : list_page_size_(list_page_size) {}

    void TearDown() override {
        for (const auto& t : tables_) {
            execute(io_, *client_, dynamodb::delete_table_request{t});
        }
    }

    /// Initiates an operation with a callback and runs the io_context until
    /// it completes; fails the test if it completed inline or never did.
    template <class... Args, class Initiate>
    auto wait(Initiate initiate) {
        std::optional<std::tuple<error_code, Args...>> out;
        initiate([&](error_code ec, Args... args) { out.emplace(ec, std::move(args)...); });
        EXPECT_FALSE(out.has_value()) << "the completion was invoked inline";
        io_.restart();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!out && io_.run_one_until(until) != 0) {
        }
        if (!out) {
            ADD_FAILURE() << "the operation did not complete";
            out.emplace();
            std::get<0>(*out) = errc::timeout;
        }
        if constexpr (sizeof...(Args) == 0) {
            return std::get<0>(*out);
        } else {
            return std::move(*out);
        }
    }

    /// Opens the store under test, on a new table for the server stores.
    void open(std::string sort_key_name = {}, std::string ttl_attribute_name = {}) {
        if (!GetParam().server) {
            store_ = list_page_size_
                         ? std::make_unique<memory_store>(io_.get_executor(), *list_page_size_)
                         : std::make_unique<memory_store>(io_.get_executor());
            return;
        }
        if (!client_) {
            client_.emplace(io_.get_executor(), options_for(*GetParam().server));
        }
        auto s = std::make_unique<dynamodb_store>(
            *client_, dynamodb_store_options{.table_name = unique_table("store"),
                                             .sort_key_name = std::move(sort_key_name),
                                             .ttl_attribute_name = std::move(ttl_attribute_name),
                                             .list_page_size = list_page_size_});
        diagnostics d;
        const error_code ec = wait<>([&](auto h) {
            s->async_create_table(table_creation_options{.diagnostics = &d}, std::move(h));
        });
        ASSERT_FALSE(ec) << ec.message() << ": " << d.message;
        tables_.push_back(s->options().table_name);
        dstore_ = s.get();
        store_ = std::move(s);
    }

    /// Writes an item as another client would (server stores only).
    void put_raw(item it) {
        ASSERT_NE(dstore_, nullptr);
        auto [ec, r] =
            execute(io_, *client_,
                    dynamodb::put_item_request{.table_name = dstore_->options().table_name,
                                               .item = std::move(it)});
        ASSERT_FALSE(ec) << ec.message();
    }

    /// The item under partition key `key` as it is (server stores only).
    std::optional<item> get_raw(const std::string& key) {
        EXPECT_NE(dstore_, nullptr);
        auto [ec, r] =
            execute(io_, *client_,
                    dynamodb::get_item_request{.table_name = dstore_->options().table_name,
                                               .key = {{"key", attribute_value{key}}},
                                               .consistent_read = true});
        EXPECT_FALSE(ec) << ec.message();
        return r.item;
    }

    std::optional<std::uint32_t> list_page_size_;
    boost::asio::io_context io_;
    std::optional<dynamodb::client> client_;
    std::unique_ptr<store> store_;
    dynamodb_store* dstore_ = nullptr;
    std::vector<std::string> tables_;
};

}  // namespace dynalock::test
