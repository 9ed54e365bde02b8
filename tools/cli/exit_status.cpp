#include "exit_status.hpp"

#include <sys/wait.h>

namespace dynalock::cli {

int exit_status_for(error_code ec) noexcept {
    if (ec.category() != dynalock_category()) {
        return exit_unavailable;
    }
    switch (static_cast<errc>(ec.value())) {
        case errc::invalid_argument:
        case errc::region_missing:
        case errc::invalid_endpoint:
        case errc::invalid_config:
        case errc::value_too_large:
            return exit_usage;
        case errc::malformed_item:
        case errc::fence_exhausted:
            return exit_bad_row;
        case errc::lock_not_granted:
            return exit_not_granted;
        case errc::lease_lost:
            return exit_lease_lost;
        default:
            return exit_unavailable;
    }
}

int exit_status_for_command(int wait_status, bool lease_held_throughout) noexcept {
    if (!lease_held_throughout) {
        return exit_lease_lost;
    }
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return WEXITSTATUS(wait_status);
}

}  // namespace dynalock::cli
