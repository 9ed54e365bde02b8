#include "lock/write_encoder.hpp"

#include "dynamodb/item_write.hpp"
#include "dynamodb/limits.hpp"
#include "dynamodb/protocol.hpp"
#include "dynamodb/validate.hpp"
#include "lock/lock_item.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <string_view>

namespace dynalock::lock {

namespace ddb = dynamodb;

namespace {

/// The names and values of a write's expressions: views of the write, of the
/// options and of values made here, with room inline for any write but a
/// grant naming many ended sessions or extra attributes, so that a heartbeat
/// allocates nothing for them.
class expression_parts {
public:
    /// `#placeholder` names `attribute`, the last call for a placeholder winning.
    void name(std::string_view placeholder, std::string_view attribute) {
        for (auto& n : names_) {
            if (n.placeholder == placeholder) {
                n.name = attribute;
                return;
            }
        }
        names_.push_back({std::string(placeholder), attribute});
    }
    /// `:placeholder` is `value`, the last call for a placeholder winning.
    void value(std::string_view placeholder, attribute_value value) {
        for (auto& v : made_) {
            if (v.first == placeholder) {
                v.second = std::move(value);
                return;
            }
        }
        made_.emplace_back(std::string(placeholder), std::move(value));
    }
    /// `:placeholder` is `value`, which the caller keeps alive until encode.
    void value_of(std::string_view placeholder, const attribute_value& value) {
        viewed_.push_back({std::string(placeholder), &value});
    }

