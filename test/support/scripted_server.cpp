#include "scripted_server.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

namespace dynalock::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

scripted_reply scripted_reply::http(unsigned status, std::string body, std::string extra_headers) {
    std::string bytes = "HTTP/1.1 " + std::to_string(status) +
                        " X\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nContent-Type: application/x-amz-json-1.0\r\n" + extra_headers +
                        "\r\n" + body;
    return {kind::respond, std::move(bytes)};
}

struct scripted_server::session : std::enable_shared_from_this<session> {
    session(scripted_server& s, tcp::socket sock) : server(&s), socket(std::move(sock)) {}

    void read() {
        request = {};
        http::async_read(socket, buffer, request,
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             if (ec || self->server == nullptr) {
                                 return;
                             }
                             self->server->requests_.push_back(self->request);
                             self->answer();
                         });
    }

    void answer() {
        if (server->replies_.empty()) {
            socket.close();
            return;
        }
        scripted_reply r = std::move(server->replies_.front());
        server->replies_.pop_front();
        switch (r.action) {
            case scripted_reply::kind::close:
                socket.close();
                return;
            case scripted_reply::kind::hang:
                return;  // keep the socket open, never answer
            case scripted_reply::kind::respond:
                reply = std::move(r.bytes);
                asio::async_write(
                    socket, asio::buffer(reply),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (!ec && self->server != nullptr) {
                            self->read();
                        }
                    });
        }
    }

    scripted_server* server;
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    std::string reply;
};

scripted_server::scripted_server(asio::io_context& io)
    : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
}

scripted_server::~scripted_server() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& s : sessions_) {
        s->server = nullptr;
        s->socket.close(ignored);
    }
}

std::string scripted_server::url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
}

void scripted_server::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket sock) {
        if (ec) {
            return;
        }
        ++accepted_;
        sessions_.push_back(std::make_shared<session>(*this, std::move(sock)));
        sessions_.back()->read();
        accept();
    });
}

}  // namespace dynalock::test
