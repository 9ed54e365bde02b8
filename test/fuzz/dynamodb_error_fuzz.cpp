// The body of a non-2xx answer, parsed as an error under the statuses that
// reach parse_error. Whatever the server wrote, the caller gets an errc and
// diagnostics whose server text is bounded and free of control characters
// (it ends up in logs and terminals).
#include "fuzz_check.hpp"

#include <dynamodb/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace {

using namespace dynalock;
using namespace dynalock::dynamodb;
using dynalock::fuzz::require;

// sanitized() escapes a byte as at most four characters and appends "...".
constexpr std::size_t max_escaped(std::size_t limit) {
    return limit * 4 + 3;
}

bool printable(std::string_view text) {
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    for (const unsigned status : {400u, 403u, 413u, 500u, 503u}) {
        diagnostics diag;
        const error_code ec = parse_error(status, body, "REQUEST-ID", diag);
        require(ec && ec.category() == dynalock_category(),
                "an error answer gives a dynalock errc");
        require(diag.http_status == status, "the status is kept");
        require(printable(diag.message) && diag.message.size() <= max_escaped(1024),
                "the server's message is sanitized and bounded");
        require(printable(diag.aws_type) && diag.aws_type.size() <= max_escaped(128),
                "the error type is sanitized and bounded");
    }
    std::vector<cancellation_reason> reasons;
    diagnostics diag;
    const error_code ec = parse_cancellation_reasons(body, reasons, diag);
    require(!ec || ec == errc::malformed_response,
            "cancellation reasons fail only with malformed_response");
    for (const auto& reason : reasons) {
        require(printable(reason.message) && reason.message.size() <= max_escaped(1024),
                "a cancellation reason's message is sanitized and bounded");
    }
    return 0;
}
