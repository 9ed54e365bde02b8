// Error responses: each `__type` in each prefix form, the HTTP status fallback,
// clock skew, ALL_OLD items, cancellation reasons, and hostile bodies.

#include "dynamodb/protocol.hpp"

#include <gtest/gtest.h>

namespace dynalock::dynamodb {
namespace {

error_code parse(unsigned status, std::string_view body, diagnostics& diag) {
    return parse_error(status, body, "req-1", diag);
}

std::string body_of(std::string_view type, std::string_view message = "text") {
    return R"({"__type":")" + std::string(type) + R"(","message":")" + std::string(message) +
           R"("})";
}

TEST(DynamodbError, EveryTypeEveryPrefix) {
    const std::pair<const char*, errc> types[] = {
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
        {"ServiceUnavailable", errc::service_unavailable},
        {"RequestTimeTooSkewed", errc::clock_skew},
        {"RequestExpired", errc::clock_skew},
    };
    for (const auto& [type, code] : types) {
        for (const std::string prefix :
             {"com.amazonaws.dynamodb.v20120810#", "com.amazon.coral.service#", ""}) {
            diagnostics diag;
            EXPECT_EQ(parse(400, body_of(prefix + type), diag), code) << prefix << type;
            EXPECT_EQ(diag.aws_type, type);
            EXPECT_EQ(diag.message, "text");
            EXPECT_EQ(diag.http_status, 400u);
            EXPECT_EQ(diag.request_id, "req-1");
        }
    }
}

TEST(DynamodbError, CapitalisedMessage) {
    diagnostics diag;
    EXPECT_EQ(parse(400, R"({"__type":"x#ValidationException","Message":"Bad key"})", diag),
              errc::validation_failed);
    EXPECT_EQ(diag.message, "Bad key");
}

TEST(DynamodbError, ClockSkewByMessage) {
    diagnostics diag;
    EXPECT_EQ(parse(400,
                    body_of("com.amazon.coral.service#InvalidSignatureException",
                            "Signature expired: 20260101T000000Z is now earlier than "
                            "20260101T000500Z (20260101T001000Z - 5 min.)"),
                    diag),
              errc::clock_skew);
    EXPECT_EQ(parse(400,
                    body_of("InvalidSignatureException",
                            "Signature not yet current: 20260101T003000Z is still later than "
                            "20260101T001500Z"),
                    diag),
              errc::clock_skew);
    EXPECT_EQ(parse(403,
                    body_of("InvalidSignatureException",
                            "The request signature we "
                            "calculated does not match"),
                    diag),
              errc::signature_rejected);
}

TEST(DynamodbError, UnknownTypesFollowTheStatus) {
    diagnostics diag;
    EXPECT_EQ(parse(400, body_of("x#SomethingNewException"), diag), errc::unknown_service_error);
    EXPECT_EQ(diag.aws_type, "SomethingNewException");
    EXPECT_EQ(parse(403, body_of("SomethingNew"), diag), errc::unknown_service_error);
    EXPECT_EQ(parse(500, body_of("SomethingNew"), diag), errc::internal_server_error);
    EXPECT_EQ(parse(502, body_of("SomethingNew"), diag), errc::internal_server_error);
    EXPECT_EQ(parse(503, body_of("SomethingNew"), diag), errc::service_unavailable);
}

TEST(DynamodbError, NonJsonBodiesFollowTheStatus) {
    diagnostics diag;
    for (const char* body : {"", "<html>Bad Gateway</html>", "{", "[1,2]", R"({"__type":5})"}) {
        EXPECT_EQ(parse(500, body, diag), errc::internal_server_error) << body;
        EXPECT_EQ(parse(502, body, diag), errc::internal_server_error) << body;
        EXPECT_EQ(parse(503, body, diag), errc::service_unavailable) << body;
        EXPECT_EQ(parse(429, body, diag), errc::throttled) << body;
        EXPECT_EQ(parse(403, body, diag), errc::access_denied) << body;
        EXPECT_EQ(parse(400, body, diag), errc::unknown_service_error) << body;
        EXPECT_EQ(parse(413, body, diag), errc::unknown_service_error) << body;
        EXPECT_TRUE(diag.aws_type.empty());
    }
}

TEST(DynamodbError, SuccessStatusIsMalformed) {
    diagnostics diag;
    EXPECT_EQ(parse(200, "garbage", diag), errc::malformed_response);
    EXPECT_FALSE(diag.message.empty());
}

TEST(DynamodbError, RequestIdMayAliasTheDiagnostics) {
    diagnostics diag;
    diag.request_id = "ABC123";
    EXPECT_EQ(parse_error(503, "", diag.request_id, diag), errc::service_unavailable);
    EXPECT_EQ(diag.request_id, "ABC123");
}

TEST(DynamodbError, ConditionalCheckFailedCarriesTheItem) {
    diagnostics diag;
    EXPECT_EQ(
        parse(400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "message":"The conditional request failed",
        "Item":{"key":{"S":"job"},"ownerName":{"S":"other"},"fence":{"N":"41"}}})",
              diag),
        errc::conditional_check_failed);
    ASSERT_TRUE(diag.item.has_value());
    EXPECT_EQ(diag.item->at("ownerName"), attribute_value("other"));
    EXPECT_EQ(diag.item->at("fence"), attribute_value(number{"41"}));

    // Without ALL_OLD, or with a malformed item: still the failed condition.
    EXPECT_EQ(parse(400, body_of("ConditionalCheckFailedException"), diag),
              errc::conditional_check_failed);
    EXPECT_FALSE(diag.item.has_value());
    EXPECT_EQ(
        parse(400, R"({"__type":"ConditionalCheckFailedException","Item":{"k":{"N":"x"}}})", diag),
        errc::conditional_check_failed);
    EXPECT_FALSE(diag.item.has_value());
}

