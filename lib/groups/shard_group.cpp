#include <dynalock/lock_client.hpp>
#include <dynalock/prometheus.hpp>
#include <dynalock/session.hpp>
#include <dynalock/shard_group.hpp>

#include "groups/shard_plan.hpp"
#include "spawn_op.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <map>
#include <set>
#include <system_error>

namespace dynalock {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr auto as_tuple = asio::as_tuple(asio::deferred);
constexpr std::size_t max_name = 512;

}  // namespace

std::string_view to_string(shard_event::kind k) noexcept {
    switch (k) {
        case shard_event::kind::joined:
            return "joined";
        case shard_event::kind::assigned:
            return "assigned";
        case shard_event::kind::handoff_requested:
            return "handoff_requested";
        case shard_event::kind::released:
            return "released";
        case shard_event::kind::lost:
            return "lost";
        case shard_event::kind::left:
            return "left";
    }
    return "unknown";
}

void write_metrics(prometheus_writer& w, const shard_group_stats& s) {
    w.gauge("group_members", "Live members of the shard group seen in the last round.",
            static_cast<double>(s.members));
    w.gauge("group_shards_owned", "Shards held now.", static_cast<double>(s.owned));
    w.counter("group_rounds", "Rounds run.", s.rounds);
    w.counter("group_full_rounds", "Rounds that read every shard item.", s.full_rounds);
    w.counter("group_shards_assigned", "Shards granted, by how.", "how",
              {{"free", s.assigned - s.moves_in - s.takeovers},
               {"handoff", s.moves_in},
               {"takeover", s.takeovers}});
    w.counter("group_handoffs", "Shards handed to another member.", s.handoffs);
    w.counter("group_shards_lost", "Shard leases lost.", s.lost);
    w.counter("group_handoff_requests", "Handoffs asked of other members.", s.requests);
    w.counter("group_members_ended", "Sessions of other members found ended and freed.",
              s.members_ended);
}

std::optional<std::string> shard_group_options::validate() const {
    auto ms = [](milliseconds d) { return std::to_string(d.count()) + " ms"; };
    if (group.empty() || group.size() > max_name) {
        return "group must be 1 to 512 bytes (it is " + std::to_string(group.size()) + ")";
    }
    if (shards.empty() == (shard_count == 0)) {
        return "name the shards or give shard_count, one of the two";
    }
    constexpr std::size_t max_shards = 1'000'000;
    if (shard_count > max_shards || shards.size() > max_shards) {
        return "a group has at most 1,000,000 shards";
    }
    std::set<std::string_view> seen;
    for (const auto& s : shards) {
        if (s.empty() || s.size() > max_name) {
            return "each shard name must be 1 to 512 bytes";
        }
        if (!seen.insert(s).second) {
            return "shard \"" + s + "\" is named twice";
        }
    }
    if (round < milliseconds(10) || round > std::chrono::hours(1)) {
        return "round (" + ms(round) + ") must be from 10 ms to 1 hour";
    }
    if (max_moves_per_round == 0) {
        return "max_moves_per_round must be at least 1";
    }
    if (handoff_timeout < milliseconds(1) || handoff_timeout > std::chrono::hours(24)) {
        return "handoff_timeout (" + ms(handoff_timeout) + ") must be from 1 ms to 1 day";
    }
    return std::nullopt;
}

struct owned_shard::state {
    std::string name;
    dynalock::lease lease;
    bool handoff = false;
};

const std::string& owned_shard::name() const {
    return state_->name;
}
const lease& owned_shard::lease() const {
    return state_->lease;
}
bool owned_shard::handoff_requested() const {
    return state_->handoff;
}

struct shard_group::impl {
    // Where the group's items are: one partition each with a sort key, key
    // prefixes without.
    struct layout {
        std::string group;
        bool sort_key;

