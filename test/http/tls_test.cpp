// The pool's TLS path against a real TLS terminator: certificates made with the
// openssl CLI, stunnel4 in front of an in-process plain HTTP server. Both tools
// are required (Debian packages openssl and stunnel4); without them every test
// here fails saying so.

#include "run_util.hpp"
#include "support/scripted_http_server.hpp"

#include <http/connection_pool.hpp>
#include <process/child_process.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dynalock::http::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using dynalock::test::answer_all;
using dynalock::test::free_loopback_port;
using dynalock::test::scripted_http_server;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string read_text(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// stunnel, always stopped: on destruction, and by the kernel if this test
// process dies first.
class child_process {
public:
    child_process(const std::vector<std::string>& argv, const fs::path& log) {
        const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        pid_ = process::spawn({.argv = argv,
                               .search_path = true,
                               .standard_output = log_fd,
                               .standard_error = log_fd,
                               .own_process_group = true,
                               .death_signal = SIGKILL},
                              start_error_);
        if (log_fd >= 0) {
            ::close(log_fd);
        }
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (running()) {
            process::stop_process_group(pid_, 5s);
        }
    }

    /// Why it could not be started, if it could not.
    error_code start_error() const { return start_error_; }

    bool running() {
        if (pid_ <= 0) {
            return false;
        }
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return false;
        }
        return true;
    }

private:
    pid_t pid_ = -1;
    error_code start_error_;
};

struct tls_setup {
    fs::path dir;
    std::uint16_t port = 0;  // valid certificate (localhost, 127.0.0.1) on 127.0.0.1 and 127.0.0.2
    std::uint16_t wrong_name_port = 0;  // certificate for other.example only
    asio::io_context io;
    std::unique_ptr<scripted_http_server> backend;
    std::unique_ptr<child_process> stunnel;

    ~tls_setup() {
        stunnel.reset();
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }

    std::string ca_file() const { return (dir / "ca.pem").string(); }
};

std::string run_openssl(const fs::path& dir, const std::string& args) {
    const std::string command =
        "cd '" + dir.string() + "' && openssl " + args + " >>openssl.log 2>&1";
    if (std::system(command.c_str()) != 0) {
        return "the openssl CLI failed (install Debian package openssl): openssl " + args + "\n" +
               read_text(dir / "openssl.log");
    }
    return {};
}

std::string make_certificates(const fs::path& dir) {
    const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    std::ofstream(dir / "server.ext")
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
    std::ofstream(dir / "other.ext")
        << "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n";
    for (const std::string& args : {
             "req -x509 " + ec_key +
                 "-keyout ca.key -out ca.pem -days 2 -subj /CN=dynalock-test-ca " +
                 "-addext basicConstraints=critical,CA:TRUE -addext "
                 "keyUsage=critical,keyCertSign,cRLSign",
             "req " + ec_key + "-keyout server.key -out server.csr -subj /CN=localhost",
             std::string(
                 "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 ") +
                 "-out server.pem -extfile server.ext",
             "req " + ec_key + "-keyout other.key -out other.csr -subj /CN=other.example",
             std::string(
                 "x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 ") +
                 "-out other.pem -extfile other.ext",
         }) {
        if (auto problem = run_openssl(dir, args); !problem.empty()) {
            return problem;
        }
    }
    return {};
}

void write_stunnel_config(const tls_setup& s) {
    const auto service = [&](const char* name, const std::string& accept, const char* cert) {
        return "[" + std::string(name) + "]\naccept = " + accept +
               "\nconnect = 127.0.0.1:" + std::to_string(s.backend->port()) +
               "\ncert = " + (s.dir / cert).string() + ".pem\nkey = " + (s.dir / cert).string() +
               ".key\n";
    };
    std::ofstream(s.dir / "stunnel.conf")
        << "foreground = yes\npid =\ndebug = 5\n"
        << service("good", "127.0.0.1:" + std::to_string(s.port), "server")
        << service("good2", "127.0.0.2:" + std::to_string(s.port), "server")
        << service("wrong-name", "127.0.0.1:" + std::to_string(s.wrong_name_port), "other");
}

bool accepts_connections(const char* address, std::uint16_t port) {
    asio::io_context io;
    tcp::socket socket(io);
    error_code ec;
    socket.connect(tcp::endpoint(asio::ip::make_address(address), port), ec);
    return !ec;
}

// Empty when stunnel listens on every service, else why not.
std::string start_stunnel(tls_setup& s) {
    write_stunnel_config(s);
    s.stunnel = std::make_unique<child_process>(
        std::vector<std::string>{"stunnel4", (s.dir / "stunnel.conf").string()},
        s.dir / "stunnel.log");
    const auto give_up = clock_type::now() + 10s;
    while (clock_type::now() < give_up) {
        if (const error_code ec = s.stunnel->start_error()) {
            return "stunnel4 could not be started (install Debian package stunnel4): " +
                   ec.message();
        }
        if (!s.stunnel->running()) {
            return "stunnel4 exited; its log:\n" + read_text(s.dir / "stunnel.log");
        }
        if (accepts_connections("127.0.0.1", s.port) && accepts_connections("127.0.0.2", s.port) &&
            accepts_connections("127.0.0.1", s.wrong_name_port)) {
            return {};
        }
        std::this_thread::sleep_for(50ms);
    }
    return "stunnel4 did not listen within 10 s; its log:\n" + read_text(s.dir / "stunnel.log");
}

