// What a credential source answers with: the JSON of a container or instance
// metadata endpoint, the standard output of a credential_process command, and
// the XML of STS (AssumeRole, AssumeRoleWithWebIdentity). Any answer gives
// credentials or a documented errc, never a crash; credentials handed out are
// complete and not already expired.
#include "fuzz_check.hpp"

#include <aws/credentials_json.hpp>
#include <aws/sts_protocol.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using namespace dynalock;
using namespace dynalock::aws;
using dynalock::fuzz::require;
using std::chrono::system_clock;

// 2026-11-27T09:00:00Z: the seeds' expirations lie on both sides of it.
const system_clock::time_point now = system_clock::time_point(std::chrono::seconds(1795770000));

void parse_json_as(std::string_view body, credentials_json_dialect dialect) {
    credentials out;
    diagnostics diag;
    const error_code ec = parse_credentials_json(body, dialect, "fuzz", now, out, diag);
    if (ec) {
        require(ec == errc::malformed_response || ec == errc::credentials_expired,
                "bad credentials JSON gives malformed_response or credentials_expired");
        return;
    }
    require(!out.access_key_id.empty() && !out.secret_access_key.empty(),
            "parsed credentials carry both keys");
    require(!out.expiration || *out.expiration > now, "parsed credentials are not expired");
}

void parse_sts_as(std::string_view xml, unsigned status) {
    credentials out;
    diagnostics diag;
    const error_code ec = parse_sts_response(xml, status, out, diag);
    if (ec) {
        require(ec == errc::malformed_response || ec == errc::access_denied ||
                    ec == errc::unknown_service_error,
                "a bad STS answer gives a documented errc");
        return;
    }
    require(!out.access_key_id.empty() && !out.secret_access_key.empty(),
            "STS credentials carry both keys");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    parse_json_as(body, credentials_json_dialect::credential_process);
    parse_json_as(body, credentials_json_dialect::metadata_service);
    parse_sts_as(body, 200);
    parse_sts_as(body, 403);
    system_clock::time_point instant;
    parse_iso8601(body, instant);
    return 0;
}
