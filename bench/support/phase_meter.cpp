#include "phase_meter.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace dynalock::bench {
namespace {

rusage process_usage() {
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        throw std::system_error(errno, std::generic_category(), "getrusage");
    return usage;
}

std::int64_t us(const timeval& t) {
    return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_usec;
}

std::int64_t cpu_us(const rusage& usage) {
    return us(usage.ru_utime) + us(usage.ru_stime);
}

}  // namespace

phase_meter::phase_meter() : wall_start_(std::chrono::steady_clock::now()) {
    const auto usage = process_usage();
    cpu_start_us_ = cpu_us(usage);
    system_cpu_start_us_ = us(usage.ru_stime);
    sleeps_start_ = usage.ru_nvcsw;
}

phase_cost phase_meter::elapsed() const {
    const auto usage = process_usage();
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_start_;
    return {wall.count(), static_cast<double>(cpu_us(usage) - cpu_start_us_),
            static_cast<double>(us(usage.ru_stime) - system_cpu_start_us_),
            static_cast<std::uint64_t>(usage.ru_nvcsw - sleeps_start_)};
}

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size_pages = 0;
    std::uint64_t resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages))
        throw std::runtime_error("cannot read /proc/self/statm");
    return resident_pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::uint64_t heap_bytes_in_use() {
    return ::mallinfo2().uordblks;
}

}  // namespace dynalock::bench
