// Campaigns for a named leadership until SIGTERM or SIGINT, then resigns so
// that another process leads at once. Start it several times against one
// table: one process leads at a time; when the leader is killed, another
// takes over after the lease with a higher fence (the term). Every process
// also observes who leads.
//
// One JSON line per event on stdout; t_ms is the host's steady clock
// (CLOCK_MONOTONIC) in ms, one clock for every process on the host:
//   {"t_ms":…, "worker":…, "event":"started_leading"|"stopped_leading"|"new_leader",
//    "leader":…, "fence":…}
//
//   export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
//   export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
//   ./leader_election --name NAME --table TABLE [--lease 4s] [--identity ID]

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/leader_election.hpp>

#include "support/json_string.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace asio = boost::asio;
using examples::json_string;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr auto as_tuple = asio::as_tuple(asio::deferred);

constexpr std::string_view usage =
    "usage: leader_election --name NAME --table TABLE [--lease DURATION] [--identity ID]\n"
    "  Campaigns for the leadership NAME in the lock table TABLE (created if missing)\n"
    "  until SIGTERM or SIGINT, then resigns. One JSON line per event on stdout.\n"
    "  --lease     how long a crashed leader keeps the others out, e.g. 4s or 2500ms,\n"
    "              100ms to 1440m (default 4s); renewals every 1/8 of it, a leader gives\n"
    "              up 2/3 of it after its last successful renewal\n"
    "  --identity  who this process is (default: host name and a random suffix)\n"
    "  Region, endpoint and credentials come from the AWS environment\n"
    "  (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ACCESS_KEY_ID, ...).\n";

void event(std::string_view worker, std::string_view what, std::string_view leader,
           std::uint64_t fence) {
    const auto now = std::chrono::duration_cast<milliseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    std::cout << "{\"t_ms\":" << now.count() << ",\"worker\":" << json_string(worker)
              << ",\"event\":\"" << what << "\",\"leader\":" << json_string(leader)
              << ",\"fence\":" << fence << "}" << std::endl;
}

// "4s", "2500ms", "1m": from 100 ms (a retry period of 12 ms) to a day.
std::optional<milliseconds> parse_lease(std::string_view text) {
    long long n = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), n);
    const std::string_view unit(end, text.data() + text.size() - end);
    if (err != std::errc{} || end == text.data() || n <= 0 || n > 86'400'000) {
        return std::nullopt;
    }
    std::optional<milliseconds> lease;
    if (unit == "ms") {
        lease = milliseconds(n);
    } else if (unit == "s" && n <= 86'400) {
        lease = milliseconds(n * 1000);
    } else if (unit == "m" && n <= 1440) {
        lease = milliseconds(n * 60'000);
    }
    if (lease && *lease < 100ms) {
        return std::nullopt;
    }
    return lease;
}

// Leader-only work, cancelled by async_while_leading when the leadership is
// lost (or by the caller on SIGTERM). A real leader would schedule jobs here,
// passing l.term() with every write so that storage refuses a deposed leader.
// Its last act is the end of what this process believes: before the
// resignation is sent.
asio::awaitable<void> lead(dynalock::leadership l, std::string me) {
    asio::steady_timer forever(co_await asio::this_coro::executor,
                               asio::steady_timer::time_point::max());
    co_await forever.async_wait(as_tuple);
    event(me, "stopped_leading", me, l.term());
}

asio::awaitable<void> campaign(dynalock::leader_election& election, asio::cancellation_slot stop,
                               const bool& stopping) {
    const std::string& me = election.options().identity;
    while (!stopping) {
        auto [ec, l] = co_await election.async_campaign(
            asio::bind_cancellation_slot(stop, asio::as_tuple(asio::use_awaitable)));
        if (ec) {
            if (!stopping) {
                throw boost::system::system_error(ec, "campaigning");
            }
            break;
        }
        event(me, "started_leading", me, l.term());
        co_await election.async_while_leading(
            l, lead(l, me),
            asio::bind_cancellation_slot(stop, asio::as_tuple(asio::use_awaitable)));
    }
}

asio::awaitable<void> observe(dynalock::leader_election& election, asio::cancellation_slot stop) {
    const std::string& me = election.options().identity;
    std::optional<dynalock::leader_info> known;
    for (;;) {
        auto [ec, leader] = co_await election.async_wait_leader_change(
            known, asio::bind_cancellation_slot(stop, asio::as_tuple(asio::use_awaitable)));
        if (ec == asio::error::operation_aborted || ec == dynalock::errc::client_closed) {
            co_return;
        }
        if (ec) {
            throw boost::system::system_error(ec, "observing");
        }
        known = leader;
        if (leader) {
            event(me, "new_leader", leader->identity, leader->term);
        }
    }
}

int main(int argc, char** argv) {
    std::string name, table, identity;
    milliseconds lease = 4s;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        }
        if (i + 1 == argc || !arg.starts_with("--")) {
            std::cerr << "leader_election: " << arg << ": unknown or missing its value\n" << usage;
            return 64;
        }
        const std::string_view value = argv[++i];
        if (arg == "--name") {
            name = value;
        } else if (arg == "--table") {
            table = value;
        } else if (arg == "--identity") {
            identity = value;
        } else if (arg == "--lease") {
            auto parsed = parse_lease(value);
            if (!parsed) {
                std::cerr << "leader_election: --lease " << value
                          << ": expected a duration such as 4s or 2500ms, from 100ms to a day\n";
                return 64;
            }
            lease = *parsed;
        } else {
            std::cerr << "leader_election: unknown option " << arg << "\n" << usage;
            return 64;
        }
    }
    if (name.empty() || table.empty()) {
        std::cerr << "leader_election: --name and --table are required\n" << usage;
        return 64;
    }
    try {
        asio::io_context io;
        dynalock::dynamodb::client db(io.get_executor());
        dynalock::dynamodb_store store(db, {.table_name = table});
        dynalock::leader_election election(store, {.name = name,
                                                   .identity = identity,
                                                   .lease_duration = lease,
                                                   .renew_deadline = lease * 2 / 3,
                                                   .retry_period = lease / 8});
        bool stopping = false;
        asio::cancellation_signal stop_campaign, stop_observing;
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](dynalock::error_code ec, int) {
            if (!ec) {
                // Cancelling the leader-only work resigns the leadership.
                stopping = true;
                stop_campaign.emit(asio::cancellation_type::terminal);
                stop_observing.emit(asio::cancellation_type::terminal);
            }
        });
        auto rethrow = [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        };
        auto run = [&]() -> asio::awaitable<void> {
            auto [ec] = co_await store.async_create_table({}, as_tuple);
            if (ec && ec != dynalock::errc::resource_in_use) {
                throw boost::system::system_error(ec, "creating the lock table");
            }
            asio::co_spawn(io, observe(election, stop_observing.slot()), rethrow);
            co_await campaign(election, stop_campaign.slot(), stopping);
            stop_observing.emit(asio::cancellation_type::terminal);
            co_await election.async_close(as_tuple);
        };
        asio::co_spawn(io, run(), [&](std::exception_ptr e) {
            signals.cancel();
            rethrow(e);
        });
        io.run();
    } catch (const std::exception& e) {
        std::cerr << "leader_election: " << e.what() << "\n";
        return 1;
    }
}
