#include <dynalock/lock_event.hpp>

#include "lock/lock_item.hpp"

#include <array>
#include <cstdio>

namespace dynalock {

namespace {

std::string seconds(std::chrono::milliseconds d) {
    const auto ms = d.count();
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%s%lld.%03llds", ms < 0 ? "-" : "",
                  static_cast<long long>((ms < 0 ? -ms : ms) / 1000),
                  static_cast<long long>((ms < 0 ? -ms : ms) % 1000));
    return text.data();
}

}  // namespace

std::string_view to_string(lock_event_kind kind) noexcept {
    switch (kind) {
        case lock_event_kind::acquired:
            return "acquired";
        case lock_event_kind::released:
            return "released";
        case lock_event_kind::lost:
            return "lost";
        case lock_event_kind::heartbeat_failed:
            return "heartbeat_failed";
        case lock_event_kind::danger:
            return "danger";
        case lock_event_kind::throttled:
            return "throttled";
        case lock_event_kind::session_opened:
            return "session_opened";
        case lock_event_kind::session_closed:
            return "session_closed";
        case lock_event_kind::session_lost:
            return "session_lost";
        case lock_event_kind::session_killed:
            return "session_killed";
    }
    return "unknown";
}

std::string to_string(const lock_event& e) {
    using kind = lock_event_kind;
    std::string line(to_string(e.kind));
    line += ' ';
    line += lock::describe_lock(e.key);
    if (e.fence != 0) {
        line += " fence=" + std::to_string(e.fence);
    }
    if (e.reason != loss_reason::none) {
        line += " reason=";
        line += to_string(e.reason);
    }
    if (e.error) {
        line += " error=\"" + e.error.message() + '"';
    }
    if (e.kind == kind::heartbeat_failed || e.kind == kind::danger) {
        line += " remaining=" + seconds(e.remaining);
    }
    if (e.kind == kind::lost || e.kind == kind::session_lost) {
        line += " since_renewal=" + seconds(e.since_renewal);
    }
    return line;
}

}  // namespace dynalock
