// Shard leases shared by worker processes. Start this program several times
// with different names against one table: the workers split the shards
// fairly, each holding its shards with heartbeats and doing work bound to each
// lease. When a worker dies, the others notice once its membership lease has
// run out, take its shards over (each after its own lease, with a higher
// fence) and share them again. SIGINT or SIGTERM: release everything and exit.
//
// One line per event on stdout, for examples/shard_demo.py to merge:
//   <steady clock ms> <worker> <event> <key> <fence> [detail]
//
//   export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
//   export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
//   ./shard_workers NAME TABLE [SHARDS] [--metrics-port PORT]
//
// With --metrics-port, the worker's stats are served in Prometheus's text
// format at http://127.0.0.1:PORT/metrics (0: a free port, printed as a
// `metrics` event).

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>
#include <dynalock/prometheus.hpp>

#include "support/metrics_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto as_tuple = asio::as_tuple(asio::deferred);
constexpr std::string_view member_prefix = "member/";

void event(const std::string& worker, std::string_view what, const std::string& key,
           std::uint64_t fence, const std::string& detail = {}) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    std::cout << now.count() << ' ' << worker << ' ' << what << ' ' << key << ' ' << fence
              << (detail.empty() ? "" : " ") << detail << std::endl;
}

std::string shard_key(std::size_t i) {
    return std::string("shard-") + (i < 10 ? "0" : "") + std::to_string(i);
}

class worker {
public:
    worker(dynalock::lock_client& locks, std::string name, std::size_t shard_count)
        : locks_(locks),
          name_(std::move(name)),
          shard_count_(shard_count),
          round_(locks.get_executor()) {}

    asio::awaitable<void> run() {
        while (!stopping_) {
            co_await balance();
            round_.expires_after(500ms);
            co_await round_.async_wait(as_tuple);
        }
        // Each shard's work finishes its batch and its lease is released.
        for (auto& [key, s] : shards_) {
            s.handing_off = true;
        }
        while (!shards_.empty()) {
            round_.expires_after(50ms);
            co_await round_.async_wait(as_tuple);
        }
        co_await locks_.async_close(as_tuple);  // releases the membership lease
        event(name_, "stopped", "-", 0);
    }

    void stop() {
        stopping_ = true;
        round_.cancel();
    }

private:
    struct shard {
        dynalock::lease lease;
        bool handing_off = false;
    };

    // The work a shard's lease guards. A real worker would read a batch of
    // the shard's records here and checkpoint it with lease.fence(), so that
    // storage refuses a holder that has been superseded. Losing the lease
    // cancels the timer (async_with_lease), which ends the work at once.
    asio::awaitable<void> process(shard& s) {
        asio::steady_timer batch(co_await asio::this_coro::executor);
        while (!s.handing_off) {
            batch.expires_after(250ms);
            co_await batch.async_wait(asio::deferred);
        }
    }

    asio::awaitable<void> hold(std::string key, dynalock::lease lease) {
        shard& s = shards_.at(key);
        const dynalock::error_code ec = co_await locks_.async_with_lease(lease, process(s));
        if (ec) {
            event(name_, "lost", key, lease.fence(), std::string(to_string(lease.reason())));
        } else {
            event(name_, "released", key, lease.fence());
        }
        shards_.erase(key);
    }

