#include "commands.hpp"

#include "exit_status.hpp"
#include "guarded_command.hpp"
#include "session_state.hpp"

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/system_error.hpp>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

namespace dynalock::cli {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// Every operation is awaited as a named deferred operation: g++ 12 destroys
// some temporaries of a co_await expression twice.
constexpr auto as_tuple = asio::as_tuple(asio::deferred);
constexpr milliseconds store_timeout{std::chrono::seconds(10)};

void complain(std::string_view message) {
    std::cerr << "dynalock: " << message << "\n";
}

/// Server text is data: control characters could rewrite the terminal.
std::string printable(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            c = '?';
        }
    }
    return out;
}

std::string format_duration(milliseconds d) {
    return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s"
                                 : std::to_string(d.count()) + "ms";
}

std::string describe(const lock_key& key) {
    return "'" + key.partition + "'" + (key.sort ? " (sort key '" + *key.sort + "')" : "");
}

/// The DynamoDB side of one invocation.
struct table_context {
    const global_options& global;
    dynamodb::client& db;
    dynamodb_store& store;

    /// A failed read: for a malformed row, what is wrong with it.
    int fail_read(std::string_view doing, error_code ec,
                  const std::optional<lock_record>& record) const {
        diagnostics diag;
        if (record && record->malformed) {
            diag.message = *record->malformed;
        }
        return fail(doing, ec, &diag);
    }

    /// One line about a failed operation, naming what to fix where we know it.
    int fail(std::string_view doing, error_code ec, const diagnostics* diag = nullptr) const {
        std::string line = std::string(doing) + ": ";
        if (ec == errc::resource_not_found) {
            line += "table '" + global.table + "' does not exist at " + db.endpoint_url() +
                    " (region " + db.region() +
                    "): create it with dynalock create-table, or "
                    "fix --table / DYNALOCK_TABLE";
        } else {
            line += ec.message();
            if (diag != nullptr && !diag->message.empty()) {
                line += ": " + printable(diag->message);
            }
        }
        complain(line);
        return exit_status_for(ec);
    }

    /// The table exists with our key schema; else the status to exit with.
    asio::awaitable<std::optional<int>> check_table() const {
        diagnostics diag;
        auto op = store.async_check_table(&diag, as_tuple);
        auto [ec] = co_await std::move(op);
        if (ec) {
            co_return fail("table '" + global.table + "'", ec, &diag);
        }
        co_return std::nullopt;
    }

    std::chrono::steady_clock::time_point deadline() const {
        return std::chrono::steady_clock::now() + store_timeout;
    }
};

// --- sessions ----------------------------------------------------------------

/// The items of sessions as read once each in this command, by key; absent:
/// no such item.
using session_items = std::map<lock_key, std::optional<lock_record>>;

/// A session as one lock records it, and what its item said.
struct session_view {
    session_ref ref{};
    const std::optional<lock_record>* item = nullptr;  ///< in a session_items

    session_state state() const { return state_of(*item, ref.epoch); }
};

session_view view_of(const session_ref& ref, const session_items& sessions) {
    return {ref, &sessions.at(ref.key)};
}

/// The session whose item `r` is, as `r` itself read it.
session_view own_view(const std::optional<lock_record>& r) {
    return {session_ref{r->key, r->fence.value_or(0)}, &r};
}

std::string describe(const session_view& v) {
    std::string text = "session " + describe(v.ref.key) + " (epoch " + std::to_string(v.ref.epoch) +
                       ", " + std::string(to_string(v.state()));
    if (*v.item && !(*v.item)->malformed) {
        text += ", holder " + printable((*v.item)->owner);
    }
    return text + ")";
}

// --- output ------------------------------------------------------------------

nlohmann::json to_json(const session_view& v) {
    nlohmann::json j{{"key", v.ref.key.partition}};
    if (v.ref.key.sort) {
        j["sort_key"] = *v.ref.key.sort;
    }
    j["epoch"] = v.ref.epoch;
    j["state"] = to_string(v.state());
    if (*v.item && !(*v.item)->malformed) {
        j["owner"] = (*v.item)->owner;
    }
    return j;
}

