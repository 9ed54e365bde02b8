#pragma once

// A session's item as a read finds it, at `fence` (the session's epoch): what
// the tests of the rule of when a session has ended judge (lock_session_end,
// cli_session_state).

#include <dynalock/lock_record.hpp>

#include <chrono>
#include <cstdint>

namespace dynalock::test {

inline lock_record session_item(std::uint64_t fence) {
    return lock_record{.key = {"session/0123"},
                       .owner = "worker",
                       .lease = std::chrono::seconds(20),
                       .record_version = "v1",
                       .fence = fence,
                       .is_session = true};
}

}  // namespace dynalock::test
