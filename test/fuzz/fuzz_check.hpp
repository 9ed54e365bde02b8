#pragma once
// What the fuzz targets share: a failed property check is a crash, so that
// libFuzzer keeps the input that broke it.
#include <cstdio>
#include <cstdlib>

namespace dynalock::fuzz {

inline void require(bool holds, const char* property) {
    if (!holds) {
        std::fprintf(stderr, "fuzz property violated: %s\n", property);
        std::abort();
    }
}

}  // namespace dynalock::fuzz