    std::span<const ddb::expression_name> names() const { return names_; }
    /// Every value, once all are set: views of the values made here.
    std::span<const ddb::expression_value> values() {
        values_.assign(viewed_.begin(), viewed_.end());
        for (const auto& [placeholder, v] : made_) {
            values_.push_back({placeholder, &v});
        }
        return values_;
    }

private:
    template <class T, std::size_t N>
    using inline_vector = boost::container::small_vector<T, N>;
    inline_vector<ddb::expression_name, 12> names_;
    inline_vector<std::pair<std::string, attribute_value>, 16> made_;
    inline_vector<ddb::expression_value, 2> viewed_;
    inline_vector<ddb::expression_value, 16> values_;
};

/// Writes the ConditionExpression of `w` into `c`, which is empty, its names
/// and values added to `parts`. Takes `w.expected_version`, which nothing
/// reads after it, instead of copying.
void condition_expression(const dynamodb_store_options& o, lock_write& w, expression_parts& parts,
                          std::string& c) {
    switch (w.condition) {
        case write_condition::free:
            parts.name("#pk", o.partition_key_name);
            parts.name("#ir", released_attribute);
            parts.value(":released", std::string(released_value));
            c = "attribute_not_exists(#pk) OR #ir = :released";
            // Locks held under sessions known to have ended are free too.
            for (std::size_t i = 0; i < w.ended_sessions.size(); ++i) {
                const session_ref& s = w.ended_sessions[i];
                const std::string n = std::to_string(i);
                parts.name("#sk", session_key_attribute);
                parts.name("#se", session_epoch_attribute);
                parts.value(":sk" + n, s.key.partition);
                parts.value(":se" + n, number{std::to_string(s.epoch)});
                parts.name("#ss", session_sort_key_attribute);
                c += " OR (#sk = :sk" + n + " AND #se = :se" + n;
                if (s.key.sort) {
                    parts.value(":ss" + n, *s.key.sort);
                    c += " AND #ss = :ss" + n + ")";
                } else {
                    c += " AND attribute_not_exists(#ss))";
                }
            }
            break;
        case write_condition::version:
            parts.name("#rvn", record_version_attribute);
            parts.value(":expected", std::move(w.expected_version));
            c = "#rvn = :expected";
            break;
        case write_condition::version_and_owner:
            parts.name("#rvn", record_version_attribute);
            parts.name("#on", owner_attribute);
            parts.value(":expected", std::move(w.expected_version));
            parts.value(":owner", w.owner);
            // A row released by someone else (an operator's forced release
            // keeps the version) is no longer the holder's to refresh.
            parts.name("#ir", released_attribute);
            c = "#rvn = :expected AND #on = :owner AND attribute_not_exists(#ir)";
            break;
        case write_condition::fence_and_owner:
            parts.name("#on", owner_attribute);
            parts.name("#ir", released_attribute);
            parts.name("#fence", fence_attribute);
            parts.value(":owner", w.owner);
            c = "#on = :owner AND attribute_not_exists(#ir) AND ";
            if (w.expected_fence) {
                parts.value(":expected_fence", number{std::to_string(*w.expected_fence)});
                c += "#fence = :expected_fence";
            } else {
                c += "attribute_not_exists(#fence)";
            }
            break;
    }
    if (w.require_existing) {
        parts.name("#pk", o.partition_key_name);
        c.insert(0, "attribute_exists(#pk) AND (").append(")");
    }
    if (w.kind == write_kind::grant) {
        // The grant adds one to the fence: a fence of another type would fail
        // the update on the server without saying which attribute, and one at
        // the top would go past what a client can hold. Either fails the
        // condition instead, and the item shows why.
        parts.name("#fence", fence_attribute);
        parts.value(":number", std::string("N"));
        parts.value(":zero", number{"0"});
        parts.value(":fence_max", number{std::to_string(max_fence_before_grant)});
        c.insert(0, "(").append(
            ") AND (attribute_not_exists(#fence) OR (attribute_type(#fence, :number) AND "
            "#fence BETWEEN :zero AND :fence_max))");
    }
}

/// Epoch seconds at which DynamoDB may delete a row whose holder stopped
/// heartbeating at `now`: far beyond the lease, so only abandoned rows go.
std::int64_t ttl_seconds(const dynamodb_store_options& o, std::chrono::milliseconds lease,
                         std::chrono::system_clock::time_point now) {
    return std::chrono::ceil<std::chrono::seconds>((now + lease + o.ttl_horizon).time_since_epoch())
        .count();
}

/// The values a write takes from its lease and the clock, as they are
/// written: made apart from the expressions, so that the template is encoded
/// with markers in their place.
struct lease_values {
    std::string lease;  ///< grant, refresh: milliseconds
    number ttl;         ///< grant, refresh, when the table has a TTL attribute
};

/// Appends the UpdateExpression of a grant, a refresh or a marking release to
/// `update`. Takes `w.new_version` and `w.data`, which nothing reads after
/// it, instead of copying.
void update_expression(const dynamodb_store_options& o, lock_write& w, const lease_values& lv,
                       expression_parts& parts, std::string& update) {
    update += "SET ";
    const std::size_t first_assignment = update.size();
    // The placeholders are written out with the expression, and are all
    // short enough to stay in a string's inline bytes.
    std::string remove;
    const auto assign = [&](std::string_view placeholder, std::string_view attribute,
                            attribute_value value) {
        const std::string_view tag = placeholder.substr(1);
        update.append(update.size() == first_assignment ? "" : ", ")
            .append(placeholder)
            .append(" = :")
            .append(tag);
        parts.value(":" + std::string(tag), std::move(value));
        parts.name(placeholder, attribute);
    };
    const auto drop = [&](std::string_view placeholder, std::string_view attribute) {
        parts.name(placeholder, attribute);
        remove.append(remove.empty() ? "" : ", ").append(placeholder);
    };
    switch (w.kind) {
        case write_kind::grant:
            assign("#on", owner_attribute, w.owner);
            if (w.session) {
                // docs/sessions.md: a lease no client that does not know
                // sessions reads as milliseconds.
                assign("#ld", lease_attribute, std::string(session_lease_value));
                assign("#sk", session_key_attribute, w.session->key.partition);
                assign("#se", session_epoch_attribute, number{std::to_string(w.session->epoch)});
                if (w.session->key.sort) {
                    assign("#ss", session_sort_key_attribute, *w.session->key.sort);
                } else {
                    drop("#ss", session_sort_key_attribute);
                }
            } else {
                assign("#ld", lease_attribute, lv.lease);
                drop("#sk", session_key_attribute);
                drop("#se", session_epoch_attribute);
                drop("#ss", session_sort_key_attribute);
            }
            if (w.session_item) {
                assign("#is", is_session_attribute, std::string(released_value));
            } else {
                drop("#is", is_session_attribute);
            }
            assign("#rvn", record_version_attribute, std::move(w.new_version));
            parts.name("#fence", fence_attribute);
            parts.value(":zero", number{"0"});
            parts.value(":one", number{"1"});
            update += ", #fence = if_not_exists(#fence, :zero) + :one";
            drop("#ir", released_attribute);
            // Extra values are viewed where they are, not copied.
            for (std::size_t i = 0; const auto& [name, value] : w.extra) {
                const std::string n = std::to_string(i++);
                update.append(", #x").append(n).append(" = :x").append(n);
                parts.name("#x" + n, name);
                parts.value_of(":x" + n, value);
            }
            break;
        case write_kind::refresh:
            assign("#rvn", record_version_attribute, std::move(w.new_version));
            assign("#ld", lease_attribute, lv.lease);
            break;
        case write_kind::release:
            assign("#ir", released_attribute, std::string(released_value));
            break;
    }
    if (w.kind != write_kind::release && !o.ttl_attribute_name.empty()) {
        assign("#ttl", o.ttl_attribute_name, lv.ttl);
    }
    if (w.data_action == data_change::replace) {
        assign("#data", data_attribute, std::move(w.data));
    } else if (w.data_action == data_change::remove) {
        drop("#data", data_attribute);
    }
    if (!remove.empty()) {
        update.append(" REMOVE ").append(remove);
    }
}

/// Encodes `w` with `lv` for its lease and TTL.
error_code encode_with(const dynamodb_store_options& o, lock_write& w, const lease_values& lv,
                       std::string& body, diagnostics& diag) {
    expression_parts parts;
    // Both expressions in one string, kept by the thread: they are encoded
    // into the body before this returns, so its room serves every write.
    thread_local std::string expressions;
    expressions.clear();
    condition_expression(o, w, parts, expressions);
    const std::size_t condition_bytes = expressions.size();
    if (!w.delete_item) {
        update_expression(o, w, lv, parts, expressions);
    }
    const std::string_view condition = std::string_view(expressions).substr(0, condition_bytes);
    const std::string_view update = std::string_view(expressions).substr(condition_bytes);
    std::array<ddb::string_key_attribute, 2> key{{{o.partition_key_name, w.key.partition}}};
    if (w.key.sort) {
        key[1] = {o.sort_key_name, *w.key.sort};
    }
    const ddb::item_write write{
        .table_name = o.table_name,
        .key = std::span(key.data(), w.key.sort ? 2 : 1),
        .update_expression = update,
        .condition_expression = condition,
        .names = parts.names(),
        .values = parts.values(),
        .return_values =
            write_encoder::returns_item(w) ? ddb::return_values::all_new : ddb::return_values::none,
        .return_values_on_condition_check_failure =
            ddb::return_values_on_condition_check_failure::all_old,
    };
    if (error_code ec = ddb::validate(write, diag)) {
        return ec;
    }
    ddb::encode(write, body);
    return {};
}

// The template's markers: digits, so that the TTL's passes as a number;
// split() refuses any that a name of the table's holds.
constexpr std::array<std::string_view, 7> markers = {
    "9007199254740001", "9007199254740002", "9007199254740003", "9007199254740004",
    "9007199254740005", "9007199254740006", "9007199254740007",
};

/// The strings of a heartbeat that fill the template's holes, in hole order:
/// the partition key, the sort key when the table has one, the expected
/// version, the owner, the new version, the lease and the TTL when the table
/// has one. The constructor lists its markers with it, and fill_template
/// its values, so that the two cannot disagree.
struct hole_values {
    std::array<std::string_view, markers.size()> text{};
    std::size_t size = 0;

