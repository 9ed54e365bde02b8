// Bytes a server sends as an HTTP/1.1 response, read with the parser and the
// limits of the connection pool. Each input is parsed twice, once buffered
// whole and once arriving in small pieces as a slow socket delivers it: a
// response read must not depend on how TCP cut the bytes, and every failure
// must map to one of the errors the pool documents.
#include "fuzz_check.hpp"

#include <http/response_parser.hpp>
#include <http/transport_error.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
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
};

// The pool's read loop without the socket: buffer what arrived, let the parser
// take what it can, and at the end of the input treat it as the server closing
// the connection.
outcome parse(std::string_view bytes, std::size_t piece) {
    response res;
    response_parser parser(res);
    configure(parser, body_limit);
    beast::flat_buffer buffer;
    error_code ec;
    std::size_t offset = 0;
    const auto failed = [&](error_code raw) {
        return outcome{to_dynalock_error(raw, exchange_step::read)};
    };
    const auto finished = [&] {
        const bool keep_alive = parser.keep_alive();
        return outcome{{}, res.result_int(), std::move(res.body()), keep_alive};
    };
    for (;;) {
        if (buffer.size() != 0) {
            const std::size_t used = parser.put(buffer.data(), ec);
            buffer.consume(used);
            if (ec && ec != beast::http::error::need_more) {
                return failed(ec);
            }
            ec = {};
            if (parser.is_done()) {
                return finished();
            }
        }
        if (offset == bytes.size()) {
            if (!parser.got_some()) {
                return failed(beast::http::error::end_of_stream);
            }
            parser.put_eof(ec);
            if (ec) {
                return failed(ec);
            }
            return finished();
        }
        const std::size_t n = std::min(piece, bytes.size() - offset);
        const auto dest = buffer.prepare(n);
        std::copy_n(bytes.data() + offset, n, static_cast<char*>(dest.data()));
        buffer.commit(n);
        offset += n;
    }
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
        // Three digits, "000" included: Beast accepts any.
        require(whole.status <= 999, "a parsed status has three digits");
    }
    // Only success must not depend on the pieces: Beast reports a bad line in
    // an unfinished header when the rest of it is buffered (malformed_response),
    // but waits for more when it is not, and then sees the connection end
    // (connection_lost). Both are failures the pool documents.
    const outcome pieces = parse(bytes, 7);
    require(!pieces.ec == !whole.ec, "success does not depend on how the bytes arrive");
    if (!whole.ec) {
        require(pieces.status == whole.status && pieces.body == whole.body &&
                    pieces.keep_alive == whole.keep_alive,
                "the response does not depend on how the bytes arrive");
    }
    return 0;
}
