#include "support/fault_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

namespace dynalock::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using std::chrono::milliseconds;

namespace {

constexpr auto as_tuple = asio::as_tuple(asio::deferred);
// DynamoDB items are at most 400 KB, query pages 1 MB: far below this.
constexpr std::uint64_t body_limit = 64ull * 1024 * 1024;

struct decision {
    fault what = fault::none;
    std::uint64_t request_number = 0;
    milliseconds delay{};
    std::size_t trickle_bytes = 1;
    milliseconds trickle_interval{};
};

struct session {
    explicit session(tcp::socket s)
        : client(std::move(s)), upstream(client.get_executor()), timer(client.get_executor()) {}

    tcp::socket client;
    tcp::socket upstream;
    asio::steady_timer timer;  // latency, trickle pauses, blackholes; close() cancels it
    bool closed = false;
};

// The client sees an orderly end of stream (FIN) after what it already got.
void close_gracefully(tcp::socket& s) {
    error_code ignored;
    s.shutdown(tcp::socket::shutdown_both, ignored);
    s.close(ignored);
}

// The client sees a reset (RST): SO_LINGER with a zero timeout makes close()
// abort the connection instead of finishing it.
void reset(tcp::socket& s) {
    error_code ignored;
    s.set_option(asio::socket_base::linger(true, 0), ignored);
    s.close(ignored);
}

template <class Message>
std::string serialize(const Message& m) {
    std::ostringstream out;
    out << m;
    return std::move(out).str();
}

// The answer DynamoDB gives in the server's place: same framing and error
// shape, so the client's classification is what is exercised.
std::string synthetic_response(fault f, bool keep_alive, std::uint64_t request_number) {
    http::response<http::string_body> res;
    res.version(11);
    if (f == fault::throttle) {
        res.result(http::status::bad_request);
        res.body() = R"json({"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",)json"
                     R"json("message":"Rate of requests exceeds the allowed throughput"})json";
    } else {
        res.result(http::status::internal_server_error);
        res.body() = R"json({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",)json"
                     R"json("message":"Internal server error"})json";
    }
    res.set(http::field::content_type, "application/x-amz-json-1.0");
    res.set("x-amzn-RequestId", "fault-proxy-" + std::to_string(request_number));
    res.keep_alive(keep_alive);
    res.prepare_payload();
    return serialize(res);
}

}  // namespace

aws::endpoint upstream_endpoint(std::string_view url) {
    aws::endpoint ep;
    diagnostics diag;
    if (aws::parse_endpoint(url, ep, diag) || ep.tls) {
        throw std::invalid_argument("fault_proxy: not a plain http://host:port URL: " +
                                    std::string(url) + " " + diag.message);
    }
    return ep;
}

std::uint64_t fault_counters::applied(fault f) const {
    switch (f) {
        case fault::none:
            return requests - drop_response - reset_request - reset_response - throttle -
                   server_error - trickle - blackhole;
        case fault::drop_response:
            return drop_response;
        case fault::reset_request:
            return reset_request;
        case fault::reset_response:
            return reset_response;
        case fault::throttle:
            return throttle;
        case fault::server_error:
            return server_error;
        case fault::trickle:
            return trickle;
        case fault::blackhole:
            return blackhole;
    }
    return 0;
}

struct fault_proxy::state {
    state(asio::any_io_executor executor, tcp::endpoint up, std::optional<std::uint64_t> seed)
        : ex(std::move(executor)),
          acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
          port(acceptor.local_endpoint().port()),
          upstream(std::move(up)),
          rng(seed.value_or(std::random_device{}())) {}

    // Picks what happens to the request just read, and counts it.
    decision decide() {
        const std::lock_guard lock(m);
        decision d{.request_number = ++counts.requests,
                   .trickle_bytes = std::max<std::size_t>(plan.trickle_bytes, 1),
                   .trickle_interval = plan.trickle_interval};
        d.delay = plan.latency;
        if (plan.latency_jitter > milliseconds::zero()) {
            std::uniform_int_distribution<milliseconds::rep> jitter(0, plan.latency_jitter.count());
            d.delay += milliseconds(jitter(rng));
        }
        if (d.delay > milliseconds::zero()) {
            ++counts.delayed;
        }
        if (!queue.empty()) {
            d.what = queue.front();
            queue.pop_front();
        } else if (plan.blackhole) {
            d.what = fault::blackhole;
        } else {
            const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
            const std::pair<double, fault> shares[] = {
                {plan.drop_response, fault::drop_response},
                {plan.reset_request, fault::reset_request},
                {plan.reset_response, fault::reset_response},
                {plan.throttle, fault::throttle},
                {plan.server_error, fault::server_error},
                {plan.trickle, fault::trickle},
            };
            double cumulative = 0;
            for (const auto& [share, f] : shares) {
                cumulative += share;
                if (draw < cumulative) {
                    d.what = f;
                    break;
                }
            }
        }
        count(d.what);
        return d;
    }