/// What a listing knows besides the rows: the items of the sessions their
/// locks are held under, and (`list` only) how many listed locks are held
/// under each session item, by key (absent: none).
struct row_context {
    const session_items& sessions;
    const std::map<lock_key, std::size_t>* held_under = nullptr;
};

std::size_t held_locks(const lock_record& session_item, const row_context& c) {
    const auto it = c.held_under->find(session_item.key);
    return it == c.held_under->end() ? 0 : it->second;
}

/// A malformed row is its key and what is wrong with it: its other fields
/// would be guesses.
nlohmann::json to_json(const lock_record& r, const row_context& c) {
    nlohmann::json j{{"key", r.key.partition}};
    if (r.key.sort) {
        j["sort_key"] = *r.key.sort;
    }
    if (r.malformed) {
        j["malformed"] = *r.malformed;
        return j;
    }
    // A lock held under a session has no lease of its own: its session's counts.
    j.update({{"owner", r.owner},
              {"fence", nullptr},
              {"lease_ms", r.session ? nlohmann::json() : nlohmann::json(r.lease.count())},
              {"released", r.released},
              {"record_version", r.record_version},
              {"session", r.session ? to_json(view_of(*r.session, c.sessions)) : nlohmann::json()},
              {"is_session", r.is_session}});
    if (r.fence) {
        j["fence"] = *r.fence;
    }
    if (r.is_session && c.held_under != nullptr) {
        j["held_locks"] = held_locks(r, c);
    }
    return j;
}

std::string json_line(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string session_cell(const lock_record& r, const row_context& c) {
    if (r.session) {
        const session_view v = view_of(*r.session, c.sessions);
        return std::string(to_string(v.state())) + " " + printable(v.ref.key.partition) +
               (v.ref.key.sort ? " [sort key " + printable(*v.ref.key.sort) + "]" : "") +
               " epoch " + std::to_string(v.ref.epoch);
    }
    if (r.is_session) {
        if (r.released) {
            return "session item, ended";
        }
        if (c.held_under == nullptr) {
            return "session item";
        }
        const std::size_t n = held_locks(r, c);
        return "session item, " + std::to_string(n) + (n == 1 ? " lock" : " locks") + " held";
    }
    return "-";
}

void print_records(const global_options& g, const std::vector<lock_record>& records,
                   const row_context& c) {
    if (g.json) {
        for (const auto& r : records) {
            std::cout << json_line(to_json(r, c)) << "\n";
        }
        return;
    }
    const bool sorted = !g.sort_key_name.empty();
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"KEY", "OWNER", "FENCE", "LEASE", "RELEASED", "RECORD VERSION", "SESSION"});
    if (sorted) {
        rows.back().insert(rows.back().begin() + 1, "SORT KEY");
    }
    for (const auto& r : records) {
        if (r.malformed) {
            rows.push_back({printable(r.key.partition), "MALFORMED: " + printable(*r.malformed)});
        } else {
            rows.push_back({printable(r.key.partition), printable(r.owner),
                            r.fence ? std::to_string(*r.fence) : "-",
                            r.session ? "session" : format_duration(r.lease),
                            r.released ? "yes" : "no", printable(r.record_version),
                            session_cell(r, c)});
        }
        if (sorted) {
            rows.back().insert(rows.back().begin() + 1, printable(r.key.sort.value_or("")));
        }
    }
    // A row's last cell is never padded, so it sets no width: a malformed
    // row's reason runs on from the owner column.
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (std::size_t i = 0; i + 1 < row.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) {
                line += std::string(widths[i] - row[i].size() + 2, ' ');
            }
        }
        std::cout << line << "\n";
    }
}

// --- subcommands -----------------------------------------------------------

