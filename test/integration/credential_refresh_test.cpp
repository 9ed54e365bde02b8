// Issue 5: credentials that expire during a 30 s hold of 100 leases are
// refreshed without a failed heartbeat (lock_client::stats() counts them).
//
// The client has no static credentials: its chain picks a profile that
// assumes a role through moto's STS with `duration_seconds = 8`, so the
// temporary credentials expire several times during the hold, and its cache
// must refresh them ahead of expiry while heartbeats keep flowing.
//
// moto checks every signature but never the expiry of the credentials it
// issued (moto 5.2.1, iam/access_control.py), so expired credentials would go
// unnoticed. Every request therefore passes through a proxy on loopback that
// does what DynamoDB does and moto does not: it learns each AssumeRole
// answer's key and expiration on its way back, and refuses a DynamoDB request
// signed with expired or unknown credentials (ExpiredTokenException /
// UnrecognizedClientException). Everything else is forwarded to moto as is.

#include "aws/sts_protocol.hpp"
#include "integration/test_servers.hpp"
#include "support/scripted_http_server.hpp"

#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

using namespace dynalock;
namespace asio = boost::asio;
namespace beast_http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr int lease_count = 100;
constexpr std::chrono::seconds hold_time{30};
constexpr int credentials_lifetime_seconds = 8;
constexpr std::chrono::seconds refresh_margin{3};
constexpr std::chrono::milliseconds lease_length{6000};
constexpr std::chrono::milliseconds heartbeat_period{2000};

/// What the proxy saw; read after it stopped.
struct proxy_counts {
    int assume_role_calls = 0;
    int assume_role_failures = 0;
    int dynamodb_requests = 0;
    int update_item_requests = 0;
    int dynamodb_failures = 0;  ///< non-2xx from moto
    int refused_expired = 0;
    int refused_unknown_key = 0;
    std::set<std::string> keys_used;           ///< access key ids of DynamoDB requests
    std::vector<std::string> failure_samples;  ///< the first few

    void note_failure(std::string what) {
        if (failure_samples.size() < 20) {
            failure_samples.push_back(std::move(what));
        }
    }
};

/// Forwards each request to moto on a fresh connection (moto closes every
/// connection anyway) and answers with `Connection: close`. Runs on its own
/// thread so that the lock client's io_context is the client's alone.
class expiry_checking_proxy {
public:
    explicit expiry_checking_proxy(const std::string& moto_url) {
        aws::endpoint upstream;
        diagnostics diag;
        if (error_code ec = aws::parse_endpoint(moto_url, upstream, diag)) {
            throw std::runtime_error("DYNALOCK_TEST_MOTO_URL: " + diag.message);
        }
        upstream_ = tcp::endpoint(asio::ip::make_address(upstream.host), upstream.port);
        thread_ = std::thread([this] { io_.run(); });
    }

    ~expiry_checking_proxy() { stop(); }

    std::string url() const { return server_.url(); }

    /// Stops serving; the counts are final afterwards.
    void stop() {
        if (thread_.joinable()) {
            io_.stop();
            thread_.join();
        }
    }

    proxy_counts counts() {
        std::lock_guard lock(mutex_);
        return counts_;
    }

private:
    using request = test::wire_request;
    using response = test::wire_response;

    asio::awaitable<void> serve(test::http_peer& peer) {
        std::optional<request> req = co_await peer.read_request();
        if (!req) {
            co_return;
        }
        response res;
        if (req->find("X-Amz-Target") != req->end()) {
            res = co_await dynamodb(*req);
        } else {
            res = co_await forward(*req);
            if (req->body().find("Action=AssumeRole") != std::string::npos) {
                learn_assumed_role(res);
            }
        }
        res.keep_alive(false);
        co_await peer.send(std::move(res));
        peer.close();
    }

