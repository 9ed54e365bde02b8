#pragma once

#include "harness/server.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

/// Just enough HTTP/1.1 to talk to dynalite with prebuilt bytes: the floor's
/// side of the comparison, free of signing, JSON libraries and Asio.
namespace dynalock::bench {

class unique_fd {
public:
    explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    unique_fd& operator=(unique_fd&& other) noexcept;
    ~unique_fd();
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

/// A blocking TCP connection with Nagle off.
unique_fd connect_tcp(const harness::server_address& server);

/// A complete DynamoDB JSON-protocol request for `operation` (e.g. "UpdateItem").
/// The Authorization header is well-formed but its signature is a constant:
/// dynalite checks the shape, not the signature.
std::string raw_request(const harness::server_address& server, std::string_view operation,
                        std::string_view body);

struct response_frame {
    int status = 0;
    std::size_t body_offset = 0;
    std::size_t size = 0;  ///< head + body
};

/// The frame of the response at the start of `bytes`, or nullopt while it is
/// incomplete. Throws std::runtime_error for what is not a Content-Length framed
/// HTTP/1.1 response.
std::optional<response_frame> frame_response(std::string_view bytes);

struct raw_response {
    int status = 0;
    std::string body;
};

/// Sends `request` on a blocking socket and reads the whole response.
raw_response exchange(int fd, std::string_view request);

}  // namespace dynalock::bench
