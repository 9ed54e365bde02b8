#pragma once

// A scriptable raw TCP responder for the pool's tests. A fake on purpose: no
// real HTTP server sends garbage, truncated responses, silence or a close right
// after reading a request on demand, and those are the paths under test. Each
// accepted connection runs the script with its index (0 for the first).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace dynalock::http::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using wire_request = beast::http::request<beast::http::string_body>;

/// What a script uses to talk to one accepted client.
struct peer {
    tcp::socket socket;
    beast::flat_buffer buffer;

    /// The next request, or nullopt when the client closed or sent garbage.
    asio::awaitable<std::optional<wire_request>> read_request() {
        wire_request req;
        auto [ec, n] = co_await beast::http::async_read(socket, buffer, req,
                                                        asio::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return std::nullopt;
        }
        co_return req;
    }

    asio::awaitable<void> send(std::string bytes) {
        co_await asio::async_write(socket, asio::buffer(bytes),
                                   asio::as_tuple(asio::use_awaitable));
    }

    /// Keeps the connection open without answering, until the client leaves.
    asio::awaitable<void> wait_for_close() {
        char byte = 0;
        for (;;) {
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(&byte, 1),
                                                           asio::as_tuple(asio::use_awaitable));
            if (ec) {
                co_return;
            }
        }
    }

    asio::awaitable<void> sleep(std::chrono::milliseconds d) {
        asio::steady_timer timer(socket.get_executor(), d);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
};

inline std::string http_response(std::string_view body, std::string_view extra_headers = {}) {
    std::string r =
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: ";
    r.append(std::to_string(body.size()))
        .append("\r\n")
        .append(extra_headers)
        .append("\r\n")
        .append(body);
    return r;
}

class script_server {
public:
    using script = std::function<asio::awaitable<void>(peer&, std::size_t connection_index)>;

    script_server(asio::io_context& io, script s)
        : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          script_(std::move(s)) {
        asio::co_spawn(io, accept_loop(), asio::detached);
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::size_t accepted() const { return accepted_; }
    std::size_t max_concurrent() const { return max_concurrent_; }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] =
                co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                co_return;
            }
            asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket), accepted_++),
                           asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket socket, std::size_t index) {
        peer p{std::move(socket), {}};
        max_concurrent_ = std::max(max_concurrent_, ++concurrent_);
        co_await script_(p, index);
        --concurrent_;
    }

    tcp::acceptor acceptor_;
    script script_;
    std::size_t accepted_ = 0;
    std::size_t concurrent_ = 0;
    std::size_t max_concurrent_ = 0;
};

/// A script that answers every request on every connection with `body`, keep-alive.
inline script_server::script answer_all(std::string body) {
    return [body = std::move(body)](peer& p, std::size_t) -> asio::awaitable<void> {
        while (co_await p.read_request()) {
            co_await p.send(http_response(body, "x-amzn-RequestId: req-1\r\n"));
        }
    };
}

}  // namespace dynalock::http::test
