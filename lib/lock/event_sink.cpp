#include "lock/event_sink.hpp"

#include <boost/asio/post.hpp>

#include <utility>

namespace dynalock::detail {

event_sink::event_sink(boost::asio::any_io_executor ex,
                       std::function<void(const lock_event&)> hook) {
    if (hook) {
        state_ = std::make_shared<state>(state{.ex = std::move(ex), .hook = std::move(hook)});
    }
}

void event_sink::raise(lock_event e) {
    if (!*this) {
        return;
    }
    state_->queued.push_back(std::move(e));
    if (!state_->posted) {
        state_->posted = true;
        boost::asio::post(state_->ex, [s = state_] { deliver(s); });
    }
}

void event_sink::stop() noexcept {
    if (state_) {
        state_->stopped = true;
        state_->queued.clear();
    }
}

void event_sink::deliver(const std::shared_ptr<state>& s) {
    s->posted = false;
    // Events the hook raises (by calling into the client) queue for the next
    // batch.
    std::swap(s->queued, s->delivering);
    // A hook that throws ends the batch (the exception leaves the
    // executor's run()); the rest of it is dropped, not delivered twice.
    struct cleared {
        std::vector<lock_event>& events;
        ~cleared() { events.clear(); }
    } guard{s->delivering};
    for (const lock_event& e : s->delivering) {
        if (s->stopped) {
            break;
        }
        s->hook(e);
    }
}

}  // namespace dynalock::detail
