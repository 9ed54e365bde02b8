#pragma once

// A loopback HTTP responder that answers each request with the next scripted
// reply: raw bytes (well-formed or not), silence, or a closed socket. A fake,
// on purpose: no real server sends truncated HTTP, a wrong CRC32 or a chosen
// error on demand. It records every request it read.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace dynalock::test {

struct scripted_reply {
    enum class kind { respond, close, hang } action = kind::respond;
    std::string bytes;  ///< for respond: written as is

    static scripted_reply close() { return {kind::close, {}}; }
    static scripted_reply hang() { return {kind::hang, {}}; }
    /// A complete HTTP/1.1 response with Content-Length, plus `extra_headers`
    /// (each "Name: value\r\n").
    static scripted_reply http(unsigned status, std::string body, std::string extra_headers = {});
};

class scripted_server {
public:
    /// Listens on 127.0.0.1 on a free port, served by `io`.
    explicit scripted_server(boost::asio::io_context& io);
    ~scripted_server();

    std::string url() const;
    void push(scripted_reply r) { replies_.push_back(std::move(r)); }
    /// Requests read so far, in order.
    const std::vector<boost::beast::http::request<boost::beast::http::string_body>>& requests()
        const {
        return requests_;
    }
    std::size_t connections_accepted() const { return accepted_; }

private:
    struct session;
    void accept();

    boost::asio::ip::tcp::acceptor acceptor_;
    std::deque<scripted_reply> replies_;
    std::vector<boost::beast::http::request<boost::beast::http::string_body>> requests_;
    std::vector<std::shared_ptr<session>> sessions_;
    std::size_t accepted_ = 0;
};

}  // namespace dynalock::test