    asio::awaitable<response> forward(request& req) {
        response res;
        tcp::socket upstream(io_);
        auto connecting = upstream.async_connect(upstream_, use_tuple);
        auto [connect_error] = co_await std::move(connecting);
        if (connect_error) {
            co_return failure(beast_http::status::bad_gateway, "moto unreachable");
        }
        req.keep_alive(false);
        auto writing = beast_http::async_write(upstream, req, use_tuple);
        if (auto [write_error, written] = co_await std::move(writing); write_error) {
            co_return failure(beast_http::status::bad_gateway, "write to moto failed");
        }
        boost::beast::flat_buffer buffer;
        auto reading = beast_http::async_read(upstream, buffer, res, use_tuple);
        if (auto [read_error, read] = co_await std::move(reading); read_error) {
            co_return failure(beast_http::status::bad_gateway, "read from moto failed");
        }
        co_return res;
    }

    void learn_assumed_role(const response& res) {
        credentials issued;
        diagnostics diag;
        error_code ec = aws::parse_sts_response(res.body(), res.result_int(), issued, diag);
        std::lock_guard lock(mutex_);
        ++counts_.assume_role_calls;
        if (ec || !issued.expiration) {
            ++counts_.assume_role_failures;
            counts_.note_failure("AssumeRole: " + diag.message);
            return;
        }
        expirations_[issued.access_key_id] = *issued.expiration;
    }

    asio::awaitable<response> dynamodb(request& req) {
        std::string target(req["X-Amz-Target"]);
        std::string key = access_key_of(req["Authorization"]);
        {
            std::lock_guard lock(mutex_);
            ++counts_.dynamodb_requests;
            counts_.update_item_requests += target.ends_with(".UpdateItem") ? 1 : 0;
            counts_.keys_used.insert(key);
            auto issued = expirations_.find(key);
            if (issued == expirations_.end()) {
                ++counts_.refused_unknown_key;
                counts_.note_failure(target + " signed with unknown key " + key);
                co_return dynamodb_error(beast_http::status::bad_request,
                                         "UnrecognizedClientException",
                                         "The security token included in the request is invalid.");
            }
            if (std::chrono::system_clock::now() >= issued->second) {
                ++counts_.refused_expired;
                counts_.note_failure(target + " signed with expired key " + key);
                co_return dynamodb_error(beast_http::status::bad_request, "ExpiredTokenException",
                                         "The security token included in the request is expired");
            }
        }
        response res = co_await forward(req);
        if (res.result_int() / 100 != 2) {
            std::lock_guard lock(mutex_);
            ++counts_.dynamodb_failures;
            counts_.note_failure(target + " -> " + std::to_string(res.result_int()) + " " +
                                 res.body().substr(0, 200));
        }
        co_return res;
    }

    // `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...`
    static std::string access_key_of(std::string_view authorization) {
        constexpr std::string_view marker = "Credential=";
        std::size_t start = authorization.find(marker);
        if (start == std::string_view::npos) {
            return "(unsigned)";
        }
        start += marker.size();
        return std::string(authorization.substr(start, authorization.find('/', start) - start));
    }

    static response failure(beast_http::status status, std::string text) {
        response res{status, 11};
        res.body() = std::move(text);
        return res;
    }

    static response dynamodb_error(beast_http::status status, std::string_view type,
                                   std::string_view message) {
        response res{status, 11};
        res.set(beast_http::field::content_type, "application/x-amz-json-1.0");
        res.body() = R"({"__type":"com.amazon.coral.service#)" + std::string(type) +
                     R"(","message":")" + std::string(message) + R"("})";
        return res;
    }

    asio::io_context io_;
    test::scripted_http_server server_{
        io_, [this](test::http_peer& peer, std::size_t) { return serve(peer); }};
    tcp::endpoint upstream_;
    std::thread thread_;
    std::mutex mutex_;
    proxy_counts counts_;
    std::map<std::string, std::chrono::system_clock::time_point> expirations_;
};

/// Sets variables for the test's duration and restores them after.
class scoped_env {
public:
    void set(const char* name, const std::optional<std::string>& value) {
        const char* old = std::getenv(name);
        saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        value ? ::setenv(name, value->c_str(), 1) : ::unsetenv(name);
    }
    ~scoped_env() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            it->second ? ::setenv(it->first.c_str(), it->second->c_str(), 1)
                       : ::unsetenv(it->first.c_str());
        }
    }

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

