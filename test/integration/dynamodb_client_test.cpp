// The DynamoDB client against real servers: dynalite and moto (with SigV4
// signature checking on), every operation on both. Where a server lacks a
// feature the test says so and checks what the client reports instead.

#include "support/execute.hpp"
#include "test_servers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

using namespace dynalock;
using namespace dynalock::dynamodb;
namespace asio = boost::asio;

namespace {

class client_test : public ::testing::TestWithParam<test::server> {
protected:
    void SetUp() override {
        c_.emplace(io_.get_executor(), test::options_for(GetParam()));
        table_ = test::unique_table("client");
    }

    void TearDown() override {
        if (created_) {
            exec(delete_table_request{table_});
        }
    }

    template <class Req>
    std::tuple<error_code, response_t<Req>> exec(Req r, diagnostics* d = nullptr) {
        return test::execute(io_, *c_, std::move(r), operation_options{.diagnostics = d});
    }

    void create_table(bool with_sort_key = false) {
        create_table_request r{.table_name = table_,
                               .partition_key = {"pk", scalar_attribute_type::s}};
        if (with_sort_key) {
            r.sort_key = key_attribute{"sk", scalar_attribute_type::n};
        }
        diagnostics d;
        auto [ec, resp] = exec(r, &d);
        ASSERT_FALSE(ec) << ec.message() << " " << d.message;
        created_ = true;
        EXPECT_EQ(resp.table_description.table_name, table_);
        wait_active();
    }

    void wait_active() {
        for (int i = 0; i < 100; ++i) {
            auto [ec, resp] = exec(describe_table_request{table_});
            ASSERT_FALSE(ec) << ec.message();
            if (resp.table.status == table_status::active) {
                return;
            }
            asio::steady_timer t(io_, std::chrono::milliseconds(50));
            t.wait();
        }
        FAIL() << "table never became ACTIVE";
    }

