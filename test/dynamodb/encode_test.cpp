// Request encoding: every operation's body compared structurally with the JSON
// DynamoDB documents, a few byte for byte, and every attribute type through
// the writer.

#include "dynamodb/base64.hpp"
#include "dynamodb/json_writer.hpp"
#include "dynamodb/protocol.hpp"
#include "handler_block.hpp"
#include "pooled_allocator.hpp"
#include "thread_spares.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <thread>

namespace dynalock::dynamodb {
namespace {

using nlohmann::json;

bytes to_bytes(std::string_view s) {
    bytes b;
    for (const char c : s) {
        b.push_back(static_cast<std::byte>(c));
    }
    return b;
}

template <class Request>
json encoded_json(const Request& r) {
    return json::parse(encode(r));  // throws, failing the test, if not JSON
}

TEST(DynamodbEncode, Targets) {
    EXPECT_EQ(operation<get_item_request>::target, "DynamoDB_20120810.GetItem");
    EXPECT_EQ(operation<put_item_request>::target, "DynamoDB_20120810.PutItem");
    EXPECT_EQ(operation<update_item_request>::target, "DynamoDB_20120810.UpdateItem");
    EXPECT_EQ(operation<delete_item_request>::target, "DynamoDB_20120810.DeleteItem");
    EXPECT_EQ(operation<query_request>::target, "DynamoDB_20120810.Query");
    EXPECT_EQ(operation<scan_request>::target, "DynamoDB_20120810.Scan");
    EXPECT_EQ(operation<transact_write_items_request>::target,
              "DynamoDB_20120810.TransactWriteItems");
    EXPECT_EQ(operation<create_table_request>::target, "DynamoDB_20120810.CreateTable");
    EXPECT_EQ(operation<describe_table_request>::target, "DynamoDB_20120810.DescribeTable");
    EXPECT_EQ(operation<delete_table_request>::target, "DynamoDB_20120810.DeleteTable");
    EXPECT_EQ(operation<update_time_to_live_request>::target, "DynamoDB_20120810.UpdateTimeToLive");
    EXPECT_EQ(operation<describe_time_to_live_request>::target,
              "DynamoDB_20120810.DescribeTimeToLive");
    static_assert(std::is_same_v<response_t<update_item_request>, update_item_response>);
}

TEST(DynamodbEncode, GetItemExactBytes) {
    get_item_request r{.table_name = "locks", .key = {{"key", "job-1"}}};
    EXPECT_EQ(encode(r), R"({"TableName":"locks","Key":{"key":{"S":"job-1"}}})");
    r.consistent_read = true;
    r.projection_expression = "#f";
    r.expression_attribute_names = {{"#f", "fence"}};
    EXPECT_EQ(encode(r),
              R"({"TableName":"locks","Key":{"key":{"S":"job-1"}},"ConsistentRead":true,)"
              R"("ProjectionExpression":"#f","ExpressionAttributeNames":{"#f":"fence"}})");
}

TEST(DynamodbEncode, HeartbeatUpdateItemExactBytes) {
    update_item_request r{
        .table_name = "locks",
        .key = {{"key", "job-1"}},
        .update_expression = "SET #rvn = :new, #ld = :ld",
        .condition_expression = "#rvn = :rvn AND #on = :me",
        .expression_attribute_names = {{"#ld", "leaseDuration"},
                                       {"#on", "ownerName"},
                                       {"#rvn", "recordVersionNumber"}},
        .expression_attribute_values = {{":ld", "10000"},
                                        {":me", "host-1"},
                                        {":new", "b"},
                                        {":rvn", "a"}},
        .return_values = return_values::all_new,
        .return_values_on_condition_check_failure =
            return_values_on_condition_check_failure::all_old,
    };
    EXPECT_EQ(encode(r),
              R"({"TableName":"locks","Key":{"key":{"S":"job-1"}},)"
              R"("UpdateExpression":"SET #rvn = :new, #ld = :ld",)"
              R"("ConditionExpression":"#rvn = :rvn AND #on = :me",)"
              R"("ExpressionAttributeNames":{"#ld":"leaseDuration","#on":"ownerName",)"
              R"("#rvn":"recordVersionNumber"},)"
              R"("ExpressionAttributeValues":{":ld":{"S":"10000"},":me":{"S":"host-1"},)"
              R"(":new":{"S":"b"},":rvn":{"S":"a"}},)"
              R"("ReturnValues":"ALL_NEW","ReturnValuesOnConditionCheckFailure":"ALL_OLD"})");
}

TEST(DynamodbEncode, EncodeReusesAndReplacesTheBuffer) {
    std::string body = "stale content that must disappear";
    encode(describe_table_request{"locks"}, body);
    EXPECT_EQ(body, R"({"TableName":"locks"})");
}

TEST(DynamodbEncode, EveryAttributeType) {
    put_item_request r{.table_name = "t1_"};
    r.item = {
        {"s", "plain"},
        {"n", number{"12345678901234567890123456789012345678"}},
        {"b", to_bytes({"\x00\xff\x10hi", 5})},
        {"empty_b", bytes{}},
        {"t", true},
        {"f", false},
        {"null", null_value{}},
        {"l", attribute_list{"x", number{"-1.5e3"}, attribute_list{}}},
        {"m", attribute_map{{"inner", attribute_map{{"deep", true}}}, {"e", attribute_map{}}}},
        {"ss", string_set{{"a", "b"}}},
        {"ns", number_set{{number{"1"}, number{"0.25"}}}},
        {"bs", binary_set{{to_bytes("a"), to_bytes("ab"), to_bytes("abc")}}},
    };
    const json expected = json::parse(R"({
        "TableName": "t1_",
        "Item": {
            "s": {"S": "plain"},
            "n": {"N": "12345678901234567890123456789012345678"},
            "b": {"B": "AP8QaGk="},
            "empty_b": {"B": ""},
            "t": {"BOOL": true},
            "f": {"BOOL": false},
            "null": {"NULL": true},
            "l": {"L": [{"S": "x"}, {"N": "-1.5e3"}, {"L": []}]},
            "m": {"M": {"inner": {"M": {"deep": {"BOOL": true}}}, "e": {"M": {}}}},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "0.25"]},
            "bs": {"BS": ["YQ==", "YWI=", "YWJj"]}
        }
    })");
    EXPECT_EQ(encoded_json(r), expected);
}