        lock_key key(std::string_view kind, const std::string& name) const {
            if (sort_key) {
                return lock_key(group + "/" + std::string(kind) + "s", name);
            }
            return lock_key(group + "/" + std::string(kind) + "/" + name);
        }
        // The kind ("member", "request", "shard") and name of a group item.
        std::optional<std::pair<std::string, std::string>> parse(const lock_key& k) const {
            for (std::string_view kind : {"member", "request", "shard"}) {
                if (sort_key) {
                    if (k.sort && k.partition == group + "/" + std::string(kind) + "s") {
                        return std::pair{std::string(kind), *k.sort};
                    }
                } else if (const std::string prefix = group + "/" + std::string(kind) + "/";
                           k.partition.starts_with(prefix)) {
                    return std::pair{std::string(kind), k.partition.substr(prefix.size())};
                }
            }
            return std::nullopt;
        }
    };

    struct held_shard {
        std::shared_ptr<owned_shard::state> state;
        asio::steady_timer handoff_deadline;
    };

    impl(lock_client& c, shard_group_options o, work_function w, event_function e)
        : client(c),
          opts(std::move(o)),
          work(std::move(w)),
          on_event(std::move(e)),
          keys{opts.group, opts.sort_key},
          round_timer(c.get_executor()),
          all_done(c.get_executor()) {
        if (opts.shards.empty()) {
            for (std::size_t i = 0; i < opts.shard_count; ++i) {
                opts.shards.push_back(std::to_string(i));
            }
        }
    }

    lock_client& client;
    shard_group_options opts;
    work_function work;
    event_function on_event;
    layout keys;
    asio::steady_timer round_timer;
    // Signalled (cancelled) each time a shard's work ends.
    asio::steady_timer all_done;

    session sess;
    lease member;
    bool stopping = false;
    // The shard_group was destroyed: its callbacks may be gone, and so may
    // the client by the time a coroutine resumes; touch neither.
    bool abandoned = false;
    bool settled = false;
    std::map<std::string, session_ref> last_members;
    std::set<session_ref> ended_sessions;
    std::map<std::string, std::shared_ptr<held_shard>> held;
    std::map<std::string, std::pair<lease, lease::clock::time_point>> my_requests;
    shard_group_stats counts;

    // Thrown when a coroutine resumes after the group was destroyed: the
    // client it would call next may be gone.
    struct abandoned_error {};
    void guard() const {
        if (abandoned) {
            throw abandoned_error{};
        }
    }

    void emit(shard_event e) {
        if (on_event && !abandoned) {
            on_event(e);
        }
    }

    asio::awaitable<error_code> join() {
        session_options so{.prefix = opts.group + "/session/"};
        if (opts.sort_key) {
            so.sort = "session";
        }
        auto [ec, s] = co_await client.async_open_session(so, as_tuple);
        guard();
        if (ec) {
            co_return ec;
        }
        // A member item left by an earlier incarnation (same owner) is taken
        // once its session has ended: the wait covers that session's lease.
        auto [mec, m] = co_await client.async_acquire(
            keys.key("member", client.options().owner),
            acquire_options{.wait = client.options().lease * 2 + opts.round, .session = s},
            as_tuple);
        guard();
        if (mec) {
            co_await client.async_close_session(s, as_tuple);
            guard();
            co_return mec;
        }
        sess = s;
        member = m;
        settled = false;
        emit({.what = shard_event::kind::joined, .fence = s.epoch(), .lease = s.item_lease()});
        co_return error_code{};
    }

    asio::awaitable<std::vector<lock_record>> list(std::optional<std::string> partition) {
        auto [ec, rows] = co_await client.async_list(std::move(partition), as_tuple);
        guard();
        if (ec) {
            throw boost::system::system_error(ec);
        }
        co_return rows;
    }