    hole_values(const dynamodb_store_options& o, const lock_write& w, std::string_view lease,
                std::string_view ttl) {
        text[size++] = w.key.partition;
        if (!o.sort_key_name.empty()) {
            text[size++] = w.key.sort ? std::string_view(*w.key.sort) : std::string_view();
        }
        text[size++] = w.expected_version;
        text[size++] = w.owner;
        text[size++] = w.new_version;
        text[size++] = lease;
        if (!o.ttl_attribute_name.empty()) {
            text[size++] = ttl;
        }
    }
    std::span<const std::string_view> all() const { return {text.data(), size}; }
};

/// Whether `w` is a heartbeat the template encodes: a refresh of a lease held
/// by its owner, its data kept, its key of the table's shape and of a size
/// the client takes (it checks both key parts against the partition key's
/// bound).
bool fits_template(const dynamodb_store_options& o, const lock_write& w) {
    static_assert(max_partition_key_bytes == ddb::max_partition_key_bytes);
    const auto key_part = [](const std::string& k) {
        return !k.empty() && k.size() <= ddb::max_partition_key_bytes;
    };
    return w.kind == write_kind::refresh && w.condition == write_condition::version_and_owner &&
           !w.require_existing && w.data_action == data_change::keep && !w.delete_item &&
           key_part(w.key.partition) && w.key.sort.has_value() == !o.sort_key_name.empty() &&
           (!w.key.sort || key_part(*w.key.sort));
}

}  // namespace

write_encoder::write_encoder(dynamodb_store_options o) : o_(std::move(o)) {
    lock_write sample{.key = {std::string(markers[0])},
                      .kind = write_kind::refresh,
                      .condition = write_condition::version_and_owner,
                      .expected_version = std::string(markers[2]),
                      .owner = std::string(markers[3]),
                      .new_version = std::string(markers[4])};
    if (!o_.sort_key_name.empty()) {
        sample.key.sort = std::string(markers[1]);
    }
    // The holes view `sample`; encoding takes a copy's versions.
    const hole_values holes(o_, sample, markers[5], markers[6]);
    lock_write written = sample;
    std::string body;
    diagnostics diag;
    // A table whose names the client refuses has no template: every write
    // is encoded in full and fails with the reason.
    if (!encode_with(o_, written, {std::string(markers[5]), number{std::string(markers[6])}}, body,
                     diag)) {
        refresh_ = ddb::body_template::split(body, holes.all());
    }
}

std::string_view write_encoder::target(const lock_write& w) noexcept {
    return w.delete_item ? ddb::operation<ddb::delete_item_request>::target
                         : ddb::operation<ddb::update_item_request>::target;
}

bool write_encoder::fill_template(const lock_write& w, std::chrono::system_clock::time_point now,
                                  std::string& body) const {
    if (!refresh_ || !fits_template(o_, w)) {
        return false;
    }
    char lease[24];
    const std::string_view lease_text(lease,
                                      std::to_chars(lease, std::end(lease), w.lease.count()).ptr);
    char ttl[24];
    std::string_view ttl_text;
    if (!o_.ttl_attribute_name.empty()) {
        ttl_text = {ttl, std::to_chars(ttl, std::end(ttl), ttl_seconds(o_, w.lease, now)).ptr};
    }
    const hole_values values(o_, w, lease_text, ttl_text);
    // What the client would refuse goes the long way, to be refused with
    // its reason (the lease's and TTL's digits always pass).
    if (!std::all_of(values.all().begin(), values.all().end(), ddb::is_utf8)) {
        return false;
    }
    refresh_->fill(values.all(), body);
    return true;
}

error_code write_encoder::encode(lock_write& w, std::chrono::system_clock::time_point now,
                                 std::string& body, diagnostics& diag) const {
    return fill_template(w, now, body) ? error_code{} : encode_in_full(w, now, body, diag);
}

error_code write_encoder::encode_in_full(lock_write& w, std::chrono::system_clock::time_point now,
                                         std::string& body, diagnostics& diag) const {
    lease_values lv;
    if (w.kind != write_kind::release) {
        lv.lease = std::to_string(w.lease.count());
        if (!o_.ttl_attribute_name.empty()) {
            lv.ttl = number{std::to_string(ttl_seconds(o_, w.lease, now))};
        }
    }
    return encode_with(o_, w, lv, body, diag);
}

}  // namespace dynalock::lock
