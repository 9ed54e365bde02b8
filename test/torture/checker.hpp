#pragma once

// The torture test's logs and their verdict. Each worker process appends the
// life of each acquisition as it happens (its grant, every later deadline it
// acted on, its first accepted write, its end), its sessions and the
// sessions it ended as a contender, and, when it stops, one line of counters.
// The checker reads every worker's log after all of them stopped; a worker
// killed with SIGKILL leaves holds without an end, which the supervisor ends
// at its death (end_at_death). Times are steady_clock (CLOCK_MONOTONIC)
// nanoseconds, comparable between processes of one host.

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::torture {

/// One acquisition, as its holder saw it.
struct hold {
    std::string key{};
    std::uint64_t fence = 0;
    std::string owner{};
    /// When the granting write was sent: the lease is counted from here.
    std::int64_t valid_from = 0;
    /// The last local deadline believed while holding, cut at the moment the
    /// holder stopped (work finished, or loss noticed).
    std::int64_t valid_until = 0;
    /// When the grant reached the holder: it cannot believe before this.
    std::int64_t granted_at = 0;
    /// "released", the loss_reason name (stolen, expired, client_closed), or
    /// "killed" when its worker died holding it.
    std::string ended{};
    /// The key of the session it was held under; empty for a lock held with
    /// a lease of its own. A session-bound hold is judged like any other: it
    /// is believed until the session's local deadline, or its loss.
    std::string session{};
    /// Protected writes with this fence the server accepted.
    std::uint64_t writes_accepted = 0;
    /// Protected writes with this fence that failed other than by refusal
    /// (a dropped answer, a reset, a timeout): they may have applied.
    std::uint64_t writes_unknown = 0;
    /// When the first accepted write's answer arrived; 0 when none did.
    std::int64_t first_accepted_at = 0;

    /// Believed over [granted_at, valid_until); empty when the grant arrived
    /// after its deadline (the holder never believed it held the lock).
    /// Overlaps are judged on this interval, not from valid_from: a grant of
    /// a released lock is conditioned on nothing but the release, so its
    /// write may linger (a paused sender, a slow network) while another
    /// holder takes and releases the lock, and then rightly apply; its holder
    /// believes only from the answer on, yet [valid_from, …) spans the other.
    bool believed() const noexcept { return valid_until > granted_at; }

    friend bool operator==(const hold&, const hold&) = default;
};

/// How the server answered a protected write.
enum class write_outcome { accepted, refused, unknown };

std::string_view to_string(write_outcome o) noexcept;

/// A deliberate write after a lost lease, with the lost lease's fence: the
/// classic bug of a client that checked its lease, paused (GC, SIGSTOP) and
/// then wrote. Fencing must refuse it once a newer holder has written.
struct zombie_write {
    std::string key{};
    std::uint64_t fence = 0;
    std::int64_t sent_at = 0;
    write_outcome outcome = write_outcome::unknown;

    friend bool operator==(const zombie_write&, const zombie_write&) = default;
};

/// What one worker counted; written once, when it stops.
struct worker_counters {
    std::uint64_t faults = 0;  ///< fault periods of its proxy
    std::uint64_t protected_writes = 0;
    /// Refusals of writes made while the worker believed it held the lease
    /// (zombie writes are not counted here).
    std::uint64_t stale_writes_refused = 0;
    std::uint64_t write_errors = 0;    ///< protected writes that failed otherwise
    std::uint64_t acquire_errors = 0;  ///< acquires that failed other than not granted

    friend bool operator==(const worker_counters&, const worker_counters&) = default;
};

/// One worker's log.
struct worker_log {
    /// Holds that ended while their worker lived.
    std::vector<hold> holds{};
    /// Holds granted and not ended: their worker died holding them (or is
    /// broken). `valid_until` is the last deadline the worker logged for it
    /// (before a write it made), `ended` empty.
    std::vector<hold> unfinished{};
    std::vector<zombie_write> zombie_writes{};
    /// Sessions the worker opened.
    std::uint64_t sessions_opened = 0;
    /// Sessions of others it ended as a contender (lock_client_stats::session_kills),
    /// as last logged.
    std::uint64_t session_kills = 0;
    /// Absent when the worker did not stop cleanly.
    std::optional<worker_counters> counters{};
};

// The lines of one hold, in this order: the grant (before any write under
// it), a renewal whenever the deadline the worker is about to act on moved
// (logged before the write), the first accepted write, the stop, the end.
std::string format_grant(const hold& h, std::int64_t deadline);
std::string format_renewal(const hold& h, std::int64_t deadline);
std::string format_first_write(const hold& h);
/// When the worker stopped acting on the hold (nanoseconds): logged before
/// the release is asked for, since the release can free the lock for others
/// before the worker, killed meanwhile, logs its end.
std::string format_stop(const hold& h, std::int64_t at);
std::string format_end(const hold& h);
std::string format_line(const zombie_write& z);
/// A session the worker opened: its item's key and epoch.
std::string format_session(std::string_view key, std::uint64_t epoch);
/// The worker's count of sessions it ended as a contender, so far.
std::string format_session_kills(std::uint64_t kills);
std::string format_line(const worker_counters& c);

/// Reads a log; throws std::runtime_error naming `source` and the line for
/// anything malformed (a log is ours: a bad line means a broken worker).
worker_log parse_log(std::istream& in, std::string_view source);

/// `text` up to its last complete line: a worker killed while it wrote a
/// line may leave part of it.
std::string_view complete_lines(std::string_view text) noexcept;

/// `h`, an unfinished hold of a worker that died by `died_by` (a moment after
/// its death), ended there: believed until its last logged deadline or its
/// death, whichever came first (a worker acts only on a deadline it logged,
/// and nothing after death), and a write of unknown outcome (one may have
/// been out).
hold end_at_death(hold h, std::int64_t died_by);

struct verdict {
    std::uint64_t acquisitions = 0;
    /// Grants whose previous grant of the key (by fence) belonged to another
    /// owner that had not released it.
    std::uint64_t takeovers = 0;
    /// Pairs of holds of one key whose believed intervals intersect.
    std::uint64_t overlaps = 0;
    /// Grants of a key that reached their holder after a grant with a
    /// greater or equal fence (equal fences always count; a smaller fence is
    /// excused only for a grant that arrived already expired, never believed).
    std::uint64_t fence_regressions = 0;
    /// Grants made under a session.
    std::uint64_t session_leases = 0;

    /// Safe (no overlap, no regression) and something was tested at all.
    bool passed() const noexcept {
        return acquisitions > 0 && overlaps == 0 && fence_regressions == 0;
    }
};

verdict check(std::vector<hold> holds);

struct zombie_verdict {
    std::uint64_t writes = 0;
    std::uint64_t refused = 0;
    std::uint64_t accepted = 0;
    /// Accepted although, before it was sent, a write with a higher fence of
    /// its key had been accepted: fencing failed.
    std::uint64_t wrongly_accepted = 0;
};

zombie_verdict check_zombie_writes(const std::vector<hold>& holds,
                                   const std::vector<zombie_write>& zombies);

/// The `fence` of each key's protected item as read after the run;
/// std::nullopt when the key has no item.
using stored_fences = std::map<std::string, std::optional<std::uint64_t>, std::less<>>;

struct protected_items_verdict {
    std::uint64_t checked = 0;
    /// Items whose fence is not the highest accepted for their key, unless
    /// higher and the fence of a write of unknown outcome (which may have
    /// applied). Lower means an accepted write was lost or a lower fence
    /// overwrote a higher one.
    std::uint64_t mismatches = 0;
    /// One line per mismatch, for the person reading a failed run.
    std::vector<std::string> details{};
};

protected_items_verdict check_protected_items(const std::vector<hold>& holds,
                                              const std::vector<zombie_write>& zombies,
                                              const stored_fences& stored);

}  // namespace dynalock::torture
