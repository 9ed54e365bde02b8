// The torture test (issue 6): P worker processes contend for K lock keys for
// T seconds against dynalite, each through its own lock client and its own
// fault proxy (test/support/fault_proxy.hpp) whose plan changes every few
// seconds (latency, dropped responses, resets, throttling, 500s, trickling,
// short blackholes, clean half the time), while the supervisor pauses them
// at random with SIGSTOP/SIGCONT (some pauses longer than the lease). Every acquisition is logged
// with its fence and the CLOCK_MONOTONIC interval in which its holder believed it held the lock;
// while holding, a worker writes a protected item that refuses fences lower
// than one already written. After 30% of the leases lost to others (stolen,
// expired) a worker writes once more with the lost fence, as a client that
// checked its lease, paused, then wrote would: such zombie writes must be
// refused once a higher fence has written. After the workers stop, the
// supervisor reads every protected item (consistently) and the checker reads
// every log and prints one JSON line; the exit status is non-zero on any
// overlap of two holders of one key, any fence regression, a zombie write
// accepted after a higher fence wrote, a protected item whose fence is not
// the highest accepted for its key, a worker that failed, or a run that
// acquired nothing.
//
// The test command runs it for 60 s (meson suite `torture`). A longer run by
// hand, with a dynalite it starts itself (needs `npm ci` in the source tree):
//
//   build-dev/test/torture/torture --seconds 3600
//
// Options: --seconds S (60), --processes P (4), --keys K (3), --lease-ms L
// (1000), --seed N (random; printed in the JSON line), --endpoint-url URL (a
// running server; else DYNALOCK_TEST_DYNALITE_URL when set, else a dynalite
// started for the run). A failed run keeps its logs and says where.

#include "options.hpp"
#include "supervisor.hpp"
#include "worker.hpp"

#include <exception>
#include <iostream>

int main(int argc, char** argv) {
    using namespace dynalock::torture;
    try {
        const options o = parse_options(argc, argv);
        return o.worker ? run_worker(o) : run_supervisor(o, argv[0]);
    } catch (const std::exception& e) {
        std::cerr << "torture: " << e.what() << "\n";
        return 1;
    }
}
