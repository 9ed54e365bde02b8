#include <handler_block.hpp>
#include <http/connection_pool.hpp>
#include <http/response_parser.hpp>
#include <http/transport_error.hpp>
#include <spawn_op.hpp>
#include <thread_spares.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/intrusive/list.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <deque>
#include <optional>
#include <utility>
#include <variant>

namespace dynalock::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// Deferred operations are awaited in place: `use_awaitable` wraps each in a
// coroutine frame of its own. Beast's connect and TLS handshake (1.81) take
// only tokens of the older kind, and run once per connection.
constexpr auto as_tuple_in_place = asio::as_tuple(asio::deferred);
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using auto_unlink_hook =
    boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

struct connection : auto_unlink_hook {
    connection(const asio::any_io_executor& executor, ssl::context* tls_context) {
        if (tls_context != nullptr) {
            stream.emplace<tls_stream>(executor, *tls_context);
        } else {
            stream.emplace<plain_stream>(executor);
        }
    }

    beast::tcp_stream& tcp() {
        if (auto* tls = std::get_if<tls_stream>(&stream)) {
            return tls->next_layer();
        }
        return std::get<plain_stream>(stream);
    }

    // monostate only until the constructor has picked the kind of stream.
    std::variant<std::monostate, plain_stream, tls_stream> stream;
    beast::flat_buffer buffer;  // bytes read past a response; reused across exchanges
    std::string head;           // the serialized request head; reused across exchanges
    clock_type::time_point idle_since;
    // When the pool's watchdog must close this connection; max while no
    // request is being written or read.
    clock_type::time_point deadline = clock_type::time_point::max();
    bool timed_out = false;  // the watchdog closed it
};

template <class T>
using unlinking_list = boost::intrusive::list<T, boost::intrusive::constant_time_size<false>>;

// One counted connection slot, owned by one exchange; with a connection, or
// empty when the exchange must open one. The slot goes back to the pool
// whatever way the exchange ends.
struct checkout {
    checkout(std::shared_ptr<pool_state> pool, std::unique_ptr<connection> conn)
        : pool(std::move(pool)), conn(std::move(conn)) {}
    checkout(checkout&&) = default;
    checkout& operator=(checkout&&) = delete;
    ~checkout();

    void release(bool reusable);

    std::shared_ptr<pool_state> pool;
    std::unique_ptr<connection> conn;
};

// An exchange waiting for a connection slot; a releasing exchange hands its
// slot (and its connection, if reusable) over and wakes it by cancelling `wake`.
struct waiter : auto_unlink_hook {
    explicit waiter(const asio::any_io_executor& executor) : wake(executor) {}
    asio::steady_timer wake;
    std::optional<checkout> handed;
};

}  // namespace

struct pool_state : std::enable_shared_from_this<pool_state> {
    pool_state(asio::any_io_executor ex, endpoint where, http_options opts)
        : executor(std::move(ex)),
          target(std::move(where)),
          options(std::move(opts)),
          watchdog(executor) {}

    void give_back(std::unique_ptr<connection> conn, bool reusable);

    // Write/read deadlines: one timer for the whole pool rather than one per
    // operation, because every (re)arming of an Asio timer that becomes the
    // earliest costs a timerfd_settime system call. The timer is left running
    // while requests are in flight (it only ever fires early, then re-arms for
    // the earliest deadline), and cancelled when none is, so that an idle pool
    // keeps no work pending on the executor.
    void watch(connection& conn, clock_type::time_point deadline);
    void unwatch(connection& conn);
    void on_watchdog(error_code ec);
    void arm_watchdog(clock_type::time_point at);

    asio::any_io_executor executor;
    endpoint target;
    http_options options;
    std::string port_text;
    std::optional<tcp::endpoint> numeric_address;  // set when host is an IP literal
    std::optional<ssl::context> tls_context;
    error_code setup_ec;  // set when this pool cannot work at all (bad options, CA file)
    std::string setup_error;

    std::deque<std::unique_ptr<connection>> idle;  // front: idle longest, back: most recent
    unlinking_list<connection> busy;
    unlinking_list<waiter> waiters;
    std::size_t open = 0;
    bool closed = false;

    asio::steady_timer watchdog;
    std::optional<clock_type::time_point> watchdog_expiry;  // set while its wait is pending
    std::size_t watched = 0;                                // connections with a deadline
};