    asio::io_context io_;
    std::optional<client> c_;
    std::string table_;
    bool created_ = false;
};

item sample_item() {
    attribute_map nested{{"inner", attribute_value{number{"-1500.25"}}},
                         {"list", attribute_list{attribute_value{"x"}, attribute_value{true}}}};
    return item{
        {"pk", attribute_value{"key-\xc3\xa9\xe2\x82\xac-\"quoted\"\\"}},
        {"s", attribute_value{"line\nbreak\ttab \x01 ctl \xf0\x9f\x94\x92"}},
        {"n", attribute_value{number{"12345678901234567890123456789012345678"}}},
        {"b", attribute_value{bytes{std::byte{0}, std::byte{0xff}, std::byte{0x7f}}}},
        {"t", attribute_value{true}},
        {"f", attribute_value{false}},
        {"z", attribute_value{null_value{}}},
        {"m", attribute_value{nested}},
        {"ss", attribute_value{string_set{{"a", "b"}}}},
        {"ns", attribute_value{number_set{{number{"1"}, number{"2.5"}}}}},
        {"bs", attribute_value{binary_set{{bytes{std::byte{1}}, bytes{std::byte{2}}}}}},
    };
}

TEST_P(client_test, create_describe_delete_table) {
    create_table(true);
    auto [ec, resp] = exec(describe_table_request{table_});
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(resp.table.partition_key, (key_attribute{"pk", scalar_attribute_type::s}));
    ASSERT_TRUE(resp.table.sort_key.has_value());
    EXPECT_EQ(*resp.table.sort_key, (key_attribute{"sk", scalar_attribute_type::n}));
    EXPECT_EQ(resp.table.billing_mode, billing_mode::pay_per_request);

    auto [ec2, del] = exec(delete_table_request{table_});
    ASSERT_FALSE(ec2) << ec2.message();
    created_ = false;
    // Deletion may take a moment (the table is DELETING first).
    error_code gone;
    for (int i = 0; i < 100 && gone != errc::resource_not_found; ++i) {
        gone = std::get<0>(exec(describe_table_request{table_}));
        if (gone != errc::resource_not_found) {
            asio::steady_timer(io_, std::chrono::milliseconds(50)).wait();
        }
    }
    EXPECT_EQ(gone, errc::resource_not_found) << gone.message();
}

TEST_P(client_test, create_provisioned_table) {
    create_table_request r{.table_name = table_,
                           .partition_key = {"pk", scalar_attribute_type::s},
                           .billing_mode = billing_mode::provisioned,
                           .provisioned_throughput = {5, 7}};
    auto [ec, resp] = exec(r);
    ASSERT_FALSE(ec) << ec.message();
    created_ = true;
    wait_active();
    auto [ec2, d] = exec(describe_table_request{table_});
    ASSERT_FALSE(ec2);
    EXPECT_EQ(d.table.billing_mode, billing_mode::provisioned);
    EXPECT_EQ(d.table.provisioned_throughput, (throughput{5, 7}));
}

TEST_P(client_test, create_existing_table_is_resource_in_use) {
    create_table();
    auto [ec, resp] = exec(create_table_request{.table_name = table_,
                                                .partition_key = {"pk", scalar_attribute_type::s}});
    EXPECT_EQ(ec, errc::resource_in_use) << ec.message();
}

TEST_P(client_test, put_get_round_trips_every_attribute_type) {
    create_table();
    const item it = sample_item();
    auto [ec, put] = exec(put_item_request{.table_name = table_, .item = it});
    ASSERT_FALSE(ec) << ec.message();
    auto [ec2, got] = exec(get_item_request{
        .table_name = table_, .key = {{"pk", it.at("pk")}}, .consistent_read = true});
    ASSERT_FALSE(ec2) << ec2.message();
    ASSERT_TRUE(got.item.has_value());
    // Sets come back in no particular order.
    item expected = it, actual = *got.item;
    for (auto* m : {&expected, &actual}) {
        std::sort(std::get<number_set>((*m)["ns"].value()).values.begin(),
                  std::get<number_set>((*m)["ns"].value()).values.end(),
                  [](auto& a, auto& b) { return a.text < b.text; });
        std::sort(std::get<string_set>((*m)["ss"].value()).values.begin(),
                  std::get<string_set>((*m)["ss"].value()).values.end());
        std::sort(std::get<binary_set>((*m)["bs"].value()).values.begin(),
                  std::get<binary_set>((*m)["bs"].value()).values.end());
    }
    EXPECT_EQ(actual.size(), expected.size());
    for (const auto& [name, value] : expected) {
        EXPECT_TRUE(actual.contains(name) && actual.at(name) == value) << "attribute " << name;
    }

    auto [ec3, missing] = exec(get_item_request{.table_name = table_, .key = {{"pk", "nope"}}});
    ASSERT_FALSE(ec3);
    EXPECT_FALSE(missing.item.has_value());
}

TEST_P(client_test, conditional_update_returns_new_values_and_fails_its_condition) {
    create_table();
    update_item_request up{
        .table_name = table_,
        .key = {{"pk", "lock"}},
        .update_expression = "SET #o = :me, #f = if_not_exists(#f, :zero) + :one",
        .condition_expression = "attribute_not_exists(#pk) OR #o = :me",
        .expression_attribute_names = {{"#o", "owner"}, {"#f", "fence"}, {"#pk", "pk"}},
        .expression_attribute_values = {{":me", "a"},
                                        {":zero", number{"0"}},
                                        {":one", number{"1"}}},
        .return_values = return_values::all_new,
        .return_values_on_condition_check_failure =
            return_values_on_condition_check_failure::all_old,
    };
    auto [ec, r1] = exec(up);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(r1.attributes.has_value());
    EXPECT_EQ(r1.attributes->at("fence"), attribute_value{number{"1"}});
    auto [ec2, r2] = exec(up);
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(r2.attributes->at("fence"), attribute_value{number{"2"}});

    up.expression_attribute_values[":me"] = "b";
    diagnostics d;
    auto [ec3, r3] = exec(up, &d);
    EXPECT_EQ(ec3, errc::conditional_check_failed);
    EXPECT_FALSE(is_retryable(ec3));
    EXPECT_EQ(d.aws_type, "ConditionalCheckFailedException");
    EXPECT_EQ(d.http_status, 400u);
    if (GetParam().returns_item_on_condition_failure) {
        ASSERT_TRUE(d.item.has_value()) << "the server should return ALL_OLD on a failed condition";
        EXPECT_EQ(d.item->at("owner"), attribute_value{"a"});
    } else {
        // dynalite ignores ReturnValuesOnConditionCheckFailure: the lock layer
        // falls back to a consistent GetItem.
        EXPECT_FALSE(d.item.has_value());
    }
}

TEST_P(client_test, delete_returns_old_item) {
    create_table();
    exec(put_item_request{.table_name = table_, .item = {{"pk", "k"}, {"v", number{"7"}}}});
    auto [ec, del] = exec(delete_item_request{
        .table_name = table_, .key = {{"pk", "k"}}, .return_values = return_values::all_old});
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(del.attributes.has_value());
    EXPECT_EQ(del.attributes->at("v"), attribute_value{number{"7"}});
    auto [ec2, got] =
        exec(get_item_request{.table_name = table_, .key = {{"pk", "k"}}, .consistent_read = true});
    EXPECT_FALSE(got.item.has_value());
}

TEST_P(client_test, query_and_scan_paginate) {
    create_table(true);
    for (int i = 0; i < 25; ++i) {
        auto [ec, r] = exec(put_item_request{
            .table_name = table_,
            .item = {{"pk", i < 20 ? "a" : "b"}, {"sk", number{std::to_string(i)}}}});
        ASSERT_FALSE(ec) << ec.message();
    }
    query_request q{.table_name = table_,
                    .key_condition_expression = "#pk = :a",
                    .expression_attribute_names = {{"#pk", "pk"}},
                    .expression_attribute_values = {{":a", "a"}},
                    .limit = 7,
                    .consistent_read = true};
    std::vector<std::string> seen;
    int pages = 0;
    do {
        auto [ec, page] = exec(q);
        ASSERT_FALSE(ec) << ec.message();
        ++pages;
        for (auto& it : page.items) {
            seen.push_back(it.at("sk").as_number()->text);
        }
        q.exclusive_start_key = page.last_evaluated_key;
    } while (q.exclusive_start_key && pages < 10);
    EXPECT_EQ(seen.size(), 20u);
    EXPECT_GE(pages, 3);
    EXPECT_EQ(seen.front(), "0");
    EXPECT_EQ(seen.back(), "19");

    scan_request s{.table_name = table_, .limit = 10};
    std::size_t total = 0;
    pages = 0;
    do {
        auto [ec, page] = exec(s);
        ASSERT_FALSE(ec) << ec.message();
        ++pages;
        total += page.items.size();
        s.exclusive_start_key = page.last_evaluated_key;
    } while (s.exclusive_start_key && pages < 10);
    EXPECT_EQ(total, 25u);
    EXPECT_GE(pages, 3);
}

TEST_P(client_test, transact_write_items) {
    create_table();
    transact_write_items_request t{.transact_items = {
                                       transact_put{.table_name = table_, .item = {{"pk", "x"}}},
                                       transact_put{.table_name = table_, .item = {{"pk", "y"}}},
                                   }};
    auto [ec, r] = exec(t);
    if (!GetParam().has_transactions) {
        // dynalite does not implement TransactWriteItems: the client must
        // report the server's refusal as an error, not as success.
        EXPECT_TRUE(ec) << "dynalite accepted TransactWriteItems";
        return;
    }
    ASSERT_FALSE(ec) << ec.message();
    transact_write_items_request fail{
        .transact_items = {
            condition_check{.table_name = table_,
                            .key = {{"pk", "x"}},
                            .condition_expression = "attribute_not_exists(pk)",
                            .return_values_on_condition_check_failure =
                                return_values_on_condition_check_failure::all_old},
            transact_put{.table_name = table_, .item = {{"pk", "z"}}},
        }};
    auto [ec2, r2] = exec(fail);
    EXPECT_EQ(ec2, errc::transaction_canceled) << ec2.message();
    ASSERT_EQ(r2.cancellation_reasons.size(), 2u);
    EXPECT_EQ(r2.cancellation_reasons[0].code, "ConditionalCheckFailed");
    EXPECT_EQ(r2.cancellation_reasons[1].code, "None");
    auto [ec3, got] =
        exec(get_item_request{.table_name = table_, .key = {{"pk", "z"}}, .consistent_read = true});
    EXPECT_FALSE(got.item.has_value()) << "a canceled transaction wrote";
}

TEST_P(client_test, time_to_live) {
    create_table();
    auto [ec, r] =
        exec(update_time_to_live_request{.table_name = table_, .attribute_name = "expires"});
    if (!GetParam().has_time_to_live) {
        EXPECT_TRUE(ec) << "dynalite accepted UpdateTimeToLive";
        return;
    }
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(r.attribute_name, "expires");
    EXPECT_TRUE(r.enabled);
    auto [ec2, d] = exec(describe_time_to_live_request{table_});
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(d.attribute_name, "expires");
    EXPECT_TRUE(d.status == time_to_live_status::enabled ||
                d.status == time_to_live_status::enabling);
}

TEST_P(client_test, missing_table_is_resource_not_found) {
    diagnostics d;
    auto [ec, r] = exec(get_item_request{.table_name = table_, .key = {{"pk", "x"}}}, &d);
    EXPECT_EQ(ec, errc::resource_not_found) << ec.message();
    EXPECT_EQ(d.aws_type, "ResourceNotFoundException");
    EXPECT_FALSE(d.request_id.empty() && GetParam().name == "moto");
}

TEST_P(client_test, invalid_input_is_rejected_before_sending) {
    diagnostics d;
    auto [ec, r] = exec(get_item_request{.table_name = "a", .key = {{"pk", "x"}}}, &d);
    EXPECT_EQ(ec, errc::invalid_argument);
    EXPECT_EQ(d.http_status, 0u) << "the request was sent";
    EXPECT_FALSE(d.message.empty());

    create_table();
    auto [ec2, r2] =
        exec(put_item_request{.table_name = table_,
                              .item = {{"pk", "x"}, {"big", std::string(401 * 1024, 'x')}}},
             &d);
    EXPECT_EQ(ec2, errc::value_too_large) << ec2.message();
    EXPECT_EQ(d.http_status, 0u);
    auto [ec3, r3] =
        exec(get_item_request{.table_name = table_, .key = {{"pk", std::string(2049, 'k')}}}, &d);
    EXPECT_EQ(ec3, errc::value_too_large) << ec3.message();
    EXPECT_EQ(d.http_status, 0u);
    // An item does not say which attributes are its key: the server refuses.
    auto [ec4, r4] =
        exec(put_item_request{.table_name = table_, .item = {{"pk", std::string(2049, 'k')}}}, &d);
    EXPECT_EQ(ec4, errc::validation_failed) << ec4.message();
    EXPECT_EQ(d.http_status, 400u);
    EXPECT_EQ(d.aws_type, "ValidationException");
}

TEST_P(client_test, deferred_token_throws_and_awaits) {
    create_table();
    const put_item_request put{.table_name = table_, .item = {{"pk", "d"}}};
    const get_item_request get{.table_name = table_, .key = {{"pk", "d"}}, .consistent_read = true};
    get_item_request missing = get;
    missing.table_name += "-missing";
    auto r = test::run(io_, [&]() -> asio::awaitable<bool> {
        co_await c_->async_execute(put);
        auto got = co_await c_->async_execute(get);
        bool threw = false;
        try {
            co_await c_->async_execute(missing);
        } catch (const boost::system::system_error& e) {
            threw = e.code() == errc::resource_not_found;
        }
        co_return got.item.has_value() && threw;
    }());
    EXPECT_TRUE(r);
}

// The client finds a handler's executor without converting its own (see
// lib/completion_executor.hpp): both sides of that are checked here, a client on
// the io_context's executor and one on a strand.
TEST_P(client_test, handlers_complete_on_their_associated_executor) {
    const get_item_request get{.table_name = table_ + "-missing", .key = {{"pk", "x"}}};
    auto run_until = [&](const bool& done) {
        io_.restart();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!done && io_.run_one_until(until) != 0) {
        }
        EXPECT_TRUE(done) << "the operation did not complete within the guard time";
    };