asio::awaitable<int> create_table(const table_context& s, const create_table_command& c) {
    diagnostics diag;
    table_creation_options options{
        .enable_ttl = !c.ttl_attribute.empty(),
        .billing_mode = c.provisioned ? dynamodb::billing_mode::provisioned
                                      : dynamodb::billing_mode::pay_per_request,
        .provisioned_throughput = c.provisioned.value_or(dynamodb::throughput{}),
        .diagnostics = &diag};
    auto op = s.store.async_create_table(options, as_tuple);
    auto [ec] = co_await std::move(op);
    std::string outcome = "created";
    if (ec == errc::resource_in_use) {
        if (auto status = co_await s.check_table()) {
            co_return *status;
        }
        outcome = "exists";
    } else if (ec) {
        co_return s.fail("creating table '" + s.global.table + "'", ec, &diag);
    }
    if (s.global.json) {
        std::cout << json_line({{"table", s.global.table}, {"outcome", outcome}}) << "\n";
    } else {
        std::cout << "table " << s.global.table
                  << (outcome == "created" ? " created, ACTIVE"
                                           : " exists already, key schema as configured")
                  << "\n";
    }
    co_return exit_ok;
}

/// Reads, once each, the item of every session a lock of `records` is held
/// under and `sessions` lacks. Else the status to exit with.
asio::awaitable<std::optional<int>> read_sessions(const table_context& s,
                                                  const std::vector<lock_record>& records,
                                                  session_items& sessions) {
    for (const lock_record& r : records) {
        if (!r.session || sessions.contains(r.session->key)) {
            continue;
        }
        auto op = s.store.async_read(r.session->key, s.deadline(), as_tuple);
        auto [ec, item] = co_await std::move(op);
        if (ec && !(ec == errc::malformed_item && item)) {
            co_return s.fail("reading session " + describe(r.session->key), ec);
        }
        sessions.emplace(r.session->key, std::move(item));
    }
    co_return std::nullopt;
}

asio::awaitable<int> list(const table_context& s, lock_client& locks) {
    if (auto status = co_await s.check_table()) {
        co_return *status;
    }
    auto op = locks.async_list({}, as_tuple);
    auto [ec, records] = co_await std::move(op);
    if (ec) {
        co_return s.fail("listing locks", ec);
    }
    // Session items live in the lock table, and the scan reads each item as
    // consistently as a read would: a session it returned is read already.
    // One it did not (opened after the scan passed its key) is read after.
    session_items sessions;
    std::map<lock_key, const lock_record*> listed;
    for (const lock_record& r : records) {
        listed.emplace(r.key, &r);
    }
    for (const lock_record& r : records) {
        if (r.session) {
            if (auto it = listed.find(r.session->key); it != listed.end()) {
                sessions.emplace(r.session->key, *it->second);
            }
        }
    }
    auto read = read_sessions(s, records, sessions);
    if (auto status = co_await std::move(read)) {
        co_return *status;
    }
    std::map<lock_key, std::size_t> held_under;
    for (const lock_record& r : records) {
        if (r.session && !r.malformed && !r.released &&
            view_of(*r.session, sessions).state() == session_state::held) {
            ++held_under[r.session->key];
        }
    }
    print_records(s.global, records, {sessions, &held_under});
    co_return exit_ok;
}

asio::awaitable<int> show(const table_context& s, lock_client& locks, const show_command& c) {
    if (auto status = co_await s.check_table()) {
        co_return *status;
    }
    auto op = locks.async_get(c.key, as_tuple);
    auto [ec, record] = co_await std::move(op);
    if (ec) {
        co_return s.fail_read("reading lock " + describe(c.key), ec, record);
    }
    if (!record) {
        complain("no lock " + describe(c.key) + " in table '" + s.global.table + "'");
        co_return exit_no_such_lock;
    }
    const std::vector<lock_record> records{*record};
    session_items sessions;
    auto read = read_sessions(s, records, sessions);
    if (auto status = co_await std::move(read)) {
        co_return *status;
    }
    print_records(s.global, records, {sessions});
    co_return exit_ok;
}