namespace {

checkout::~checkout() {
    if (pool) {
        std::exchange(pool, nullptr)->give_back(std::move(conn), false);
    }
}

void checkout::release(bool reusable) {
    std::exchange(pool, nullptr)->give_back(std::move(conn), reusable);
}

}  // namespace

void pool_state::give_back(std::unique_ptr<connection> conn, bool reusable) {
    if (conn) {
        unwatch(*conn);
        conn->unlink();
        if (!reusable || closed) {
            conn.reset();
        }
    }
    if (!waiters.empty()) {
        waiter& next = waiters.front();
        next.unlink();
        if (conn) {
            busy.push_back(*conn);
        }
        next.handed.emplace(shared_from_this(), std::move(conn));
        next.wake.cancel();
        return;
    }
    if (!conn) {
        --open;
        return;
    }
    conn->idle_since = clock_type::now();
    idle.push_back(std::move(conn));
}

void pool_state::watch(connection& conn, clock_type::time_point deadline) {
    conn.deadline = deadline;
    ++watched;
    if (!watchdog_expiry || deadline < *watchdog_expiry) {
        arm_watchdog(deadline);
    }
}

void pool_state::unwatch(connection& conn) {
    if (conn.deadline == clock_type::time_point::max()) {
        return;
    }
    conn.deadline = clock_type::time_point::max();
    if (--watched == 0 && watchdog_expiry) {
        watchdog_expiry.reset();
        watchdog.cancel();
    }
}

void pool_state::arm_watchdog(clock_type::time_point at) {
    watchdog_expiry = at;
    watchdog.expires_at(at);
    watchdog.async_wait([self = shared_from_this()](error_code ec) { self->on_watchdog(ec); });
}

void pool_state::on_watchdog(error_code ec) {
    // A wait superseded by a re-arm or a cancel completes with operation_aborted.
    if (ec == asio::error::operation_aborted) {
        return;
    }
    const auto now = clock_type::now();
    auto next = clock_type::time_point::max();
    for (connection& conn : busy) {
        if (conn.deadline <= now) {
            // The operation in progress completes with operation_aborted.
            conn.timed_out = true;
            conn.tcp().close();
        } else {
            next = std::min(next, conn.deadline);
        }
    }
    if (next != clock_type::time_point::max()) {
        arm_watchdog(next);
    } else {
        // Also cancels a wait armed after this completion was queued.
        watchdog_expiry.reset();
        watchdog.cancel();
    }
}

