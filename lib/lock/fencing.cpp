#include <dynalock/fencing.hpp>

#include "lock/lock_item.hpp"

#include <string>

namespace dynalock {

dynamodb::condition_check lease_check(const dynamodb_store& store, const lease& l) {
    const auto& o = store.options();
    return dynamodb::condition_check{
        .table_name = o.table_name,
        .key = lock::key_item({o.partition_key_name, o.sort_key_name}, l.key()),
        .condition_expression = "#on = :on AND #fence = :fence AND attribute_not_exists(#ir)",
        .expression_attribute_names = {{"#on", std::string(lock::owner_attribute)},
                                       {"#fence", std::string(lock::fence_attribute)},
                                       {"#ir", std::string(lock::released_attribute)}},
        .expression_attribute_values = {{":on", attribute_value{l.owner()}},
                                        {":fence", number{std::to_string(l.fence())}}},
    };
}

dynamodb::transact_write_items_request fenced_write(const dynamodb_store& store, const lease& l,
                                                    dynamodb::transact_write_item write) {
    return {.transact_items = {lease_check(store, l), std::move(write)}};
}

}  // namespace dynalock
