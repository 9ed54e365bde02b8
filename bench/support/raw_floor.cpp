#include "raw_floor.hpp"

#include "raw_http.hpp"
#include "workload.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace dynalock::bench {
namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

std::string key_json(int index) {
    return "{" + quoted(workload::key_attribute) + ":{\"S\":" + quoted(workload::item_key(index)) +
           "}}";
}

std::string update_body(int index) {
    return "{\"TableName\":" + quoted(floor_table) + ",\"Key\":" + key_json(index) +
           ",\"UpdateExpression\":" + quoted(workload::update_expression) +
           ",\"ConditionExpression\":" + quoted(workload::condition_expression) +
           ",\"ExpressionAttributeNames\":{\"#k\":" + quoted(workload::key_attribute) +
           ",\"#v\":" + quoted(workload::value_attribute) +
           "},\"ExpressionAttributeValues\":{\":v\":{\"S\":" + quoted(workload::value) + "}}}";
}

struct connection {
    unique_fd fd;
    std::string request;
    std::size_t sent = 0;
    bool waiting_writable = false;
    std::array<char, 8192> in;
    std::size_t received = 0;
};

void watch(int epoll_fd, int op, connection& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &c;
    if (::epoll_ctl(epoll_fd, op, c.fd.get(), &ev) != 0)
        throw_errno("epoll_ctl");
}

/// Sends what is left of the request; waits for writability only when the kernel
/// buffer is full, which small requests on loopback never meet in practice.
void send_rest(int epoll_fd, connection& c) {
    while (c.sent < c.request.size()) {
        const auto n =
            ::send(c.fd.get(), c.request.data() + c.sent, c.request.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c.waiting_writable)
                watch(epoll_fd, EPOLL_CTL_MOD, c, EPOLLOUT);
            c.waiting_writable = true;
            return;
        }
        if (n < 0)
            throw_errno("send");
        c.sent += static_cast<std::size_t>(n);
    }
    c.sent = 0;
    if (c.waiting_writable)
        watch(epoll_fd, EPOLL_CTL_MOD, c, EPOLLIN);
    c.waiting_writable = false;
}

/// Reads what arrived; true once the whole response is in (and the buffer reset).
bool receive(connection& c, floor_result& result) {
    const auto n = ::recv(c.fd.get(), c.in.data() + c.received, c.in.size() - c.received, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n < 0)
        throw_errno("recv");
    if (n == 0)
        throw std::runtime_error("floor: the server closed a keep-alive connection");
    c.received += static_cast<std::size_t>(n);
    const std::string_view bytes(c.in.data(), c.received);
    const auto frame = frame_response(bytes);
    if (!frame) {
        if (c.received == c.in.size())
            throw std::runtime_error("floor: response larger than the buffer");
        return false;
    }
    if (frame->size != c.received)
        throw std::runtime_error("floor: bytes after the response");
    if (frame->status == 200) {
        ++result.requests;
    } else if (result.errors++ == 0) {
        std::fprintf(stderr, "floor: HTTP %d: %.*s\n", frame->status,
                     static_cast<int>(c.received - frame->body_offset),
                     c.in.data() + frame->body_offset);
    }
    c.received = 0;
    return true;
}