namespace {

exchange_result failure(error_code ec, bool request_sent, std::string detail) {
    return {ec, request_sent, std::move(detail)};
}

std::string describe(const pool_state& pool, std::string_view what, error_code ec) {
    std::string text(what);
    text.append(" ").append(pool.target.host).append(":").append(pool.port_text).append(": ");
    text.append(ec.message());
    return text;
}

// A check that a pooled socket was not closed by the server while idle: an
// idle HTTP connection has nothing to read, so EOF, an error or stray bytes all
// mean the connection is unusable. Servers close idle connections after
// seconds, so one used moments ago is taken without the system call; should
// it have been closed after all, the stale-connection retry covers it.
bool looks_alive(connection& conn, clock_type::time_point now) {
    constexpr auto recently_used = std::chrono::seconds(1);
    if (now - conn.idle_since < recently_used) {
        return true;
    }
    char byte = 0;
    error_code ec;
    conn.tcp().socket().receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    return ec == asio::error::would_block;
}

std::optional<checkout> take_idle(pool_state& pool, const std::shared_ptr<pool_state>& self) {
    const auto now = clock_type::now();
    while (!pool.idle.empty() && now - pool.idle.front()->idle_since >= pool.options.idle_timeout) {
        pool.idle.pop_front();
        --pool.open;
    }
    while (!pool.idle.empty()) {
        auto conn = std::move(pool.idle.back());
        pool.idle.pop_back();
        if (looks_alive(*conn, now)) {
            pool.busy.push_back(*conn);
            return checkout(self, std::move(conn));
        }
        --pool.open;
    }
    return std::nullopt;
}

struct acquired {
    error_code ec;
    std::optional<checkout> slot;
};

// A slot when one is free (or the pool is closed) without waiting: the usual
// case, which then costs no coroutine frame.
std::optional<acquired> try_acquire(const std::shared_ptr<pool_state>& pool) {
    if (pool->closed) {
        return acquired{asio::error::operation_aborted, {}};
    }
    if (auto reused = take_idle(*pool, pool)) {
        return acquired{{}, std::move(reused)};
    }
    if (pool->open < pool->options.max_connections) {
        ++pool->open;
        return acquired{{}, checkout(pool, nullptr)};
    }
    return std::nullopt;
}

// Waits for a slot that another exchange hands over, when none was free.
asio::awaitable<acquired> wait_for_slot(std::shared_ptr<pool_state> pool,
                                        clock_type::time_point deadline) {
    co_await detail::no_throw_on_cancel;
    waiter self(pool->executor);
    pool->waiters.push_back(self);
    self.wake.expires_at(deadline);
    const auto [ec] = co_await self.wake.async_wait(as_tuple_in_place);
    if (pool->closed) {
        co_return acquired{asio::error::operation_aborted, {}};
    }
    if (self.handed) {
        co_return acquired{{}, std::move(self.handed)};
    }
    if (ec == asio::error::operation_aborted) {
        co_return acquired{ec, {}};
    }
    co_return acquired{errc::timeout, {}};
}

struct resolution {
    error_code ec;
    tcp::resolver::results_type endpoints;
};

// getaddrinfo cannot be interrupted, so the lookup runs detached and the
// exchange stops waiting for it at its deadline instead of blocking past it.
asio::awaitable<resolution> resolve(pool_state& pool, clock_type::time_point deadline) {
    struct lookup {
        explicit lookup(const asio::any_io_executor& ex) : resolver(ex), wake(ex) {}
        tcp::resolver resolver;
        asio::steady_timer wake;
        std::optional<resolution> result;
    };
    auto pending = std::make_shared<lookup>(pool.executor);
    pending->wake.expires_at(deadline);
    pending->resolver.async_resolve(
        pool.target.host, pool.port_text,
        [pending](error_code ec, tcp::resolver::results_type endpoints) {
            pending->result = resolution{ec, std::move(endpoints)};
            pending->wake.cancel();
        });
    const auto [ec] = co_await pending->wake.async_wait(as_tuple_in_place);
    if (pending->result) {
        co_return std::move(*pending->result);
    }
    pending->resolver.cancel();
    co_return resolution{
        ec == asio::error::operation_aborted ? ec : error_code(beast::error::timeout), {}};
}

std::string tls_failure_detail(const pool_state& pool, tls_stream& stream, error_code ec) {
    std::string text = describe(pool, "TLS handshake with", ec);
    const long verify_result = SSL_get_verify_result(stream.native_handle());
    if (verify_result != X509_V_OK) {
        text.append("; certificate verification: ")
            .append(X509_verify_cert_error_string(verify_result));
    }
    return text;
}

asio::awaitable<exchange_result> handshake(pool_state& pool, tls_stream& stream) {
    SSL* ssl_handle = stream.native_handle();
    const std::string& host = pool.target.host;
    // SNI carries DNS names only (RFC 6066); an IP literal is checked against
    // the certificate's IP addresses instead.
    if (!pool.numeric_address && SSL_set_tlsext_host_name(ssl_handle, host.c_str()) != 1) {
        co_return failure(errc::tls_failed, false, "cannot set TLS server name " + host);
    }
    if (pool.options.verify_peer) {
        // OpenSSL's own host check (rather than a verify callback) so that a
        // mismatch is reported as such by SSL_get_verify_result.
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
        const int ok = pool.numeric_address
                           ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
        if (ok != 1) {
            co_return failure(errc::tls_failed, false, "cannot set TLS verification host " + host);
        }
    }
    const auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (ec) {
        const error_code mapped = to_dynalock_error(ec, exchange_step::handshake);
        co_return failure(mapped, false,
                          mapped == errc::tls_failed ? tls_failure_detail(pool, stream, ec)
                                                     : describe(pool, "TLS handshake with", ec));
    }
    co_return exchange_result{};
}

asio::awaitable<exchange_result> connect(pool_state& pool, connection& conn,
                                         clock_type::time_point deadline) {
    co_await detail::no_throw_on_cancel;
    const auto connect_deadline =
        std::min(deadline, clock_type::now() + pool.options.connect_timeout);
    resolution resolved;
    if (!pool.numeric_address) {
        resolved = co_await resolve(pool, connect_deadline);
        if (resolved.ec) {
            co_return failure(to_dynalock_error(resolved.ec, exchange_step::resolve), false,
                              describe(pool, "cannot resolve", resolved.ec));
        }
        if (pool.closed) {
            co_return failure(asio::error::operation_aborted, false,
                              "the connection pool was closed");
        }
    }
    beast::tcp_stream& tcp = conn.tcp();
    tcp.expires_at(connect_deadline);
    error_code ec;
    if (pool.numeric_address) {
        std::tie(ec) = co_await tcp.async_connect(*pool.numeric_address, use_tuple);
    } else {
        tcp::endpoint connected;
        std::tie(ec, connected) = co_await tcp.async_connect(resolved.endpoints, use_tuple);
    }
    if (ec) {
        co_return failure(to_dynalock_error(ec, exchange_step::connect), false,
                          describe(pool, "cannot connect to", ec));
    }
    // Nagle would hold back a small request body behind its unacknowledged head.
    tcp.socket().set_option(tcp::no_delay(true), ec);
    // Only synchronous calls see this flag: it makes the idle-socket peek non-blocking.
    tcp.socket().non_blocking(true, ec);
    if (ec) {
        co_return failure(errc::connect_failed, false,
                          describe(pool, "cannot configure socket to", ec));
    }
    if (auto* tls = std::get_if<tls_stream>(&conn.stream)) {
        if (auto shaken = co_await handshake(pool, *tls); shaken.ec) {
            co_return shaken;
        }
    }
    // From here on the pool's watchdog enforces deadlines; the stream's own
    // timer would cost system calls on every operation.
    tcp.expires_never();
    co_return exchange_result{};
}

struct round_trip {
    error_code ec;  // as Asio/Beast reported it, so a stale connection can be recognised
    exchange_step step = exchange_step::write;
    bool got_response_bytes = false;
    bool keep_alive = false;
};

std::array<asio::const_buffer, 2> request_buffers(const connection& conn, const request& req) {
    return {asio::buffer(conn.head), asio::buffer(req.body)};
}

round_trip finished(const response_parser& parser, const connection& conn) {
    // Bytes beyond the response would be mistaken for the start of the next one.
    const bool keep_alive = parser.keep_alive() && conn.buffer.size() == 0;
    return round_trip{{}, exchange_step::read, true, keep_alive};
}

round_trip read_failed(error_code ec, const response_parser& parser, const connection& conn) {
    return round_trip{ec, exchange_step::read, parser.got_some() || conn.buffer.size() != 0, false};
}

// A lock's answers take well under 1 KiB, and every pooled connection keeps
// its buffer: 4 KiB each rather than 16 (64 connections held 1 MiB, 100 B per
// lease of 10,000). A large page is read in more pieces.
constexpr std::size_t read_chunk = 4 * 1024;

// Puts the connection's buffered bytes into the parser: the round trip when
// the response ended or failed, nothing when more must be read.
std::optional<round_trip> parse_buffered(response_parser& parser, connection& conn) {
    if (conn.buffer.size() == 0) {
        return std::nullopt;
    }
    const asio::const_buffer bytes = conn.buffer.data();
    error_code ec;
    conn.buffer.consume(
        parser.put(std::string_view(static_cast<const char*>(bytes.data()), bytes.size()), ec));
    if (ec && ec != beast::http::error::need_more) {
        return read_failed(ec, parser, conn);
    }
    if (parser.is_done()) {
        return finished(parser, conn);
    }
    return std::nullopt;
}

// The server closed the connection: that ends a response framed by the end
// of the connection, cuts any other short, and before any byte means the
// server closed the connection instead of answering (end_of_stream).
round_trip at_eof(response_parser& parser, const connection& conn) {
    error_code ec;
    parser.put_eof(ec);
    return ec ? read_failed(ec, parser, conn) : finished(parser, conn);
}

asio::awaitable<round_trip> write_and_read(tls_stream& stream, connection& conn, const request& req,
                                           response& res, std::size_t body_limit) {
    co_await detail::no_throw_on_cancel;
    if (const auto [ec, written] =
            co_await asio::async_write(stream, request_buffers(conn, req), as_tuple_in_place);
        ec) {
        co_return round_trip{ec, exchange_step::write, false, false};
    }
    response_parser parser(res, body_limit);
    for (;;) {
        if (std::optional<round_trip> trip = parse_buffered(parser, conn)) {
            co_return *trip;
        }
        // One read of what is there (Beast's stream takes no deferred token itself).
        const auto [ec, got] = co_await asio::async_read(
            stream, conn.buffer.prepare(read_chunk), asio::transfer_at_least(1), as_tuple_in_place);
        conn.buffer.commit(got);
        if (ec == asio::error::eof) {
            co_return at_eof(parser, conn);
        }
        if (ec) {
            co_return read_failed(ec, parser, conn);
        }
    }
}

exchange_result aborted(bool request_sent) {
    return failure(asio::error::operation_aborted, request_sent, "the exchange was cancelled");
}

}  // namespace