TEST(DynamodbError, ServerTextIsSanitisedAndBounded) {
    diagnostics diag;
    EXPECT_EQ(
        parse(400, body_of("ValidationException", R"(line1\nline2\u001b[31m\u0000end)"), diag),
        errc::validation_failed);
    EXPECT_EQ(diag.message, "line1\\nline2\\x1b[31m\\x00end");

    const std::string huge(100'000, 'y');
    EXPECT_EQ(parse(400, body_of(huge, huge), diag), errc::unknown_service_error);
    EXPECT_LE(diag.message.size(), 1024u + 3);
    EXPECT_LE(diag.aws_type.size(), 128u + 3);

    // Truncation does not split a UTF-8 character.
    // Byte 1024 of "a" + "éé..." is the middle of an "é".
    std::string accents = "a";
    for (int i = 0; i < 1000; ++i) {
        accents += "é";
    }
    EXPECT_EQ(parse(400, body_of("ValidationException", accents), diag), errc::validation_failed);
    EXPECT_EQ(diag.message, accents.substr(0, 1023) + "...");
}

TEST(DynamodbError, HostileBodiesNeverThrow) {
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    for (const std::string& body :
         {deep, std::string(1'000'000, '{'), std::string("{\"__type\":\"\xff\"}"),
          std::string(R"({"__type":["x"],"message":{"a":1}})")}) {
        diagnostics diag;
        error_code ec;
        EXPECT_NO_THROW(ec = parse(400, body, diag));
        EXPECT_EQ(ec, errc::unknown_service_error);
    }
}

TEST(DynamodbError, CancellationReasons) {
    const std::string body =
        R"({"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]",
        "CancellationReasons":[
            {"Code":"ConditionalCheckFailed","Message":"The conditional request failed",
             "Item":{"key":{"S":"job"},"fence":{"N":"9"}}},
            {"Code":"None"},
            {"Code":"TransactionConflict","Message":null}]})";
    diagnostics diag;
    EXPECT_EQ(parse(400, body, diag), errc::transaction_canceled);
    std::vector<cancellation_reason> reasons;
    ASSERT_FALSE(parse_cancellation_reasons(body, reasons, diag));
    ASSERT_EQ(reasons.size(), 3u);
    EXPECT_EQ(reasons[0].code, "ConditionalCheckFailed");
    EXPECT_EQ(reasons[0].message, "The conditional request failed");
    ASSERT_TRUE(reasons[0].item.has_value());
    EXPECT_EQ(reasons[0].item->at("fence"), attribute_value(number{"9"}));
    EXPECT_EQ(reasons[1].code, "None");
    EXPECT_FALSE(reasons[1].item.has_value());
    EXPECT_EQ(reasons[2].code, "TransactionConflict");
    EXPECT_TRUE(reasons[2].message.empty());
}

TEST(DynamodbError, MalformedCancellationReasons) {
    for (const char* body :
         {"", R"({"__type":"TransactionCanceledException"})", R"({"CancellationReasons":{}})",
          R"({"CancellationReasons":[1]})", R"({"CancellationReasons":[{"Message":"no code"}]})",
          R"({"CancellationReasons":[{"Code":"None","Item":{"k":{"B":"!"}}}]})"}) {
        std::vector<cancellation_reason> reasons{{"kept", "", {}}};
        diagnostics diag;
        EXPECT_EQ(parse_cancellation_reasons(body, reasons, diag), errc::malformed_response)
            << body;
        EXPECT_FALSE(diag.message.empty());
        ASSERT_EQ(reasons.size(), 1u);  // untouched on failure
        EXPECT_EQ(reasons[0].code, "kept");
    }
}

}  // namespace
}  // namespace dynalock::dynamodb