    asio::awaitable<void> hold(std::shared_ptr<impl> self, std::string name, lease l,
                               shard_event assigned) {
        auto h = std::make_shared<held_shard>(
            held_shard{std::make_shared<owned_shard::state>(owned_shard::state{name, l}),
                       asio::steady_timer(client.get_executor())});
        h->handoff_deadline.expires_at(lease::clock::time_point::max());
        held[name] = h;
        ++counts.assigned;
        emit(assigned);

        using namespace asio::experimental::awaitable_operators;
        auto run_work = [](std::shared_ptr<impl> self,
                           std::shared_ptr<owned_shard::state> st) -> asio::awaitable<void> {
            try {
                co_await self->work(owned_shard(st));
            } catch (...) {
                // The work failed: the shard is released like a finished
                // one, for another attempt (here or elsewhere: the round
                // after reads the shards again).
            }
        };
        auto handoff_over = [](std::shared_ptr<held_shard> h) -> asio::awaitable<void> {
            for (;;) {
                co_await h->handoff_deadline.async_wait(as_tuple);
                if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                    co_return;
                }
                if (h->handoff_deadline.expiry() <= lease::clock::now()) {
                    co_return;
                }
            }
        };
        auto wait_lost = [](lease l) -> asio::awaitable<void> {
            co_await l.async_wait_lost(as_tuple);
        };
        co_await (run_work(self, h->state) || wait_lost(l) || handoff_over(h));
        if (abandoned) {
            held.erase(name);
            co_return;
        }