// One exchange, as a hand-written operation rather than a coroutine: on the
// usual path (a free connection, plain TCP) it costs no coroutine frame and no
// allocation, since operations are kept per thread for reuse and each keeps
// the memory of its pending step (handler_block). The rare steps (waiting for
// a connection, connecting, TLS) run as coroutines it waits for.
class exchange_operation {
public:
    using handler_type = asio::any_completion_handler<void(exchange_result)>;

    // Owns the operation while a step is pending: whoever holds it resumes or
    // (when an executor is destroyed with the step pending) destroys it. Its
    // end keeps the operation for reuse on this thread.
    struct recycle {
        void operator()(exchange_operation* op) const noexcept;
    };
    using owner = std::unique_ptr<exchange_operation, recycle>;

    static void start(std::shared_ptr<pool_state> pool, const request& req, response& res,
                      clock_type::time_point deadline, handler_type handler);

private:
    enum class pending : std::uint8_t { nothing, socket, coroutine };
    using spares =
        detail::thread_spares<exchange_operation, std::unique_ptr<exchange_operation>, 64>;

    // Resumes the operation when a socket operation completes.
    template <void (exchange_operation::*Step)(owner, error_code)>
    struct resume {
        owner op;
        using allocator_type = detail::handler_block_allocator<void>;
        allocator_type get_allocator() const noexcept { return allocator_type(op->memory_); }
        void operator()(error_code ec, std::size_t = 0) {
            exchange_operation& self = *op;
            self.pending_ = pending::nothing;
            (self.*Step)(std::move(op), ec);
        }
    };

