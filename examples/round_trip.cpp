// Creates a table, writes an item with a conditional update, reads it back and
// deletes the table: the DynamoDB client in one screen. Region, endpoint and
// credentials come from the environment, as with any AWS SDK:
//
//   export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
//   export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
//   ./round_trip [TABLE]

#include <dynalock/dynamodb_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <iostream>

namespace asio = boost::asio;
using namespace dynalock::dynamodb;

asio::awaitable<void> round_trip(client& db, std::string table) {
    const create_table_request create{.table_name = table,
                                      .partition_key = {"key", scalar_attribute_type::s}};
    co_await db.async_execute(create);
    const describe_table_request describe{table};
    for (;;) {
        const auto described = co_await db.async_execute(describe);
        if (described.table.status == table_status::active) {
            break;
        }
        asio::steady_timer pause(db.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::deferred);
    }
    std::cout << "created table " << table << " at " << db.endpoint_url() << "\n";

    // Take "job-1" only if nobody holds it, and mint the next fencing number
    // in the same write.
    const update_item_request take{
        .table_name = table,
        .key = {{"key", "job-1"}},
        .update_expression = "SET #owner = :me, #fence = if_not_exists(#fence, :zero) + :one",
        .condition_expression = "attribute_not_exists(#owner)",
        .expression_attribute_names = {{"#owner", "ownerName"}, {"#fence", "fence"}},
        .expression_attribute_values = {{":me", "example"},
                                        {":zero", dynalock::number{"0"}},
                                        {":one", dynalock::number{"1"}}},
        .return_values = return_values::all_new};
    auto granted = co_await db.async_execute(take);
    std::cout << "granted job-1 with fence " << granted.attributes->at("fence").as_number()->text
              << "\n";

    const get_item_request get{
        .table_name = table, .key = {{"key", "job-1"}}, .consistent_read = true};
    auto read = co_await db.async_execute(get);
    std::cout << "read back: owner " << *read.item->at("ownerName").as_string() << "\n";

    const delete_table_request drop{table};
    co_await db.async_execute(drop);
    std::cout << "deleted table " << table << "\n";
}

int main(int argc, char** argv) {
    asio::io_context io;
    try {
        client db(io.get_executor());
        asio::co_spawn(io, round_trip(db, argc > 1 ? argv[1] : "dynalock-example"),
                       [](std::exception_ptr e) {
                           if (e) {
                               std::rethrow_exception(e);
                           }
                       });
        io.run();
    } catch (const std::exception& e) {
        std::cerr << "round_trip: " << e.what() << "\n";
        return 1;
    }
}