TEST(DynamodbEncode, StringEscapingAndUnicode) {
    std::string controls;
    for (int c = 0; c < 0x20; ++c) {
        controls += static_cast<char>(c);
    }
    const std::string tricky = "quote\" backslash\\ slash/ del\x7f" + controls;
    const std::string unicode = "ünïcødé ✓ 𝄞 日本";
    put_item_request r{.table_name = "tbl", .item = {{"a", tricky}, {"u", unicode}, {tricky, "k"}}};
    const std::string body = encode(r);
    // Escapes are short forms where JSON has them, \u00XX otherwise; non-ASCII
    // passes through as UTF-8.
    EXPECT_NE(body.find(R"(quote\" backslash\\ slash/ del)"
                        "\x7f"
                        R"(\u0000\u0001)"),
              std::string::npos);
    EXPECT_NE(body.find(R"(\b\t\n\u000b\f\r\u000e)"), std::string::npos);
    EXPECT_NE(body.find(unicode), std::string::npos);
    const json parsed = json::parse(body);
    EXPECT_EQ(parsed["Item"]["a"]["S"], tricky);
    EXPECT_EQ(parsed["Item"]["u"]["S"], unicode);
    EXPECT_EQ(parsed["Item"][tricky]["S"], "k");
}

// The writer looks at eight bytes at a time while none needs escaping: every
// byte that does is found wherever it falls in a word, and nothing else
// changes (bytes of 0x80 and up, and the word boundaries, included).
TEST(DynamodbEncode, EscapingFindsEverySpecialByteAtEveryOffset) {
    const auto reference = [](std::string_view text) {
        std::string out = "\"";
        for (const char ch : text) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += ch;
            } else if (c < 0x20) {
                // 0x08 to 0x0d; 0x0b has none.
                static constexpr std::array<char, 6> short_forms{'b', 't', 'n', '?', 'f', 'r'};
                if (c >= 0x08 && c <= 0x0d && c != 0x0b) {
                    out += '\\';
                    out += short_forms[c - 0x08];
                } else {
                    char u[7];
                    std::snprintf(u, sizeof u, "\\u%04x", c);
                    out += u;
                }
            } else {
                out += ch;
            }
        }
        return out + "\"";
    };
    std::string specials = "\"\\";  // and every C0 control
    for (int c = 0; c < 0x20; ++c) {
        specials += static_cast<char>(c);
    }
    const std::string fillers = std::string("a\x20\x21\x7f\x80\xff/", 7);
    for (std::size_t length = 0; length <= 24; ++length) {
        for (const char filler : fillers) {
            for (std::size_t at = 0; at <= length; ++at) {
                for (const char special : specials) {
                    std::string text(length, filler);
                    if (at < length) {
                        text[at] = special;
                    }
                    std::string out;
                    json_writer(out).string(text);
                    ASSERT_EQ(out, reference(text))
                        << "length " << length << ", byte " << int(special) << " at " << at
                        << " among " << int(static_cast<unsigned char>(filler));
                }
            }
        }
    }
}

