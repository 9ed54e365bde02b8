#include "credential_providers/metadata_endpoint.hpp"

#include <boost/asio/ip/address.hpp>

namespace dynalock::aws {

namespace asio = boost::asio;

bool is_trusted_plain_http_host(std::string_view host) {
    if (host == "localhost") {
        return true;
    }
    error_code ec;
    asio::ip::address address = asio::ip::make_address(std::string(host), ec);
    if (ec) {
        return false;
    }
    return address.is_loopback() || address == asio::ip::make_address("169.254.170.2") ||
           address == asio::ip::make_address("169.254.170.23") ||
           address == asio::ip::make_address("fd00:ec2::23");
}

asio::awaitable<error_code> exchange_once(asio::any_io_executor executor,
                                          const aws::endpoint& target, const http::request& req,
                                          http::response& res,
                                          std::chrono::steady_clock::time_point deadline,
                                          std::chrono::milliseconds connect_timeout,
                                          std::string_view source, diagnostics& diag) {
    // Credentials documents are small; a connection per fetch is cheap at the
    // rate credentials are refreshed, and keeps no idle socket around.
    http::connection_pool pool(executor, target,
                               http_options{.max_connections = 1,
                                            .max_response_body_bytes = 64 * 1024,
                                            .connect_timeout = connect_timeout});
    auto exchange = pool.async_exchange(req, res, deadline);
    http::exchange_result result = co_await std::move(exchange);
    if (result.ec) {
        diag.message = std::string(source) + ": " +
                       (result.detail.empty() ? result.ec.message() : result.detail);
    }
    co_return result.ec;
}

error_code unexpected_status(std::string_view source, std::string_view target,
                             const http::response& res, diagnostics& diag) {
    constexpr std::size_t body_excerpt_bytes = 200;
    diag.http_status = res.result_int();
    diag.message = std::string(source) + ": " + std::string(target) + " answered HTTP " +
                   std::to_string(res.result_int());
    if (!res.body().empty()) {
        diag.message += ": " + res.body().substr(0, body_excerpt_bytes);
    }
    return errc::credentials_unavailable;
}

}  // namespace dynalock::aws
