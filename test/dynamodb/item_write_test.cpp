// item_write, the lock store's view of an UpdateItem or DeleteItem: the same
// body as the owning request with the same content, and the same refusals
// with the same messages.

#include "dynamodb/item_write.hpp"
#include "dynamodb/protocol.hpp"
#include "dynamodb/validate.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace dynalock::dynamodb {
namespace {

// One write given both ways; names and values in placeholder order, as the
// owning request's maps keep them.
struct both_ways {
    std::vector<string_key_attribute> key;
    std::vector<expression_name> names;
    std::vector<std::pair<std::string, attribute_value>> values;
    std::string table = "locks";
    std::string update;
    std::string condition;
    std::vector<expression_value> value_views;

    item_write view(return_values rv) {
        value_views.clear();
        for (const auto& [placeholder, value] : values) {
            value_views.push_back({placeholder, &value});
        }
        return {.table_name = table,
                .key = key,
                .update_expression = update,
                .condition_expression = condition,
                .names = names,
                .values = value_views,
                .return_values = rv,
                .return_values_on_condition_check_failure =
                    return_values_on_condition_check_failure::all_old};
    }

    template <class Request>
    Request owning(return_values rv) {
        Request r{.table_name = table,
                  .condition_expression = condition,
                  .return_values = rv,
                  .return_values_on_condition_check_failure =
                      return_values_on_condition_check_failure::all_old};
        for (const auto& [name, value] : key) {
            r.key.emplace(std::string(name), std::string(value));
        }
        for (const auto& [placeholder, name] : names) {
            r.expression_attribute_names.emplace(placeholder, std::string(name));
        }
        for (const auto& [placeholder, value] : values) {
            r.expression_attribute_values.emplace(placeholder, value);
        }
        if constexpr (std::is_same_v<Request, update_item_request>) {
            r.update_expression = update;
        }
        return r;
    }
};

both_ways heartbeat() {
    return {
        .key = {{"key", "job-1"}, {"sort", "a"}},
        .names = {{"#ld", "leaseDuration"}, {"#on", "ownerName"}, {"#rvn", "recordVersionNumber"}},
        .values = {{":data", bytes{std::byte{1}, std::byte{255}}},
                   {":ld", "10000"},
                   {":me", "host-1 \"quoted\" ✓"},
                   {":ttl", number{"1765000000"}}},
        .update = "SET #rvn = :new, #ld = :ld",
        .condition = "#rvn = :rvn AND #on = :me"};
}

TEST(DynamodbItemWrite, UpdateEncodesAsTheOwningRequest) {
    both_ways w = heartbeat();
    std::string body = "stale";
    encode(w.view(return_values::all_new), body);
    EXPECT_EQ(body, encode(w.owning<update_item_request>(return_values::all_new)));
}

TEST(DynamodbItemWrite, DeleteEncodesAsTheOwningRequest) {
    both_ways w = heartbeat();
    w.update.clear();
    w.names.clear();
    w.values.clear();
    std::string body;
    encode(w.view(return_values::none), body);
    EXPECT_EQ(body, encode(w.owning<delete_item_request>(return_values::none)));
}

// Each case refused by both, with the same error and message.
TEST(DynamodbItemWrite, RefusesWhatTheOwningRequestIsRefusedFor) {
    const auto same = [](both_ways w, return_values rv, errc expected) {
        diagnostics viewed;
        diagnostics owned;
        const bool is_update = !w.update.empty();
        const error_code ec = validate(w.view(rv), viewed);
        const error_code owning_ec = is_update ? validate(w.owning<update_item_request>(rv), owned)
                                               : validate(w.owning<delete_item_request>(rv), owned);
        const auto refused_as_expected = [&](error_code e) {
            return expected == errc{} ? !e : e == expected;
        };
        EXPECT_TRUE(refused_as_expected(ec)) << viewed.message;
        EXPECT_TRUE(refused_as_expected(owning_ec)) << owned.message;
        EXPECT_EQ(viewed.message, owned.message);
    };
    same(heartbeat(), return_values::all_new, errc{});
    {
        both_ways w = heartbeat();
        w.table = "x";
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.key = {{"key", ""}};
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.key = {{"key", "\xff"}};
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        const std::string long_key(2049, 'k');
        w.key = {{"key", long_key}};
        same(w, return_values::all_new, errc::value_too_large);
    }
    {
        both_ways w = heartbeat();
        w.key.clear();
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.names.push_back({"on", "ownerName"});
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.names.push_back({"#x", ""});
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.values.emplace_back("v", "x");
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.values.emplace_back(":v", std::string("\xc0\x80"));
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.values.emplace_back(":v", string_set{});
        same(w, return_values::all_new, errc::invalid_argument);
    }
    {
        both_ways w = heartbeat();
        w.update.clear();
        same(w, return_values::all_new, errc::invalid_argument);
        same(w, return_values::all_old, errc{});
    }
}

}  // namespace
}  // namespace dynalock::dynamodb
