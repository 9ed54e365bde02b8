#include "commands.hpp"

#include "exit_status.hpp"
#include "guarded_command.hpp"

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

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <system_error>

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
struct session {
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

// --- output ------------------------------------------------------------------

/// A malformed row is its key and what is wrong with it: its other fields
/// would be guesses.
nlohmann::json to_json(const lock_record& r) {
    nlohmann::json j{{"key", r.key.partition}};
    if (r.key.sort) {
        j["sort_key"] = *r.key.sort;
    }
    if (r.malformed) {
        j["malformed"] = *r.malformed;
        return j;
    }
    j.update({{"owner", r.owner},
              {"fence", nullptr},
              {"lease_ms", r.lease.count()},
              {"released", r.released},
              {"record_version", r.record_version}});
    if (r.fence) {
        j["fence"] = *r.fence;
    }
    return j;
}

std::string json_line(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_records(const global_options& g, const std::vector<lock_record>& records) {
    if (g.json) {
        for (const auto& r : records) {
            std::cout << json_line(to_json(r)) << "\n";
        }
        return;
    }
    const bool sorted = !g.sort_key_name.empty();
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"KEY", "OWNER", "FENCE", "LEASE", "RELEASED", "RECORD VERSION"});
    if (sorted) {
        rows.back().insert(rows.back().begin() + 1, "SORT KEY");
    }
    for (const auto& r : records) {
        if (r.malformed) {
            rows.push_back({printable(r.key.partition), "MALFORMED: " + printable(*r.malformed)});
        } else {
            rows.push_back({printable(r.key.partition), printable(r.owner),
                            r.fence ? std::to_string(*r.fence) : "-", format_duration(r.lease),
                            r.released ? "yes" : "no", printable(r.record_version)});
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

asio::awaitable<int> create_table(const session& s, const create_table_command& c) {
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

asio::awaitable<int> list(const session& s, lock_client& locks) {
    if (auto status = co_await s.check_table()) {
        co_return *status;
    }
    auto op = locks.async_list({}, as_tuple);
    auto [ec, records] = co_await std::move(op);
    if (ec) {
        co_return s.fail("listing locks", ec);
    }
    print_records(s.global, records);
    co_return exit_ok;
}

asio::awaitable<int> show(const session& s, lock_client& locks, const show_command& c) {
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
    print_records(s.global, {*record});
    co_return exit_ok;
}

// One conditional write as the holder, on the version we read: the holder's
// next heartbeat then finds the row released and its lease ends as stolen.
asio::awaitable<int> release(const session& s, const release_command& c) {
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
        std::cout << "lock " << describe(c.key) << " is released already (fence " << fence
                  << ", last holder " << holder << ")\n";
        co_return exit_ok;
    }
    if (!c.force) {
        complain("refusing to release lock " + describe(c.key) + ", held by " + holder +
                 " (fence " + fence +
                 "): that ends the holder's lease while it may still be "
                 "working; add --force if it is stuck");
        co_return exit_usage;
    }
    lock_write mark{.key = c.key,
                    .kind = write_kind::release,
                    .condition = write_condition::version_and_owner,
                    .expected_version = record->record_version,
                    .owner = record->owner};
    auto op = s.store.async_write(std::move(mark), s.deadline(), as_tuple);
    auto [ec, result] = co_await std::move(op);
    if (ec == errc::malformed_item) {
        ec = {};  // it applied; only an attribute the release does not touch is wrong
    }
    if (ec == errc::conditional_check_failed) {
        const auto& now = result.record;
        complain("lock " + describe(c.key) + " changed while it was being released (now " +
                 (!now             ? "gone"
                  : now->malformed ? "malformed: " + printable(*now->malformed)
                                   : "held by " + printable(now->owner)) +
                 "): look again with dynalock show");
        co_return exit_not_granted;
    }
    if (ec) {
        co_return s.fail("releasing lock " + describe(c.key), ec);
    }
    if (s.global.json) {
        nlohmann::json j = to_json(*record);
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

asio::awaitable<int> run(const session& s, lock_client& locks, const run_command& r,
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

asio::awaitable<int> dispatch(const session& s, const invocation& inv,
                              const std::vector<int>& inherited) {
    if (const auto* c = std::get_if<create_table_command>(&inv.command)) {
        co_return co_await create_table(s, *c);
    }
    if (const auto* c = std::get_if<release_command>(&inv.command)) {
        co_return co_await release(s, *c);
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
        const session s{g, db, store};
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
