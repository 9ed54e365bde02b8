#include "metrics_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <list>
#include <stdexcept>
#include <string_view>

namespace examples {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto as_tuple = asio::as_tuple(asio::deferred);
// A scraper sends one small request at once; anything slower is dropped.
constexpr std::chrono::seconds request_timeout{10};

}  // namespace

struct metrics_server_state {
    metrics_server_state(asio::any_io_executor ex, std::function<std::string()> r)
        : acceptor(ex), render(std::move(r)) {}

    tcp::acceptor acceptor;
    std::function<std::string()> render;
    // Connections being served, so that stop() can end them.
    std::list<beast::tcp_stream*> open;
    bool stopped = false;
};

namespace {

http::response<http::string_body> answer(const http::request<http::string_body>& req,
                                         const std::function<std::string()>& render) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(false);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    if (req.target() != "/metrics") {
        res.result(http::status::not_found);
        res.body() = "not found: only /metrics is served\n";
    } else if (req.method() != http::verb::get) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET");
        res.body() = "only GET\n";
    } else {
        res.result(http::status::ok);
        // The text exposition format's own content type.
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = render();
    }
    res.prepare_payload();
    return res;
}

asio::awaitable<void> serve(std::shared_ptr<metrics_server_state> s, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    auto it = s->open.insert(s->open.end(), &stream);
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    stream.expires_after(request_timeout);
    auto [read_ec, n] = co_await http::async_read(stream, buffer, req, as_tuple);
    if (!read_ec && !s->stopped) {
        auto res = answer(req, s->render);
        stream.expires_after(request_timeout);
        co_await http::async_write(stream, res, as_tuple);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    s->open.erase(it);
}

asio::awaitable<void> accept(std::shared_ptr<metrics_server_state> s) {
    while (!s->stopped) {
        auto [ec, socket] = co_await s->acceptor.async_accept(as_tuple);
        if (ec == asio::error::operation_aborted || s->stopped) {
            break;
        }
        if (!ec) {
            asio::co_spawn(s->acceptor.get_executor(), serve(s, std::move(socket)), asio::detached);
        }
    }
}

}  // namespace

metrics_server::metrics_server(asio::any_io_executor ex, std::uint16_t port,
                               std::function<std::string()> render)
    : state_(std::make_shared<metrics_server_state>(ex, std::move(render))) {
    const tcp::endpoint at(asio::ip::address_v4::loopback(), port);
    state_->acceptor.open(at.protocol());
    state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    state_->acceptor.bind(at);
    state_->acceptor.listen();
    asio::co_spawn(ex, accept(state_), asio::detached);
}

metrics_server::~metrics_server() {
    stop();
}

std::uint16_t metrics_server::port() const noexcept {
    beast::error_code ec;
    return state_->acceptor.local_endpoint(ec).port();
}

void metrics_server::stop() {
    if (state_->stopped) {
        return;
    }
    state_->stopped = true;
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto* stream : state_->open) {
        stream->cancel();
    }
}

std::optional<std::uint16_t> take_metrics_port(int& argc, char** argv) {
    constexpr std::string_view flag = "--metrics-port";
    auto* const end = argv + argc;
    auto* const at = std::find_if(argv, end, [&](const char* a) { return a == flag; });
    if (at == end) {
        return std::nullopt;
    }
    if (at + 1 == end) {
        throw std::invalid_argument("--metrics-port needs a port number (0: any free port)");
    }
    const std::string_view text = at[1];
    std::uint16_t port = 0;
    auto [stop, err] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (err != std::errc{} || stop != text.data() + text.size()) {
        throw std::invalid_argument("--metrics-port: '" + std::string(text) +
                                    "' is not a port number from 0 to 65535");
    }
    std::rotate(at, at + 2, end);
    argc -= 2;
    argv[argc] = nullptr;
    return port;
}

}  // namespace examples
