#include "supervisor.hpp"

#include "checker.hpp"
#include "harness/json_line.hpp"
#include "harness/server.hpp"
#include "process/child_process.hpp"

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace dynalock::torture {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
volatile std::sig_atomic_t interrupted = 0;

extern "C" void note_interruption(int) {
    interrupted = 1;
}

void create_tables(const std::string& endpoint_url, const std::string& lock_table,
                   const std::string& data_table) {
    asio::io_context io;
    dynamodb::client db(io.get_executor(), client_options_for(endpoint_url));
    dynamodb_store locks(db, {.table_name = lock_table});
    dynamodb_store data(db, {.table_name = data_table});
    auto create = [&]() -> asio::awaitable<void> {
        for (dynamodb_store* store : {&locks, &data}) {
            auto op = store->async_create_table({}, asio::as_tuple(asio::deferred));
            auto [ec] = co_await std::move(op);
            if (ec)
                throw std::system_error(
                    ec, "creating table " + store->options().table_name + " at " + endpoint_url);
        }
    };
    auto done = asio::co_spawn(io, create(), asio::use_future);
    io.run();
    done.get();
}

/// The fence of every key's protected item, read (consistently, straight
/// from the server) after the workers stopped.
stored_fences read_protected_fences(const std::string& endpoint_url, const std::string& data_table,
                                    int keys) {
    asio::io_context io;
    dynamodb::client db(io.get_executor(), client_options_for(endpoint_url));
    stored_fences fences;
    auto read = [&]() -> asio::awaitable<void> {
        for (int k = 0; k < keys; ++k) {
            const std::string key = "k" + std::to_string(k);
            auto get = db.async_execute(dynamodb::get_item_request{.table_name = data_table,
                                                                   .key = protected_item_key(key),
                                                                   .consistent_read = true},
                                        {}, asio::as_tuple(asio::deferred));
            auto [ec, response] = co_await std::move(get);
            if (ec)
                throw std::system_error(ec, "reading the protected item of " + key);
            auto& fence = fences[key];
            if (!response.item)
                continue;
            const auto found = response.item->find("fence");
            const number* text =
                found == response.item->end() ? nullptr : found->second.as_number();
            std::uint64_t value = 0;
            if (text == nullptr ||
                std::from_chars(text->text.data(), text->text.data() + text->text.size(), value)
                        .ec != std::errc{})
                throw std::runtime_error("the protected item of " + key + " has no numeric fence");
            fence = value;
        }
    };
    auto done = asio::co_spawn(io, read(), asio::use_future);
    io.run();
    done.get();
    return fences;
}

/// A worker process and its pause schedule.
struct worker_process {
    pid_t pid = -1;
    bool running = false;
    bool paused = false;
    std::uint64_t pauses = 0;
    clock::time_point next_change{};  ///< the next pause, or the end of this one
    int status = 0;                   ///< waitpid's, once it ended
    /// When it was found ended (reaped): it died no later.
    clock::time_point ended_by{};
};

/// The worker processes. Each runs in its own process group (a Ctrl-C on the
/// terminal reaches only the supervisor, which stops them in order) and gets
/// SIGKILL from the kernel should the supervisor die without stopping them.
/// Whatever happens, the destructor leaves no worker running.
class worker_group {
public:
    worker_group() = default;
    worker_group(const worker_group&) = delete;
    worker_group& operator=(const worker_group&) = delete;

    ~worker_group() {
        for (auto& w : workers_) {
            if (w.running)
                kill(w);
        }
    }

    std::vector<worker_process>& workers() { return workers_; }

    /// Starts a worker; returns its place in workers().
    std::size_t spawn(const std::vector<std::string>& args) {
        error_code ec;
        const pid_t pid = process::spawn({.argv = args,
                                          .program = "/proc/self/exe",
                                          .standard_input = process::null_device,
                                          .standard_output = STDERR_FILENO,
                                          .own_process_group = true,
                                          .death_signal = SIGKILL},
                                         ec);
        if (pid < 0) {
            throw boost::system::system_error(ec, "starting a worker");
        }
        workers_.push_back({.pid = pid, .running = true});
        return workers_.size() - 1;
    }

    /// SIGKILL, and reaped before it returns: the worker is dead by
    /// `ended_by`.
    static void kill(worker_process& w) {
        ::kill(w.pid, SIGKILL);
        reap(w, 0);
    }

    /// True when `w` has ended (now reaped).
    static bool reap(worker_process& w, int flags) {
        if (!w.running)
            return true;
        pid_t got;
        do {
            got = ::waitpid(w.pid, &w.status, flags);
        } while (got < 0 && errno == EINTR);
        if (got == w.pid || got < 0) {  // got < 0: not our child any more
            w.running = false;
            w.ended_by = clock::now();
            return true;
        }
        return false;
    }

    /// Resumes and asks every worker to stop; after `grace`, kills the rest.
    void stop_all(clock::duration grace) {
        for (auto& w : workers_) {
            if (w.running) {
                ::kill(w.pid, SIGCONT);
                w.paused = false;
                ::kill(w.pid, SIGTERM);
            }
        }
        const auto give_up = clock::now() + grace;
        for (auto& w : workers_) {
            while (!reap(w, WNOHANG) && clock::now() < give_up)
                std::this_thread::sleep_for(milliseconds(10));
            if (w.running) {
                std::cerr << "torture: worker pid " << w.pid << " did not stop, killing it\n";
                kill(w);
            }
        }
    }

private:
    std::vector<worker_process> workers_;
};

std::string describe_status(int status) {
    if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
    return "ended with wait status " + std::to_string(status);
}

/// Random SIGSTOP/SIGCONT of the workers, each on its own schedule: a pause
/// every 0.5 to 4 s, two in five of them longer than the lease (up to three
/// leases), the others up to half a lease. A worker's first pause is two to
/// three leases long, so that every run has pauses long enough for
/// contenders to see a paused holder's session (or lease) stand still for a
/// whole lease and end it, and the holder to resume into its loss.
class pauser {
public:
    pauser(std::uint64_t seed, milliseconds lease) : rng_(seed), lease_(lease) {}

    void schedule_next_pause(worker_process& w, clock::time_point now) {
        w.next_change = now + between(milliseconds(500), milliseconds(4000));
    }

    void step(worker_process& w, clock::time_point now) {
        if (!w.running || now < w.next_change)
            return;
        if (w.paused) {
            ::kill(w.pid, SIGCONT);
            w.paused = false;
            schedule_next_pause(w, now);
            return;
        }
        const bool long_pause = std::bernoulli_distribution(0.4)(rng_);
        const auto length = w.pauses == 0 ? between(2 * lease_, 3 * lease_)
                            : long_pause  ? between(lease_, 3 * lease_)
                                          : between(milliseconds(10), lease_ / 2);
        ::kill(w.pid, SIGSTOP);
        w.paused = true;
        ++w.pauses;
        w.next_change = now + length;
        ++pauses_;
    }

    std::uint64_t pauses() const noexcept { return pauses_; }

private:
    milliseconds between(milliseconds low, milliseconds high) {
        return milliseconds(
            std::uniform_int_distribution<milliseconds::rep>(low.count(), high.count())(rng_));
    }

    std::mt19937_64 rng_;
    milliseconds lease_;
    std::uint64_t pauses_ = 0;
};

/// SIGKILL of a random worker (paused or not) every 5 to 15 s; a new worker
/// of the same kind takes its place. Its locks (or its session) are left to
/// the contenders, and the holds it had not ended are ended at its death.
class killer {
public:
    killer(std::uint64_t seed, clock::time_point start) : rng_(seed), next_(start + interval()) {}

    /// The index of the worker to kill now, if it is time.
    std::optional<std::size_t> choose(clock::time_point now, std::size_t workers) {
        if (now < next_)
            return std::nullopt;
        next_ = now + interval();
        return std::uniform_int_distribution<std::size_t>(0, workers - 1)(rng_);
    }

private:
    clock::duration interval() {
        return milliseconds(std::uniform_int_distribution<int>(5000, 15000)(rng_));
    }

    std::mt19937_64 rng_;
    clock::time_point next_;
};

/// One worker process's place in the run: its log, and how it ended.
struct worker_run {
    int index = 0;
    std::string log{};
    bool killed = false;  ///< by the killer, on purpose
    bool failed = false;
    clock::time_point ended_by{};
};

std::int64_t nanoseconds_of(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string make_run_directory() {
    std::string path =
        (std::filesystem::temp_directory_path() / "dynalock-torture-XXXXXX").string();
    if (::mkdtemp(path.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + path);
    return path;
}

}  // namespace

int run_supervisor(const options& o, const char* program) {
    const std::uint64_t seed = o.seed_given ? o.seed : std::random_device{}();
    std::string endpoint_url = o.endpoint_url;
    if (endpoint_url.empty()) {
        if (const char* url = std::getenv("DYNALOCK_TEST_DYNALITE_URL"); url && *url)
            endpoint_url = url;
    }
    harness::dynamodb_server server(endpoint_url);
    endpoint_url = server.address().url;

    const std::string tables =
        "torture-" + std::to_string(::getpid()) + "-" + std::to_string(seed % 1'000'000);
    create_tables(endpoint_url, tables + "-locks", tables + "-data");
    const std::string run_directory = make_run_directory();
    std::cerr << "torture: " << o.processes << " workers, " << o.keys << " keys, " << o.seconds
              << " s, lease " << o.lease.count() << " ms, seed " << seed << ", server "
              << endpoint_url << ", logs in " << run_directory << "\n";

    struct sigaction action {};
    action.sa_handler = note_interruption;
    sigemptyset(&action.sa_mask);
    for (const int sig : stop_signals)
        ::sigaction(sig, &action, nullptr);

    pauser pauses(seed, o.lease);
    std::vector<std::string> failures;
    // One per process started, in order; a killed worker's replacement gets
    // the next. runs[i] is workers()[i].
    std::vector<worker_run> runs;
    std::uint64_t kills_done = 0;
    {
        worker_group group;
        const auto start_worker = [&](int index) {
            worker_run run{.index = index,
                           .log = run_directory + "/process-" + std::to_string(runs.size()) +
                                  "-worker-" + std::to_string(index) + ".log"};
            group.spawn({program,          "--worker",
                         "--index",        std::to_string(index),
                         "--mode",         std::string(to_string(mode_of_worker(o.mode, index))),
                         "--endpoint-url", endpoint_url,
                         "--lock-table",   tables + "-locks",
                         "--data-table",   tables + "-data",
                         "--keys",         std::to_string(o.keys),
                         "--lease-ms",     std::to_string(o.lease.count()),
                         "--seed",         std::to_string(seed + 1 + runs.size()),
                         "--log",          run.log});
            runs.push_back(std::move(run));
        };
        // The places in runs (and workers()) of the workers of each index now.
        std::vector<std::size_t> current;
        for (int i = 0; i < o.processes; ++i) {
            current.push_back(runs.size());
            start_worker(i);
        }
        const auto start = clock::now();
        for (auto& w : group.workers())
            pauses.schedule_next_pause(w, start);
        killer kills(seed ^ 0x6b696c6cU, start);
        const auto end = start + std::chrono::duration_cast<clock::duration>(
                                     std::chrono::duration<double>(o.seconds));
        bool early_exit = false;
        while (!interrupted && !early_exit && clock::now() < end) {
            for (auto& w : group.workers()) {
                // A worker that ends by itself ends the run (killed ones are reaped already).
                if (w.running && worker_group::reap(w, WNOHANG))
                    early_exit = true;
                pauses.step(w, clock::now());
            }
            if (const auto victim = kills.choose(clock::now(), current.size());
                victim && !early_exit) {
                worker_group::kill(group.workers()[current[*victim]]);
                runs[current[*victim]].killed = true;
                ++kills_done;
                current[*victim] = runs.size();
                start_worker(static_cast<int>(*victim));
                pauses.schedule_next_pause(group.workers().back(), clock::now());
            }
            std::this_thread::sleep_for(milliseconds(5));
        }
        group.stop_all(3 * o.lease + std::chrono::seconds(5));
        for (std::size_t i = 0; i < group.workers().size(); ++i) {
            const worker_process& w = group.workers()[i];
            runs[i].ended_by = w.ended_by;
            if (!runs[i].killed && (!WIFEXITED(w.status) || WEXITSTATUS(w.status) != 0)) {
                runs[i].failed = true;
                failures.push_back("worker " + std::to_string(runs[i].index) + " (" + runs[i].log +
                                   ") " + describe_status(w.status));
            }
        }
    }
    if (interrupted)
        failures.push_back("interrupted by a signal");

    std::vector<hold> holds;
    std::vector<zombie_write> zombies;
    worker_counters total;
    std::uint64_t sessions_opened = 0;
    std::uint64_t session_kills = 0;
    for (worker_run& run : runs) {
        std::ifstream file(run.log);
        std::ostringstream text;
        text << file.rdbuf();
        std::istringstream in(run.killed ? std::string(complete_lines(text.str())) : text.str());
        worker_log log;
        try {
            log = parse_log(in, run.log);
        } catch (const std::runtime_error& e) {
            run.failed = true;
            failures.push_back(e.what());
        }
        holds.insert(holds.end(), log.holds.begin(), log.holds.end());
        for (const hold& h : log.unfinished)
            holds.push_back(end_at_death(h, nanoseconds_of(run.ended_by)));
        zombies.insert(zombies.end(), log.zombie_writes.begin(), log.zombie_writes.end());
        sessions_opened += log.sessions_opened;
        session_kills += log.session_kills;
        if (run.killed)
            continue;  // it had no chance to write its counters
        if (!log.unfinished.empty()) {
            run.failed = true;
            failures.push_back(run.log + ": " + std::to_string(log.unfinished.size()) +
                               " holds never ended, yet the worker was not killed");
        }
        if (!log.counters) {
            run.failed = true;
            failures.push_back("worker " + std::to_string(run.index) + " left no counters in " +
                               run.log);
            continue;
        }
        total.faults += log.counters->faults;
        total.protected_writes += log.counters->protected_writes;
        total.stale_writes_refused += log.counters->stale_writes_refused;
        total.write_errors += log.counters->write_errors;
        total.acquire_errors += log.counters->acquire_errors;
    }
    protected_items_verdict items;
    try {
        items = check_protected_items(
            holds, zombies, read_protected_fences(endpoint_url, tables + "-data", o.keys));
    } catch (const std::exception& e) {
        failures.push_back(e.what());
    }
    const zombie_verdict zv = check_zombie_writes(holds, zombies);
    const verdict v = check(std::move(holds));

    harness::json_line line;
    line.add("processes", o.processes)
        .add("keys", o.keys)
        .add("seconds", o.seconds)
        .add("lease_ms", static_cast<std::int64_t>(o.lease.count()))
        .add("mode", to_string(o.mode))
        .add("seed", seed)
        .add("acquisitions", v.acquisitions)
        .add("takeovers", v.takeovers)
        .add("session_leases", v.session_leases)
        .add("sessions_opened", sessions_opened)
        .add("session_kills", session_kills)
        .add("pauses", pauses.pauses())
        .add("kills", kills_done)
        .add("faults", total.faults)
        .add("overlaps", v.overlaps)
        .add("fence_regressions", v.fence_regressions)
        .add("stale_writes_refused", total.stale_writes_refused)
        .add("zombie_writes", zv.writes)
        .add("zombie_writes_refused", zv.refused)
        .add("zombie_writes_accepted", zv.accepted)
        .add("zombie_writes_wrongly_accepted", zv.wrongly_accepted)
        .add("protected_items_checked", items.checked)
        .add("protected_mismatches", items.mismatches)
        .add("protected_writes", total.protected_writes)
        .add("write_errors", total.write_errors)
        .add("acquire_errors", total.acquire_errors)
        .add("worker_failures",
             static_cast<std::uint64_t>(std::count_if(
                 runs.begin(), runs.end(), [](const worker_run& r) { return r.failed; })));
    line.print();

    if (v.acquisitions == 0)
        failures.push_back("nothing was acquired: the run tested nothing");
    if (o.mode != worker_mode::per_lock) {
        if (v.session_leases == 0)
            failures.push_back("no lock was granted under a session: sessions were not tested");
        if (session_kills == 0 && o.processes >= 2)
            failures.push_back(
                "no contender ended a session: the paused and killed session holders' locks "
                "were never taken over through their sessions");
    }
    if (v.overlaps != 0 || v.fence_regressions != 0)
        failures.push_back("the lock was not safe: " + std::to_string(v.overlaps) + " overlaps, " +
                           std::to_string(v.fence_regressions) + " fence regressions");
    if (zv.wrongly_accepted != 0)
        failures.push_back("fencing failed: " + std::to_string(zv.wrongly_accepted) +
                           " zombie writes accepted after a higher fence was written");
    for (const auto& detail : items.details)
        failures.push_back("protected item mismatch: " + detail);
    if (items.checked != static_cast<std::uint64_t>(o.keys))
        failures.push_back("only " + std::to_string(items.checked) + " of " +
                           std::to_string(o.keys) + " protected items were checked");
    for (const auto& f : failures)
        std::cerr << "torture: FAILED: " << f << "\n";
    if (!failures.empty()) {
        std::cerr << "torture: logs kept in " << run_directory << "\n";
        return 1;
    }
    std::filesystem::remove_all(run_directory);
    return 0;
}

}  // namespace dynalock::torture
