// Shards shared by worker processes, through dynalock::shard_group. Start
// this program several times with different names against one table: the
// workers split the shards fairly, each holding all of its shards with one
// session heartbeat and doing work bound to each shard's lease. A worker that
// joins gets its share handed over by the others (each finishes its batch
// first). When a worker dies, the others end its session once it has stood
// still for its lease, which frees all its shards at once, and take them
// over with higher fences. SIGINT or SIGTERM: hand every shard back and exit.
//
// One JSON line per event on stdout (examples/shard_demo.py and the shard
// group tests read them), t_ms on the steady clock all processes share:
//   {"t_ms":…,"worker":"w1","event":"assigned","shard":"7","fence":3,"takeover":false,…}
// and every --stats-ms a line with "event":"stats" and the counters.
//
//   export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
//   export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
//   ./shard_workers NAME TABLE [SHARDS] [--lease-ms 3000] [--round-ms 500]
//                   [--sort-key NAME] [--stats-ms 1000] [--metrics-port PORT]
//
// With --metrics-port, the worker's lock client and group stats are served in
// Prometheus's text format at http://127.0.0.1:PORT/metrics (0: a free port,
// printed as a "metrics" line).

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>
#include <dynalock/prometheus.hpp>
#include <dynalock/shard_group.hpp>

#include "support/json_string.hpp"
#include "support/metrics_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <charconv>
#include <csignal>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using examples::json_string;
using namespace std::chrono_literals;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void print_event(const std::string& worker, const dynalock::shard_event& e) {
    std::ostringstream line;
    line << "{\"t_ms\":" << now_ms() << ",\"worker\":" << json_string(worker)
         << ",\"event\":" << json_string(to_string(e.what)) << ",\"shard\":" << json_string(e.shard)
         << ",\"fence\":" << e.fence << ",\"takeover\":" << (e.takeover ? "true" : "false")
         << ",\"handoff\":" << (e.handoff ? "true" : "false")
         << ",\"reason\":" << json_string(to_string(e.reason));
    if (e.what == dynalock::shard_event::kind::lost) {
        // When this worker stopped believing it: the lease's local deadline.
        line << ",\"deadline_ms\":"
             << std::chrono::duration_cast<std::chrono::milliseconds>(
                    e.lease.deadline().time_since_epoch())
                    .count();
    }
    line << "}";
    std::cout << line.str() << std::endl;
}

void print_stats(const std::string& worker, const dynalock::shard_group_stats& g,
                 const dynalock::lock_client_stats& c) {
    std::cout << "{\"t_ms\":" << now_ms() << ",\"worker\":" << json_string(worker)
              << ",\"event\":\"stats\",\"members\":" << g.members << ",\"owned\":" << g.owned
              << ",\"rounds\":" << g.rounds << ",\"full_rounds\":" << g.full_rounds
              << ",\"moves_in\":" << g.moves_in << ",\"handoffs\":" << g.handoffs
              << ",\"takeovers\":" << g.takeovers << ",\"members_ended\":" << g.members_ended
              << ",\"store_reads\":" << c.store_reads << ",\"store_writes\":" << c.store_writes
              << "}" << std::endl;
}

// The work a shard's lease guards. A real worker reads a batch of the
// shard's records here and checkpoints it with shard.fence(), so that storage
// refuses a holder that has been superseded. Losing the lease cancels the
// timer, which ends the work at once; a handoff request lets the batch finish.
asio::awaitable<void> process(dynalock::owned_shard shard) {
    asio::steady_timer batch(co_await asio::this_coro::executor);
    while (!shard.handoff_requested()) {
        batch.expires_after(100ms);
        co_await batch.async_wait(asio::deferred);
    }
    // Here: flush and checkpoint; returning hands the shard over.
}

