#pragma once

// A /metrics endpoint for the examples: plain HTTP on 127.0.0.1, answering
// `GET /metrics` with what a callback renders (dynalock::to_prometheus of a
// client's stats, say) in Prometheus's text format. One request per
// connection; loopback only, as a sidecar scraper or a test reaches it.

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace examples {

struct metrics_server_state;

class metrics_server {
public:
    /// Listens on 127.0.0.1:`port` (0: a free port, see port()) and serves
    /// until stop(). Throws std::system_error when it cannot listen (the
    /// port is taken, say). `render` runs on `ex` for each scrape.
    metrics_server(boost::asio::any_io_executor ex, std::uint16_t port,
                   std::function<std::string()> render);
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    /// The port it listens on.
    std::uint16_t port() const noexcept;
    /// Stops listening and ends connections being served; idempotent.
    void stop();

private:
    std::shared_ptr<metrics_server_state> state_;
};

/// Removes `--metrics-port PORT` from the program's arguments, when there,
/// and returns PORT (0: any free port). Throws std::invalid_argument saying
/// what is wrong when PORT is missing or not a port number.
std::optional<std::uint16_t> take_metrics_port(int& argc, char** argv);

}  // namespace examples