    auto handler_strand = asio::make_strand(io_);
    bool done = false;
    bool on_handler_strand = false;
    c_->async_execute(get, {}, asio::bind_executor(handler_strand, [&](error_code ec, auto) {
                          EXPECT_EQ(ec, errc::resource_not_found) << ec.message();
                          on_handler_strand = handler_strand.running_in_this_thread();
                          done = true;
                      }));
    run_until(done);
    EXPECT_TRUE(on_handler_strand);

    auto client_strand = asio::make_strand(io_);
    client on_strand(client_strand, test::options_for(GetParam()));
    done = false;
    bool on_client_strand = false;
    on_strand.async_execute(get, {}, [&](error_code ec, auto) {
        EXPECT_EQ(ec, errc::resource_not_found) << ec.message();
        on_client_strand = client_strand.running_in_this_thread();
        done = true;
    });
    run_until(done);
    EXPECT_TRUE(on_client_strand);
}

INSTANTIATE_TEST_SUITE_P(servers, client_test, ::testing::Values(test::dynalite, test::moto),
                         [](const auto& info) { return info.param.name; });

// --- signature checking: only moto verifies SigV4 -------------------------------

TEST(moto_signature, wrong_secret_is_rejected) {
    asio::io_context io;
    auto opts = test::options_for(test::moto);
    opts.credentials->secret_access_key = "not-the-secret";
    client c(io.get_executor(), opts);
    diagnostics d;
    auto [ec, r] = test::execute(io, c, describe_table_request{"any"}, {.diagnostics = &d});
    EXPECT_EQ(ec, errc::signature_rejected)
        << ec.message() << " / " << d.aws_type << ": " << d.message;
    EXPECT_EQ(d.http_status, 403u);
}