    // Runs a rare step's coroutine; `then` continues with its result.
    template <class T, class Then>
    void spawn(owner self, asio::awaitable<T> step, Then then);

    void attempt(owner self);
    void on_slot(owner self, acquired got);
    void send_request(owner self);
    void on_written(owner self, error_code ec);
    void on_readable(owner self, error_code ec);
    void read(owner self);
    void on_trip(owner self, round_trip trip);
    void finish(owner self, exchange_result result);
    void cancel();

    std::shared_ptr<pool_state> pool_;
    const request* req_ = nullptr;
    response* res_ = nullptr;
    clock_type::time_point deadline_;
    handler_type handler_;
    asio::cancellation_slot caller_slot_;
    asio::cancellation_signal step_cancel_;  // reaches a rare step's coroutine
    std::optional<checkout> slot_;
    std::optional<response_parser> parser_;  // plain TCP reads into it
    detail::handler_block memory_;
    pending pending_ = pending::nothing;
    bool* finished_here_ = nullptr;  // set while start() runs
    bool cancelled_ = false;         // the caller asked
    bool reused_ = false;            // the connection was idle in the pool
    bool retried_ = false;           // on a fresh connection after a stale one
    bool maybe_more_ = false;        // the socket may hold bytes not read yet
};

void exchange_operation::recycle::operator()(exchange_operation* op) const noexcept {
    if (op->handler_) {
        // Abandoned, its handler never called (its executor was destroyed
        // with a step pending): the caller's slot may still point here, so
        // it is not reused.
        delete op;
        return;
    }
    op->pool_.reset();
    op->slot_.reset();
    op->parser_.reset();
    op->caller_slot_ = {};
    op->pending_ = pending::nothing;
    spares::give(std::unique_ptr<exchange_operation>(op));
}

