#pragma once

/// \file
/// The production store: lock items in a DynamoDB table.

#include <dynalock/diagnostics.hpp>
#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/store.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace dynalock {

namespace lock {
class write_encoder;
}

/// Where a dynamodb_store keeps its lock items: the table and its attribute
/// names. An aggregate; the store's constructor rejects unusable values.
struct dynamodb_store_options {
    /// The table, required. Its partition key (and sort key, if any) must be
    /// of type S; async_check_table verifies that.
    std::string table_name{};
    /// The name of the table's partition key attribute (type S), which holds
    /// lock_key::partition; not one of the lock's own attribute names.
    std::string partition_key_name = "key";
    /// Empty: the table has no sort key (and lock_key::sort must be unset).
    std::string sort_key_name{};
    /// Empty: none. Otherwise grants and heartbeats set it to now (system
    /// clock, epoch seconds) + lease + ttl_horizon, for DynamoDB's TTL to
    /// delete rows abandoned long ago; never used to decide expiry.
    std::string ttl_attribute_name{};
    /// At most 365 days.
    std::chrono::seconds ttl_horizon{std::chrono::hours(24 * 7)};
    /// Items per Scan or Query page of `async_list` (at least 1); unset:
    /// DynamoDB's 1 MB pages.
    std::optional<std::uint32_t> list_page_size{};
};

/// How `async_create_table` creates the table.
struct table_creation_options {
    /// Enable DynamoDB TTL on `ttl_attribute_name` (which must be set).
    bool enable_ttl = false;
    /// On demand (the default) or provisioned.
    dynamodb::billing_mode billing_mode = dynamodb::billing_mode::pay_per_request;
    /// With billing_mode::provisioned only.
    dynamodb::throughput provisioned_throughput{};
    /// For the whole creation, waiting for ACTIVE included; at most 1 hour.
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};
    /// When set, filled with what the server said on failure.
    dynalock::diagnostics* diagnostics = nullptr;
};

/// The production store: lock items in a DynamoDB table, each write one
/// conditional UpdateItem (DeleteItem for a deleting release) that returns the
/// item, so a grant learns its fence in the same round trip. A failed
/// condition returns the item as it is: from the failure itself where the
/// server supports ReturnValuesOnConditionCheckFailure, else from a consistent
/// GetItem within the same deadline. Conditional writes are never retried;
/// an ambiguous failure is reported as is (`is_ambiguous(ec)`).
///
/// Items are read strictly: a lock attribute of the wrong type or value makes
/// the item malformed (see store: errc::malformed_item, lock_record::malformed).
/// Rows written by the AWS Java lock client (no `fence`) are read and granted
/// (the first grant by us makes the fence 1). A grant is conditioned on a
/// fence that is a number from 0 to 2^64 - 2 (or none), so it never writes
/// one it could not read back.
///
/// Lifetime: the client must outlive the store, and the store every operation
/// it started. Thread safety: as the client's.
class dynamodb_store final : public store {
public:
    /// Throws std::system_error(errc::invalid_argument) with the reason when
    /// the options are unusable: no table name, an empty partition key name,
    /// two equal attribute names, a name that is a lock attribute's, a
    /// ttl_horizon out of range, a list_page_size of 0.
    dynamodb_store(dynamodb::client& client, dynamodb_store_options opts);

    /// The client's executor: every operation completes on it.
    executor_type get_executor() const override;
    /// The options given to the constructor.
    const dynamodb_store_options& options() const noexcept { return opts_; }

    /// Creates the table with the configured key schema (both keys S), waits
    /// until it is ACTIVE and, when asked, enables TTL (dynalite has no
    /// UpdateTimeToLive: that step then fails with the server's error,
    /// described in the diagnostics). errc::resource_in_use when the table
    /// exists. Completion signature: `void(error_code)`. Cancellation: terminal.
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_create_table(table_creation_options opts, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler, table_creation_options opts) {
                create_table(opts, std::move(handler));
            },
            token, opts);
    }

    /// Checks that the table exists and that its key schema is the configured
    /// one (names, and type S for both keys): errc::resource_not_found when it
    /// is missing, errc::invalid_argument when the schema differs, with the
    /// difference in `diag->message` when `diag` is set. Completion
    /// signature: `void(error_code)`. Cancellation: terminal.
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_check_table(dynalock::diagnostics* diag, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler, dynalock::diagnostics* diag) {
                check_table(diag, std::move(handler));
            },
            token, diag);
    }

    /// async_check_table without diagnostics.
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_check_table(Token&& token = {}) {
        return async_check_table(nullptr, std::forward<Token>(token));
    }

private:
    void do_write(lock_write&& w, clock::time_point deadline,
                  boost::asio::any_completion_handler<void(error_code, write_result)> h) override;
    void do_read(lock_key key, clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, std::optional<lock_record>)>
                     h) override;
    void do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                 clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, record_page)> h) override;
    void create_table(table_creation_options opts,
                      boost::asio::any_completion_handler<void(error_code)> h);
    void check_table(dynalock::diagnostics* diag,
                     boost::asio::any_completion_handler<void(error_code)> h);

    dynamodb::client& client_;
    dynamodb_store_options opts_;
    // Shared, as it never changes: a copy of the store keeps the same.
    std::shared_ptr<const lock::write_encoder> encoder_;
};

}  // namespace dynalock