std::optional<long> number(std::string_view text) {
    long v = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (err != std::errc{} || end != text.data() + text.size() || v < 1) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string usage =
        "usage: shard_workers NAME TABLE [SHARDS] [--lease-ms N] [--round-ms N] "
        "[--sort-key NAME] [--stats-ms N] [--metrics-port PORT]\n";
    std::optional<std::uint16_t> metrics_port;
    try {
        metrics_port = examples::take_metrics_port(argc, argv);
    } catch (const std::invalid_argument& e) {
        std::cerr << "shard_workers: " << e.what() << "\n";
        return 64;
    }
    std::vector<std::string> positional;
    long shard_count = 24, lease_ms = 3000, round_ms = 500, stats_ms = 1000;
    std::string sort_key;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help") {
            std::cout << usage;
            return 0;
        }
        if (arg.starts_with("--")) {
            if (i + 1 == argc) {
                std::cerr << "shard_workers: " << arg << " needs a value\n" << usage;
                return 64;
            }
            const std::string_view value = argv[++i];
            if (arg == "--sort-key") {
                sort_key = value;
                continue;
            }
            long* target = arg == "--lease-ms"   ? &lease_ms
                           : arg == "--round-ms" ? &round_ms
                           : arg == "--stats-ms" ? &stats_ms
                                                 : nullptr;
            auto n = number(value);
            if (!target || !n) {
                std::cerr << "shard_workers: bad option " << arg << " " << value << "\n" << usage;
                return 64;
            }
            *target = *n;
            continue;
        }
        positional.emplace_back(arg);
    }
    if (positional.size() == 3) {
        auto n = number(positional[2]);
        if (!n || *n > 100000) {
            std::cerr << "shard_workers: SHARDS must be a number from 1 to 100000\n";
            return 64;
        }
        shard_count = *n;
    }
    if (positional.size() < 2 || positional.size() > 3) {
        std::cerr << usage;
        return 64;
    }
    const std::string name = positional[0];
    try {
        asio::io_context io;
        dynalock::dynamodb::client db(io.get_executor());
        dynalock::dynamodb_store store(db,
                                       {.table_name = positional[1], .sort_key_name = sort_key});
        const std::chrono::milliseconds lease(lease_ms);
        dynalock::lock_client locks(store, {.owner = name,
                                            .lease = lease,
                                            .heartbeat_period = lease / 3,
                                            .poll_period = std::chrono::milliseconds(round_ms)});
        dynalock::shard_group group(locks,
                                    {.group = "shards",
                                     .shard_count = static_cast<std::size_t>(shard_count),
                                     .sort_key = !sort_key.empty(),
                                     .round = std::chrono::milliseconds(round_ms)},
                                    process,
                                    [&](const dynalock::shard_event& e) { print_event(name, e); });

        std::optional<examples::metrics_server> metrics;
        if (metrics_port) {
            metrics.emplace(io.get_executor(), *metrics_port, [&] {
                dynalock::prometheus_writer w("dynalock", {{"worker", name}});
                write_metrics(w, locks.stats());
                write_metrics(w, group.stats());
                return w.text();
            });
            std::cout << "{\"t_ms\":" << now_ms() << ",\"worker\":" << json_string(name)
                      << ",\"event\":\"metrics\",\"url\":\"http://127.0.0.1:" << metrics->port()
                      << "/metrics\"}" << std::endl;
        }
        asio::steady_timer stats_timer(io);
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                for (;;) {
                    stats_timer.expires_after(std::chrono::milliseconds(stats_ms));
                    auto [ec] = co_await stats_timer.async_wait(asio::as_tuple(asio::deferred));
                    if (ec) {
                        co_return;
                    }
                    print_stats(name, group.stats(), locks.stats());
                }
            },
            asio::detached);
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](dynalock::error_code ec, int) {
            if (!ec) {
                group.stop();
            }
        });
        int status = 0;
        group.async_run([&](std::exception_ptr e, dynalock::error_code ec) {
            signals.cancel();
            stats_timer.cancel();
            if (metrics) {
                metrics->stop();
            }
            if (e) {
                std::rethrow_exception(e);
            }
            if (ec) {
                std::cerr << "shard_workers: " << ec.message() << "\n";
                status = 1;
            }
            print_stats(name, group.stats(), locks.stats());
            locks.async_close(asio::detached);
        });
        io.run();
        return status;
    } catch (const std::exception& e) {
        std::cerr << "shard_workers: " << e.what() << "\n";
        return 1;
    }
}
