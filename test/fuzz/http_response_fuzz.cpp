// Bytes a server sends as an HTTP/1.1 response, read with the parser and the
// limits of the connection pool. Each input is parsed twice, once buffered
// whole and once arriving in small pieces as a slow socket delivers it: a
// response read must not depend on how TCP cut the bytes, and every failure
// must map to one of the errors the pool documents. Where Beast's parser,
// which served the pool before, accepts the input too, both must read the
// same response (ours refuses some forms Beast accepts, such as folded lines,
// and skips chunk extensions Beast checks, so acceptance itself may differ).
#include "fuzz_check.hpp"

#include <http/response_parser.hpp>
#include <http/transport_error.hpp>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace beast = boost::beast;
using dynalock::errc;
using dynalock::error_code;
using dynalock::fuzz::require;
using namespace dynalock::http;

// Small, so that inputs of fuzzing size reach the body limit.
constexpr std::size_t body_limit = 1024;

struct outcome {
    error_code ec{};  // as the pool maps it
    unsigned status = 0;
    std::string body{};
    bool keep_alive = false;  // what the message asks for; the pool also needs no bytes left over
    bool transfer_coded = false;  // so maybe with trailers
};

// The pool's read loop without the socket: buffer what arrived, let the parser
// take what it can, and at the end of the input treat it as the server closing
// the connection.
outcome parse(std::string_view bytes, std::size_t piece) {
    response res;
    response_parser parser(res, body_limit);
    std::string buffer;
    error_code ec;
    std::size_t offset = 0;
    const auto failed = [&](error_code raw) {
        return outcome{to_dynalock_error(raw, exchange_step::read)};
    };
    const auto finished = [&] {
        const bool keep_alive = parser.keep_alive();
        return outcome{{},
                       res.result_int(),
                       std::move(res.body()),
                       keep_alive,
                       res.field("transfer-encoding").has_value()};
    };
    for (;;) {
        if (!buffer.empty()) {
            const std::size_t used = parser.put(buffer, ec);
            require(used <= buffer.size(), "the parser uses no more than it was given");
            buffer.erase(0, used);
            if (ec && ec != beast::http::error::need_more) {
                return failed(ec);
            }
            if (parser.is_done()) {
                return finished();
            }
            require(ec == beast::http::error::need_more, "an unfinished parse asks for more");
        }
        if (offset == bytes.size()) {
            parser.put_eof(ec);
            if (ec) {
                return failed(ec);
            }
            return finished();
        }
        const std::size_t n = std::min(piece, bytes.size() - offset);
        buffer.append(bytes.substr(offset, n));
        offset += n;
    }
}

// Beast's parser with the same limits on the whole input: nullopt when it fails.
std::optional<outcome> parse_with_beast(std::string_view bytes) {
    beast::http::response_parser<beast::http::string_body> parser;
    parser.body_limit(body_limit);
    parser.eager(true);
    error_code ec;
    parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == beast::http::error::need_more || (!ec && !parser.is_done())) {
        parser.put_eof(ec);
    }
    if (ec || !parser.is_done()) {
        return std::nullopt;
    }
    return outcome{{}, parser.get().result_int(), parser.get().body(), parser.keep_alive()};
}

bool documented(error_code ec) {
    return !ec || ec == errc::malformed_response || ec == errc::response_too_large ||
           ec == errc::connection_lost;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const outcome whole = parse(bytes, bytes.size() + 1);
    require(documented(whole.ec), "a read failure maps to a documented errc");
    if (!whole.ec) {
        require(whole.body.size() <= body_limit, "a parsed body respects the body limit");
        require(whole.status <= 999, "a parsed status has three digits");
        // Beast stops at an interim response (1xx but 101); this parser
        // goes on to the final one.
        const std::optional<outcome> beast = parse_with_beast(bytes);
        if (beast && (beast->status < 100 || beast->status > 199 || beast->status == 101)) {
            require(beast->status == whole.status && beast->body == whole.body,
                    "a response Beast accepts too reads the same");
            // Where they differ, this parser closes: "close" wins over
            // "keep-alive" in HTTP/1.0 here, not in Beast; HTTP/1.0 with a
            // transfer coding and 101 are never kept alive here. Beast also
            // lets a Connection field in a chunked body's trailer decide, and
            // this parser leaves trailers out of framing and persistence.
            require(!whole.keep_alive || beast->keep_alive || whole.transfer_coded,
                    "a connection is kept only where Beast would keep it");
        }
    }
    // A block is parsed only once it is whole, so the failure does not
    // depend on the pieces either.
    const outcome pieces = parse(bytes, 7);
    require(pieces.ec == whole.ec, "the outcome does not depend on how the bytes arrive");
    if (!whole.ec) {
        require(pieces.status == whole.status && pieces.body == whole.body &&
                    pieces.keep_alive == whole.keep_alive,
                "the response does not depend on how the bytes arrive");
    }
    return 0;
}
