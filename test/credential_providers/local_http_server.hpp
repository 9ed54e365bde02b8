#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace dynalock::test {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

struct scripted_reply {
    unsigned status = 200;
    std::string body{};
    /// Waits this long before answering, to play a slow endpoint.
    std::chrono::milliseconds delay{0};
};

/// An HTTP/1.1 server on 127.0.0.1 (a free port) that answers each request
/// with what `handler` returns and records what it received. It runs on the
/// test's io_context and ends with it.
class local_http_server {
public:
    using request = beast_http::request<beast_http::string_body>;
    using handler = std::function<scripted_reply(const request&)>;

    local_http_server(asio::io_context& ctx, handler h)
        : acceptor_(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          handler_(std::move(h)) {
        asio::co_spawn(ctx, accept_loop(), asio::detached);
    }

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }

    /// "METHOD target" of every request received, in order.
    std::vector<std::string> received;

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto accept = acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            auto [ec, socket] = co_await std::move(accept);
            if (ec) {
                co_return;
            }
            asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
        boost::beast::flat_buffer buffer;
        for (;;) {
            request req;
            auto read =
                beast_http::async_read(socket, buffer, req, asio::as_tuple(asio::use_awaitable));
            auto [read_error, n] = co_await std::move(read);
            if (read_error) {
                co_return;
            }
            received.push_back(std::string(req.method_string()) + " " + std::string(req.target()));
            scripted_reply reply = handler_(req);
            if (reply.delay.count() > 0) {
                asio::steady_timer timer(socket.get_executor(), reply.delay);
                auto wait = timer.async_wait(asio::as_tuple(asio::use_awaitable));
                co_await std::move(wait);
            }
            beast_http::response<beast_http::string_body> res;
            res.result(reply.status);
            res.version(11);
            res.body() = std::move(reply.body);
            res.prepare_payload();
            auto write = beast_http::async_write(socket, res, asio::as_tuple(asio::use_awaitable));
            auto [write_error, m] = co_await std::move(write);
            if (write_error) {
                co_return;
            }
        }
    }

    asio::ip::tcp::acceptor acceptor_;
    handler handler_;
};

/// A loopback port where nothing listens: connecting is refused at once.
inline std::uint16_t closed_port(asio::io_context& ctx) {
    asio::ip::tcp::acceptor probe(ctx,
                                  asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return probe.local_endpoint().port();
}

}  // namespace dynalock::test