        if (!l.held()) {
            ++counts.lost;
            emit({.what = shard_event::kind::lost,
                  .shard = name,
                  .fence = l.fence(),
                  .reason = l.reason(),
                  .lease = l});
        } else {
            // Told before the release is sent: from then on the shard may be
            // granted to another member. When stopping, closing the session
            // frees it with every other shard.
            emit({.what = shard_event::kind::released,
                  .shard = name,
                  .fence = l.fence(),
                  .lease = l});
            if (!stopping) {
                if (h->state->handoff) {
                    ++counts.handoffs;
                }
                co_await client.async_release(l, as_tuple);
            }
        }
        if (auto it = held.find(name); it != held.end() && it->second == h) {
            held.erase(it);
        }
        settled = false;  // a shard left us: read the shards next round
        all_done.cancel();
    }

    void request_handoff(const std::string& name) {
        auto h = held.find(name);
        if (h == held.end() || h->second->state->handoff) {
            return;
        }
        h->second->state->handoff = true;
        h->second->handoff_deadline.expires_after(opts.handoff_timeout);
        emit({.what = shard_event::kind::handoff_requested,
              .shard = name,
              .fence = h->second->state->lease.fence()});
    }

    asio::awaitable<void> round(std::shared_ptr<impl> self) {
        ++counts.rounds;
        const std::string& me = client.options().owner;
        if (!sess.held()) {
            if (!sess.empty()) {
                emit({.what = shard_event::kind::left,
                      .fence = sess.epoch(),
                      .reason = sess.reason()});
                sess = {};
                my_requests.clear();
            }
            if (auto ec = co_await join()) {
                if (ec == errc::client_closed) {
                    throw boost::system::system_error(ec);
                }
            }
            // Shards from the next round on: workers started together see
            // each other then, instead of the first taking everything.
            co_return;
        }

        std::vector<lock_record> members, requests, shards;
        bool shards_read = false;
        auto sort_rows = [&](std::vector<lock_record> rows) {
            for (auto& r : rows) {
                auto kind = keys.parse(r.key);
                if (!kind || r.malformed) {
                    continue;
                }
                auto& to = kind->first == "member"    ? members
                           : kind->first == "request" ? requests
                                                      : shards;
                to.push_back(std::move(r));
            }
        };
        if (opts.sort_key) {
            sort_rows(co_await list(opts.group + "/members"));
            sort_rows(co_await list(opts.group + "/requests"));
        } else {
            sort_rows(co_await list(std::nullopt));
            shards_read = true;
        }

        // Who is alive: a member item under a session that is not seen to
        // stand still, which costs reads only. One that stood still for its
        // lease is ended by taking its member item (one write), which frees
        // all that member's shards at once.
        std::map<std::string, session_ref> session_of;
        session_of[me] = *member.bound_session();
        for (const auto& r : members) {
            const std::string name = keys.parse(r.key)->second;
            if (name == me || r.released || !r.session || ended_sessions.contains(*r.session)) {
                continue;
            }
            auto [ec, status] = co_await client.async_observe_session(*r.session, as_tuple);
            guard();
            if (!ec && status == session_status::stood_still) {
                auto [taken, probe] = co_await client.async_try_acquire(r.key, as_tuple);
                guard();
                if (!taken) {
                    ++counts.members_ended;
                    co_await client.async_release(probe, as_tuple);
                    guard();
                    status = session_status::ended;
                }
            }
            if (!ec && status == session_status::ended) {
                ended_sessions.insert(*r.session);
                continue;
            }
            // Alive, or not known: its shards are not ours to take.
            session_of[name] = *r.session;
        }
        std::set<std::string> live;
        for (const auto& [name, s] : session_of) {
            live.insert(name);
        }
        // By session, not name: a member that rejoined has new shards to read.
        const bool members_changed = session_of != last_members;
        last_members = session_of;
        counts.members = live.size();

        groups::shard_view view{.self = me,
                                .members = {live.begin(), live.end()},
                                .shards = opts.shards,
                                .max_moves = opts.max_moves_per_round};
        for (const auto& r : requests) {
            const std::string shard = keys.parse(r.key)->second;
            if (!r.released && r.session && live.contains(r.owner) &&
                session_of[r.owner] == *r.session) {
                view.requested_by[shard] = r.owner;
                if (r.owner != me) {
                    request_handoff(shard);
                }
            }
        }
        // Requests of ours that are served or stale are withdrawn.
        for (auto it = my_requests.begin(); it != my_requests.end();) {
            const bool stale = lease::clock::now() - it->second.second > 2 * opts.handoff_timeout;
            if (held.contains(it->first) || stale || !it->second.first.held()) {
                co_await client.async_release(it->second.first, as_tuple);
                guard();
                view.requested_by.erase(it->first);
                it = my_requests.erase(it);
            } else {
                ++it;
            }
        }

        const bool need_shards = !settled || members_changed || !view.requested_by.empty();
        if (!need_shards) {
            co_return;
        }
        ++counts.full_rounds;
        if (!shards_read) {
            sort_rows(co_await list(opts.group + "/shards"));
        }
        std::map<session_ref, std::string> member_by_session;
        for (const auto& [name, s] : session_of) {
            member_by_session[s] = name;
        }
        std::set<std::string> free;
        for (const auto& r : shards) {
            const std::string shard = keys.parse(r.key)->second;
            if (r.released) {
                free.insert(shard);
            } else if (r.session) {
                if (auto m = member_by_session.find(*r.session); m != member_by_session.end()) {
                    view.holder[shard] = m->second;
                }
            }
        }
        for (const auto& [name, h] : held) {
            // A shard of a session lost meanwhile is not ours any more, even
            // while its work is still being cancelled.
            if (h->state->lease.held()) {
                view.holder[name] = me;
            }
        }
        std::set<std::string> existing;
        for (const auto& r : shards) {
            existing.insert(keys.parse(r.key)->second);
        }

        const groups::shard_plan plan = groups::plan_shards(view);
        if (!plan.take.empty() && !stopping) {
            std::vector<lock_key> take;
            for (const auto& s : plan.take) {
                take.push_back(keys.key("shard", s));
            }
            auto [ec, got] = co_await client.async_acquire_many(
                std::move(take), acquire_many_options{.each = {.session = sess}}, as_tuple);
            guard();
            for (auto& l : got.granted) {
                std::string name = keys.parse(l.key())->second;
                const bool handed = view.requested_by.contains(name);
                const bool takeover = !handed && existing.contains(name) && !free.contains(name);
                counts.moves_in += handed ? 1 : 0;
                counts.takeovers += takeover ? 1 : 0;
                shard_event e{.what = shard_event::kind::assigned,
                              .shard = name,
                              .fence = l.fence(),
                              .lease = l,
                              .takeover = takeover,
                              .handoff = handed};
                asio::co_spawn(client.get_executor(), hold(self, name, l, std::move(e)),
                               asio::detached);
            }
        }
        for (const auto& s : plan.request) {
            if (stopping) {
                break;
            }
            auto [ec, r] = co_await client.async_try_acquire(
                keys.key("request", s), acquire_options{.session = sess}, as_tuple);
            guard();
            if (!ec) {
                ++counts.requests;
                my_requests.emplace(s, std::pair{r, lease::clock::now()});
            }
        }
        settled = plan.take.empty() && plan.request.empty() && my_requests.empty() &&
                  view.requested_by.empty();
    }

    asio::awaitable<void> leave() {
        for (auto& [name, h] : held) {
            request_handoff(name);
        }
        while (!held.empty()) {
            all_done.expires_at(lease::clock::time_point::max());
            co_await all_done.async_wait(as_tuple);
            guard();
        }
        if (!sess.empty()) {
            const std::uint64_t epoch = sess.epoch();
            co_await client.async_close_session(sess, as_tuple);
            emit(
                {.what = shard_event::kind::left, .fence = epoch, .reason = loss_reason::released});
        }
    }
};