TEST(DynamodbEncode, PutAndDeleteItem) {
    put_item_request put{
        .table_name = "locks",
        .item = {{"key", "a"}},
        .condition_expression = "attribute_not_exists(#k)",
        .expression_attribute_names = {{"#k", "key"}},
        .return_values = return_values::all_old,
    };
    EXPECT_EQ(encoded_json(put), json::parse(R"json({"TableName":"locks","Item":{"key":{"S":"a"}},
        "ConditionExpression":"attribute_not_exists(#k)",
        "ExpressionAttributeNames":{"#k":"key"},"ReturnValues":"ALL_OLD"})json"));

    delete_item_request del{
        .table_name = "locks",
        .key = {{"key", "a"}, {"sort", number{"7"}}},
        .condition_expression = "#o = :me",
        .expression_attribute_names = {{"#o", "ownerName"}},
        .expression_attribute_values = {{":me", "host"}},
        .return_values_on_condition_check_failure =
            return_values_on_condition_check_failure::all_old,
    };
    EXPECT_EQ(encoded_json(del), json::parse(R"({"TableName":"locks",
        "Key":{"key":{"S":"a"},"sort":{"N":"7"}},"ConditionExpression":"#o = :me",
        "ExpressionAttributeNames":{"#o":"ownerName"},
        "ExpressionAttributeValues":{":me":{"S":"host"}},
        "ReturnValuesOnConditionCheckFailure":"ALL_OLD"})"));
}

TEST(DynamodbEncode, ReturnValuesNames) {
    const std::pair<return_values, const char*> cases[] = {
        {return_values::all_old, "ALL_OLD"},
        {return_values::updated_old, "UPDATED_OLD"},
        {return_values::all_new, "ALL_NEW"},
        {return_values::updated_new, "UPDATED_NEW"},
    };
    for (const auto& [value, name] : cases) {
        update_item_request r{.table_name = "locks", .key = {{"k", "v"}}, .return_values = value};
        EXPECT_EQ(encoded_json(r)["ReturnValues"], name);
    }
    EXPECT_FALSE(encoded_json(update_item_request{.table_name = "locks"}).contains("ReturnValues"));
}

TEST(DynamodbEncode, QueryWithPagination) {
    query_request r{
        .table_name = "locks",
        .index_name = "by-owner",
        .key_condition_expression = "#o = :o",
        .filter_expression = "#f > :f",
        .projection_expression = "#o, #f",
        .expression_attribute_names = {{"#o", "ownerName"}, {"#f", "fence"}},
        .expression_attribute_values = {{":o", "me"}, {":f", number{"10"}}},
        .limit = 25,
        .consistent_read = true,
        .scan_index_forward = false,
        .select = select_attributes::specific_attributes,
        .exclusive_start_key = item{{"key", "k9"}, {"ownerName", "me"}},
    };
    EXPECT_EQ(encoded_json(r), json::parse(R"({"TableName":"locks","IndexName":"by-owner",
        "KeyConditionExpression":"#o = :o","FilterExpression":"#f > :f",
        "ProjectionExpression":"#o, #f",
        "ExpressionAttributeNames":{"#o":"ownerName","#f":"fence"},
        "ExpressionAttributeValues":{":o":{"S":"me"},":f":{"N":"10"}},
        "Limit":25,"ConsistentRead":true,"ScanIndexForward":false,
        "Select":"SPECIFIC_ATTRIBUTES",
        "ExclusiveStartKey":{"key":{"S":"k9"},"ownerName":{"S":"me"}}})"));
}

TEST(DynamodbEncode, ScanSegmentsAndCount) {
    scan_request r{.table_name = "locks", .select = select_attributes::count};
    EXPECT_EQ(encode(r), R"({"TableName":"locks","Select":"COUNT"})");
    r.select = select_attributes::unspecified;
    r.segment = 1;
    r.total_segments = 4;
    r.limit = 4294967295u;
    EXPECT_EQ(encoded_json(r), json::parse(R"({"TableName":"locks","Limit":4294967295,
        "Segment":1,"TotalSegments":4})"));
}