/// Even with --createTableMs 0, dynalite answers CreateTable before the table
/// leaves CREATING; DynamoDB takes seconds.
void wait_until_active(int fd, const harness::server_address& server) {
    const std::string describe = "{\"TableName\":" + quoted(floor_table) + "}";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (true) {
        const auto described = exchange(fd, raw_request(server, "DescribeTable", describe));
        if (described.status != 200)
            throw std::runtime_error("floor: DescribeTable: HTTP " +
                                     std::to_string(described.status) + ": " + described.body);
        if (described.body.find("\"TableStatus\":\"ACTIVE\"") != std::string::npos)
            return;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("floor: table not ACTIVE after 60 s: " + described.body);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

/// A periodic CLOCK_MONOTONIC timer as a descriptor, watched with a null
/// `data.ptr` so that the loop tells it from the connections.
unique_fd start_ticks(int epoll_fd, std::chrono::milliseconds tick) {
    unique_fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (timer.get() < 0)
        throw_errno("timerfd_create");
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(tick).count();
    const timespec period{static_cast<time_t>(ns / 1'000'000'000),
                          static_cast<long>(ns % 1'000'000'000)};
    const itimerspec spec{period, period};
    if (::timerfd_settime(timer.get(), 0, &spec, nullptr) != 0)
        throw_errno("timerfd_settime");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer.get(), &ev) != 0)
        throw_errno("epoll_ctl");
    return timer;
}

/// Sends requests for `seconds`, then lets those sent complete. Flat out (no
/// `pace`), every connection sends again as soon as its response is in. Paced,
/// ticks release requests at `pace->rate`; a request due while every
/// connection is busy waits in a queue for the next response.
floor_result pump(int epoll_fd, std::vector<connection>& connections,
                  const std::optional<paced_load>& pace, double seconds) {
    floor_result result;
    std::vector<connection*> idle;
    std::vector<epoll_event> events(connections.size() + 1);
    std::uint64_t released = 0;
    std::uint64_t queued = 0;
    bool releasing = true;
    const phase_meter meter;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::duration<double>(seconds);
    unique_fd ticks;
    if (pace) {
        ticks = start_ticks(epoll_fd, pace->tick);
        for (auto& c : connections)
            idle.push_back(&c);
    } else {
        for (auto& c : connections)
            send_rest(epoll_fd, c);
    }
    // Whether a connection whose response is in sends again at once.
    const auto send_again = [&] {
        if (!pace)
            return releasing = std::chrono::steady_clock::now() < deadline;
        if (queued == 0)
            return false;
        --queued;
        return true;
    };
    while (releasing || queued > 0 || idle.size() < connections.size()) {
        const int n =
            ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 10'000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw_errno("epoll_wait");
        if (n == 0)
            throw std::runtime_error(pace ? "floor: no response and no tick within 10 s"
                                          : "floor: no response within 10 s");
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<connection*>(events[static_cast<std::size_t>(i)].data.ptr);
            if (c == nullptr) {
                std::uint64_t expirations = 0;
                if (::read(ticks.get(), &expirations, sizeof expirations) < 0 && errno != EAGAIN)
                    throw_errno("read timerfd");
                if (!releasing)
                    continue;
                const std::chrono::duration<double> elapsed =
                    std::chrono::steady_clock::now() - start;
                releasing = elapsed.count() < seconds;
                const auto due = static_cast<std::uint64_t>(
                    std::floor(pace->rate * std::min(elapsed.count(), seconds)));
                queued += due - std::min(due, released);
                released = std::max(due, released);
                for (; queued > 0 && !idle.empty(); --queued) {
                    send_rest(epoll_fd, *idle.back());
                    idle.pop_back();
                }
                result.max_queue = std::max(result.max_queue, queued);
            } else if (c->waiting_writable) {
                send_rest(epoll_fd, *c);
            } else if (receive(*c, result)) {
                if (send_again())
                    send_rest(epoll_fd, *c);
                else
                    idle.push_back(c);
            }
        }
    }
    result.cost = meter.elapsed();
    return result;
}

/// K non-blocking keep-alive connections, each with its own item's request,
/// watched for responses.
std::vector<connection> open_connections(const harness::server_address& server, int epoll_fd,
                                         int conns) {
    std::vector<connection> connections(static_cast<std::size_t>(conns));
    for (int i = 0; i < conns; ++i) {
        auto& c = connections[static_cast<std::size_t>(i)];
        c.fd = connect_tcp(server);
        if (::fcntl(c.fd.get(), F_SETFL, ::fcntl(c.fd.get(), F_GETFL) | O_NONBLOCK) != 0)
            throw_errno("fcntl");
        c.request = raw_request(server, "UpdateItem", update_body(i));
        watch(epoll_fd, EPOLL_CTL_ADD, c, EPOLLIN);
    }
    return connections;
}

unique_fd make_epoll() {
    unique_fd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
    if (epoll_fd.get() < 0)
        throw_errno("epoll_create1");
    return epoll_fd;
}

}  // namespace

void prepare_floor(const harness::server_address& server, int conns) {
    const auto fd = connect_tcp(server);
    const std::string create =
        "{\"TableName\":" + quoted(floor_table) +
        ",\"AttributeDefinitions\":[{\"AttributeName\":" + quoted(workload::key_attribute) +
        ",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":" +
        quoted(workload::key_attribute) +
        ",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}";
    const auto created = exchange(fd.get(), raw_request(server, "CreateTable", create));
    if (created.status != 200 && created.body.find("ResourceInUseException") == std::string::npos)
        throw std::runtime_error("floor: CreateTable: HTTP " + std::to_string(created.status) +
                                 ": " + created.body);
    wait_until_active(fd.get(), server);
    for (int i = 0; i < conns; ++i) {
        const std::string put =
            "{\"TableName\":" + quoted(floor_table) + ",\"Item\":" + key_json(i) + "}";
        const auto stored = exchange(fd.get(), raw_request(server, "PutItem", put));
        if (stored.status != 200)
            throw std::runtime_error("floor: PutItem: HTTP " + std::to_string(stored.status) +
                                     ": " + stored.body);
    }
}

floor_result run_floor(const harness::server_address& server, int conns, double seconds) {
    const auto epoll_fd = make_epoll();
    auto connections = open_connections(server, epoll_fd.get(), conns);
    pump(epoll_fd.get(), connections, std::nullopt, warm_up_seconds);
    return pump(epoll_fd.get(), connections, std::nullopt, seconds);
}

floor_result run_paced_floor(const harness::server_address& server, const paced_load& load,
                             double seconds) {
    if (!(load.rate > 0) || load.tick <= std::chrono::milliseconds::zero() || load.conns < 1)
        throw std::invalid_argument("floor: a paced load needs a positive rate, tick and conns");
    const auto epoll_fd = make_epoll();
    auto connections = open_connections(server, epoll_fd.get(), load.conns);
    pump(epoll_fd.get(), connections, load, warm_up_seconds);
    return pump(epoll_fd.get(), connections, load, seconds);
}

}  // namespace dynalock::bench
