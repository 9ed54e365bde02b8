#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace dynalock::harness {

/// Where the DynamoDB-compatible server listens (plain HTTP only).
struct server_address {
    std::string host;
    std::uint16_t port = 0;
    std::string url;  ///< "http://host:port", for client_options::endpoint_url
};

/// Parses "http://host:port"; throws std::invalid_argument for anything else
/// (the floor speaks raw TCP, so no TLS).
server_address parse_endpoint_url(std::string_view url);

/// The server a bench or the torture test talks to: the one named by
/// `--endpoint-url`, or else a dynalite started now on a free loopback port as
/// a child in its own process group, and stopped (SIGTERM, then SIGKILL, then
/// reaped) by the destructor or when this process gets SIGINT, SIGTERM or
/// SIGHUP; should the program die any other way, the kernel sends dynalite
/// SIGTERM (PR_SET_PDEATHSIG).
///
/// dynalite's cli.js is found through `DYNALOCK_DYNALITE_JS`, else under the
/// source tree's node_modules (`npm ci`, see tools/setup.sh). Its output goes
/// to our stderr, keeping stdout for results.
///
/// Only one object at a time may own a dynalite (the signal handlers track one child).
class dynamodb_server {
public:
    explicit dynamodb_server(std::string_view endpoint_url);
    ~dynamodb_server();
    dynamodb_server(const dynamodb_server&) = delete;
    dynamodb_server& operator=(const dynamodb_server&) = delete;

    const server_address& address() const noexcept { return address_; }

private:
    server_address address_;
    pid_t child_ = -1;
};

}  // namespace dynalock::harness