/// How many locks are held under session `ref`, by a scan of the table: the
/// rows bound to it at its epoch and not released.
asio::awaitable<std::pair<error_code, std::size_t>> count_held_under(lock_client& locks,
                                                                     const session_ref& ref) {
    auto op = locks.async_list({}, as_tuple);
    auto [ec, records] = co_await std::move(op);
    const auto n = std::ranges::count_if(records, [&ref](const lock_record& r) {
        return !r.malformed && !r.released && r.session == ref;
    });
    co_return std::pair{ec, static_cast<std::size_t>(n)};
}

/// `release` of a lock held under a session, or of a session's own item. The
/// lock's row is never heartbeated (its holder heartbeats the session only),
/// so marking it released would reach the holder only once the session ends:
/// the one write that frees it is the end of the whole session, one write
/// conditioned on the session item's version as read (as a contender ends a
/// session that stood still, docs/design.md).
asio::awaitable<int> release_under_session(const table_context& s, lock_client& locks,
                                           const release_command& c, const lock_record& record) {
    session_items sessions;
    if (record.is_session) {
        sessions.emplace(record.key, record);
    } else {
        // Named: the coroutine keeps a reference to it until it is done.
        const std::vector<lock_record> records{record};
        auto read = read_sessions(s, records, sessions);
        if (auto status = co_await std::move(read)) {
            co_return *status;
        }
    }
    const session_view seen =
        record.is_session ? own_view(sessions.at(record.key)) : view_of(*record.session, sessions);
    const std::string subject = record.is_session
                                    ? "session item " + describe(c.key)
                                    : "lock " + describe(c.key) + ", held by " +
                                          printable(record.owner) + " under " + describe(seen);

    // Says that the session has ended (`how`, as `v` shows it): the locks
    // held under it are free already.
    auto already_ended = [&](const session_view& v, std::string_view how) {
        if (s.global.json) {
            nlohmann::json j{{"key", c.key.partition}};
            if (c.key.sort) {
                j["sort_key"] = *c.key.sort;
            }
            j.update({{"session", to_json(v)},
                      {"outcome", "session_already_ended"},
                      {"freed_locks", 0}});
            std::cout << json_line(j) << "\n";
        } else {
            std::cout << (record.is_session ? "" : "lock " + describe(c.key) + " was held under ")
                      << describe(v) << ": " << how
                      << (record.is_session ? ", so the locks held under it are free already"
                                            : ", so the lock is free already")
                      << " (the next acquire takes each); nothing written\n";
        }
        return exit_ok;
    };

    switch (seen.state()) {
        case session_state::ended:
            co_return already_ended(seen, "that session has ended");
        case session_state::gone:
            co_return already_ended(seen, "that session's item is gone");
        case session_state::malformed:
            complain(subject + ", but the session's item is malformed: " +
                     printable(*(*seen.item)->malformed));
            co_return exit_bad_row;
        case session_state::held:
            break;
    }
    if (!c.force || !c.end_session) {
        complain("refusing to release " + subject +
                 (record.is_session
                      ? " (epoch " + std::to_string(seen.ref.epoch) + ", held, holder " +
                            printable(record.owner) +
                            "): a session's item is released only by ending the session"
                      : ": its holder heartbeats the session, not this row, so marking the row "
                        "released would not reach the holder until the session ends") +
                 "; to end the whole session and free every lock held under it, add --force "
                 "--end-session");
        co_return exit_usage;
    }

    const lock_record& item = **seen.item;
    lock_write end{.key = item.key,
                   .kind = write_kind::release,
                   .condition = write_condition::version,
                   .expected_version = item.record_version};
    auto op = s.store.async_write(std::move(end), s.deadline(), as_tuple);
    auto [ec, result] = co_await std::move(op);
    if (ec == errc::malformed_item) {
        ec = {};  // it applied; only an attribute the release does not touch is wrong
    }
    if (ec == errc::conditional_check_failed) {
        const session_items now{{item.key, result.record}};
        const session_view after = view_of(seen.ref, now);
        if (after.state() == session_state::held) {
            // A heartbeat between our read and our write: its holder is alive.
            complain("session " + describe(item.key) + " (holder " + printable(item.owner) +
                     ") heartbeated while it was being ended, so its holder is alive: nothing "
                     "written; look again with dynalock show before ending it");
            co_return exit_not_granted;
        }
        co_return already_ended(after,
                                "that session ended meanwhile, by its holder or a contender");
    }
    if (ec) {
        co_return s.fail(
            "ending session " + describe(item.key) +
                (is_ambiguous(ec) ? " (the write may have applied: look with dynalock show)" : ""),
            ec);
    }

    auto count = count_held_under(locks, seen.ref);
    auto [count_ec, freed] = co_await std::move(count);
    if (count_ec) {
        co_return s.fail(
            "ended session " + describe(item.key) + "; counting the locks that were held under it",
            count_ec);
    }
    const session_items after{{item.key, result.record ? result.record : item}};
    const session_view ended = view_of(seen.ref, after);
    if (s.global.json) {
        nlohmann::json j{{"key", c.key.partition}};
        if (c.key.sort) {
            j["sort_key"] = *c.key.sort;
        }
        j.update(
            {{"session", to_json(ended)}, {"outcome", "session_ended"}, {"freed_locks", freed}});
        std::cout << json_line(j) << "\n";
    } else {
        std::cout << "ended session " << describe(item.key) << " (epoch " << seen.ref.epoch
                  << ", holder " << printable(item.owner) << ") with one write: " << freed
                  << (freed == 1 ? " lock" : " locks")
                  << " held under it at that epoch (by a scan of the table after the write) "
                     "are free now\n";
    }
    co_return exit_ok;
}

