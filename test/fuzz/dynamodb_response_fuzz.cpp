// A 2xx body from DynamoDB (or from something pretending to be it), decoded as
// the answer to every operation: each decoder must return a result or
// errc::malformed_response, never throw or crash. The DOM-free fast path of
// the item responses must agree with the full JSON reader on every body it
// accepts.
#include "fuzz_check.hpp"

#include <dynamodb/json_reader.hpp>
#include <dynamodb/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace {

using namespace dynalock;
using namespace dynalock::dynamodb;
using dynalock::fuzz::require;

template <class Response>
void decode_as(std::string_view body) {
    Response response;
    diagnostics diag;
    const error_code ec = decode(body, response, diag);
    require(!ec || ec == errc::malformed_response, "decode fails only with malformed_response");
    require(!ec || !diag.message.empty(), "a decode failure explains itself");
}

void fast_path_agrees(std::string_view body, std::string_view name) {
    std::optional<attribute_map> fast;
    if (!read_canonical_attributes_member(body, name, fast)) {
        return;
    }
    std::optional<attribute_map> full;
    diagnostics diag;
    const error_code ec = decode_guarded(body, diag, [&](const json& object) {
        if (const json* found = find_member(object, name)) {
            full = as_attributes(*found, name);
        }
    });
    require(!ec, "the full reader accepts what the fast path accepts");
    require(fast == full, "the fast path reads what the full reader reads");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    decode_as<get_item_response>(body);
    decode_as<put_item_response>(body);
    decode_as<update_item_response>(body);
    decode_as<delete_item_response>(body);
    decode_as<item_page>(body);
    decode_as<transact_write_items_response>(body);
    decode_as<create_table_response>(body);
    decode_as<describe_table_response>(body);
    decode_as<delete_table_response>(body);
    decode_as<update_time_to_live_response>(body);
    decode_as<describe_time_to_live_response>(body);
    fast_path_agrees(body, "Item");
    fast_path_agrees(body, "Attributes");
    return 0;
}