shard_group::shard_group(lock_client& client, shard_group_options options, work_function work,
                         event_function on_event) {
    if (auto why = options.validate()) {
        throw std::system_error(make_error_code(errc::invalid_argument), "shard_group: " + *why);
    }
    if (!work) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "shard_group: work must be set");
    }
    impl_ =
        std::make_shared<impl>(client, std::move(options), std::move(work), std::move(on_event));
}

shard_group::~shard_group() {
    // The client outlives the group: close the session now (one write frees
    // every shard and ends their leases, which cancels their work), and let
    // no coroutine touch the client or the callbacks when it resumes.
    impl& g = *impl_;
    g.stopping = true;
    g.abandoned = true;
    g.round_timer.cancel();
    g.all_done.cancel();
    if (!g.sess.empty() && g.sess.held()) {
        g.client.async_close_session(g.sess, asio::detached);
    }
}

asio::any_io_executor shard_group::get_executor() const {
    return impl_->client.get_executor();
}
const shard_group_options& shard_group::options() const noexcept {
    return impl_->opts;
}

shard_group_stats shard_group::stats() const {
    shard_group_stats s = impl_->counts;
    s.owned = impl_->held.size();
    return s;
}

std::vector<std::string> shard_group::owned() const {
    std::vector<std::string> names;
    for (const auto& [name, h] : impl_->held) {
        names.push_back(name);
    }
    return names;
}

void shard_group::stop() {
    impl_->stopping = true;
    impl_->round_timer.cancel();
}

asio::awaitable<error_code> shard_group::run() {
    auto self = impl_;
    co_await asio::this_coro::reset_cancellation_state(asio::enable_terminal_cancellation());
    error_code result;
    try {
        while (!self->stopping) {
            try {
                co_await self->round(self);
            } catch (const boost::system::system_error& e) {
                if (e.code() == errc::client_closed) {
                    result = e.code();
                    break;
                }
                // Anything else (the store unreachable, throttled): the next
                // round tries again; the session's heartbeats go on meanwhile.
            } catch (const std::exception&) {
                // As above (a bad_alloc, say): rounds go on, and a stop
                // still hands every shard back.
            }
            if (self->stopping || detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                break;
            }
            self->round_timer.expires_after(self->opts.round);
            co_await self->round_timer.async_wait(as_tuple);
            self->guard();
            if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                break;
            }
        }
        self->stopping = true;
        // The caller's cancellation stops the rounds; leaving must still run.
        co_await asio::this_coro::reset_cancellation_state();
        if (!result) {
            co_await self->leave();
        }
    } catch (const impl::abandoned_error&) {
        // The group was destroyed (its destructor closed the session).
        result = make_error_code(asio::error::operation_aborted);
    }
    co_return result;
}

}  // namespace dynalock