// One conditional write as the holder, on the grant we read: the holder's
// next heartbeat then finds the row released and its lease ends as stolen.
asio::awaitable<int> release(const table_context& s, lock_client& locks, const release_command& c) {
    if (auto status = co_await s.check_table()) {
        co_return *status;
    }
    auto read = s.store.async_read(c.key, s.deadline(), as_tuple);
    auto [read_ec, record] = co_await std::move(read);
    if (read_ec) {
        co_return s.fail_read("reading lock " + describe(c.key), read_ec, record);
    }
    if (!record) {
        complain("no lock " + describe(c.key) + " in table '" + s.global.table + "'");
        co_return exit_no_such_lock;
    }
    const std::string holder = printable(record->owner);
    const std::string fence = record->fence ? std::to_string(*record->fence) : "none";
    if (record->released) {
        std::cout << (record->is_session ? "session item " : "lock ") << describe(c.key)
                  << " is released already (fence " << fence << ", last holder " << holder << ")"
                  << (record->is_session
                          ? ": that session has ended, so the locks held under it are free"
                          : "")
                  << "\n";
        co_return exit_ok;
    }
    if (record->session || record->is_session) {
        auto op = release_under_session(s, locks, c, *record);
        co_return co_await std::move(op);
    }
    if (c.end_session) {
        complain("lock " + describe(c.key) + ", held by " + holder + " (fence " + fence +
                 "), has a lease of its own and is no session's: drop --end-session");
        co_return exit_usage;
    }
    if (!c.force) {
        complain("refusing to release lock " + describe(c.key) + ", held by " + holder +
                 " (fence " + fence +
                 "): that ends the holder's lease while it may still be "
                 "working; add --force if it is stuck");
        co_return exit_usage;
    }
    // Conditioned on the grant we read (holder and fence), not on its version:
    // a stuck holder's heartbeats may still run, and each moves the version.
    lock_write mark{.key = c.key,
                    .kind = write_kind::release,
                    .condition = write_condition::fence_and_owner,
                    .expected_fence = record->fence,
                    .owner = record->owner};
    auto op = s.store.async_write(std::move(mark), s.deadline(), as_tuple);
    auto [ec, result] = co_await std::move(op);
    if (ec == errc::malformed_item) {
        ec = {};  // it applied; only an attribute the release does not touch is wrong
    }
    if (ec == errc::conditional_check_failed) {
        const auto& now = result.record;
        if (now && !now->malformed && now->released && now->fence == record->fence) {
            std::cout << "lock " << describe(c.key) << " was released meanwhile by its holder "
                      << holder << " (fence " << fence << "); nothing written\n";
            co_return exit_ok;
        }
        complain("lock " + describe(c.key) + " changed while it was being released (now " +
                 (!now             ? "gone"
                  : now->malformed ? "malformed: " + printable(*now->malformed)
                                   : "held by " + printable(now->owner) + ", fence " +
                                         (now->fence ? std::to_string(*now->fence) : "none")) +
                 "): look again with dynalock show");
        co_return exit_not_granted;
    }
    if (ec) {
        co_return s.fail("releasing lock " + describe(c.key), ec);
    }
    if (s.global.json) {
        const session_items none;
        nlohmann::json j = to_json(*record, {none});
        j["released"] = true;
        j["previous_owner"] = record->owner;
        std::cout << json_line(j) << "\n";
    } else {
        std::cout << "released lock " << describe(c.key) << " (fence " << fence
                  << "), previously held by " << holder << "\n";
    }
    co_return exit_ok;
}

