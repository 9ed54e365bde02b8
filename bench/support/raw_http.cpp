#include "raw_http.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <system_error>

namespace dynalock::bench {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

std::size_t parse_size(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
        throw std::runtime_error("response: bad Content-Length '" + std::string(text) + "'");
    return value;
}

}  // namespace

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

unique_fd::~unique_fd() {
    if (fd_ >= 0)
        ::close(fd_);
}

unique_fd connect_tcp(const harness::server_address& server) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(server.port);
    if (const int rc = ::getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        throw std::runtime_error("resolve " + server.host + ": " + ::gai_strerror(rc));
    int saved = 0;
    for (auto* ai = found; ai; ai = ai->ai_next) {
        unique_fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
        if (fd.get() >= 0 && ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
            ::freeaddrinfo(found);
            const int one = 1;
            ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        saved = errno;
    }
    ::freeaddrinfo(found);
    throw std::system_error(saved, std::generic_category(), "connect " + server.url);
}

std::string raw_request(const harness::server_address& server, std::string_view operation,
                        std::string_view body) {
    std::string r;
    r.reserve(512 + body.size());
    r += "POST / HTTP/1.1\r\nHost: ";
    r += server.host;
    r += ':';
    r += std::to_string(server.port);
    r += "\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.";
    r += operation;
    r += "\r\nX-Amz-Date: 20260101T000000Z\r\n"
         "Authorization: AWS4-HMAC-SHA256 "
         "Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
         "Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
         "Content-Length: ";
    r += std::to_string(body.size());
    r += "\r\n\r\n";
    r += body;
    return r;
}

std::optional<response_frame> frame_response(std::string_view bytes) {
    const auto head_end = bytes.find("\r\n\r\n");
    if (head_end == std::string_view::npos)
        return std::nullopt;
    const auto head = bytes.substr(0, head_end);
    // "HTTP/1.1 200 OK"
    if (!head.starts_with("HTTP/1.1 ") || head.size() < 12)
        throw std::runtime_error("response: not HTTP/1.1: " + std::string(head.substr(0, 40)));
    response_frame frame;
    frame.status = static_cast<int>(parse_size(head.substr(9, 3)));
    std::optional<std::size_t> content_length;
    for (auto pos = head.find("\r\n"); pos != std::string_view::npos;) {
        const auto next = head.find("\r\n", pos + 2);
        const auto line = head.substr(
            pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
        if (const auto colon = line.find(':');
            colon != std::string_view::npos && iequals(line.substr(0, colon), "content-length"))
            content_length = parse_size(line.substr(colon + 1));
        pos = next;
    }
    if (!content_length)
        throw std::runtime_error("response: no Content-Length");
    frame.body_offset = head_end + 4;
    frame.size = frame.body_offset + *content_length;
    if (bytes.size() < frame.size)
        return std::nullopt;
    return frame;
}

raw_response exchange(int fd, std::string_view request) {
    while (!request.empty()) {
        const auto n = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::system_error(errno, std::generic_category(), "send");
        request.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string in;
    char chunk[4096];
    while (true) {
        if (const auto frame = frame_response(in))
            return {frame->status, in.substr(frame->body_offset, frame->size - frame->body_offset)};
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::system_error(errno, std::generic_category(), "recv");
        if (n == 0)
            throw std::runtime_error("server closed the connection mid-response");
        in.append(chunk, static_cast<std::size_t>(n));
    }
}

}  // namespace dynalock::bench