void exchange_operation::start(std::shared_ptr<pool_state> pool, const request& req, response& res,
                               clock_type::time_point deadline, handler_type handler) {
    std::optional<std::unique_ptr<exchange_operation>> spare = spares::take();
    owner op(spare ? spare->release() : new exchange_operation());
    exchange_operation& self = *op;
    self.pool_ = std::move(pool);
    self.req_ = &req;
    self.res_ = &res;
    self.deadline_ = deadline;
    // Swapped in: Asio 1.81's move assignment of any_completion_handler
    // wraps the handler in itself instead of taking it over.
    self.handler_.swap(handler);
    self.cancelled_ = false;
    self.retried_ = false;
    self.caller_slot_ = asio::get_associated_cancellation_slot(self.handler_);
    if (self.caller_slot_.is_connected()) {
        self.caller_slot_.assign([&self](asio::cancellation_type) { self.cancel(); });
    }
    bool finished_here = false;
    self.finished_here_ = &finished_here;
    if (self.pool_->setup_ec) {
        self.finish(std::move(op), failure(self.pool_->setup_ec, false, self.pool_->setup_error));
    } else {
        self.attempt(std::move(op));
    }
    // Otherwise a step is pending, and the operation is still there.
    if (!finished_here) {
        self.finished_here_ = nullptr;
    }
}

void exchange_operation::cancel() {
    cancelled_ = true;
    if (pending_ == pending::coroutine) {
        step_cancel_.emit(asio::cancellation_type::terminal);
    } else if (pending_ == pending::socket) {
        error_code ignored;
        slot_->conn->tcp().socket().cancel(ignored);
    }
}

template <class T, class Then>
void exchange_operation::spawn(owner self, asio::awaitable<T> step, Then then) {
    pending_ = pending::coroutine;
    const asio::any_io_executor ex = pool_->executor;
    asio::co_spawn(ex, std::move(step),
                   detail::slotted_handler(step_cancel_.slot(),
                                           [self = std::move(self), then = std::move(then)](
                                               std::exception_ptr e, T result) mutable {
                                               self->pending_ = pending::nothing;
                                               then(std::move(self), e, std::move(result));
                                           }));
}

void exchange_operation::attempt(owner self) {
    if (cancelled_) {
        return finish(std::move(self), aborted(false));
    }
    if (std::optional<acquired> free_slot = try_acquire(pool_)) {
        return on_slot(std::move(self), std::move(*free_slot));
    }
    spawn(
        std::move(self), wait_for_slot(pool_, deadline_),
        [](owner op, std::exception_ptr e, acquired got) {
            exchange_operation& self = *op;
            self.on_slot(std::move(op), e ? acquired{detail::thrown_error(e), {}} : std::move(got));
        });
}

void exchange_operation::on_slot(owner self, acquired got) {
    if (got.ec) {
        return finish(
            std::move(self),
            failure(got.ec, false,
                    got.ec == errc::timeout ? "no free connection before the deadline"
                                            : "the exchange was cancelled or the pool closed"));
    }
    slot_.emplace(std::move(*got.slot));
    reused_ = slot_->conn != nullptr;
    if (reused_) {
        return send_request(std::move(self));
    }
    if (cancelled_) {
        slot_.reset();
        return finish(std::move(self), aborted(false));
    }
    slot_->conn = std::make_unique<connection>(pool_->executor,
                                               pool_->tls_context ? &*pool_->tls_context : nullptr);
    pool_->busy.push_back(*slot_->conn);
    spawn(std::move(self), connect(*pool_, *slot_->conn, deadline_),
          [](owner op, std::exception_ptr e, exchange_result connected) {
              if (e) {
                  connected = failure(detail::thrown_error(e), false, "cannot connect");
              }
              exchange_operation& self = *op;
              if (connected.ec) {
                  self.slot_.reset();
                  return self.finish(std::move(op), std::move(connected));
              }
              self.send_request(std::move(op));
          });
}

