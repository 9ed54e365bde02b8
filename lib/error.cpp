#include <dynalock/error.hpp>

namespace dynalock {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "dynalock"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::conditional_check_failed:
                return "the condition of a conditional write failed";
            case errc::transaction_canceled:
                return "the transaction was canceled";
            case errc::transaction_conflict:
                return "the transaction conflicted with another";
            case errc::throttled:
                return "the request was throttled";
            case errc::resource_not_found:
                return "the table or index does not exist";
            case errc::resource_in_use:
                return "the table is in use or already exists";
            case errc::validation_failed:
                return "the server rejected the request as invalid";
            case errc::item_collection_too_large:
                return "an item collection exceeded its size limit";
            case errc::access_denied:
                return "access denied";
            case errc::unrecognized_client:
                return "the access key is not recognised";
            case errc::signature_rejected:
                return "the server rejected the request signature";
            case errc::credentials_expired:
                return "the security token has expired";
            case errc::clock_skew:
                return "the request's signing time is too far from the server's clock";
            case errc::internal_server_error:
                return "the server failed internally";
            case errc::service_unavailable:
                return "the service is unavailable";
            case errc::unknown_service_error:
                return "the server answered with an unknown error type";
            case errc::credentials_unavailable:
                return "no AWS credentials are available";
            case errc::region_missing:
                return "no AWS region is configured";
            case errc::invalid_endpoint:
                return "the endpoint URL is not usable";
            case errc::invalid_config:
                return "an AWS config or credentials file is malformed";
            case errc::invalid_argument:
                return "invalid argument";
            case errc::value_too_large:
                return "a value exceeds DynamoDB's size limits";
            case errc::timeout:
                return "the operation's deadline passed";
            case errc::connect_failed:
                return "could not connect to the endpoint";
            case errc::tls_failed:
                return "the TLS handshake or certificate verification failed";
            case errc::connection_lost:
                return "the connection was lost during the request";
            case errc::response_too_large:
                return "the response exceeds the size limit";
            case errc::malformed_response:
                return "the response is malformed";
            case errc::crc32_mismatch:
                return "the response body does not match its x-amz-crc32";
            case errc::lock_not_granted:
                return "the lock is held by another owner";
            case errc::lease_lost:
                return "the lease was lost";
            case errc::client_closed:
                return "the lock client is closed";
            case errc::malformed_item:
                return "the lock item is malformed";
            case errc::fence_exhausted:
                return "the lock's fence cannot be raised any further";
        }
        return "unknown dynalock error";
    }
};

}  // namespace

const boost::system::error_category& dynalock_category() noexcept {
    static const category instance;
    return instance;
}

bool is_retryable(error_code ec) noexcept {
    if (ec.category() != dynalock_category()) {
        return false;
    }
    switch (static_cast<errc>(ec.value())) {
        case errc::throttled:
        case errc::transaction_conflict:
        case errc::clock_skew:
        case errc::internal_server_error:
        case errc::service_unavailable:
        case errc::timeout:
        case errc::connect_failed:
        case errc::connection_lost:
        case errc::malformed_response:
        case errc::crc32_mismatch:
            return true;
        default:
            return false;
    }
}

bool is_ambiguous(error_code ec) noexcept {
    if (ec.category() != dynalock_category()) {
        return false;
    }
    switch (static_cast<errc>(ec.value())) {
        // The request reached the server (or may have) and we lack a definite answer.
        case errc::internal_server_error:
        case errc::service_unavailable:
        case errc::timeout:
        case errc::connection_lost:
        case errc::malformed_response:
        case errc::crc32_mismatch:
        case errc::response_too_large:
            return true;
        default:
            return false;
    }
}

}  // namespace dynalock
