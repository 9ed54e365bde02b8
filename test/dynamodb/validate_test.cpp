// Validation before sending: each DynamoDB limit at its bound and one past it.

#include "dynamodb/validate.hpp"
#include "dynamodb/decimal.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace dynalock::dynamodb {
namespace {

error_code check(const auto& request) {
    diagnostics diag;
    const error_code ec = validate(request, diag);
    EXPECT_EQ(!ec, diag.message.empty()) << diag.message;
    return ec;
}

put_item_request put_of(item it) {
    return {.table_name = "locks", .item = std::move(it)};
}

TEST(DynamodbValidate, TableNames) {
    diagnostics diag;
    EXPECT_FALSE(validate_table_name("abc", diag));
    EXPECT_FALSE(validate_table_name("A-z_0.9", diag));
    EXPECT_FALSE(validate_table_name(std::string(255, 't'), diag));
    for (const std::string& bad :
         {std::string("ab"), std::string(256, 't'), std::string(""), std::string("has space"),
          std::string("slash/"), std::string("ünï")}) {
        EXPECT_EQ(validate_table_name(bad, diag), errc::invalid_argument) << bad;
    }
    EXPECT_EQ(check(describe_table_request{"x"}), errc::invalid_argument);
    EXPECT_EQ(check(delete_table_request{"x"}), errc::invalid_argument);
    EXPECT_EQ(check(describe_time_to_live_request{"x"}), errc::invalid_argument);
    EXPECT_FALSE(check(describe_table_request{"locks"}));
}

TEST(DynamodbValidate, ItemSizeAsDynamoDbCounts) {
    EXPECT_EQ(item_size({{"ab", "xyz"}}), 5u);
    EXPECT_EQ(item_size({{"n", number{"12345"}}}), 1u + 3 + 1);     // 5 digits: 3 bytes + 1
    EXPECT_EQ(item_size({{"n", number{"-0.00120"}}}), 1u + 1 + 1);  // significant "12"
    EXPECT_EQ(item_size({{"b", bytes(10)}}), 11u);
    EXPECT_EQ(item_size({{"t", true}, {"z", null_value{}}}), 4u);
    EXPECT_EQ(item_size({{"l", attribute_list{}}}), 1u + 3);
    EXPECT_EQ(item_size({{"l", attribute_list{"ab", true}}}), 1u + 3 + (2 + 1) + (1 + 1));
    EXPECT_EQ(item_size({{"m", attribute_map{{"k", "v"}}}}), 1u + 3 + (1 + 1 + 1));
    EXPECT_EQ(item_size({{"ss", string_set{{"a", "bc"}}}}), 2u + 3);
}

TEST(DynamodbValidate, ItemSizeLimit) {
    // "k": "x" is 2 bytes; "d" + payload makes up the rest.
    const std::size_t limit = 400 * 1024;
    EXPECT_FALSE(check(put_of({{"k", "x"}, {"d", std::string(limit - 3, 'a')}})));
    EXPECT_EQ(check(put_of({{"k", "x"}, {"d", std::string(limit - 2, 'a')}})),
              errc::value_too_large);
    EXPECT_EQ(check(transact_write_items_request{
                  {transact_put{.table_name = "locks", .item = {{"d", bytes(limit)}}}}, ""}),
              errc::value_too_large);
}

TEST(DynamodbValidate, KeyLimitsWithSchema) {
    const key_schema schema{"pk", "sk"};
    diagnostics diag;
    const item at_bounds{{"pk", std::string(2048, 'p')}, {"sk", std::string(1024, 's')}};
    EXPECT_FALSE(validate_key(at_bounds, schema, diag));
    EXPECT_EQ(validate_key({{"pk", std::string(2049, 'p')}, {"sk", "s"}}, schema, diag),
              errc::value_too_large);
    EXPECT_EQ(validate_key({{"pk", "p"}, {"sk", bytes(1025)}}, schema, diag),
              errc::value_too_large);
    EXPECT_EQ(validate_key({{"pk", ""}, {"sk", "s"}}, schema, diag), errc::invalid_argument);
    EXPECT_EQ(validate_key({{"pk", "p"}, {"sk", bytes{}}}, schema, diag), errc::invalid_argument);
    EXPECT_EQ(validate_key({{"pk", "p"}}, schema, diag), errc::invalid_argument);  // no sk
    EXPECT_EQ(validate_key({{"pk", true}, {"sk", "s"}}, schema, diag), errc::invalid_argument);
    EXPECT_FALSE(validate_key({{"pk", number{"7"}}, {"other", "x"}}, {"pk", ""}, diag));
}

TEST(DynamodbValidate, KeysWithoutSchema) {
    get_item_request get{.table_name = "locks", .key = {{"k", std::string(2048, 'k')}}};
    EXPECT_FALSE(check(get));
    get.key = {{"k", std::string(2049, 'k')}};
    EXPECT_EQ(check(get), errc::value_too_large);
    get.key = {{"k", ""}};
    EXPECT_EQ(check(get), errc::invalid_argument);
    get.key = {};
    EXPECT_EQ(check(get), errc::invalid_argument);
    get.key = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
    EXPECT_EQ(check(get), errc::invalid_argument);
    EXPECT_EQ(check(delete_item_request{.table_name = "locks", .key = {{"k", attribute_list{}}}}),
              errc::invalid_argument);
    EXPECT_EQ(check(update_item_request{.table_name = "locks", .key = {{"k", bytes{}}}}),
              errc::invalid_argument);
}

TEST(DynamodbValidate, Numbers) {
    const auto number_check = [](std::string text) {
        return check(put_of({{"k", "x"}, {"n", number{std::move(text)}}}));
    };
    for (const char* good : {"0", "-0", "12345678901234567890123456789012345678",
                             "1234567890123456789012345678901234567800000",  // trailing zeros
                             "0.00000000000000000000000000000000000000000001", "1E-130",
                             "9.9999999999999999999999999999999999999E+125", "-1e125", "+5", ".5",
                             "5.", "0e999999999999999999"}) {
        EXPECT_FALSE(number_check(good)) << good;
    }
    for (const char* bad : {"123456789012345678901234567890123456789",  // 39 digits
                            "1.23456789012345678901234567890123456789", "1E-131", "1E+126",
                            "-1E126", "1e99999999999999999999", "", "abc", "1.2.3", "1e", "--1",
                            "0x10", " 1", "NaN", "Infinity", "."}) {
        EXPECT_EQ(number_check(bad), errc::invalid_argument) << bad;
    }
}

TEST(DynamodbValidate, Decimals) {
    EXPECT_EQ(parse_decimal("1.0"), parse_decimal("1"));
    EXPECT_EQ(parse_decimal("100"), parse_decimal("1e2"));
    EXPECT_EQ(parse_decimal("0.0"), parse_decimal("-0"));
    EXPECT_NE(parse_decimal("-1"), parse_decimal("1"));
    const auto d = parse_decimal("-001.2300e-3");
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(d->negative);
    EXPECT_EQ(d->digits, "123");
    EXPECT_EQ(d->exponent, -2);  // -0.123e-2
}

TEST(DynamodbValidate, Sets) {
    const auto with = [](attribute_value v) { return check(put_of({{"k", "x"}, {"s", v}})); };
    EXPECT_FALSE(with(string_set{{"a", "b"}}));
    EXPECT_FALSE(with(number_set{{number{"1"}, number{"2"}}}));
    EXPECT_FALSE(with(binary_set{{bytes(1), bytes(2)}}));
    EXPECT_EQ(with(string_set{}), errc::invalid_argument);
    EXPECT_EQ(with(number_set{}), errc::invalid_argument);
    EXPECT_EQ(with(binary_set{}), errc::invalid_argument);
    EXPECT_EQ(with(string_set{{"a", "b", "a"}}), errc::invalid_argument);
    EXPECT_EQ(with(number_set{{number{"1"}, number{"1.0"}}}), errc::invalid_argument);
    EXPECT_EQ(with(number_set{{number{"1"}, number{"x"}}}), errc::invalid_argument);
    EXPECT_EQ(with(binary_set{{bytes(3), bytes(3)}}), errc::invalid_argument);
    // Sets nested in lists and maps are checked too.
    EXPECT_EQ(with(attribute_list{attribute_map{{"in", string_set{}}}}), errc::invalid_argument);
    EXPECT_EQ(check(update_item_request{.table_name = "locks",
                                        .key = {{"k", "x"}},
                                        .expression_attribute_values = {{":s", number_set{}}}}),
              errc::invalid_argument);
}

TEST(DynamodbValidate, StringsAndNames) {
    EXPECT_FALSE(check(put_of({{"k", "ünï ✓ 𝄞"}, {"empty", ""}})));
    EXPECT_EQ(check(put_of({{"k", std::string("\xff")}})), errc::invalid_argument);
    EXPECT_EQ(check(put_of({{"k", std::string("\xc0\x80")}})), errc::invalid_argument);  // overlong
    EXPECT_EQ(check(put_of({{"k", std::string("\xed\xa0\x80")}})),
              errc::invalid_argument);  // surrogate
    EXPECT_EQ(check(put_of({{"k", std::string("\xe2\x9c")}})), errc::invalid_argument);
    EXPECT_EQ(check(put_of({{"", "x"}})), errc::invalid_argument);
    EXPECT_EQ(check(put_of({{std::string("\xfe"), "x"}})), errc::invalid_argument);
}

TEST(DynamodbValidate, NestingDepth) {
    const auto nested = [](int levels) {
        attribute_value v = "leaf";
        for (int i = 0; i < levels; ++i) {
            v = attribute_list{std::move(v)};
        }
        return v;
    };
    EXPECT_FALSE(check(put_of({{"k", "x"}, {"d", nested(32)}})));
    EXPECT_EQ(check(put_of({{"k", "x"}, {"d", nested(33)}})), errc::invalid_argument);
}

TEST(DynamodbValidate, ExpressionsAndReturnValues) {
    put_item_request put = put_of({{"k", "x"}});
    put.expression_attribute_names = {{"k", "key"}};
    EXPECT_EQ(check(put), errc::invalid_argument);
    put.expression_attribute_names = {{"#k", ""}};
    EXPECT_EQ(check(put), errc::invalid_argument);
    put.expression_attribute_names = {{"#k", "key"}};
    put.expression_attribute_values = {{"v", "x"}};
    EXPECT_EQ(check(put), errc::invalid_argument);
    put.expression_attribute_values = {{":v", "x"}};
    EXPECT_FALSE(check(put));

    put.return_values = return_values::all_new;
    EXPECT_EQ(check(put), errc::invalid_argument);
    put.return_values = return_values::all_old;
    EXPECT_FALSE(check(put));
    delete_item_request del{
        .table_name = "locks", .key = {{"k", "x"}}, .return_values = return_values::updated_new};
    EXPECT_EQ(check(del), errc::invalid_argument);
    update_item_request update{
        .table_name = "locks", .key = {{"k", "x"}}, .return_values = return_values::updated_new};
    EXPECT_FALSE(check(update));
}

TEST(DynamodbValidate, QueryAndScan) {
    query_request q{.table_name = "locks", .key_condition_expression = "#k = :k"};
    EXPECT_FALSE(check(q));
    q.limit = 0;
    EXPECT_EQ(check(q), errc::invalid_argument);
    q.limit = 1;
    q.exclusive_start_key = item{};
    EXPECT_EQ(check(q), errc::invalid_argument);
    q.exclusive_start_key = item{{"k", "x"}};
    EXPECT_FALSE(check(q));
    q.key_condition_expression.clear();
    EXPECT_EQ(check(q), errc::invalid_argument);

    scan_request s{.table_name = "locks"};
    EXPECT_FALSE(check(s));
    s.segment = 0;
    EXPECT_EQ(check(s), errc::invalid_argument);
    s.total_segments = 1;
    EXPECT_FALSE(check(s));
    s.segment = 1;
    EXPECT_EQ(check(s), errc::invalid_argument);
    s.segment = 0;
    s.total_segments = 1'000'001;
    EXPECT_EQ(check(s), errc::invalid_argument);
}

TEST(DynamodbValidate, TransactWriteItems) {
    const transact_write_item ok =
        condition_check{.table_name = "locks", .key = {{"k", "x"}}, .condition_expression = "a"};
    transact_write_items_request r{.transact_items = {ok}};
    EXPECT_FALSE(check(r));
    r.transact_items.assign(100, ok);
    EXPECT_FALSE(check(r));
    r.transact_items.assign(101, ok);
    EXPECT_EQ(check(r), errc::invalid_argument);
    r.transact_items.clear();
    EXPECT_EQ(check(r), errc::invalid_argument);

    r.transact_items = {ok};
    r.client_request_token = std::string(36, 't');
    EXPECT_FALSE(check(r));
    r.client_request_token = std::string(37, 't');
    EXPECT_EQ(check(r), errc::invalid_argument);
    r.client_request_token.clear();

    r.transact_items = {condition_check{.table_name = "locks", .key = {{"k", "x"}}}};
    EXPECT_EQ(check(r), errc::invalid_argument);  // no condition
    r.transact_items = {transact_update{.table_name = "locks", .key = {{"k", "x"}}}};
    EXPECT_EQ(check(r), errc::invalid_argument);  // no update expression
    r.transact_items = {transact_delete{.table_name = "no", .key = {{"k", "x"}}}};
    EXPECT_EQ(check(r), errc::invalid_argument);  // table name
    r.transact_items = {transact_delete{.table_name = "locks", .key = {{"k", ""}}}};
    EXPECT_EQ(check(r), errc::invalid_argument);
}

TEST(DynamodbValidate, CreateTableAndTimeToLive) {
    create_table_request c{.table_name = "locks", .partition_key = {"key"}};
    EXPECT_FALSE(check(c));
    c.billing_mode = billing_mode::provisioned;
    EXPECT_EQ(check(c), errc::invalid_argument);
    c.provisioned_throughput = {1, 1};
    EXPECT_FALSE(check(c));
    c.sort_key = key_attribute{"key"};
    EXPECT_EQ(check(c), errc::invalid_argument);
    c.sort_key = key_attribute{std::string(256, 's')};
    EXPECT_EQ(check(c), errc::invalid_argument);
    c.sort_key = key_attribute{std::string(255, 's')};
    EXPECT_FALSE(check(c));
    c.partition_key.name.clear();
    EXPECT_EQ(check(c), errc::invalid_argument);

    EXPECT_FALSE(check(update_time_to_live_request{"locks", "ttl", true}));
    EXPECT_EQ(check(update_time_to_live_request{"locks", "", true}), errc::invalid_argument);
}

// Each sequence at every offset among ASCII, so that it falls on every
// place of the eight-byte steps over ASCII, and at the end of the text.
TEST(DynamodbValidate, Utf8AtEveryOffset) {
    const std::vector<std::pair<std::string, bool>> sequences = {
        {"a", true},
        {"\xc3\xa9", true},           // U+00E9
        {"\xe2\x82\xac", true},       // U+20AC
        {"\xf0\x9f\x94\x92", true},   // U+1F512
        {"\xf4\x8f\xbf\xbf", true},   // U+10FFFF
        {"\x80", false},              // a continuation byte alone
        {"\xc0\x80", false},          // overlong
        {"\xe0\x80\x80", false},      // overlong
        {"\xed\xa0\x80", false},      // a surrogate
        {"\xf4\x90\x80\x80", false},  // past U+10FFFF
        {"\xf5\x80\x80\x80", false},
        {"\xff", false},
        {"\xc3", false},  // cut short
        {"\xe2\x82", false},
        {"\xc3(", false},  // a continuation that is not one
    };
    for (const auto& [sequence, valid] : sequences) {
        for (std::size_t before = 0; before <= 17; ++before) {
            for (const std::size_t after : {0, 1, 7, 8, 9}) {
                const std::string text =
                    std::string(before, 'x') + sequence + std::string(after, 'y');
                EXPECT_EQ(is_utf8(text), valid) << before << " " << after;
            }
        }
    }
    EXPECT_TRUE(is_utf8(""));
    EXPECT_TRUE(is_utf8(std::string(64, '\0')));
}

}  // namespace
}  // namespace dynalock::dynamodb
