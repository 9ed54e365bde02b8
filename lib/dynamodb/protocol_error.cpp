#include "aws/clock_skew.hpp"
#include "dynamodb/json_reader.hpp"
#include "dynamodb/protocol.hpp"

#include <array>
#include <utility>

namespace dynalock::dynamodb {
namespace {

// Server text is kept as data for logs: bounded, and with control characters
// made visible so it cannot forge log lines or terminal escapes.
constexpr std::size_t max_message_bytes = 1024;
constexpr std::size_t max_type_bytes = 128;

// "com.amazonaws.dynamodb.v20120810#ThrottlingException" and
// "com.amazon.coral.service#ThrottlingException" both name ThrottlingException.
std::string_view without_prefix(std::string_view type) {
    const auto hash = type.rfind('#');
    return hash == std::string_view::npos ? type : type.substr(hash + 1);
}

// The text between <tag> and </tag>, for the XML error documents of AWS's
// query protocol, which some front ends (moto's signature check, STS) answer
// with even on the JSON protocol.
std::string_view xml_element(std::string_view body, std::string_view tag) {
    const std::string open = "<" + std::string(tag) + ">";
    const std::string close = "</" + std::string(tag) + ">";
    const auto begin = body.find(open);
    if (begin == std::string_view::npos) {
        return {};
    }
    const auto from = begin + open.size();
    const auto end = body.find(close, from);
    return end == std::string_view::npos ? std::string_view{} : body.substr(from, end - from);
}

errc from_status(unsigned status) {
    if (status == 503) {
        return errc::service_unavailable;
    }
    if (status >= 500) {
        return errc::internal_server_error;
    }
    if (status == 429) {
        return errc::throttled;
    }
    if (status == 403) {
        return errc::access_denied;
    }
    return errc::unknown_service_error;
}

errc from_type(std::string_view type, unsigned status) {
    static constexpr std::array<std::pair<std::string_view, errc>, 20> known{{
        {"ConditionalCheckFailedException", errc::conditional_check_failed},
        {"TransactionCanceledException", errc::transaction_canceled},
        {"TransactionConflictException", errc::transaction_conflict},
        {"ThrottlingException", errc::throttled},
        {"ProvisionedThroughputExceededException", errc::throttled},
        {"RequestLimitExceeded", errc::throttled},
        {"ResourceNotFoundException", errc::resource_not_found},
        {"ResourceInUseException", errc::resource_in_use},
        {"ValidationException", errc::validation_failed},
        {"SerializationException", errc::validation_failed},
        {"ItemCollectionSizeLimitExceededException", errc::item_collection_too_large},
        {"AccessDeniedException", errc::access_denied},
        {"UnrecognizedClientException", errc::unrecognized_client},
        {"InvalidClientTokenId", errc::unrecognized_client},
        {"InvalidSignatureException", errc::signature_rejected},
        {"SignatureDoesNotMatch", errc::signature_rejected},
        {"ExpiredTokenException", errc::credentials_expired},
        {"InternalServerError", errc::internal_server_error},
        {"InternalFailure", errc::internal_server_error},
        {"ServiceUnavailable", errc::service_unavailable},
    }};
    for (const auto& [name, code] : known) {
        if (name == type) {
            return code;
        }
    }
    return status >= 500 ? from_status(status) : errc::unknown_service_error;
}

}  // namespace

std::string sanitized(std::string_view text, std::size_t limit) {
    static constexpr char hex[] = "0123456789abcdef";
    bool truncated = false;
    if (text.size() > limit) {
        std::size_t end = limit;
        // Cut before a UTF-8 continuation byte rather than through a character.
        while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
            --end;
        }
        text = text.substr(0, end);
        truncated = true;
    }
    std::string out;
    out.reserve(text.size() + 16);
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c != 0x7f) {
            out += ch;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (truncated) {
        out += "...";
    }
    return out;
}

error_code parse_error(unsigned http_status, std::string_view body, std::string_view request_id,
                       diagnostics& diag) {
    // `request_id` may view into `diag` itself: copy it before clearing.
    std::string id = sanitized(request_id, max_type_bytes);
    diag.clear();
    diag.http_status = http_status;
    diag.request_id = std::move(id);

    const auto document = parse_json(body);
    const json* object = document && document->is_object() ? &*document : nullptr;
    std::string_view type;
    std::string_view message;
    if (object != nullptr) {
        const json* type_member = find_member(*object, "__type");
        if (type_member != nullptr && type_member->is_string()) {
            type = without_prefix(type_member->get_ref<const std::string&>());
        }
        for (const std::string_view key : {"message", "Message"}) {
            const json* m = find_member(*object, key);
            if (m != nullptr && m->is_string()) {
                message = m->get_ref<const std::string&>();
                break;
            }
        }
    } else if (body.find("<ErrorResponse") != std::string_view::npos ||
               body.find("<Error>") != std::string_view::npos) {
        type = xml_element(body, "Code");
        message = xml_element(body, "Message");
    }
    diag.aws_type = sanitized(type, max_type_bytes);
    diag.message = sanitized(message, max_message_bytes);

    if (http_status >= 200 && http_status < 300) {
        diag.message = "malformed response: an error was parsed from a success status";
        return errc::malformed_response;
    }
    if (aws::is_clock_skew_error(type, message)) {
        return errc::clock_skew;
    }
    if (type.empty()) {
        return from_status(http_status);
    }
    const errc code = from_type(type, http_status);
    // An XML error document (object == nullptr) carries no item.
    if (code == errc::conditional_check_failed && object != nullptr) {
        // The item as it is (ReturnValuesOnConditionCheckFailure=ALL_OLD). A
        // malformed one is dropped: the failed condition is the answer that
        // matters, and the caller can still read the item.
        if (const json* item = find_member(*object, "Item")) {
            try {
                diag.item = as_attributes(*item, "Item");
            } catch (const std::exception&) {
                diag.item.reset();
            }
        }
    }
    return code;
}

error_code parse_cancellation_reasons(std::string_view body,
                                      std::vector<cancellation_reason>& reasons,
                                      diagnostics& diag) {
    std::vector<cancellation_reason> parsed;
    const auto ec = decode_guarded(body, diag, [&](const json& object) {
        for (const auto& element :
             as_array(member(object, "CancellationReasons"), "CancellationReasons")) {
            as_object(element, "CancellationReasons");
            cancellation_reason reason;
            reason.code = as_string(member(element, "Code"), "Code");
            if (const json* message = find_member(element, "Message")) {
                reason.message = sanitized(as_string(*message, "Message"), max_message_bytes);
            }
            if (const json* item = find_member(element, "Item")) {
                reason.item = as_attributes(*item, "Item");
            }
            parsed.push_back(std::move(reason));
        }
    });
    if (!ec) {
        reasons = std::move(parsed);
    }
    return ec;
}

}  // namespace dynalock::dynamodb
