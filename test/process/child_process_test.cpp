// lib/process against real programs (/bin/sh, cat, sleep): what the child
// gets (arguments, environment, descriptors, signals, process group) and how
// failures to start and stops are reported.

#include "process/child_process.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace dynalock::process {
namespace {

using namespace std::chrono_literals;

struct pipe_fds {
    int read = -1;
    int write = -1;
    explicit pipe_fds(int flags = O_CLOEXEC) {
        std::array<int, 2> fds{};
        EXPECT_EQ(::pipe2(fds.data(), flags), 0);
        read = fds[0];
        write = fds[1];
    }
    pipe_fds(const pipe_fds&) = delete;
    pipe_fds& operator=(const pipe_fds&) = delete;
    ~pipe_fds() {
        close_write();
        if (read >= 0) {
            ::close(read);
        }
    }
    void close_write() {
        if (write >= 0) {
            ::close(write);
            write = -1;
        }
    }
};

std::string read_to_end(int fd) {
    std::string text;
    std::array<char, 4096> buffer{};
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return text;
        }
        text.append(buffer.data(), static_cast<std::size_t>(n));
    }
}

int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

struct finished {
    int status = -1;
    std::string output;
};

// Runs `options` with its standard output captured, to the child's end.
finished run(spawn_options options) {
    pipe_fds out;
    options.standard_output = out.write;
    error_code ec;
    const pid_t pid = spawn(options, ec);
    EXPECT_FALSE(ec) << ec.message();
    out.close_write();
    finished result;
    if (pid > 0) {
        result.output = read_to_end(out.read);
        result.status = wait_for(pid);
    }
    return result;
}

bool exited_with(int status, int code) {
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

bool no_child_left() {
    return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD;
}

TEST(Spawn, TheProgramGetsItsArgumentsAndTheEnvironmentWithOverrides) {
    ASSERT_EQ(::setenv("DYNALOCK_TEST_REPLACED", "old", 1), 0);
    ASSERT_EQ(::setenv("DYNALOCK_TEST_KEPT", "kept", 1), 0);
    const finished f =
        run({.argv = {"sh", "-c",
                      R"(printf '%s|%s|%s|%s' "$0" "$DYNALOCK_TEST_ADDED" )"
                      R"("$DYNALOCK_TEST_REPLACED" "$DYNALOCK_TEST_KEPT")",
                      "zero"},
             .search_path = true,
             .environment = {{"DYNALOCK_TEST_ADDED", "added"}, {"DYNALOCK_TEST_REPLACED", "new"}}});
    ::unsetenv("DYNALOCK_TEST_REPLACED");
    ::unsetenv("DYNALOCK_TEST_KEPT");
    EXPECT_TRUE(exited_with(f.status, 0)) << f.status;
    EXPECT_EQ(f.output, "zero|added|new|kept");
}

TEST(Spawn, ProgramOtherThanArgvZero) {
    const finished f =
        run({.argv = {"called-so", "-c", R"(printf '%s' "$0")", "zero"}, .program = "/bin/sh"});
    EXPECT_TRUE(exited_with(f.status, 0)) << f.status;
    EXPECT_EQ(f.output, "zero");
}

TEST(Spawn, StandardInputFromTheNullDevice) {
    const finished f = run({.argv = {"cat"}, .search_path = true, .standard_input = null_device});
    EXPECT_TRUE(exited_with(f.status, 0)) << f.status;
    EXPECT_EQ(f.output, "");
}

TEST(Spawn, AProgramNotInThePathIsENOENTAndNoChildIsLeft) {
    error_code ec;
    const pid_t pid = spawn({.argv = {"dynalock-test-no-such-program"}, .search_path = true}, ec);
    EXPECT_EQ(pid, -1);
    EXPECT_EQ(ec.value(), ENOENT) << ec.message();
    EXPECT_TRUE(no_child_left());
}

TEST(Spawn, AFileThatMayNotBeExecutedIsEACCES) {
    std::string path = (std::filesystem::temp_directory_path() / "dynalock-test-XXXXXX").string();
    const int fd = ::mkstemp(path.data());
    ASSERT_GE(fd, 0);
    ::close(fd);  // mode 0600: not executable
    error_code ec;
    const pid_t pid = spawn({.argv = {path}}, ec);
    ::unlink(path.c_str());
    EXPECT_EQ(pid, -1);
    EXPECT_EQ(ec.value(), EACCES) << ec.message();
    EXPECT_TRUE(no_child_left());
}

TEST(Spawn, AnEmptyArgvIsRefused) {
    error_code ec;
    EXPECT_EQ(spawn({}, ec), -1);
    EXPECT_EQ(ec, boost::system::errc::invalid_argument);
}

TEST(Spawn, InheritedDescriptorsAreTheOnlyOnesKept) {
    pipe_fds open_here(0);  // no close-on-exec: exec alone would hand it on
    const std::string probe = "test -e /proc/self/fd/" + std::to_string(open_here.read);
    const finished unset = run({.argv = {"/bin/sh", "-c", probe}});
    const finished kept =
        run({.argv = {"/bin/sh", "-c", probe}, .inherited_descriptors = {{open_here.read}}});
    const finished closed = run({.argv = {"/bin/sh", "-c", probe}, .inherited_descriptors = {{}}});
    EXPECT_TRUE(exited_with(unset.status, 0)) << unset.status;
    EXPECT_TRUE(exited_with(kept.status, 0)) << kept.status;
    EXPECT_TRUE(exited_with(closed.status, 1)) << closed.status;
}

// The signal masks of `cat`'s own /proc/self/status: "SigBlk" or "SigIgn".
std::uint64_t signal_mask(const std::string& status, const std::string& field) {
    std::istringstream lines(status);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with(field + ":")) {
            return std::stoull(line.substr(field.size() + 1), nullptr, 16);
        }
    }
    ADD_FAILURE() << "no " << field << " in " << status;
    return 0;
}