class http_tls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        setup = std::make_unique<tls_setup>();
        std::string dir_template =
            (fs::temp_directory_path() / "dynalock-http-tls-XXXXXX").string();
        if (::mkdtemp(dir_template.data()) == nullptr) {
            setup_problem = "cannot create a temporary directory";
            return;
        }
        setup->dir = dir_template;
        setup->backend = std::make_unique<scripted_http_server>(setup->io, answer_all("tls-ok"));
        setup->port = free_loopback_port();
        setup->wrong_name_port = free_loopback_port();
        setup_problem = make_certificates(setup->dir);
        if (setup_problem.empty()) {
            setup_problem = start_stunnel(*setup);
        }
    }

    static void TearDownTestSuite() { setup.reset(); }

    void SetUp() override {
        if (!setup_problem.empty()) {
            FAIL() << "TLS test setup failed: " << setup_problem;
        }
    }

    static connection_pool make_pool(std::string host, std::uint16_t port, http_options options) {
        return connection_pool(setup->io.get_executor(), endpoint{true, std::move(host), port},
                               std::move(options));
    }

    static http_options trusting_test_ca() { return {.extra_ca_file = setup->ca_file()}; }

    struct outcome {
        exchange_result result;
        response res;
    };

    static outcome exchange(connection_pool& pool) {
        return run(setup->io, [](connection_pool& p) -> asio::awaitable<outcome> {
            request req;
            req.headers = {{"Host", "localhost"}};
            req.body = "{}";
            outcome o;
            o.result = co_await p.async_exchange(req, o.res, clock_type::now() + 5s);
            co_return o;
        }(pool));
    }

    static inline std::unique_ptr<tls_setup> setup;
    static inline std::string setup_problem;
};

TEST_F(http_tls, succeeds_with_the_test_ca_and_reuses_the_connection) {
    auto pool = make_pool("localhost", setup->port, trusting_test_ca());
    const outcome first = exchange(pool);
    ASSERT_FALSE(first.result.ec) << first.result.detail;
    EXPECT_EQ(first.res.result_int(), 200u);
    EXPECT_EQ(first.res.body(), "tls-ok");

    const std::size_t backend_connections = setup->backend->accepted();
    const outcome second = exchange(pool);
    ASSERT_FALSE(second.result.ec) << second.result.detail;
    EXPECT_EQ(setup->backend->accepted(), backend_connections);
    EXPECT_EQ(pool.open_connections(), 1u);
}

TEST_F(http_tls, verifies_an_ip_address_against_the_certificate) {
    auto pool = make_pool("127.0.0.1", setup->port, trusting_test_ca());
    const outcome o = exchange(pool);
    ASSERT_FALSE(o.result.ec) << o.result.detail;
    EXPECT_EQ(o.res.body(), "tls-ok");
}

TEST_F(http_tls, untrusted_certificate_is_tls_failed_with_the_reason) {
    auto pool = make_pool("localhost", setup->port, {});
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::tls_failed);
    EXPECT_FALSE(o.result.request_sent);
    EXPECT_NE(
        o.result.detail.find("certificate verification: unable to get local issuer certificate"),
        std::string::npos)
        << o.result.detail;
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_tls, wrong_host_name_is_tls_failed) {
    auto pool = make_pool("localhost", setup->wrong_name_port, trusting_test_ca());
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::tls_failed);
    EXPECT_NE(o.result.detail.find("hostname mismatch"), std::string::npos) << o.result.detail;
}

TEST_F(http_tls, wrong_ip_address_is_tls_failed) {
    auto pool = make_pool("127.0.0.2", setup->port, trusting_test_ca());
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::tls_failed);
    EXPECT_NE(o.result.detail.find("IP address mismatch"), std::string::npos) << o.result.detail;
}

TEST_F(http_tls, verification_can_be_turned_off) {
    auto pool = make_pool("127.0.0.2", setup->port, {.verify_peer = false});
    const outcome o = exchange(pool);
    ASSERT_FALSE(o.result.ec) << o.result.detail;
    EXPECT_EQ(o.res.body(), "tls-ok");
}

TEST_F(http_tls, missing_ca_file_is_reported) {
    auto pool = make_pool("localhost", setup->port,
                          {.extra_ca_file = (setup->dir / "absent.pem").string()});
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::tls_failed);
    EXPECT_NE(o.result.detail.find("cannot load CA file"), std::string::npos) << o.result.detail;
}

TEST_F(http_tls, plain_http_server_is_tls_failed) {
    auto pool = make_pool("127.0.0.1", setup->backend->port(), trusting_test_ca());
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::tls_failed) << o.result.detail;
    EXPECT_FALSE(o.result.request_sent);
}

}  // namespace
}  // namespace dynalock::http::test
