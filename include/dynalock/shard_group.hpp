#pragma once

/// \file
/// Shard groups: workers sharing a set of shards on sessions.

#include <dynalock/error.hpp>
#include <dynalock/lease.hpp>
#include <dynalock/loss_reason.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dynalock {

class lock_client;

/// How a worker takes part in a shard group (docs/shard-groups.md). An
/// aggregate; `shard_group` rejects invalid options.
struct shard_group_options {
    /// The group's name: the prefix of every item of the group in the lock
    /// table (`NAME/…`). 1 to 512 bytes.
    std::string group{};
    /// The shards, by name (unique, non-empty, each at most 512 bytes); when
    /// empty, `shard_count` shards instead.
    std::vector<std::string> shards{};
    /// With `shards` empty: this many shards, named "0", "1", … (at most
    /// 1,000,000); zero when `shards` names them.
    std::size_t shard_count = 0;
    /// The table has a sort key: the group's members, handoff requests and
    /// shards are then one partition each (`NAME/members`, `NAME/requests`,
    /// `NAME/shards`), read with a Query. Without one, each round reads the
    /// group with a Scan of the whole table (docs/shard-groups.md says what
    /// that costs): give a group a table of its own then.
    bool sort_key = false;
    /// Between two rounds (reading members and requests, taking shards,
    /// asking for handoffs). Failover takes the session's lease plus up to
    /// two rounds. 10 ms to 1 hour.
    std::chrono::milliseconds round{std::chrono::seconds(1)};
    /// Handoffs this worker asks for in one round, at most (taking free
    /// shards and those of ended workers is not bounded). At least 1.
    std::size_t max_moves_per_round = 8;
    /// How long a holder's work may take to finish a shard it was asked to
    /// hand off; then the work is cancelled and the shard released. And how
    /// long a request for a handoff stands before it is withdrawn (twice
    /// this). 1 ms to 1 day.
    std::chrono::milliseconds handoff_timeout{std::chrono::seconds(10)};

    /// Why these options cannot be used, or nullopt when they can.
    std::optional<std::string> validate() const;
};

/// What happened to this worker in its group, for `shard_group_options`'
/// event callback (a log line, a metric).
struct shard_event {
    /// What happened.
    enum class kind {
        /// The worker joined with a new session (`fence` is its epoch).
        joined,
        /// A shard was granted (`fence` is the grant's).
        assigned,
        /// Another member asked for the shard; its work has
        /// `handoff_timeout` to finish.
        handoff_requested,
        /// The shard was handed back (its work finished; the lease released).
        released,
        /// The lease ended otherwise (`reason`); the work was cancelled.
        lost,
        /// The worker left the group (its session closed or lost).
        left,
    };
    /// What happened.
    kind what = kind::joined;
    /// The shard, empty for joined and left.
    std::string shard{};
    /// The shard's fence with this grant; for joined and left, the session's
    /// epoch.
    std::uint64_t fence = 0;
    /// Why a lease ended (lost, left); loss_reason::none otherwise.
    loss_reason reason = loss_reason::none;
    /// The shard's lease (for joined and left: the session's item lease); on
    /// lost, its deadline() is when this worker stopped believing it.
    dynalock::lease lease{};
    /// assigned: taken from an ended member (its session had ended) rather
    /// than free.
    bool takeover = false;
    /// assigned: handed over by its holder after this worker asked for it.
    bool handoff = false;
};

/// The name of a shard_event::kind ("assigned", …).
std::string_view to_string(shard_event::kind k) noexcept;

/// What a shard group member did so far, and holds now.
struct shard_group_stats {
    /// Live members seen in the last round, this one included.
    std::size_t members = 0;
    /// Shards held now (handoffs in progress included).
    std::size_t owned = 0;
    /// Rounds run.
    std::uint64_t rounds = 0;
    /// Rounds that read the shards and planned (after a change of
    /// membership, a request, a shard leaving this worker, or a plan that
    /// was not empty).
    std::uint64_t full_rounds = 0;
    /// Shards granted: free ones, those handed to us, those of ended members.
    std::uint64_t assigned = 0;
    /// Of those, handed to us by their holder after we asked.
    std::uint64_t moves_in = 0;
    /// Of those, taken from members whose session had ended.
    std::uint64_t takeovers = 0;
    /// Shards this worker handed to another member.
    std::uint64_t handoffs = 0;
    /// Shard leases lost.
    std::uint64_t lost = 0;
    /// Handoffs asked of other members.
    std::uint64_t requests = 0;
    /// Sessions of other members this worker found standing still for their
    /// lease and ended (one write each, which freed their shards).
    std::uint64_t members_ended = 0;
};

