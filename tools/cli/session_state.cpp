#include "session_state.hpp"

#include "session_end.hpp"

namespace dynalock::cli {

std::string_view to_string(session_state state) noexcept {
    switch (state) {
        case session_state::held:
            return "held";
        case session_state::ended:
            return "ended";
        case session_state::gone:
            return "gone";
        case session_state::malformed:
            return "malformed";
    }
    return "unknown";
}

session_state state_of(const std::optional<lock_record>& item, std::uint64_t epoch) noexcept {
    if (!item) {
        return session_state::gone;
    }
    // Checked before malformed, as contenders do: a released item or one at
    // another epoch frees the lock whatever else is wrong with it.
    if (lock::session_ended(item, epoch)) {
        return session_state::ended;
    }
    return item->malformed ? session_state::malformed : session_state::held;
}

}  // namespace dynalock::cli