environment_overrides command_environment(const lease& l) {
    environment_overrides env{{"DYNALOCK_KEY", l.key().partition},
                              {"DYNALOCK_OWNER", l.owner()},
                              {"DYNALOCK_FENCE", std::to_string(l.fence())}};
    if (l.key().sort) {
        env.emplace_back("DYNALOCK_SORT_KEY", *l.key().sort);
    }
    return env;
}

/// On a terminal, says who we are waiting for before the wait begins.
asio::awaitable<void> announce_wait(lock_client& locks, const run_command& r) {
    if (::isatty(STDERR_FILENO) == 0) {
        co_return;
    }
    auto op = locks.async_get(r.key, as_tuple);
    auto [ec, record] = co_await std::move(op);
    if (!ec && record && !record->released) {
        complain("lock " + describe(r.key) + " is held by " + printable(record->owner) +
                 " (lease " + format_duration(record->lease) + "); waiting up to " +
                 format_duration(r.wait));
    }
}

asio::awaitable<int> run(const table_context& s, lock_client& locks, const run_command& r,
                         const std::vector<int>& inherited) {
    if (auto status = co_await s.check_table()) {
        co_return *status;
    }
    auto announce = announce_wait(locks, r);
    co_await std::move(announce);
    diagnostics diag;
    acquire_options options;
    options.wait = r.wait;
    options.diagnostics = &diag;
    if (r.data) {
        options.data = bytes(reinterpret_cast<const std::byte*>(r.data->data()),
                             reinterpret_cast<const std::byte*>(r.data->data() + r.data->size()));
    }
    auto acquire = locks.async_acquire(r.key, options, as_tuple);
    auto [ec, held] = co_await std::move(acquire);
    if (ec == errc::lock_not_granted) {
        complain("lock " + describe(r.key) + " not granted within " + format_duration(r.wait) +
                 (diag.message.empty() ? "" : ": " + printable(diag.message)));
        co_return exit_not_granted;
    }
    if (ec) {
        co_return s.fail("acquiring lock " + describe(r.key), ec, &diag);
    }

    auto ex = co_await asio::this_coro::executor;
    asio::signal_set signals(ex, SIGCHLD, SIGINT, SIGTERM);
    const pid_t pid = spawn_command(r.argv, command_environment(held), inherited);
    if (pid < 0) {
        const int err = errno;
        complain("cannot run " + r.argv.front() + ": " + std::strerror(err));
        auto release_op = locks.async_release(held, {}, as_tuple);
        co_await std::move(release_op);
        co_return err == ENOENT ? exit_command_not_found : exit_command_not_executable;
    }
    auto watch = supervise(pid, signals, held, r.grace, [&](loss_reason why) {
        complain("lease on lock " + describe(r.key) + " lost (" + std::string(to_string(why)) +
                 "): stopping " + r.argv.front() + " (SIGTERM, SIGKILL after " +
                 format_duration(r.grace) + ")");
    });
    const command_outcome outcome = co_await std::move(watch);
    if (outcome.lost == loss_reason::none) {
        auto release_op = locks.async_release(held, {}, as_tuple);
        auto [release_ec] = co_await std::move(release_op);
        if (release_ec) {
            // The command's work is done and was covered by the lease; a
            // release that failed only leaves the lock to expire.
            complain("releasing lock " + describe(r.key) + ": " + release_ec.message() +
                     " (it expires after its lease)");
        }
    }
    co_return exit_status_for_command(outcome.wait_status, outcome.lost == loss_reason::none);
}