class prometheus_writer;

/// Writes a shard group member's stats as `dynalock_group_members`,
/// `dynalock_group_shards_owned`, `dynalock_group_shards_assigned_total` and
/// the rest (with the writer's prefix; docs/observability.md lists them).
void write_metrics(prometheus_writer& w, const shard_group_stats& s);

/// A shard this worker holds, as its work sees it.
class owned_shard {
public:
    /// The shard's name.
    const std::string& name() const;
    /// The lease: its fence() is what writes of the shard's work carry.
    const dynalock::lease& lease() const;
    /// The fence of the shard's grant (lease().fence()).
    std::uint64_t fence() const { return lease().fence(); }
    /// Another member asked for this shard: finish (flush, checkpoint) and
    /// return, within shard_group_options::handoff_timeout.
    bool handoff_requested() const;

    /// What the group shares with the work (internal).
    struct state;
    /// Made by the group for each shard it runs work for.
    explicit owned_shard(std::shared_ptr<const state> s) : state_(std::move(s)) {}

private:
    std::shared_ptr<const state> state_;
};

/// A worker's membership in a group of workers that share a set of shards
/// (docs/shard-groups.md): KCL's lease balancing on dynalock sessions.
///
/// The worker joins with a session of its own — the session *is* its
/// membership — and holds every shard under it, so that one heartbeat keeps
/// all of them and one write frees all of them. Each round it reads the
/// members and the requests for handoff; it reads the shards only when
/// something changed. It takes free shards and those of ended members (a
/// member whose session stood still for its lease is ended by one write,
/// which frees all its shards at once) up to its fair share, ⌊S/W⌋ or
/// ⌈S/W⌉, and asks the most loaded members for the rest. A member asked for
/// a shard lets its work finish and releases it. In steady state nothing
/// moves.
///
/// `work` runs for each shard held, bound to its lease: it is cancelled when
/// the lease is lost, or when it does not finish within the handoff timeout
/// after a handoff was requested, and must end on cancellation (the shard
/// is released only then). When it returns, or throws, the shard is
/// released (handed off; after a failure, taken again in a later round).
///
/// Use it on the lock client's executor only; the client must outlive it.
class shard_group {
public:
    /// The work run for each shard held, bound to its lease.
    using work_function = std::function<boost::asio::awaitable<void>(owned_shard)>;
    /// Told every shard_event, on the client's executor.
    using event_function = std::function<void(const shard_event&)>;

    /// Throws std::system_error (errc::invalid_argument) naming the option
    /// when the options are invalid.
    shard_group(lock_client& client, shard_group_options options, work_function work,
                event_function on_event = {});
    /// Leaves at once without handing off: closes the session (one write,
    /// sent now; it frees every shard and cancels their work) and calls
    /// neither the client nor the callbacks afterwards. The client must
    /// still be alive.
    ~shard_group();
    shard_group(const shard_group&) = delete;
    shard_group& operator=(const shard_group&) = delete;

    /// The lock client's executor, where everything of the group runs.
    boost::asio::any_io_executor get_executor() const;
    /// The options, with `shards` filled in from `shard_count`.
    const shard_group_options& options() const noexcept;
    /// Counters of what this member did, and what it holds now.
    shard_group_stats stats() const;
    /// The shards held now, sorted.
    std::vector<std::string> owned() const;

    /// Joins the group and takes part in it until `stop()`: then every
    /// shard's work is told to hand off (handoff_requested()), is given the
    /// handoff timeout to finish, and the session is closed — one write
    /// frees every shard at once. Completes with success after a stop; with
    /// an error only when the client was closed. If the session is lost, the
    /// shards' work is cancelled and the worker joins again with a new one.
    ///
    /// Completion signature: `void(std::exception_ptr, error_code)` (as
    /// lock_client::async_with_lease; the default token is use_awaitable).
    /// Per-operation cancellation (terminal): as `stop()`.
    template <class Token = boost::asio::use_awaitable_t<>>
    auto async_run(Token&& token = {}) {
        return boost::asio::co_spawn(get_executor(), run(), std::forward<Token>(token));
    }

    /// Leaves the group (see async_run); safe to call from any handler on
    /// the executor, and more than once.
    void stop();

private:
    boost::asio::awaitable<error_code> run();

    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace dynalock