TEST(DynamodbEncode, TransactWriteItems) {
    transact_write_items_request r{
        .transact_items =
            {
                condition_check{.table_name = "locks",
                                .key = {{"key", "job"}},
                                .condition_expression = "#f = :f",
                                .expression_attribute_names = {{"#f", "fence"}},
                                .expression_attribute_values = {{":f", number{"42"}}},
                                .return_values_on_condition_check_failure =
                                    return_values_on_condition_check_failure::all_old},
                transact_put{.table_name = "data", .item = {{"id", "x"}, {"v", number{"1"}}}},
                transact_update{.table_name = "data",
                                .key = {{"id", "y"}},
                                .update_expression = "SET v = v + :one",
                                .expression_attribute_values = {{":one", number{"1"}}}},
                transact_delete{.table_name = "data", .key = {{"id", "z"}}},
            },
        .client_request_token = "token-1",
    };
    EXPECT_EQ(encoded_json(r), json::parse(R"({"TransactItems":[
        {"ConditionCheck":{"TableName":"locks","Key":{"key":{"S":"job"}},
            "ConditionExpression":"#f = :f","ExpressionAttributeNames":{"#f":"fence"},
            "ExpressionAttributeValues":{":f":{"N":"42"}},
            "ReturnValuesOnConditionCheckFailure":"ALL_OLD"}},
        {"Put":{"TableName":"data","Item":{"id":{"S":"x"},"v":{"N":"1"}}}},
        {"Update":{"TableName":"data","Key":{"id":{"S":"y"}},"UpdateExpression":"SET v = v + :one",
            "ExpressionAttributeValues":{":one":{"N":"1"}}}},
        {"Delete":{"TableName":"data","Key":{"id":{"S":"z"}}}}],
        "ClientRequestToken":"token-1"})"));
}

TEST(DynamodbEncode, CreateTable) {
    create_table_request r{.table_name = "locks",
                           .partition_key = {"key", scalar_attribute_type::s}};
    EXPECT_EQ(encode(r),
              R"({"TableName":"locks","AttributeDefinitions":[{"AttributeName":"key",)"
              R"("AttributeType":"S"}],"KeySchema":[{"AttributeName":"key","KeyType":"HASH"}],)"
              R"("BillingMode":"PAY_PER_REQUEST"})");
    r.sort_key = key_attribute{"sort", scalar_attribute_type::n};
    r.billing_mode = billing_mode::provisioned;
    r.provisioned_throughput = {5, 7};
    EXPECT_EQ(encoded_json(r), json::parse(R"({"TableName":"locks",
        "AttributeDefinitions":[{"AttributeName":"key","AttributeType":"S"},
                                {"AttributeName":"sort","AttributeType":"N"}],
        "KeySchema":[{"AttributeName":"key","KeyType":"HASH"},
                     {"AttributeName":"sort","KeyType":"RANGE"}],
        "BillingMode":"PROVISIONED",
        "ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":7}})"));
    r.sort_key->type = scalar_attribute_type::b;
    EXPECT_EQ(encoded_json(r)["AttributeDefinitions"][1]["AttributeType"], "B");
}

TEST(DynamodbEncode, TableAndTimeToLiveOperations) {
    EXPECT_EQ(encode(describe_table_request{"locks"}), R"({"TableName":"locks"})");
    EXPECT_EQ(encode(delete_table_request{"locks"}), R"({"TableName":"locks"})");
    EXPECT_EQ(encode(describe_time_to_live_request{"locks"}), R"({"TableName":"locks"})");
    EXPECT_EQ(encode(update_time_to_live_request{"locks", "ttl", true}),
              R"({"TableName":"locks","TimeToLiveSpecification":)"
              R"({"AttributeName":"ttl","Enabled":true}})");
    EXPECT_EQ(encoded_json(update_time_to_live_request{
                  "locks", "ttl", false})["TimeToLiveSpecification"]["Enabled"],
              false);
}

TEST(DynamodbBase64, KnownValuesAndRoundTrip) {
    // RFC 4648 section 10 test vectors.
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        std::string out;
        append_base64(out, to_bytes(plain));
        EXPECT_EQ(out, encoded);
        EXPECT_EQ(decode_base64(encoded), to_bytes(plain));
    }
    bytes all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<std::byte>(i));
    }
    std::string out;
    append_base64(out, all);
    EXPECT_EQ(decode_base64(out), all);
}

TEST(DynamodbBase64, RejectsMalformed) {
    for (const char* bad :
         {"Zg", "Zg=", "Z===", "====", "Zm9v!A==", "Zm=v", "Zm9v\nYg==", "Zg==Zg==", "Zm 9"}) {
        EXPECT_FALSE(decode_base64(bad).has_value()) << bad;
    }
}

