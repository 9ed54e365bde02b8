#pragma once

#include <http/response.hpp>

#include <boost/beast/http/basic_parser.hpp>

#include <cstddef>
#include <cstdint>

namespace dynalock::http {

/// Beast's HTTP/1.1 response parser, writing into a `response` the caller
/// keeps: its fields land packed in one string and its body in the caller's
/// string, reusing their capacity when the caller reuses the response.
class response_parser : public boost::beast::http::basic_parser<false> {
public:
    /// Empties `res`, which must outlive the parser, and parses into it.
    explicit response_parser(response& res) : res_(res) { res_.clear(); }

private:
    using string_view = boost::beast::string_view;
    using error_code = boost::beast::error_code;

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                         error_code&) override {}
    void on_response_impl(int code, string_view, int, error_code&) override {
        // The parser accepts three digits only, so any code fits.
        res_.status_ = static_cast<unsigned>(code);
    }
    void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                       error_code&) override {
        res_.add_field({name.data(), name.size()}, {value.data(), value.size()});
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                           error_code&) override {
        // The parser refused a length above its body limit before this.
        if (content_length) {
            res_.body_.reserve(static_cast<std::size_t>(*content_length));
        }
    }
    std::size_t on_body_impl(string_view body, error_code&) override {
        res_.body_.append(body.data(), body.size());
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
        res_.body_.append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(error_code&) override {}

    response& res_;
};

/// Sets up `parser` to read one response the way the pool reads it. Shared
/// with the fuzz target of the HTTP layer so that it parses with the limits
/// the pool applies to what a server sends.
inline void configure(response_parser& parser, std::size_t body_limit) {
    parser.body_limit(static_cast<std::uint64_t>(body_limit));
    // Header and body in one put() once both are buffered.
    parser.eager(true);
}

}  // namespace dynalock::http