    void count(fault f) {
        switch (f) {
            case fault::none:
                break;
            case fault::drop_response:
                ++counts.drop_response;
                break;
            case fault::reset_request:
                ++counts.reset_request;
                break;
            case fault::reset_response:
                ++counts.reset_response;
                break;
            case fault::throttle:
                ++counts.throttle;
                break;
            case fault::server_error:
                ++counts.server_error;
                break;
            case fault::trickle:
                ++counts.trickle;
                break;
            case fault::blackhole:
                ++counts.blackhole;
                break;
        }
    }

    void bump(std::uint64_t fault_counters::*counter) {
        const std::lock_guard lock(m);
        ++(counts.*counter);
    }

    asio::any_io_executor ex;
    tcp::acceptor acceptor;
    std::uint16_t port;
    tcp::endpoint upstream;
    // Touched on the executor only.
    std::list<std::shared_ptr<session>> sessions;
    bool closed = false;
    // Shared with controlling threads.
    mutable std::mutex m;
    fault_plan plan;
    std::deque<fault> queue;
    fault_counters counts;
    std::mt19937_64 rng;
};

namespace {

using state_ptr = std::shared_ptr<fault_proxy::state>;

// False when close() ended the pause.
asio::awaitable<bool> pause_until(session& s, std::chrono::steady_clock::time_point until) {
    s.timer.expires_at(until);
    auto op = s.timer.async_wait(as_tuple);
    static_cast<void>(co_await std::move(op));  // cancelled by close() only
    co_return !s.closed;
}

asio::awaitable<bool> pause(session& s, milliseconds d) {
    return pause_until(s, std::chrono::steady_clock::now() + d);
}

asio::awaitable<bool> write_all(tcp::socket& sock, std::string_view bytes) {
    auto op = asio::async_write(sock, asio::buffer(bytes.data(), bytes.size()), as_tuple);
    auto [ec, n] = co_await std::move(op);
    co_return !ec;
}

// Forwards one request and reads the whole response. Empty on a failure of
// the server connection (then closed).
asio::awaitable<std::optional<http::response<http::string_body>>> exchange(
    fault_proxy::state& st, session& s, beast::flat_buffer& buffer,
    http::request<http::string_body>& req) {
    if (!s.upstream.is_open()) {
        buffer.clear();
        auto connecting = s.upstream.async_connect(st.upstream, as_tuple);
        auto [ec] = co_await std::move(connecting);
        if (ec) {
            error_code ignored;
            s.upstream.close(ignored);
            co_return std::nullopt;
        }
    }
    auto writing = http::async_write(s.upstream, req, as_tuple);
    auto [write_ec, written] = co_await std::move(writing);
    if (write_ec) {
        close_gracefully(s.upstream);
        co_return std::nullopt;
    }
    st.bump(&fault_counters::forwarded);
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    auto reading = http::async_read(s.upstream, buffer, parser, as_tuple);
    auto [read_ec, read] = co_await std::move(reading);
    if (read_ec) {
        close_gracefully(s.upstream);
        co_return std::nullopt;
    }
    auto res = parser.release();
    if (!res.keep_alive()) {
        close_gracefully(s.upstream);
    }
    co_return std::move(res);
}

// One client connection: request by request, each with its fault.
asio::awaitable<void> serve(state_ptr st, std::shared_ptr<session> s) {
    beast::flat_buffer client_buffer;
    beast::flat_buffer upstream_buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(body_limit);
        auto reading = http::async_read(s->client, client_buffer, parser, as_tuple);
        auto [read_ec, read] = co_await std::move(reading);
        if (read_ec || s->closed) {
            break;
        }
        auto req = parser.release();
        const bool keep_alive = req.keep_alive();
        const decision d = st->decide();
        if (d.delay > milliseconds::zero() && !co_await pause(*s, d.delay)) {
            break;
        }
        if (d.what == fault::blackhole) {
            // Until close() (or the client gives up and closes: the next read
            // is never attempted, so that goes unnoticed until close()).
            co_await pause_until(*s, std::chrono::steady_clock::time_point::max());
            break;
        }
        if (d.what == fault::reset_request) {
            reset(s->client);
            break;
        }
        if (d.what == fault::throttle || d.what == fault::server_error) {
            const std::string bytes = synthetic_response(d.what, keep_alive, d.request_number);
            if (!co_await write_all(s->client, bytes)) {
                break;
            }
            st->bump(&fault_counters::answered);
            if (!keep_alive) {
                close_gracefully(s->client);
                break;
            }
            continue;
        }
        auto res = co_await exchange(*st, *s, upstream_buffer, req);
        if (s->closed) {
            break;
        }
        if (!res) {
            // The client learns nothing more than a closed connection.
            st->bump(&fault_counters::upstream_failures);
            close_gracefully(s->client);
            break;
        }
        const bool keep_client = keep_alive && res->keep_alive();
        const std::string bytes = serialize(*res);
        if (d.what == fault::drop_response) {
            close_gracefully(s->client);
            break;
        }
        if (d.what == fault::reset_response) {
            const std::size_t part = std::max<std::size_t>(bytes.size() / 2, 1);
            if (co_await write_all(s->client, std::string_view(bytes).substr(0, part))) {
                reset(s->client);
            }
            break;
        }
        bool written = true;
        if (d.what == fault::trickle) {
            for (std::size_t at = 0; written && at < bytes.size(); at += d.trickle_bytes) {
                if (at != 0 && !co_await pause(*s, d.trickle_interval)) {
                    written = false;
                    break;
                }
                written = co_await write_all(s->client,
                                             std::string_view(bytes).substr(at, d.trickle_bytes));
            }
        } else {
            written = co_await write_all(s->client, bytes);
        }
        if (!written) {
            break;
        }
        st->bump(&fault_counters::answered);
        if (!keep_client) {
            close_gracefully(s->client);
            break;
        }
    }
    error_code ignored;
    s->client.close(ignored);
    s->upstream.close(ignored);
    st->sessions.remove(s);
}

