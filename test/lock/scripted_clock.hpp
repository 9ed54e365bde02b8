#pragma once

// What the machine tests share: a steady clock advanced by hand (times are
// written and printed as milliseconds after t0, so a failure reads as a
// timeline) and the lock they script.

#include <dynalock/lock_record.hpp>

#include <chrono>
#include <string>

namespace dynalock::lock::test {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline const clock::time_point t0 = clock::time_point{} + std::chrono::hours(1);

inline clock::time_point at(milliseconds offset) {
    return t0 + offset;
}

inline long long ms(clock::time_point t) {
    return std::chrono::duration_cast<milliseconds>(t - t0).count();
}

inline const lock_key key{"orders", "eu"};
inline const std::string me = "me";

}  // namespace dynalock::lock::test