TEST(moto_signature, temporary_credentials_with_session_token) {
    // moto checks the token of an assumed role's key against the one it issued.
    asio::io_context io;
    auto opts = test::options_for(test::moto);
    opts.credentials =
        credentials{test::require_env("DYNALOCK_TEST_MOTO_SESSION_ACCESS_KEY_ID"),
                    test::require_env("DYNALOCK_TEST_MOTO_SESSION_SECRET_ACCESS_KEY"),
                    test::require_env("DYNALOCK_TEST_MOTO_SESSION_TOKEN")};
    client good(io.get_executor(), opts);
    EXPECT_EQ(std::get<0>(test::execute(io, good, describe_table_request{"any"})),
              errc::resource_not_found);

    opts.credentials->session_token = "not-the-token";
    client bad(io.get_executor(), opts);
    EXPECT_EQ(std::get<0>(test::execute(io, bad, describe_table_request{"any"})),
              errc::unrecognized_client);
}

}  // namespace

// --- credentials from the chain: a profile assuming a role through moto's STS --

TEST(moto_credential_chain, assumed_role_credentials_are_used_for_dynamodb) {
    // The chain runs in the client: environment (none here) -> profile with
    // role_arn + source_profile -> STS AssumeRole on moto (signed with the
    // source profile's key) -> temporary credentials with a session token,
    // which moto then verifies on the DynamoDB request.
    char dir_template[] = "/tmp/dynalock-chain-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    const std::string config = dir + "/config";
    {
        std::ofstream f(config);
        f << "[profile chain]\nrole_arn = arn:aws:iam::123456789012:role/dynalock-test\n"
             "source_profile = base\nregion = us-east-1\n\n[profile base]\n"
             "aws_access_key_id = "
          << test::require_env("DYNALOCK_TEST_MOTO_ACCESS_KEY_ID") << "\naws_secret_access_key = "
          << test::require_env("DYNALOCK_TEST_MOTO_SECRET_ACCESS_KEY") << "\n";
    }
    struct scoped_env {
        std::vector<std::pair<std::string, std::optional<std::string>>> saved;
        void set(const char* name, const std::string& value) {
            const char* old = std::getenv(name);
            saved.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
            ::setenv(name, value.c_str(), 1);
        }
        ~scoped_env() {
            for (auto& [name, value] : saved) {
                value ? ::setenv(name.c_str(), value->c_str(), 1) : ::unsetenv(name.c_str());
            }
        }
    } env;
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                             "AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_STS"}) {
        env.set(name, "");
        ::unsetenv(name);
    }
    env.set("AWS_CONFIG_FILE", config);
    env.set("AWS_SHARED_CREDENTIALS_FILE", dir + "/none");
    env.set("AWS_ENDPOINT_URL", test::require_env("DYNALOCK_TEST_MOTO_URL"));
    env.set("AWS_EC2_METADATA_DISABLED", "true");

    asio::io_context io;
    client c(io.get_executor(), client_options{.profile = "chain"});
    EXPECT_EQ(c.region(), "us-east-1");
    diagnostics d;
    auto [ec, r] = test::execute(io, c, describe_table_request{"chain-table"}, {.diagnostics = &d});
    EXPECT_EQ(ec, errc::resource_not_found) << ec.message() << ": " << d.message;
    std::filesystem::remove_all(dir);
}