void exchange_operation::send_request(owner self) {
    connection& conn = *slot_->conn;
    if (serialize_head(*req_, conn.head)) {
        slot_->release(true);
        slot_.reset();
        return finish(std::move(self),
                      failure(errc::invalid_argument, false,
                              "the request target or a header is not valid HTTP, or sets "
                              "Content-Length, Transfer-Encoding or Connection"));
    }
    if (cancelled_) {
        slot_.reset();
        return finish(std::move(self), aborted(false));
    }
    pool_->watch(conn, deadline_);
    const std::size_t limit = pool_->options.max_response_body_bytes;
    if (auto* tls = std::get_if<tls_stream>(&conn.stream)) {
        return spawn(std::move(self), write_and_read(*tls, conn, *req_, *res_, limit),
                     [](owner op, std::exception_ptr e, round_trip trip) {
                         if (e) {
                             trip = round_trip{detail::thrown_error(e), exchange_step::write};
                         }
                         exchange_operation& self = *op;
                         self.on_trip(std::move(op), trip);
                     });
    }
    parser_.emplace(*res_, limit);
    maybe_more_ = false;
    // The socket is non-blocking (connect): the request is written at once (it
    // usually fits the send buffer: one sendmsg and no completion to wait
    // for), and only the rest, if any, asynchronously.
    tcp::socket& socket = conn.tcp().socket();
    const auto message = request_buffers(conn, *req_);
    error_code ec;
    const std::size_t written = socket.write_some(message, ec);
    if (ec == asio::error::would_block) {
        ec = {};
    }
    if (ec) {
        return on_trip(std::move(self), round_trip{ec, exchange_step::write, false, false});
    }
    if (written < asio::buffer_size(message)) {
        beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(message);
        rest.consume(written);
        pending_ = pending::socket;
        asio::async_write(socket, rest, resume<&exchange_operation::on_written>{std::move(self)});
        return;
    }
    read(std::move(self));
}

void exchange_operation::on_written(owner self, error_code ec) {
    if (ec) {
        return on_trip(std::move(self), round_trip{ec, exchange_step::write, false, false});
    }
    read(std::move(self));
}

void exchange_operation::on_readable(owner self, error_code ec) {
    if (ec) {
        return on_trip(std::move(self), read_failed(ec, *parser_, *slot_->conn));
    }
    maybe_more_ = true;
    read(std::move(self));
}

// The parser fed directly, without a composed read operation and its handler hops.
void exchange_operation::read(owner self) {
    connection& conn = *slot_->conn;
    response_parser& parser = *parser_;
    tcp::socket& socket = conn.tcp().socket();
    error_code ec;
    for (;;) {
        if (std::optional<round_trip> trip = parse_buffered(parser, conn)) {
            return on_trip(std::move(self), *trip);
        }
        // Asio (1.81) tries every read before it waits for readiness, and
        // right after the request nothing has arrived: one failing recv per
        // response. So this waits first and then reads what is there (the
        // wait costs an epoll_ctl instead, which re-arms the descriptor: no
        // system call is saved, but none is added). Waiting is safe because epoll (edge-triggered)
        // reports every arrival after its last report: a read that returned less than it asked for
        // emptied the socket, and whatever comes later wakes the wait; a full read may have left
        // more behind, so it reads again at once. A server's FIN reported while the connection lay
        // idle is not seen here, but the request written into the closed connection draws a reset,
        // which wakes the wait (and a connection idle for a second is peeked at before reuse:
        // looks_alive).
        if (!maybe_more_) {
            pending_ = pending::socket;
            socket.async_wait(tcp::socket::wait_read,
                              resume<&exchange_operation::on_readable>{std::move(self)});
            return;
        }
        // The socket is non-blocking (connect): this never waits.
        const std::size_t got = socket.read_some(conn.buffer.prepare(read_chunk), ec);
        conn.buffer.commit(got);
        maybe_more_ = !ec && got == read_chunk;
        if (ec == asio::error::would_block) {
            continue;  // woken with nothing to read: wait again
        }
        if (ec == asio::error::eof) {
            return on_trip(std::move(self), at_eof(parser, conn));
        }
        if (ec) {
            return on_trip(std::move(self), read_failed(ec, parser, conn));
        }
    }
}