    // One balancing round: count the live workers, then give shards back or
    // take more until this worker holds its fair share.
    asio::awaitable<void> balance() {
        if (!membership_.held()) {
            auto [ec, lease] =
                co_await locks_.async_acquire(std::string(member_prefix) + name_, as_tuple);
            if (ec) {
                co_return;
            }
            membership_ = lease;
            event(name_, "joined", lease.key().partition, lease.fence());
            co_return;  // shards from the next round on, once the others have joined too
        }
        auto [ec, rows] = co_await locks_.async_list(as_tuple);
        if (ec) {
            co_return;
        }
        std::set<std::string> alive{name_};
        std::map<std::string, const dynalock::lock_record*> current;
        for (const auto& row : rows) {
            if (row.malformed) {
                continue;  // not a lock item (another tool's row): nothing to balance
            }
            current[row.key.partition] = &row;
            const std::string& key = row.key.partition;
            if (!key.starts_with(member_prefix) || key == membership_.key().partition ||
                row.released) {
                continue;
            }
            // A member counts as alive until its membership lease can be taken
            // over: try_acquire grants only once its record version has stood
            // still for longer than its lease.
            auto [probe_ec, taken] = co_await locks_.async_try_acquire(row.key, as_tuple);
            if (probe_ec) {
                alive.insert(row.owner);
                continue;
            }
            event(name_, "noticed-gone", row.owner, taken.fence(), "its membership lease ran out");
            co_await locks_.async_release(taken, as_tuple);
        }
        const std::size_t fair_share = (shard_count_ + alive.size() - 1) / alive.size();

        std::vector<std::string> mine;
        for (auto& [key, s] : shards_) {
            if (!s.handing_off) {
                mine.push_back(key);
            }
        }
        while (mine.size() > fair_share) {
            shards_[mine.back()].handing_off = true;
            mine.pop_back();
        }
        // Free shards first; then those of workers not known alive, whose
        // leases try_acquire takes over once they have run out.
        std::vector<std::pair<bool, std::string>> candidates;
        for (std::size_t i = 0; i < shard_count_; ++i) {
            const std::string key = shard_key(i);
            auto row = current.find(key);
            const bool held = row != current.end() && !row->second->released;
            if (!shards_.contains(key)) {
                candidates.emplace_back(held, key);
            }
        }
        std::ranges::stable_sort(candidates, {}, &std::pair<bool, std::string>::first);
        for (const auto& [held, key] : candidates) {
            if (mine.size() >= fair_share || stopping_) {
                break;
            }
            const std::string previous = held ? current[key]->owner : std::string{};
            if (held && alive.contains(previous)) {
                continue;
            }
            auto [take_ec, lease] = co_await locks_.async_try_acquire(key, as_tuple);
            if (take_ec) {
                continue;
            }
            event(name_, held ? "took-over" : "acquired", key, lease.fence(),
                  held ? "from " + previous : "");
            mine.push_back(key);
            shards_[key].lease = lease;
            asio::co_spawn(locks_.get_executor(), hold(key, lease), asio::detached);
        }
    }

    dynalock::lock_client& locks_;
    const std::string name_;
    const std::size_t shard_count_;
    asio::steady_timer round_;
    dynalock::lease membership_;
    std::map<std::string, shard> shards_;
    bool stopping_ = false;
};

int main(int argc, char** argv) {
    std::optional<std::uint16_t> metrics_port;
    try {
        metrics_port = examples::take_metrics_port(argc, argv);
    } catch (const std::invalid_argument& e) {
        std::cerr << "shard_workers: " << e.what() << "\n";
        return 64;
    }
    std::size_t shard_count = 24;
    if (argc == 4) {
        const std::string_view text = argv[3];
        auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), shard_count);
        if (err != std::errc{} || end != text.data() + text.size() || shard_count < 1 ||
            shard_count > 100) {
            std::cerr << "shard_workers: SHARDS must be a number from 1 to 100\n";
            return 64;
        }
    }
    if (argc < 3 || argc > 4) {
        std::cerr << "usage: shard_workers NAME TABLE [SHARDS] [--metrics-port PORT]\n";
        return 64;
    }
    try {
        asio::io_context io;
        dynalock::dynamodb::client db(io.get_executor());
        dynalock::dynamodb_store store(db, {.table_name = argv[2]});
        dynalock::lock_client locks(
            store, {.owner = argv[1], .lease = 3s, .heartbeat_period = 1s, .poll_period = 250ms});
        worker w(locks, argv[1], shard_count);
        std::optional<examples::metrics_server> metrics;
        if (metrics_port) {
            metrics.emplace(io.get_executor(), *metrics_port, [&locks, name = argv[1]] {
                return dynalock::to_prometheus(locks.stats(), "dynalock", {{"worker", name}});
            });
            event(argv[1], "metrics", "-", 0,
                  "http://127.0.0.1:" + std::to_string(metrics->port()) + "/metrics");
        }
        asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](dynalock::error_code ec, int) {
            if (!ec) {
                w.stop();
            }
        });
        asio::co_spawn(io, w.run(), [&](std::exception_ptr e) {
            signals.cancel();
            if (metrics) {
                metrics->stop();
            }
            if (e) {
                std::rethrow_exception(e);
            }
        });
        io.run();
    } catch (const std::exception& e) {
        std::cerr << "shard_workers: " << e.what() << "\n";
        return 1;
    }
}
