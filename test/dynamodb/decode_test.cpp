// Response decoding: every response type, exact attribute values, and hostile
// bodies that must all end as errc::malformed_response, never an exception.

#include "dynamodb/json_reader.hpp"
#include "dynamodb/protocol.hpp"

#include <gtest/gtest.h>

namespace dynalock::dynamodb {
namespace {

bytes to_bytes(std::string_view s) {
    bytes b;
    for (const char c : s) {
        b.push_back(static_cast<std::byte>(c));
    }
    return b;
}

template <class Response>
Response decoded(std::string_view body) {
    Response response;
    diagnostics diag;
    const error_code ec = decode(body, response, diag);
    EXPECT_FALSE(ec) << ec.message() << ": " << diag.message;
    return response;
}

template <class Response>
diagnostics rejected(std::string_view body) {
    Response response;
    diagnostics diag;
    error_code ec;
    EXPECT_NO_THROW(ec = decode(body, response, diag));
    EXPECT_EQ(ec, errc::malformed_response) << body.substr(0, 200);
    EXPECT_FALSE(diag.message.empty());
    return diag;
}

TEST(DynamodbDecode, GetItemEveryAttributeType) {
    const auto r = decoded<get_item_response>(R"({"Item":{
        "s":{"S":"ünï ✓ \"q\" \u0001"},
        "n":{"N":"12345678901234567890123456789012345678"},
        "neg":{"N":"-0.000000000000000000000000000000000001E-90"},
        "b":{"B":"AP8QaGk="},
        "eb":{"B":""},
        "t":{"BOOL":true},
        "nul":{"NULL":true},
        "l":{"L":[{"S":"x"},{"L":[]},{"M":{}}]},
        "m":{"M":{"inner":{"M":{"deep":{"N":"1"}}}}},
        "ss":{"SS":["a","b"]},
        "ns":{"NS":["1","2.5"]},
        "bs":{"BS":["YQ==","YWI="]}}})");
    ASSERT_TRUE(r.item.has_value());
    const item expected{
        {"s", std::string("ünï ✓ \"q\" \x01")},
        {"n", number{"12345678901234567890123456789012345678"}},
        {"neg", number{"-0.000000000000000000000000000000000001E-90"}},
        {"b", to_bytes({"\x00\xff\x10hi", 5})},
        {"eb", bytes{}},
        {"t", true},
        {"nul", null_value{}},
        {"l", attribute_list{"x", attribute_list{}, attribute_map{}}},
        {"m", attribute_map{{"inner", attribute_map{{"deep", number{"1"}}}}}},
        {"ss", string_set{{"a", "b"}}},
        {"ns", number_set{{number{"1"}, number{"2.5"}}}},
        {"bs", binary_set{{to_bytes("a"), to_bytes("ab")}}},
    };
    EXPECT_EQ(*r.item, expected);
}

TEST(DynamodbDecode, GetItemAbsent) {
    EXPECT_FALSE(decoded<get_item_response>("{}").item.has_value());
    EXPECT_FALSE(decoded<get_item_response>(R"({"Item":null})").item.has_value());
}

TEST(DynamodbDecode, WriteResponsesAttributes) {
    const auto update = decoded<update_item_response>(
        R"({"Attributes":{"fence":{"N":"43"},"key":{"S":"job"}},"ConsumedCapacity":{}})");
    ASSERT_TRUE(update.attributes.has_value());
    EXPECT_EQ(update.attributes->at("fence"), attribute_value(number{"43"}));
    EXPECT_FALSE(decoded<put_item_response>("{}").attributes.has_value());
    EXPECT_TRUE(decoded<delete_item_response>(R"({"Attributes":{}})").attributes.has_value());
}

