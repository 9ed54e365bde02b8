#pragma once

// The tests' one scripted HTTP responder, on a free loopback port. A fake, on
// purpose: no real server sends truncated HTTP, a wrong CRC32, a chosen error,
// silence or a close right after reading a request on demand, and those are
// the paths under test.
//
// Each accepted connection runs a script with its index (0 for the first).
// The ready-made scripts answer each request with a `scripted_reply`: the
// next one pushed (the default), or what a function returns for it. Every
// request a script reads is recorded.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::test {

using wire_request = boost::beast::http::request<boost::beast::http::string_body>;
using wire_response = boost::beast::http::response<boost::beast::http::string_body>;

/// The bytes of a complete HTTP/1.1 response with Content-Length and the
/// DynamoDB content type, plus `extra_headers` (each "Name: value\r\n").
std::string http_response(unsigned status, std::string_view body,
                          std::string_view extra_headers = {});

/// How a ready-made script answers one request.
struct scripted_reply {
    enum class kind {
        respond,  ///< send the response
        close,    ///< close the connection without answering
        hang,     ///< keep the connection open and never answer
    };
    kind action = kind::respond;
    unsigned status = 200;
    std::string body{};
    std::string extra_headers{};  ///< each "Name: value\r\n"
    /// Waited before answering, to play a slow endpoint.
    std::chrono::milliseconds delay{0};
    /// When set, sent as is instead of a response made of the fields above:
    /// malformed HTTP on purpose.
    std::optional<std::string> raw{};

    static scripted_reply http(unsigned status, std::string body, std::string extra_headers = {});
    static scripted_reply bytes(std::string raw);
    static scripted_reply close();
    static scripted_reply hang();
};

class scripted_http_server;

/// What a script uses to talk to one accepted client.
class http_peer {
public:
    /// The next request, or nullopt when the client closed or sent garbage.
    boost::asio::awaitable<std::optional<wire_request>> read_request();
    boost::asio::awaitable<void> send(std::string bytes);
    boost::asio::awaitable<void> send(wire_response response);
    /// Answers as `reply` says; false when the connection is to end.
    boost::asio::awaitable<bool> answer(scripted_reply reply);
    /// Keeps the connection open without answering, until the client leaves.
    boost::asio::awaitable<void> wait_for_close();
    boost::asio::awaitable<void> sleep(std::chrono::milliseconds duration);
    void close();

private:
    friend class scripted_http_server;
    struct shared;
    http_peer(boost::asio::ip::tcp::socket socket, std::shared_ptr<shared> server);

    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    std::shared_ptr<shared> server_;
};

class scripted_http_server {
public:
    using script =
        std::function<boost::asio::awaitable<void>(http_peer&, std::size_t connection_index)>;

    /// Answers every request with the next pushed reply, and closes a
    /// connection whose request finds none left.
    explicit scripted_http_server(boost::asio::io_context& io);
    scripted_http_server(boost::asio::io_context& io, script s);
    /// Stops accepting and closes every connection.
    ~scripted_http_server();
    scripted_http_server(const scripted_http_server&) = delete;
    scripted_http_server& operator=(const scripted_http_server&) = delete;

    std::uint16_t port() const;
    /// "http://127.0.0.1:<port>"
    std::string url() const;
    void push(scripted_reply reply);
    /// Every request read so far, in order.
    const std::vector<wire_request>& requests() const;
    /// "METHOD target" of each of them.
    std::vector<std::string> request_lines() const;
    void forget_requests();
    std::size_t accepted() const;
    std::size_t max_concurrent() const;

private:
    std::shared_ptr<http_peer::shared> shared_;
};

/// A script answering each request with what `respond` returns for it.
scripted_http_server::script answer_each(
    std::function<scripted_reply(const wire_request&)> respond);

/// A script answering every request with 200 and `body`, keep-alive.
scripted_http_server::script answer_all(std::string body);

/// A loopback port nothing listens on, bound and released again: connecting
/// to it is refused at once, and a server started next may take it.
std::uint16_t free_loopback_port();

}  // namespace dynalock::test
