#include "credential_providers/credential_process.hpp"
#include "coroutine_test_support.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace dynalock::aws {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Scripts written at test time into a fresh directory, removed afterwards.
class CredentialProcess : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "dynalock-cp-XXXXXX");
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "cannot create a temporary directory";
        dir = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::string script(const std::string& name, const std::string& body) {
        std::filesystem::path path = dir / name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        return path.string();
    }

    error_code fetch(const std::string& command, credentials& out, diagnostics& diag,
                     std::chrono::milliseconds timeout = 10s) {
        error_code result;
        credential_process_provider provider(ctx.get_executor(), command);
        test::run_coroutine(ctx, [&]() -> asio::awaitable<void> {
            auto op = provider.fetch(out, diag, std::chrono::steady_clock::now() + timeout);
            result = co_await std::move(op);
        }());
        return result;
    }

    asio::io_context ctx;
    std::filesystem::path dir;
};

TEST_F(CredentialProcess, ReadsTheDocument) {
    std::string command = script("ok.sh", R"(echo '{"Version": 1, "AccessKeyId": "AKID",
  "SecretAccessKey": "SECRET", "SessionToken": "TOKEN", "Expiration": "2999-01-01T00:00:00Z"}')");
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(fetch(command + " --profile 'a b'", out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "AKID");
    EXPECT_EQ(out.secret_access_key, "SECRET");
    EXPECT_EQ(out.session_token, "TOKEN");
    EXPECT_TRUE(out.expiration.has_value());
}

TEST_F(CredentialProcess, ANonZeroExitReportsStatusAndStandardError) {
    std::string command =
        script("fail.sh", "echo 'token has expired, run aws sso login' >&2\nexit 3");
    credentials out;
    diagnostics diag;
    EXPECT_EQ(fetch(command, out, diag), errc::credentials_unavailable);
    EXPECT_EQ(diag.message,
              "credential_process: the command exited with status 3: token has expired, run aws "
              "sso login");
}

TEST_F(CredentialProcess, AMissingCommandIsTheShellsExit127) {
    credentials out;
    diagnostics diag;
    EXPECT_EQ(fetch((dir / "no-such-command").string(), out, diag), errc::credentials_unavailable);
    EXPECT_TRUE(diag.message.starts_with("credential_process: the command exited with status 127"))
        << diag.message;
}

TEST_F(CredentialProcess, BadJson) {
    std::string command = script("bad.sh", "echo 'AKID SECRET'");
    credentials out;
    diagnostics diag;
    EXPECT_EQ(fetch(command, out, diag), errc::malformed_response);
    EXPECT_EQ(diag.message, "credential_process output: the output is not a JSON object");
}

TEST_F(CredentialProcess, WrongVersion) {
    std::string command =
        script("v2.sh", R"(echo '{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "S"}')");
    credentials out;
    diagnostics diag;
    EXPECT_EQ(fetch(command, out, diag), errc::malformed_response);
    EXPECT_EQ(diag.message,
              "credential_process output: Version is not 1 (the only version supported)");
}

TEST_F(CredentialProcess, MissingField) {
    std::string command = script("missing.sh", R"(echo '{"Version": 1, "AccessKeyId": "A"}')");
    credentials out;
    diagnostics diag;
    EXPECT_EQ(fetch(command, out, diag), errc::malformed_response);
    EXPECT_EQ(diag.message, "credential_process output: no SecretAccessKey");
}

TEST_F(CredentialProcess, ExpiredOutput) {
    std::string command = script("expired.sh", R"(echo '{"Version": 1, "AccessKeyId": "A",
  "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2001-01-01T00:00:00Z"}')");
    credentials out;
    diagnostics diag;
    EXPECT_EQ(fetch(command, out, diag), errc::credentials_expired);
    EXPECT_EQ(diag.message,
              "credential_process output: the credentials expired at 2001-01-01T00:00:00Z");
}

TEST_F(CredentialProcess, AHangingCommandIsKilledAtTheDeadline) {
    // The grandchild `sleep` keeps the output pipe open: only killing the
    // whole process group ends it.
    std::string pid_file = (dir / "sleep.pid").string();
    std::string command = script("hang.sh", "sleep 60 &\necho $! > " + pid_file + "\nwait");
    credentials out;
    diagnostics diag;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(fetch(command, out, diag, 300ms), errc::timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(diag.message, "credential_process: the command did not finish in time");
    std::ifstream pid_stream(pid_file);
    pid_t sleeper = 0;
    ASSERT_TRUE(pid_stream >> sleeper) << "the script did not record its child";
    // The killed sleeper may linger as a zombie of init for a moment.
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        std::ifstream stat("/proc/" + std::to_string(sleeper) + "/stat");
        std::string pid_field, name, state;
        gone = !(stat >> pid_field >> name >> state) || state == "Z";
        if (!gone) {
            std::this_thread::sleep_for(10ms);
        }
    }
    EXPECT_TRUE(gone) << "the command's child " << sleeper << " still runs";
}

TEST_F(CredentialProcess, OutputBeyondTheLimitIsRefused) {
    std::string command = script("flood.sh", "yes '{}' | head -c 1000000");
    credentials out;
    diagnostics diag;
    EXPECT_EQ(fetch(command, out, diag), errc::response_too_large) << diag.message;
}

}  // namespace
}  // namespace dynalock::aws