TEST(DynamodbDecode, QueryAndScanPages) {
    const auto page = decoded<item_page>(R"({"Items":[{"k":{"S":"a"}},{"k":{"S":"b"}}],
        "Count":2,"ScannedCount":5,"LastEvaluatedKey":{"k":{"S":"b"}}})");
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[1].at("k"), attribute_value("b"));
    EXPECT_EQ(page.count, 2u);
    EXPECT_EQ(page.scanned_count, 5u);
    ASSERT_TRUE(page.last_evaluated_key.has_value());
    EXPECT_EQ(page.last_evaluated_key->at("k"), attribute_value("b"));

    const auto count_only = decoded<item_page>(R"({"Count":7,"ScannedCount":7})");
    EXPECT_TRUE(count_only.items.empty());
    EXPECT_EQ(count_only.count, 7u);
    EXPECT_FALSE(count_only.last_evaluated_key.has_value());
}

TEST(DynamodbDecode, TableDescriptions) {
    const auto described = decoded<describe_table_response>(R"({"Table":{
        "TableName":"locks","TableArn":"arn:aws:dynamodb:us-east-1:1:table/locks",
        "TableStatus":"ACTIVE","ItemCount":12,"TableSizeBytes":3400,
        "AttributeDefinitions":[{"AttributeName":"key","AttributeType":"S"},
                                {"AttributeName":"sk","AttributeType":"B"}],
        "KeySchema":[{"AttributeName":"key","KeyType":"HASH"},
                     {"AttributeName":"sk","KeyType":"RANGE"}],
        "BillingModeSummary":{"BillingMode":"PAY_PER_REQUEST"},
        "ProvisionedThroughput":{"ReadCapacityUnits":0,"WriteCapacityUnits":0,
                                 "NumberOfDecreasesToday":0},
        "CreationDateTime":1.7e9}})");
    const auto& t = described.table;
    EXPECT_EQ(t.table_name, "locks");
    EXPECT_EQ(t.table_arn, "arn:aws:dynamodb:us-east-1:1:table/locks");
    EXPECT_EQ(t.status, table_status::active);
    EXPECT_EQ(t.partition_key, (key_attribute{"key", scalar_attribute_type::s}));
    EXPECT_EQ(t.sort_key, (key_attribute{"sk", scalar_attribute_type::b}));
    EXPECT_EQ(t.item_count, 12u);
    EXPECT_EQ(t.table_size_bytes, 3400u);
    EXPECT_EQ(t.billing_mode, billing_mode::pay_per_request);

    const auto created = decoded<create_table_response>(R"({"TableDescription":{
        "TableName":"locks","TableStatus":"CREATING",
        "AttributeDefinitions":[{"AttributeName":"key","AttributeType":"N"}],
        "KeySchema":[{"AttributeName":"key","KeyType":"HASH"}],
        "ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":6}}})");
    EXPECT_EQ(created.table_description.status, table_status::creating);
    EXPECT_EQ(created.table_description.partition_key.type, scalar_attribute_type::n);
    EXPECT_FALSE(created.table_description.sort_key.has_value());
    EXPECT_EQ(created.table_description.billing_mode, billing_mode::provisioned);
    EXPECT_EQ(created.table_description.provisioned_throughput, (throughput{5, 6}));

    const auto deleted = decoded<delete_table_response>(
        R"({"TableDescription":{"TableName":"locks","TableStatus":"DELETING"}})");
    EXPECT_EQ(deleted.table_description.status, table_status::deleting);
    EXPECT_EQ(decoded<describe_table_response>(
                  R"({"Table":{"TableName":"x","TableStatus":"SOMETHING_NEW"}})")
                  .table.status,
              table_status::unknown);
}

TEST(DynamodbDecode, TimeToLive) {
    const auto updated = decoded<update_time_to_live_response>(
        R"({"TimeToLiveSpecification":{"AttributeName":"ttl","Enabled":true}})");
    EXPECT_EQ(updated.attribute_name, "ttl");
    EXPECT_TRUE(updated.enabled);
    const auto described = decoded<describe_time_to_live_response>(
        R"({"TimeToLiveDescription":{"TimeToLiveStatus":"ENABLED","AttributeName":"ttl"}})");
    EXPECT_EQ(described.status, time_to_live_status::enabled);
    EXPECT_EQ(described.attribute_name, "ttl");
    const auto disabled = decoded<describe_time_to_live_response>(
        R"({"TimeToLiveDescription":{"TimeToLiveStatus":"DISABLED"}})");
    EXPECT_EQ(disabled.status, time_to_live_status::disabled);
    EXPECT_TRUE(disabled.attribute_name.empty());
}

