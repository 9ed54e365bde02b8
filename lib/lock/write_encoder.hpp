#pragma once

// How dynamodb_store writes a lock_write: one conditional UpdateItem or
// DeleteItem, its expressions naming the lock's attributes through
// placeholders. Pure code: the store sends what this encodes.

#include <dynalock/diagnostics.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/error.hpp>
#include <dynalock/store.hpp>

#include "dynamodb/body_template.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dynalock::lock {

/// Encodes the lock writes to one table, a heartbeat by filling in a body
/// encoded once when the encoder is made.
class write_encoder {
public:
    /// For the table `o` describes; `o` is passed again to each call, as the
    /// store keeps it.
    explicit write_encoder(const dynamodb_store_options& o);

    /// Checks `w` as the client checks a request (errc::invalid_argument or
    /// errc::value_too_large, the reason in `diag`) and encodes it into
    /// `body`, replacing its content. `now` sets the TTL attribute when the
    /// table has one. Takes `w`'s versions and data instead of copying them;
    /// what else the body views of `w` is copied before this returns.
    error_code encode(const dynamodb_store_options& o, lock_write& w,
                      std::chrono::system_clock::time_point now, std::string& body,
                      diagnostics& diag) const;

    /// The same, never from the template: what the template must equal.
    static error_code encode_in_full(const dynamodb_store_options& o, lock_write& w,
                                     std::chrono::system_clock::time_point now, std::string& body,
                                     diagnostics& diag);

    /// The X-Amz-Target of `w`'s request: DeleteItem or UpdateItem.
    static std::string_view target(const lock_write& w) noexcept;

    /// Whether `w`'s request asks for the item as the write leaves it: all
    /// but a delete and a refresh. A refresh's condition (this owner and
    /// record version, not released) leaves one outcome, which the holder
    /// knows, so the item need not cross the network and be decoded again
    /// on every renewal.
    static bool returns_item(const lock_write& w) noexcept {
        return !w.delete_item && w.kind != write_kind::refresh;
    }

    /// Whether heartbeats fill in the template (false only when a name of
    /// the table's holds one of its markers).
    bool has_template() const noexcept { return refresh_.has_value(); }

private:
    std::optional<dynamodb::body_template> refresh_;
};

}  // namespace dynalock::lock