asio::awaitable<void> accept_loop(state_ptr st) {
    for (;;) {
        auto accepting = st->acceptor.async_accept(as_tuple);
        auto [ec, socket] = co_await std::move(accepting);
        if (st->closed) {
            co_return;
        }
        if (ec) {
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        st->bump(&fault_counters::connections);
        auto s = std::make_shared<session>(std::move(socket));
        st->sessions.push_back(s);
        asio::co_spawn(st->ex, serve(st, s), [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    }
}

tcp::endpoint resolve(const asio::any_io_executor& ex, const std::string& host,
                      std::uint16_t port) {
    tcp::resolver resolver(ex);
    const auto results = resolver.resolve(host, std::to_string(port));
    if (results.empty()) {
        throw std::runtime_error("fault_proxy: no address for " + host);
    }
    return *results.begin();
}

}  // namespace

fault_proxy::fault_proxy(asio::any_io_executor ex, std::string upstream_host,
                         std::uint16_t upstream_port, std::optional<std::uint64_t> seed) {
    auto upstream = resolve(ex, upstream_host, upstream_port);
    state_ = std::make_shared<state>(std::move(ex), std::move(upstream), seed);
    asio::co_spawn(state_->ex, accept_loop(state_), [](std::exception_ptr e) {
        if (e) {
            std::rethrow_exception(e);
        }
    });
}

fault_proxy::~fault_proxy() {
    close();
}

std::string fault_proxy::url() const {
    return "http://127.0.0.1:" + std::to_string(port());
}

std::uint16_t fault_proxy::port() const {
    return state_->port;
}

void fault_proxy::set_plan(fault_plan p) {
    const std::lock_guard lock(state_->m);
    state_->plan = std::move(p);
}

fault_plan fault_proxy::plan() const {
    const std::lock_guard lock(state_->m);
    return state_->plan;
}

void fault_proxy::inject(std::vector<fault> next) {
    const std::lock_guard lock(state_->m);
    state_->queue.insert(state_->queue.end(), next.begin(), next.end());
}

std::size_t fault_proxy::pending() const {
    const std::lock_guard lock(state_->m);
    return state_->queue.size();
}

fault_counters fault_proxy::counters() const {
    const std::lock_guard lock(state_->m);
    return state_->counts;
}

void fault_proxy::close() {
    state& st = *state_;
    if (st.closed) {
        return;
    }
    st.closed = true;
    error_code ignored;
    st.acceptor.close(ignored);
    for (auto& s : st.sessions) {
        s->closed = true;
        s->timer.cancel();
        s->client.close(ignored);
        s->upstream.close(ignored);
    }
}

}  // namespace dynalock::test