TEST(DynamodbDecode, TransactWriteItemsSuccess) {
    EXPECT_TRUE(decoded<transact_write_items_response>("{}").cancellation_reasons.empty());
}

TEST(DynamodbDecode, MalformedJsonAndWrongShapes) {
    for (const char* body : {
             "",
             "   ",
             "{",
             R"({"Item":{"k":{"S":"a"}})",  // truncated
             "[]",
             "null",
             "42",
             R"("string")",
             R"({"Item":[]})",
             R"({"Item":{"k":"a"}})",
             R"({"Item":{"k":{}}})",
             R"({"Item":{"k":{"S":"a","N":"1"}}})",
             R"({"Item":{"k":{"S":1}}})",
             R"({"Item":{"k":{"N":1}}})",
             R"({"Item":{"k":{"N":"12abc"}}})",
             R"({"Item":{"k":{"N":""}}})",
             R"({"Item":{"k":{"N":"1e"}}})",
             R"({"Item":{"k":{"B":"not base64!"}}})",
             R"({"Item":{"k":{"B":"Zg="}}})",
             R"({"Item":{"k":{"BOOL":"true"}}})",
             R"({"Item":{"k":{"NULL":false}}})",
             R"({"Item":{"k":{"L":{}}}})",
             R"({"Item":{"k":{"M":[]}}})",
             R"({"Item":{"k":{"SS":[1]}}})",
             R"({"Item":{"k":{"NS":["x"]}}})",
             R"({"Item":{"k":{"BS":["@@@@"]}}})",
             R"({"Item":{"k":{"XX":"a"}}})",
             "{\"Item\":{\"k\":{\"S\":\"\xff\xfe\"}}}",  // invalid UTF-8
         }) {
        rejected<get_item_response>(body);
    }
    rejected<item_page>(R"({"Items":{}, "Count":1})");
    rejected<item_page>(R"({"Items":[]})");  // Count is required
    rejected<item_page>(R"({"Items":[], "Count":-1})");
    rejected<item_page>(R"({"Items":[], "Count":1.5})");
    rejected<item_page>(R"({"Items":[], "Count":"1"})");
    rejected<describe_table_response>(R"({"Table":{"TableName":1}})");
    rejected<describe_table_response>(R"({"Table":{}})");
    rejected<describe_table_response>(
        R"({"Table":{"TableName":"t","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}]}})");
    rejected<describe_table_response>(R"({"Table":{"TableName":"t","KeySchema":[]}})");
    rejected<update_time_to_live_response>(R"({"TimeToLiveSpecification":{"Enabled":1}})");
    rejected<describe_time_to_live_response>(R"({})");
}