void exchange_operation::on_trip(owner self, round_trip trip) {
    parser_.reset();
    const bool timed_out = slot_->conn->timed_out;
    if (!trip.ec) {
        // A response that completed just as the watchdog closed its socket counts.
        slot_->release(trip.keep_alive && !timed_out);
        slot_.reset();
        return finish(std::move(self), exchange_result{{}, true, {}});
    }
    slot_->release(false);
    slot_.reset();
    // The watchdog's close makes the operation end with operation_aborted.
    const error_code ec = timed_out ? error_code(beast::error::timeout) : trip.ec;
    if (req_->repeatable && reused_ && !retried_ && !trip.got_response_bytes &&
        is_stale_connection_error(ec)) {
        // The server closed this idle connection as we reused it: it never
        // saw a request, so a fresh connection may carry it.
        retried_ = true;
        return attempt(std::move(self));
    }
    if (ec == asio::error::operation_aborted) {
        return finish(std::move(self), aborted(true));
    }
    const error_code mapped = to_dynalock_error(ec, trip.step);
    finish(
        std::move(self),
        failure(mapped, true,
                describe(*pool_, trip.step == exchange_step::write ? "sending to" : "reading from",
                         ec)));
}

void exchange_operation::finish(owner self, exchange_result result) {
    if (caller_slot_.is_connected()) {
        caller_slot_.clear();
    }
    handler_type handler = std::move(handler_);
    if (finished_here_ == nullptr) {
        // On the pool's thread, in a completion of its executor (the
        // threading rule of the pool): the handler runs here.
        self.reset();
        std::move(handler)(std::move(result));
        return;
    }
    // Never inside the initiating function.
    *finished_here_ = true;
    finished_here_ = nullptr;
    const asio::any_io_executor ex = pool_->executor;
    self.reset();
    asio::post(ex, asio::append(std::move(handler), std::move(result)));
}

connection_pool::connection_pool(asio::any_io_executor executor, endpoint target,
                                 http_options options)
    : state_(std::make_shared<pool_state>(std::move(executor), std::move(target),
                                          std::move(options))) {
    pool_state& pool = *state_;
    pool.port_text = std::to_string(pool.target.port);
    if (auto problem = pool.options.validate()) {
        pool.setup_ec = errc::invalid_argument;
        pool.setup_error = std::move(*problem);
        return;
    }
    if (pool.target.host.empty() || pool.target.port == 0) {
        pool.setup_ec = errc::invalid_endpoint;
        pool.setup_error = "the HTTP endpoint needs a host and a non-zero port";
        return;
    }
    error_code ec;
    const auto address = asio::ip::make_address(pool.target.host, ec);
    if (!ec) {
        pool.numeric_address.emplace(address, pool.target.port);
    }
    if (!pool.target.tls) {
        return;
    }
    auto& context = pool.tls_context.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
    context.set_verify_mode(pool.options.verify_peer ? ssl::verify_peer : ssl::verify_none);
    if (context.set_default_verify_paths(ec); ec) {
        pool.setup_ec = errc::tls_failed;
        pool.setup_error = "cannot load the system trust store: " + ec.message();
        return;
    }
    if (!pool.options.extra_ca_file.empty() &&
        (context.load_verify_file(pool.options.extra_ca_file, ec), ec)) {
        pool.setup_ec = errc::tls_failed;
        pool.setup_error =
            "cannot load CA file " + pool.options.extra_ca_file + ": " + ec.message();
    }
}

connection_pool::~connection_pool() {
    close();
}

void connection_pool::start(const request& req, response& res, clock_type::time_point deadline,
                            asio::any_completion_handler<void(exchange_result)> handler) {
    exchange_operation::start(state_, req, res, deadline, std::move(handler));
}

void connection_pool::close() {
    pool_state& pool = *state_;
    if (pool.closed) {
        return;
    }
    pool.closed = true;
    pool.watchdog_expiry.reset();
    pool.watchdog.cancel();
    pool.open -= pool.idle.size();
    pool.idle.clear();
    // The exchanges using these connections see operation_aborted and give them back.
    for (connection& conn : pool.busy) {
        conn.tcp().close();
    }
    while (!pool.waiters.empty()) {
        waiter& next = pool.waiters.front();
        next.unlink();
        next.wake.cancel();
    }
}

std::size_t connection_pool::open_connections() const noexcept {
    return state_->open;
}

std::size_t connection_pool::idle_connections() const noexcept {
    return state_->idle.size();
}

}  // namespace dynalock::http
