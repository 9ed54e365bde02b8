#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <cstdint>

namespace dynalock::http {

using response_parser = boost::beast::http::response_parser<boost::beast::http::string_body>;

/// Sets up `parser` to read one response the way the pool reads it. Shared
/// with the fuzz target of the HTTP layer so that it parses with the limits
/// the pool applies to what a server sends.
inline void configure(response_parser& parser, std::size_t body_limit) {
    parser.body_limit(static_cast<std::uint64_t>(body_limit));
    // Header and body in one put() once both are buffered.
    parser.eager(true);
}

}  // namespace dynalock::http