TEST(DynamodbDecode, DeepNesting) {
    // Within DynamoDB's 32 levels: accepted.
    std::string ok = R"({"Item":{"k":)";
    for (int i = 0; i < 32; ++i) {
        ok += R"({"L":[)";
    }
    ok += R"({"S":"x"})";
    for (int i = 0; i < 32; ++i) {
        ok += "]}";
    }
    ok += "}}";
    decoded<get_item_response>(ok);

    std::string too_deep = R"({"Item":{"k":)";
    for (int i = 0; i < 33; ++i) {
        too_deep += R"({"M":{"a":)";
    }
    too_deep += R"({"S":"x"})";
    for (int i = 0; i < 33; ++i) {
        too_deep += "}}";
    }
    too_deep += "}}";
    rejected<get_item_response>(too_deep);

    // 10,000 nested arrays and a million-deep unclosed prefix: rejected, no
    // stack overflow.
    const std::string arrays = std::string(10'000, '[') + std::string(10'000, ']');
    rejected<get_item_response>(R"({"Item":)" + arrays + "}");
    rejected<get_item_response>(arrays);
    rejected<get_item_response>(std::string(1'000'000, '['));
    std::string attribute_bomb = R"({"Item":{"k":)";
    for (int i = 0; i < 10'000; ++i) {
        attribute_bomb += R"({"L":[)";
    }
    rejected<get_item_response>(attribute_bomb);
}

TEST(DynamodbDecode, HugeStringsSurvive) {
    const std::string big(5'000'000, 'x');
    const auto r = decoded<get_item_response>(R"({"Item":{"k":{"S":")" + big + R"("}}})");
    ASSERT_TRUE(r.item.has_value());
    EXPECT_EQ(r.item->at("k"), attribute_value(big));
    rejected<get_item_response>(R"({"Item":{"k":{"S":")" + big);
}

// Deterministic mutations of valid bodies: whatever the bytes, each decoder
// answers success or malformed_response, and parse_error answers some code.
TEST(DynamodbDecode, MutatedBodiesNeverThrow) {
    const std::string seeds[] = {
        R"({"Item":{"k":{"S":"a"},"n":{"N":"1.5"},"b":{"B":"YQ=="},"l":{"L":[{"M":{"x":{"NULL":true}}}]},"s":{"NS":["1"]}}})",
        R"({"Items":[{"k":{"SS":["a"]}}],"Count":1,"ScannedCount":1,"LastEvaluatedKey":{"k":{"BS":["YQ=="]}}})",
        R"({"Table":{"TableName":"t","TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"k","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"k","AttributeType":"S"}]}})",
        R"({"__type":"x#TransactionCanceledException","CancellationReasons":[{"Code":"None","Item":{"k":{"BOOL":true}}}]})",
    };
    std::uint32_t state = 12345;
    const auto next = [&] {
        state = state * 1103515245u + 12345u;
        return state >> 8;
    };
    const char replacements[] = {'{', '}', '[', ']', '"', ':', ',', '\\', '0', 'x', '\0', '\xff'};
    for (int round = 0; round < 20'000; ++round) {
        std::string body = seeds[next() % std::size(seeds)];
        for (std::uint32_t edits = 1 + next() % 4; edits > 0; --edits) {
            const std::size_t at = next() % body.size();
            switch (next() % 3) {
                case 0:
                    body[at] = replacements[next() % std::size(replacements)];
                    break;
                case 1:
                    body.erase(at, 1 + next() % 8);
                    break;
                default:
                    body.insert(at, 1, replacements[next() % std::size(replacements)]);
            }
            if (body.empty()) {
                body = "{";
            }
        }
        diagnostics diag;
        get_item_response item;
        item_page page;
        describe_table_response table;
        std::vector<cancellation_reason> reasons;
        for (const error_code ec :
             {decode(body, item, diag), decode(body, page, diag), decode(body, table, diag),
              parse_cancellation_reasons(body, reasons, diag)}) {
            EXPECT_TRUE(!ec || ec == errc::malformed_response) << body;
        }
        EXPECT_TRUE(parse_error(400, body, "", diag)) << body;
    }
}

// What the full (DOM) reader makes of `body` as an item response, or nullopt
// when it rejects it.
std::optional<std::optional<attribute_map>> read_in_full(std::string_view body,
                                                         std::string_view name) {
    std::optional<attribute_map> attributes;
    diagnostics diag;
    const error_code ec = decode_guarded(body, diag, [&](const json& object) {
        const json* found = find_member(object, name);
        if (found != nullptr) {
            attributes = as_attributes(*found, name);
        }
    });
    if (ec) {
        return std::nullopt;
    }
    return attributes;
}

// The fast reader must be taken for what DynamoDB sends, or it saves nothing.
TEST(DynamodbDecode, CanonicalItemResponsesSkipTheFullReader) {
    const std::string bodies[] = {
        "{}",
        " {\r\n} \n",
        R"({"Attributes":{}})",
        R"({"Attributes":{"key":{"S":"shard-0042"},"fence":{"N":"1842"},"data":{"B":"eyJqb2IiOjF9"}}})",
        R"({ "Item" : { "k" : { "L" : [ { "M" : { "x" : { "NULL" : true } } }, {"BOOL":false} ] },)"
        R"( "s" : { "SS" : [ "a", "b" ] }, "n" : { "NS" : [ "1", "-2.5e3" ] }, "b" : { "BS" : [] } } })",
    };
    for (const auto& body : bodies) {
        const std::string_view name =
            body.find("Item") != std::string::npos ? "Item" : "Attributes";
        std::optional<attribute_map> fast;
        EXPECT_TRUE(read_canonical_attributes_member(body, name, fast)) << body;
        EXPECT_EQ(std::optional<std::optional<attribute_map>>(fast), read_in_full(body, name))
            << body;
    }
}

// Valid bodies outside the canonical subset are left to the full reader, and
// decode still gives its answer.
TEST(DynamodbDecode, NonCanonicalItemResponsesGoToTheFullReader) {
    const std::pair<std::string, attribute_map> bodies[] = {
        {R"({"Item":{"k":{"S":"a\"b"}}})", {{"k", "a\"b"}}},
        {R"({"Item":{"k":{"S":"\u00e9"}}})", {{"k", "\xc3\xa9"}}},
        {"{\"Item\":{\"k\":{\"S\":\"\xc3\xa9\"}}}", {{"k", "\xc3\xa9"}}},
        {R"({"Item":{"k":{"S":"a"},"k":{"S":"b"}}})", {{"k", "b"}}},
        {R"({"Item":{"k":{"S":"a","S":"b"}}})", {{"k", "b"}}},
        {R"({"ConsumedCapacity":{"TableName":"t"},"Item":{"k":{"S":"a"}}})", {{"k", "a"}}},
    };
    for (const auto& [body, expected] : bodies) {
        std::optional<attribute_map> fast;
        EXPECT_FALSE(read_canonical_attributes_member(body, "Item", fast)) << body;
        EXPECT_FALSE(fast.has_value());
        const auto r = decoded<get_item_response>(body);
        EXPECT_EQ(r.item, std::optional(expected)) << body;
    }
    std::optional<attribute_map> fast;
    EXPECT_FALSE(read_canonical_attributes_member(R"({"Item":null})", "Item", fast));
    EXPECT_FALSE(read_canonical_attributes_member(R"({"Attributes":{}})", "Item", fast));
}

