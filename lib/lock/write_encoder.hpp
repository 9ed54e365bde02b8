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
    /// For the table `o` describes (a copy is kept).
    explicit write_encoder(dynamodb_store_options o);

    /// Checks `w` as the client checks a request (errc::invalid_argument or
    /// errc::value_too_large, the reason in `diag`) and encodes it into
    /// `body`, replacing its content: from the template when
    /// `fill_template` can, else in full. `now` sets the TTL attribute when
    /// the table has one. May take `w`'s versions and data instead of
    /// copying them; what else the body views of `w` is copied before this
    /// returns.
    error_code encode(lock_write& w, std::chrono::system_clock::time_point now, std::string& body,
                      diagnostics& diag) const;

    /// Fills `w` into the template, replacing `body`'s content, when `w` is
    /// a heartbeat it encodes (a refresh by the holder, data kept, a key of
    /// the table's shape) whose values the client would not refuse; false,
    /// `body` untouched, otherwise.
    bool fill_template(const lock_write& w, std::chrono::system_clock::time_point now,
                       std::string& body) const;

    /// `encode`, never from the template: what the template must equal.
    error_code encode_in_full(lock_write& w, std::chrono::system_clock::time_point now,
                              std::string& body, diagnostics& diag) const;

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

    /// Whether heartbeats fill in the template: not when a name of the
    /// table's holds one of its markers or is one the client refuses.
    bool has_template() const noexcept { return refresh_.has_value(); }

private:
    dynamodb_store_options o_;
    std::optional<dynamodb::body_template> refresh_;
};

}  // namespace dynalock::lock
