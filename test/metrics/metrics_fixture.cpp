// What metrics_test.py parses with Prometheus's own parser:
//   metrics_fixture render  prints to_prometheus() of stats with known values;
//   metrics_fixture serve   serves a lock client's stats on the examples'
//                           metrics server (127.0.0.1, a free port, printed on
//                           the first line) until its stdin is closed.

#include <dynalock/lock_client.hpp>
#include <dynalock/memory_store.hpp>
#include <dynalock/prometheus.hpp>
#include <dynalock/shard_group.hpp>

#include "support/metrics_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/streambuf.hpp>

#include <unistd.h>

#include <iostream>
#include <string_view>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto as_tuple = asio::as_tuple(asio::deferred);

// metrics_test.py expects exactly these values.
int render() {
    dynalock::lock_client_stats s;
    s.held = 3;
    s.sessions = 1;
    s.in_flight = 2;
    s.in_flight_limit = 32;
    s.acquired = 7;
    s.released = 4;
    s.lost_stolen = 1;
    s.lost_expired = 2;
    s.sessions_opened = 1;
    s.sessions_lost = 8;
    s.session_kills = 5;
    s.heartbeats_sent = 100;
    s.heartbeats_failed = 3;
    s.throttled = 6;
    s.store_reads = 11;
    s.store_writes = 12;
    s.max_heartbeat_gap = 1500ms;
    for (auto latency : {100us, 1000us, 5000us, 5000us, 5000us}) {
        s.heartbeat_latency.record(latency);
    }
    s.heartbeat_latency.record(30s);
    s.heartbeat_latency.record(3h);  // past the last edge: only in +Inf
    const dynalock::shard_group_stats g{.members = 4,
                                        .owned = 16,
                                        .rounds = 40,
                                        .full_rounds = 9,
                                        .assigned = 20,
                                        .moves_in = 3,
                                        .takeovers = 5,
                                        .handoffs = 2,
                                        .lost = 1,
                                        .requests = 4,
                                        .members_ended = 1};
    dynalock::prometheus_writer w("dynalock", {{"worker", "w\"1\\\n"}});
    write_metrics(w, s);
    write_metrics(w, g);
    std::cout << w.text();
    return 0;
}

asio::awaitable<void> hold_and_serve(dynalock::lock_client& locks) {
    co_await locks.async_acquire("a");
    co_await locks.async_acquire("b");
    co_await locks.async_open_session();
    examples::metrics_server metrics(co_await asio::this_coro::executor, 0,
                                     [&locks] { return dynalock::to_prometheus(locks.stats()); });
    std::cout << metrics.port() << std::endl;
    // Until the test closes our stdin.
    asio::posix::stream_descriptor in(co_await asio::this_coro::executor, ::dup(STDIN_FILENO));
    asio::streambuf ignored;
    co_await asio::async_read(in, ignored, as_tuple);
    metrics.stop();
    co_await locks.async_close();
}

int serve() {
    asio::io_context io;
    dynalock::memory_store store(io.get_executor());
    dynalock::lock_client locks(store, {.owner = "metrics-fixture"});
    asio::co_spawn(io, hold_and_serve(locks), [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    });
    io.run();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string_view mode = argc == 2 ? argv[1] : "";
    if (mode == "render") {
        return render();
    }
    if (mode == "serve") {
        return serve();
    }
    std::cerr << "usage: metrics_fixture render|serve\n";
    return 64;
}
