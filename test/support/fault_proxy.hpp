#pragma once

// A fault-injecting HTTP/1.1 proxy for tests: it sits between a DynamoDB
// client and a real server (dynalite, moto) on loopback and, per request,
// delays, drops the response after the server applied the request, resets the
// connection, never answers, trickles the answer, or answers in the server's
// place with a throttling error or a 500. A real server cannot be asked to do
// any of that, and these are the conditions that break locks.
//
// It frames requests and responses (Content-Length, chunked, keep-alive) so
// that faults apply to single requests on a kept-alive connection. Each client
// connection gets its own upstream connection.
//
// Control (set_plan, inject, counters) is thread-safe; the proxy's I/O runs on
// the executor given to it, and close() must be called on that executor's
// thread or while nothing runs it.

#include "aws/endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::test {

/// What the proxy does to requests that no injected fault is queued for.
/// Shares are probabilities in [0,1] per request; they are exclusive (one
/// draw picks at most one fault) and taken in the order declared here.
struct fault_plan {
    /// Added to every request before it is forwarded or answered: fixed plus
    /// a uniformly random part in [0, latency_jitter].
    std::chrono::milliseconds latency{};
    std::chrono::milliseconds latency_jitter{};
    double drop_response = 0, reset_request = 0, reset_response = 0;
    double throttle = 0, server_error = 0, trickle = 0;
    /// Every request: read, never answered, the connection kept open.
    bool blackhole = false;
    /// For trickle: this many response bytes per interval.
    std::size_t trickle_bytes = 16;
    std::chrono::milliseconds trickle_interval{10};
};

enum class fault {
    none,            ///< forwarded and answered faithfully
    drop_response,   ///< forwarded, the response read and thrown away, the client connection closed
    reset_request,   ///< never forwarded: the client connection reset (RST)
    reset_response,  ///< forwarded, part of the response sent, then RST
    throttle,        ///< never forwarded: HTTP 400 ThrottlingException
    server_error,    ///< never forwarded: HTTP 500
    trickle,         ///< forwarded, the response sent a few bytes at a time
    blackhole,       ///< read, never forwarded nor answered
};

struct fault_counters {
    std::uint64_t connections = 0;        ///< client connections accepted
    std::uint64_t requests = 0;           ///< requests read from clients
    std::uint64_t forwarded = 0;          ///< requests written to the server
    std::uint64_t answered = 0;           ///< complete responses written to clients
    std::uint64_t delayed = 0;            ///< requests given latency
    std::uint64_t upstream_failures = 0;  ///< server connections that failed mid-exchange
    std::uint64_t drop_response = 0, reset_request = 0, reset_response = 0;
    std::uint64_t throttle = 0, server_error = 0, trickle = 0, blackhole = 0;

    /// The counter of one fault (`none`: requests that got no fault).
    std::uint64_t applied(fault f) const;
};

/// Host and port of a server URL such as DYNALOCK_TEST_DYNALITE_URL, to put a
/// proxy in front of it. Throws std::invalid_argument on a URL that is not
/// `http://host:port`.
aws::endpoint upstream_endpoint(std::string_view url);

class fault_proxy {
public:
    /// Listens on 127.0.0.1, on a free port, at once. `seed` makes the
    /// plan's draws repeatable.
    fault_proxy(boost::asio::any_io_executor ex, std::string upstream_host,
                std::uint16_t upstream_port, std::optional<std::uint64_t> seed = {});
    /// Closes (see close()).
    ~fault_proxy();
    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    /// "http://127.0.0.1:PORT"
    std::string url() const;
    std::uint16_t port() const;

    /// Applies to requests read after this call.
    void set_plan(fault_plan p);
    fault_plan plan() const;
    /// The next requests read get these faults, in order, before the plan is
    /// drawn from again (the plan's latency still applies to them).
    void inject(std::vector<fault> next);
    /// Injected faults not yet used.
    std::size_t pending() const;
    fault_counters counters() const;

    /// Stops accepting and closes every connection (requests in flight are
    /// abandoned). Idempotent.
    void close();

    struct state;  // the implementation's; public only so its helpers can name it

private:
    std::shared_ptr<state> state_;
};

}  // namespace dynalock::test