/// A directory removed with everything in it when the test ends.
struct temporary_directory {
    temporary_directory() {
        char path_template[] = "/tmp/dynalock-refresh-XXXXXX";
        if (::mkdtemp(path_template) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path = path_template;
    }
    ~temporary_directory() { std::filesystem::remove_all(path); }
    std::string path;
};

/// Losses seen by the leases' async_wait_lost; shared with the waits, which
/// complete (released, client closed) after the hold is over.
struct loss_watch {
    bool hold_over = false;
    int lost_during_hold = 0;
    std::vector<std::string> reasons;
};

struct hold_outcome {
    error_code setup_error{};
    std::string setup_step{};
    int acquired = 0;
    int held_after_hold = 0;
    int released = 0;
    lock_client_stats stats_after_hold{};
    std::shared_ptr<loss_watch> losses = std::make_shared<loss_watch>();
};

asio::awaitable<void> hold_leases(dynamodb::client& client, const std::string& table,
                                  hold_outcome& out) {
    dynamodb_store store(client, {.table_name = table});
    diagnostics diag;
    auto creating = store.async_create_table({.diagnostics = &diag}, use_tuple);
    if (auto [ec] = co_await std::move(creating); ec) {
        out.setup_error = ec;
        out.setup_step = "create table: " + diag.message;
        co_return;
    }
    lock_client locks(
        store,
        {.owner = "refresh-test", .lease = lease_length, .heartbeat_period = heartbeat_period});
    std::vector<lease> leases;
    for (int i = 0; i < lease_count; ++i) {
        auto acquiring = locks.async_acquire(lock_key{"shard-" + std::to_string(i)},
                                             {.diagnostics = &diag}, use_tuple);
        auto [ec, granted] = co_await std::move(acquiring);
        if (ec) {
            out.setup_error = ec;
            out.setup_step = "acquire shard-" + std::to_string(i) + ": " + diag.message;
            break;
        }
        leases.push_back(std::move(granted));
        ++out.acquired;
    }
    for (lease& l : leases) {
        l.async_wait_lost(
            [losses = out.losses, key = l.key().partition](error_code ec, loss_reason why) {
                if (!ec && !losses->hold_over) {
                    ++losses->lost_during_hold;
                    losses->reasons.push_back(key + ": " + std::string(to_string(why)));
                }
            });
    }
    if (!out.setup_error) {
        asio::steady_timer hold(co_await asio::this_coro::executor, hold_time);
        auto holding = hold.async_wait(use_tuple);
        co_await std::move(holding);
    }
    for (lease& l : leases) {
        out.held_after_hold += l.held() ? 1 : 0;
    }
    out.stats_after_hold = locks.stats();
    out.losses->hold_over = true;
    for (lease& l : leases) {
        auto releasing = locks.async_release(l, std::nullopt, use_tuple);
        auto [ec] = co_await std::move(releasing);
        out.released += ec ? 0 : 1;
    }
    auto closing = locks.async_close(use_tuple);
    co_await std::move(closing);
    auto deleting = client.async_execute(dynamodb::delete_table_request{table}, use_tuple);
    co_await std::move(deleting);
}

TEST(credential_refresh, expiring_credentials_refreshed_during_a_hold_of_100_leases) {
    const std::string moto_url = test::require_env("DYNALOCK_TEST_MOTO_URL");
    temporary_directory dir;
    {
        std::ofstream config(dir.path + "/config");
        config << "[profile rotating]\nrole_arn = arn:aws:iam::123456789012:role/dynalock-test\n"
                  "source_profile = base\nduration_seconds = "
               << credentials_lifetime_seconds
               << "\nregion = us-east-1\n\n[profile base]\naws_access_key_id = "
               << test::require_env("DYNALOCK_TEST_MOTO_ACCESS_KEY_ID")
               << "\naws_secret_access_key = "
               << test::require_env("DYNALOCK_TEST_MOTO_SECRET_ACCESS_KEY") << "\n";
    }
    expiry_checking_proxy proxy(moto_url);

    scoped_env env;
    for (const char* name :
         {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
          "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_STS", "AWS_WEB_IDENTITY_TOKEN_FILE",
          "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
          "AWS_CONTAINER_CREDENTIALS_FULL_URI"}) {
        env.set(name, std::nullopt);
    }
    env.set("AWS_CONFIG_FILE", dir.path + "/config");
    env.set("AWS_SHARED_CREDENTIALS_FILE", dir.path + "/none");
    env.set("AWS_ENDPOINT_URL", proxy.url());  // STS and DynamoDB both
    env.set("AWS_EC2_METADATA_DISABLED", "true");

    asio::io_context io;
    std::vector<credentials_event> fetches;
    dynamodb::client client(io.get_executor(), {.profile = "rotating",
                                                .credentials_refresh_margin = refresh_margin,
                                                .on_credentials = [&](const credentials_event& e) {
                                                    fetches.push_back(e);
                                                }});
    hold_outcome outcome;
    test::run(io, hold_leases(client, test::unique_table("refresh"), outcome));
    proxy.stop();
    proxy_counts seen = proxy.counts();

    std::cout << "AssumeRole calls " << seen.assume_role_calls << ", access keys used "
              << seen.keys_used.size() << ", DynamoDB requests " << seen.dynamodb_requests
              << " (UpdateItem " << seen.update_item_requests << "); heartbeats sent "
              << outcome.stats_after_hold.heartbeats_sent << ", failed "
              << outcome.stats_after_hold.heartbeats_failed << ", longest gap "
              << outcome.stats_after_hold.max_heartbeat_gap.count() / 1000 << " ms\n";
    std::string samples;
    for (const std::string& s : seen.failure_samples) {
        samples += "\n  " + s;
    }
    for (const std::string& s : outcome.losses->reasons) {
        samples += "\n  lost " + s;
    }
    ASSERT_FALSE(outcome.setup_error)
        << outcome.setup_step << " (" << outcome.setup_error.message() << ")" << samples;
    EXPECT_EQ(outcome.acquired, lease_count);
    EXPECT_EQ(outcome.losses->lost_during_hold, 0) << samples;
    EXPECT_EQ(outcome.held_after_hold, lease_count);
    const lock_client_stats& stats = outcome.stats_after_hold;
    EXPECT_EQ(stats.heartbeats_failed, 0u) << samples;
    EXPECT_EQ(stats.lost_expired + stats.lost_stolen, 0u) << samples;
    // The heartbeats kept coming: every lease every 2 s (15 in 30 s), allowing
    // for a loaded machine.
    EXPECT_GE(stats.heartbeats_sent, lease_count * 12u);
    EXPECT_EQ(outcome.released, lease_count);
    // No request was refused or failed: no heartbeat failed at the server,
    // and none was signed with credentials that DynamoDB would have refused.
    EXPECT_EQ(seen.refused_expired, 0) << samples;
    EXPECT_EQ(seen.refused_unknown_key, 0) << samples;
    EXPECT_EQ(seen.dynamodb_failures, 0) << samples;
    EXPECT_EQ(seen.assume_role_failures, 0) << samples;
    // The credentials were refreshed several times: 8 s credentials refreshed
    // 3 s ahead are fetched about every 5 s, 6 times or so in 30 s; at least 4
    // allows for a loaded machine.
    EXPECT_GE(seen.assume_role_calls, 4);
    EXPECT_GE(seen.keys_used.size(), 4u);
    // Each AssumeRole was reported (the last maybe still queued when the
    // hold ended), every one a refresh with the new credentials' expiration.
    EXPECT_LE(fetches.size(), static_cast<std::size_t>(seen.assume_role_calls));
    EXPECT_GE(fetches.size() + 1, static_cast<std::size_t>(seen.assume_role_calls));
    for (const credentials_event& e : fetches) {
        EXPECT_TRUE(e.refreshed) << e.error.message() << ": " << e.message;
        EXPECT_TRUE(e.expiration.has_value());
    }
}

}  // namespace