asio::awaitable<int> dispatch(const table_context& s, const invocation& inv,
                              const std::vector<int>& inherited) {
    if (const auto* c = std::get_if<create_table_command>(&inv.command)) {
        co_return co_await create_table(s, *c);
    }
    lock_client_options options;
    if (const auto* r = std::get_if<run_command>(&inv.command)) {
        options.owner = r->owner;
        options.lease = r->lease;
        options.heartbeat_period = r->heartbeat;
    }
    if (auto why = options.validate()) {
        complain(*why);
        co_return exit_usage;
    }
    lock_client locks(s.store, options);
    int status = exit_ok;
    if (const auto* r = std::get_if<run_command>(&inv.command)) {
        auto op = run(s, locks, *r, inherited);
        status = co_await std::move(op);
    } else if (const auto* c = std::get_if<show_command>(&inv.command)) {
        auto op = show(s, locks, *c);
        status = co_await std::move(op);
    } else if (const auto* c = std::get_if<release_command>(&inv.command)) {
        auto op = release(s, locks, *c);
        status = co_await std::move(op);
    } else {
        auto op = list(s, locks);
        status = co_await std::move(op);
    }
    auto close = locks.async_close(as_tuple);
    co_await std::move(close);
    co_return status;
}

std::string ttl_attribute(const command& c) {
    if (const auto* t = std::get_if<create_table_command>(&c)) {
        return t->ttl_attribute;
    }
    if (const auto* r = std::get_if<run_command>(&c)) {
        return r->ttl_attribute;
    }
    return {};
}

}  // namespace

int execute(const invocation& inv, const std::vector<int>& inherited) {
    const global_options& g = inv.global;
    asio::io_context io;
    try {
        dynamodb::client db(
            io.get_executor(),
            {.region = g.region, .endpoint_url = g.endpoint_url, .profile = g.profile});
        dynamodb_store store(db, {.table_name = g.table,
                                  .partition_key_name = g.partition_key_name,
                                  .sort_key_name = g.sort_key_name,
                                  .ttl_attribute_name = ttl_attribute(inv.command)});
        const table_context s{g, db, store};
        int status = exit_unavailable;
        std::exception_ptr failure;
        asio::co_spawn(io, dispatch(s, inv, inherited), [&](std::exception_ptr e, int result) {
            failure = e;
            status = result;
            io.stop();  // idle connections and timers need not run down
        });
        io.run();
        if (failure) {
            std::rethrow_exception(failure);
        }
        return status;
    } catch (const boost::system::system_error& e) {
        complain(e.what());
        return exit_status_for(e.code());
    } catch (const std::system_error& e) {
        // The library's option checks throw our codes as std::error_code.
        complain(e.what());
        const std::error_code ours = make_error_code(errc::invalid_argument);
        return e.code().category() == ours.category()
                   ? exit_status_for(make_error_code(static_cast<errc>(e.code().value())))
                   : exit_unavailable;
    } catch (const std::exception& e) {
        complain(std::string("internal error: ") + e.what());
        return exit_software;
    }
}

}  // namespace dynalock::cli