// --- TLS: stunnel in front of dynalite, certificate by a CA made for the run --

namespace {

client tls_client(asio::io_context& io, std::string url, std::string ca_file) {
    return client(io.get_executor(),
                  client_options{.region = "us-east-1",
                                 .endpoint_url = std::move(url),
                                 .credentials = credentials{"AKIDEXAMPLE", "secret"},
                                 .http = {.extra_ca_file = std::move(ca_file)},
                                 .retry = {.max_attempts = 1}});
}

TEST(tls, round_trip_with_the_ca) {
    asio::io_context io;
    auto c = tls_client(io, test::require_env("DYNALOCK_TEST_TLS_URL"),
                        test::require_env("DYNALOCK_TEST_TLS_CA"));
    const std::string table = test::unique_table("tls");
    auto [ec, created] =
        test::execute(io, c,
                      create_table_request{.table_name = table,
                                           .partition_key = {"pk", scalar_attribute_type::s}});
    ASSERT_FALSE(ec) << ec.message();
    for (int i = 0; i < 100; ++i) {  // CreateTable answers while the table is CREATING
        auto [dec, d] = test::execute(io, c, describe_table_request{table});
        if (!dec && d.table.status == table_status::active) {
            break;
        }
        asio::steady_timer(io, std::chrono::milliseconds(50)).wait();
    }
    auto [ec2, put] =
        test::execute(io, c, put_item_request{.table_name = table, .item = {{"pk", "t"}}});
    EXPECT_FALSE(ec2) << ec2.message();
    auto [ec3, got] = test::execute(
        io, c,
        get_item_request{.table_name = table, .key = {{"pk", "t"}}, .consistent_read = true});
    EXPECT_FALSE(ec3) << ec3.message();
    EXPECT_TRUE(got.item.has_value());
    test::execute(io, c, delete_table_request{table});
}

TEST(tls, untrusted_certificate_is_refused) {
    asio::io_context io;
    auto c = tls_client(io, test::require_env("DYNALOCK_TEST_TLS_URL"), "");
    diagnostics d;
    auto [ec, r] = test::execute(io, c, describe_table_request{"tls-table"}, {.diagnostics = &d});
    EXPECT_EQ(ec, errc::tls_failed) << ec.message();
    EXPECT_NE(d.message.find("certificate"), std::string::npos) << d.message;
}

TEST(tls, wrong_host_name_is_refused) {
    asio::io_context io;
    auto c = tls_client(io, test::require_env("DYNALOCK_TEST_TLS_WRONG_NAME_URL"),
                        test::require_env("DYNALOCK_TEST_TLS_CA"));
    diagnostics d;
    auto [ec, r] = test::execute(io, c, describe_table_request{"tls-table"}, {.diagnostics = &d});
    EXPECT_EQ(ec, errc::tls_failed) << ec.message();
    EXPECT_NE(d.message.find("mismatch"), std::string::npos) << d.message;
}

}  // namespace