// Mutations of canonical bodies: whenever the fast reader accepts one, the
// full reader accepts it too, with the same attributes.
TEST(DynamodbDecode, CanonicalReaderAgreesWithTheFullReader) {
    const std::string seeds[] = {
        R"({"Attributes":{"key":{"S":"shard-1"},"fence":{"N":"1842"},"data":{"B":"YWJj"},"t":{"BOOL":true}}})",
        R"({"Attributes":{"l":{"L":[{"M":{"x":{"NULL":true},"y":{"SS":["a","b"]}}},{"NS":["1","2.5"]}]},"z":{"BS":["YQ=="]}}})",
        R"({"Attributes":{"m":{"M":{"m":{"M":{"m":{"L":[]}}}}},"e":{"S":""}}})",
    };
    std::uint32_t state = 54321;
    const auto next = [&] {
        state = state * 1103515245u + 12345u;
        return state >> 8;
    };
    const char replacements[] = {'{', '}', '[', ']', '"', ':', ',', '\\', ' ',
                                 '0', 'x', 'S', 'N', 'L', 'M', '=', '\0', '\xff'};
    int accepted = 0;
    for (int round = 0; round < 20'000; ++round) {
        std::string body = seeds[next() % std::size(seeds)];
        for (std::uint32_t edits = 1 + next() % 3; edits > 0; --edits) {
            const std::size_t at = next() % body.size();
            switch (next() % 3) {
                case 0:
                    body[at] = replacements[next() % std::size(replacements)];
                    break;
                case 1:
                    body.erase(at, 1 + next() % 4);
                    break;
                default:
                    body.insert(at, 1, replacements[next() % std::size(replacements)]);
            }
            if (body.empty()) {
                body = "{";
            }
        }
        std::optional<attribute_map> fast;
        if (read_canonical_attributes_member(body, "Attributes", fast)) {
            ++accepted;
            EXPECT_EQ(std::optional<std::optional<attribute_map>>(fast),
                      read_in_full(body, "Attributes"))
                << body;
        }
    }
    // Enough accepted mutations for the comparison to mean something.
    EXPECT_GT(accepted, 500);
}

}  // namespace
}  // namespace dynalock::dynamodb