// Each runs on a thread of its own, whose spares start empty.
template <class F>
void on_new_thread(F f) {
    std::thread(f).join();
}

TEST(DynamodbBody, ANewBodyIsEmptyWithRoomForALockRequest) {
    on_new_thread([] {
        const std::string body = new_body();
        EXPECT_TRUE(body.empty());
        EXPECT_GE(body.capacity(), initial_body_capacity);
    });
}

TEST(DynamodbBody, ARecycledBodyServesTheNextRequestOfItsThreadOnly) {
    on_new_thread([] {
        std::string body = new_body();
        body = "{\"TableName\":\"locks\"}";
        const char* room = body.data();
        recycle_body(std::move(body));
        const char* other_thread_room = nullptr;
        std::thread([&] { other_thread_room = new_body().data(); }).join();
        EXPECT_NE(other_thread_room, room);
        const std::string again = new_body();
        EXPECT_TRUE(again.empty());
        EXPECT_EQ(again.data(), room);
        EXPECT_NE(new_body().data(), room);  // taken once
    });
}

TEST(DynamodbBody, RoomTooSmallOrTooLargeIsNotKept) {
    on_new_thread([] {
        std::string small;  // inline room only
        recycle_body(std::move(small));
        std::string large;
        large.reserve(1 << 20);
        recycle_body(std::move(large));
        EXPECT_LT(new_body().capacity(), std::size_t{1} << 20);
        EXPECT_GE(new_body().capacity(), initial_body_capacity);
    });
}

TEST(ThreadSpares, KeepsUpToItsBoundPerTagAndThread) {
    using spares = detail::thread_spares<struct test_tag, int, 2>;
    using others = detail::thread_spares<struct other_tag, int, 2>;
    on_new_thread([] {
        EXPECT_FALSE(spares::take());
        spares::give(1);
        spares::give(2);
        spares::give(3);  // over the bound: let go
        EXPECT_FALSE(others::take());
        std::optional<int> from_other_thread;
        std::thread([&] { from_other_thread = spares::take(); }).join();
        EXPECT_FALSE(from_other_thread);
        EXPECT_EQ(spares::take(), 2);
        EXPECT_EQ(spares::take(), 1);
        EXPECT_FALSE(spares::take());
    });
}

TEST(HandlerBlock, ReusesItsBlockAndSendsTheRestToTheHeap) {
    detail::handler_block block;
    detail::handler_block_allocator<char> alloc(block);
    char* first = alloc.allocate(100);
    char* while_taken = alloc.allocate(100);  // the block is taken: from the heap
    EXPECT_NE(while_taken, first);
    alloc.deallocate(while_taken, 100);  // not the block: it stays taken
    char* third = alloc.allocate(50);
    EXPECT_NE(third, first) << "a block still taken was handed out again";
    alloc.deallocate(third, 50);
    alloc.deallocate(first, 100);
    EXPECT_EQ(alloc.allocate(80), first);  // fits: the same room
    alloc.deallocate(first, 80);
    char* larger = alloc.allocate(1000);  // grows to fit
    alloc.deallocate(larger, 1000);
    EXPECT_EQ(alloc.allocate(1000), larger);
    alloc.deallocate(larger, 1000);
}

TEST(PooledAllocator, ReusesFreedBlocksOfTheSameClassOnTheSameThread) {
    on_new_thread([] {
        detail::pooled_allocator<char> alloc;
        char* a = alloc.allocate(100);
        alloc.deallocate(a, 100);
        EXPECT_EQ(alloc.allocate(120), a);  // 65..128 bytes: the same class
        char* b = alloc.allocate(100);      // while `a` is out: another block
        EXPECT_NE(b, a);
        alloc.deallocate(b, 100);
        char* other_class = alloc.allocate(200);
        EXPECT_NE(other_class, b);
        char* on_other_thread = nullptr;
        std::thread([&] { on_other_thread = alloc.allocate(100); }).join();
        EXPECT_NE(on_other_thread, b) << "a thread took another thread's kept block";
        alloc.deallocate(on_other_thread, 100);  // kept by this thread now
        alloc.deallocate(other_class, 200);
        alloc.deallocate(a, 120);
        char* huge = alloc.allocate(100000);  // beyond the classes: the heap's
        huge[99999] = 1;
        alloc.deallocate(huge, 100000);
    });
}

}  // namespace
}  // namespace dynalock::dynamodb