TEST(Spawn, NoSignalIsBlockedAndNamedOnesAreSetBackToTheirDefault) {
    struct sigaction ignore {};
    struct sigaction previous_pipe {};
    ignore.sa_handler = SIG_IGN;
    ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &previous_pipe), 0);
    sigset_t usr1;
    sigset_t previous_mask;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, &previous_mask), 0);

    static constexpr std::array<int, 1> pipe_signal{SIGPIPE};
    const finished reset = run({.argv = {"cat", "/proc/self/status"},
                                .search_path = true,
                                .default_signals = pipe_signal});
    const finished as_is = run({.argv = {"cat", "/proc/self/status"}, .search_path = true});

    ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    ::sigaction(SIGPIPE, &previous_pipe, nullptr);
    const std::uint64_t pipe_bit = std::uint64_t{1} << (SIGPIPE - 1);
    EXPECT_EQ(signal_mask(reset.output, "SigBlk"), 0u);
    EXPECT_EQ(signal_mask(as_is.output, "SigBlk"), 0u);
    EXPECT_EQ(signal_mask(reset.output, "SigIgn") & pipe_bit, 0u);
    EXPECT_NE(signal_mask(as_is.output, "SigIgn") & pipe_bit, 0u)
        << "the test's own ignored SIGPIPE did not reach the child: it proves nothing";
}

TEST(Spawn, ThePidIsPublished) {
    std::atomic<pid_t> published{0};
    error_code ec;
    const pid_t pid =
        spawn({.argv = {"true"}, .search_path = true, .published_pid = &published}, ec);
    ASSERT_GT(pid, 0) << ec.message();
    EXPECT_EQ(published.load(), pid);
    EXPECT_TRUE(exited_with(wait_for(pid), 0));
}

// True when the write ends of `p` are all closed within `timeout`: every
// process that held one has ended. The margin is for a loaded machine; a
// pass takes milliseconds.
bool all_writers_gone(const pipe_fds& p, std::chrono::milliseconds timeout) {
    pollfd readable{.fd = p.read, .events = POLLIN, .revents = 0};
    char byte = 0;
    return ::poll(&readable, 1, static_cast<int>(timeout.count())) == 1 &&
           ::read(p.read, &byte, 1) == 0;
}

TEST(StopProcessGroup, KillsTheWholeGroupAndReapsTheLeader) {
    pipe_fds held;
    error_code ec;
    // The shell and its background child both hold the pipe's write end.
    const pid_t pid = spawn({.argv = {"/bin/sh", "-c", "sleep 60 & echo started; exec sleep 60"},
                             .standard_output = held.write,
                             .own_process_group = true},
                            ec);
    ASSERT_GT(pid, 0) << ec.message();
    held.close_write();
    EXPECT_EQ(::getpgid(pid), pid);
    std::array<char, 8> started{};
    ASSERT_EQ(::read(held.read, started.data(), started.size()), 8);  // both run
    stop_process_group(pid, 0ms);
    EXPECT_TRUE(all_writers_gone(held, 10s)) << "a process of the group survived";
    EXPECT_TRUE(no_child_left());
}

TEST(StopProcessGroup, AsksWithSigtermFirst) {
    pipe_fds in;  // never written to: the shell waits in `read` until signalled
    pipe_fds out;
    error_code ec;
    // No child of its own: one that the shell forked but had not yet started
    // could miss the SIGTERM, which the shell's trap would take for it.
    const pid_t pid =
        spawn({.argv = {"/bin/sh", "-c", "trap 'echo term; exit 0' TERM; echo ready; read line"},
               .standard_input = in.read,
               .standard_output = out.write,
               .own_process_group = true},
              ec);
    ASSERT_GT(pid, 0) << ec.message();
    out.close_write();
    std::array<char, 6> ready{};
    ASSERT_EQ(::read(out.read, ready.data(), ready.size()), 6);  // the trap is set
    stop_process_group(pid, 30s);
    EXPECT_EQ(read_to_end(out.read), "term\n");
    EXPECT_TRUE(no_child_left());
}

TEST(Spawn, TheDeathSignalComesWhenTheStartingThreadEnds) {
    pid_t pid = -1;
    error_code ec;
    std::thread starter([&] {
        pid = spawn({.argv = {"sleep", "60"}, .search_path = true, .death_signal = SIGKILL}, ec);
    });
    starter.join();
    ASSERT_GT(pid, 0) << ec.message();
    const int status = wait_for(pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

TEST(OpenDescriptors, ListsANewDescriptorAndNotAClosedOne) {
    int fd = -1;
    {
        pipe_fds p;
        fd = p.read;
        const std::vector<int> open = open_descriptors();
        EXPECT_NE(std::find(open.begin(), open.end(), p.read), open.end());
        EXPECT_NE(std::find(open.begin(), open.end(), p.write), open.end());
    }
    const std::vector<int> after = open_descriptors();
    EXPECT_EQ(std::find(after.begin(), after.end(), fd), after.end());
}

}  // namespace
}  // namespace dynalock::process
