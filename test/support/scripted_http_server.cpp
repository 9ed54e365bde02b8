#include "support/scripted_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <deque>
#include <utility>

namespace dynalock::test {

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

// Shared by the server object and every coroutine it started, so that a
// connection that ends after the server object still finds it.
struct http_peer::shared {
    explicit shared(asio::io_context& io)
        : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

    tcp::acceptor acceptor;
    scripted_http_server::script script;
    std::deque<scripted_reply> replies;
    std::vector<wire_request> requests;
    std::vector<std::weak_ptr<http_peer>> peers;  // closed when the server goes
    std::size_t accepted = 0;
    std::size_t concurrent = 0;
    std::size_t max_concurrent = 0;
};

std::string http_response(unsigned status, std::string_view body, std::string_view extra_headers) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " " +
                    std::string(beast_http::obsolete_reason(beast_http::int_to_status(status))) +
                    "\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
    r.append(extra_headers).append("\r\n").append(body);
    return r;
}

scripted_reply scripted_reply::http(unsigned status, std::string body, std::string extra_headers) {
    return {.status = status, .body = std::move(body), .extra_headers = std::move(extra_headers)};
}
scripted_reply scripted_reply::bytes(std::string raw) {
    return {.raw = std::move(raw)};
}
scripted_reply scripted_reply::close() {
    return {.action = kind::close};
}
scripted_reply scripted_reply::hang() {
    return {.action = kind::hang};
}

http_peer::http_peer(tcp::socket socket, std::shared_ptr<shared> server)
    : socket_(std::move(socket)), server_(std::move(server)) {}

asio::awaitable<std::optional<wire_request>> http_peer::read_request() {
    wire_request req;
    auto reading = beast_http::async_read(socket_, buffer_, req, use_tuple);
    auto [ec, n] = co_await std::move(reading);
    if (ec) {
        co_return std::nullopt;
    }
    server_->requests.push_back(req);
    co_return req;
}

asio::awaitable<void> http_peer::send(std::string bytes) {
    auto writing = asio::async_write(socket_, asio::buffer(bytes), use_tuple);
    co_await std::move(writing);
}

asio::awaitable<void> http_peer::send(wire_response response) {
    response.prepare_payload();
    auto writing = beast_http::async_write(socket_, response, use_tuple);
    co_await std::move(writing);
}

asio::awaitable<bool> http_peer::answer(scripted_reply reply) {
    if (reply.delay.count() > 0) {
        co_await sleep(reply.delay);
    }
    switch (reply.action) {
        case scripted_reply::kind::close:
            close();
            co_return false;
        case scripted_reply::kind::hang:
            co_await wait_for_close();
            co_return false;
        case scripted_reply::kind::respond:
            break;
    }
    std::string bytes = reply.raw ? std::move(*reply.raw)
                                  : http_response(reply.status, reply.body, reply.extra_headers);
    co_await send(std::move(bytes));
    co_return true;
}

asio::awaitable<void> http_peer::wait_for_close() {
    char byte = 0;
    for (;;) {
        auto reading = socket_.async_read_some(asio::buffer(&byte, 1), use_tuple);
        auto [ec, n] = co_await std::move(reading);
        if (ec) {
            co_return;
        }
    }
}

asio::awaitable<void> http_peer::sleep(std::chrono::milliseconds duration) {
    asio::steady_timer timer(socket_.get_executor(), duration);
    co_await timer.async_wait(use_tuple);
}

void http_peer::close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

namespace {

asio::awaitable<void> serve(std::shared_ptr<http_peer> peer, scripted_http_server::script& script,
                            std::size_t& concurrent, std::size_t& max_concurrent,
                            std::size_t index) {
    max_concurrent = std::max(max_concurrent, ++concurrent);
    co_await script(*peer, index);
    --concurrent;
}

}  // namespace

scripted_http_server::scripted_http_server(asio::io_context& io)
    : scripted_http_server(io, nullptr) {
    // Reached through the raw pointer: the script is stored in the state itself.
    shared_->script = [state = shared_.get()](http_peer& p, std::size_t) -> asio::awaitable<void> {
        while (co_await p.read_request()) {
            if (state->replies.empty()) {
                p.close();
                co_return;
            }
            scripted_reply next = std::move(state->replies.front());
            state->replies.pop_front();
            if (!co_await p.answer(std::move(next))) {
                co_return;
            }
        }
    };
}

scripted_http_server::scripted_http_server(asio::io_context& io, script s)
    : shared_(std::make_shared<http_peer::shared>(io)) {
    shared_->script = std::move(s);
    auto accept_loop = [](std::shared_ptr<http_peer::shared> state) -> asio::awaitable<void> {
        for (;;) {
            auto accepting = state->acceptor.async_accept(use_tuple);
            auto [ec, socket] = co_await std::move(accepting);
            if (ec) {
                co_return;
            }
            auto peer = std::shared_ptr<http_peer>(new http_peer(std::move(socket), state));
            state->peers.push_back(peer);
            asio::co_spawn(state->acceptor.get_executor(),
                           serve(std::move(peer), state->script, state->concurrent,
                                 state->max_concurrent, state->accepted++),
                           asio::detached);
        }
    };
    asio::co_spawn(io, accept_loop(shared_), asio::detached);
}

scripted_http_server::~scripted_http_server() {
    boost::system::error_code ignored;
    shared_->acceptor.close(ignored);
    for (const auto& weak : shared_->peers) {
        if (auto peer = weak.lock()) {
            peer->close();
        }
    }
}

std::uint16_t scripted_http_server::port() const {
    return shared_->acceptor.local_endpoint().port();
}

std::string scripted_http_server::url() const {
    return "http://127.0.0.1:" + std::to_string(port());
}

void scripted_http_server::push(scripted_reply reply) {
    shared_->replies.push_back(std::move(reply));
}

const std::vector<wire_request>& scripted_http_server::requests() const {
    return shared_->requests;
}

std::vector<std::string> scripted_http_server::request_lines() const {
    std::vector<std::string> lines;
    for (const wire_request& req : shared_->requests) {
        lines.push_back(std::string(req.method_string()) + " " + std::string(req.target()));
    }
    return lines;
}

void scripted_http_server::forget_requests() {
    shared_->requests.clear();
}

std::size_t scripted_http_server::accepted() const {
    return shared_->accepted;
}

std::size_t scripted_http_server::max_concurrent() const {
    return shared_->max_concurrent;
}

scripted_http_server::script answer_each(
    std::function<scripted_reply(const wire_request&)> respond) {
    return [respond = std::move(respond)](http_peer& p, std::size_t) -> asio::awaitable<void> {
        while (auto req = co_await p.read_request()) {
            scripted_reply reply = respond(*req);
            if (!co_await p.answer(std::move(reply))) {
                co_return;
            }
        }
    };
}

scripted_http_server::script answer_all(std::string body) {
    return answer_each([body = std::move(body)](const wire_request&) {
        return scripted_reply::http(200, body, "x-amzn-RequestId: req-1\r\n");
    });
}

std::uint16_t free_loopback_port() {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return probe.local_endpoint().port();
}

}  // namespace dynalock::test
