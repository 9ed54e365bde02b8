// The torture test (issues 6 and 13): P worker processes contend for K lock
// keys for T seconds against dynalite, each through its own lock client and
// its own fault proxy (test/support/fault_proxy.hpp) whose plan changes every
// few seconds (latency, dropped responses, resets, throttling, 500s,
// trickling, short blackholes, clean half the time). By default half the
// workers hold each lock with a lease of its own and the others hold every
// lock under a session (opened, held for a random time, then closed with its
// locks held and their work running, or lost), some taken with
// async_acquire_many; --mode per-lock or session makes them all of one kind.
// The supervisor pauses workers at random with SIGSTOP/SIGCONT (some pauses
// longer than the lease, so contenders end a paused worker's session or take
// its leases, and it resumes into their loss) and SIGKILLs one every 5 to
// 15 s, starting another in its place.
//
// Every acquisition is logged as it lives: its fence, its grant, each later
// CLOCK_MONOTONIC deadline its holder acted on, its end. While holding, a
// worker writes a protected item that refuses fences lower than one already
// written. After 30% of the leases lost to others (stolen, expired) a worker
// writes once more with the lost fence, as a client that checked its lease,
// paused, then wrote would: such zombie writes must be refused once a higher
// fence has written. After the workers stop, the supervisor reads every
// protected item (consistently) and the checker reads every log (a killed
// worker's holds end at its death) and prints one JSON line; the exit status
// is non-zero on any overlap of two holders' believed intervals of one key
// (session-bound or not), any fence regression, a zombie write accepted
// after a higher fence wrote, a protected item whose fence is not the
// highest accepted for its key, a worker that failed, a run that acquired
// nothing, or, unless --mode per-lock, a run without a grant under a session
// or without a session ended by a contender.
//
// In the JSON line, session_leases counts grants made under a session,
// sessions_opened the sessions workers opened, session_kills the sessions a
// contender ended (lock_client_stats::session_kills, logged as it grows),
// kills the SIGKILLs; faults, protected_writes, write_errors, acquire_errors
// and stale_writes_refused are counted by workers that stopped cleanly only
// (a killed one never writes its counters).
//
// The test command runs it for 60 s (meson suite `torture`). A longer run by
// hand, with a dynalite it starts itself (needs `npm ci` in the source tree):
//
//   build-dev/test/torture/torture --seconds 3600
//
// `torture --help` lists the options. A failed run keeps its logs and says
// where.

#include "options.hpp"
#include "supervisor.hpp"
#include "worker.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    using namespace dynalock::torture;
    try {
        const options o = parse_options(argc, argv);
        if (o.help) {
            std::cout << usage();
            return 0;
        }
        return o.worker ? run_worker(o) : run_supervisor(o, argv[0]);
    } catch (const std::exception& e) {
        std::cerr << "torture: " << e.what() << "\n";
        return 1;
    }
}
