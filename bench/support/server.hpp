#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace dynalock::bench {

/// Where the DynamoDB-compatible server listens (plain HTTP only).
struct endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string url;  ///< "http://host:port", for client_options::endpoint_url
};

/// Parses "http://host:port"; throws std::invalid_argument for anything else
/// (the floor speaks raw TCP, so no TLS).
endpoint parse_endpoint_url(std::string_view url);

/// The server a bench talks to: the one named by `--endpoint-url`, or else a
/// dynalite started now on a free loopback port as a child in its own process
/// group, and stopped (SIGTERM, then SIGKILL, then reaped) by the destructor or
/// when this process gets SIGINT, SIGTERM or SIGHUP; should the bench die any
/// other way, the kernel sends dynalite SIGTERM (PR_SET_PDEATHSIG).
///
/// dynalite's cli.js is found through `DYNALOCK_DYNALITE_JS`, else under the
/// source tree's node_modules (`npm ci`, see tools/setup.sh). Its output goes
/// to our stderr, keeping stdout for results.
///
/// Only one object at a time may own a dynalite (the signal handlers track one child).
class bench_server {
public:
    explicit bench_server(std::string_view endpoint_url);
    ~bench_server();
    bench_server(const bench_server&) = delete;
    bench_server& operator=(const bench_server&) = delete;

    const endpoint& address() const noexcept { return address_; }

private:
    endpoint address_;
    pid_t child_ = -1;
};

}  // namespace dynalock::bench
