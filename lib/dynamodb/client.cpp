// The asynchronous DynamoDB client: the thin I/O shell around the sans-io
// layers. Per attempt: sign (sigv4), send (http pool), classify (protocol);
// between attempts, the retry policy (aws) decides and a timer waits.

#include <dynalock/dynamodb_client.hpp>

#include "aws/aws_settings.hpp"
#include "aws/clock_skew.hpp"
#include "aws/retry_policy.hpp"
#include "credential_providers/credential_chain.hpp"
#include "credential_providers/credentials_cache.hpp"
#include "dynamodb/item_write.hpp"
#include "dynamodb/protocol.hpp"
#include "dynamodb/validate.hpp"
#include "http/connection_pool.hpp"
#include "pooled_allocator.hpp"
#include "sigv4/signer.hpp"
#include "spawn_op.hpp"
#include "thread_spares.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <tuple>

namespace dynalock::dynamodb {

namespace asio = boost::asio;
using std::chrono::steady_clock;
using std::chrono::system_clock;

namespace {

// Whether repeating a request whose outcome is unknown can do no harm: reads,
// unconditional puts and deletes (the same end state), and transactions that
// carry an idempotency token. Everything else must not be repeated blindly.
bool safe_to_repeat(const get_item_request&) {
    return true;
}
bool safe_to_repeat(const query_request&) {
    return true;
}
bool safe_to_repeat(const scan_request&) {
    return true;
}
bool safe_to_repeat(const describe_table_request&) {
    return true;
}
bool safe_to_repeat(const describe_time_to_live_request&) {
    return true;
}
bool safe_to_repeat(const put_item_request& r) {
    return r.condition_expression.empty();
}
bool safe_to_repeat(const delete_item_request& r) {
    return r.condition_expression.empty();
}
bool safe_to_repeat(const transact_write_items_request& r) {
    return !r.client_request_token.empty();
}
bool safe_to_repeat(const update_item_request&) {
    return false;
}
bool safe_to_repeat(const create_table_request&) {
    return false;
}
bool safe_to_repeat(const delete_table_request&) {
    return false;
}
bool safe_to_repeat(const update_time_to_live_request&) {
    return false;
}

[[noreturn]] void throw_config_error(error_code ec, const diagnostics& diag) {
    throw std::system_error(ec, diag.message);
}

aws::aws_settings resolve(const client_options& o) {
    if (auto problem = o.http.validate()) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "dynamodb::client_options::http: " + *problem);
    }
    // Bounds far beyond any use, so that no deadline or refresh time computed
    // from them can overflow a clock.
    if (o.default_timeout <= std::chrono::milliseconds::zero() ||
        o.default_timeout > std::chrono::hours(1)) {
        throw std::system_error(
            make_error_code(errc::invalid_argument),
            "dynamodb::client_options::default_timeout must be positive and at most 1 hour");
    }
    if (o.credentials_refresh_margin < std::chrono::seconds::zero() ||
        o.credentials_refresh_margin > std::chrono::hours(12)) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "dynamodb::client_options::credentials_refresh_margin must be "
                                "from 0 to 12 hours (the longest STS session)");
    }
    if (auto problem = o.retry.validate()) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "dynamodb::client_options::retry: " + *problem);
    }
    aws::aws_settings s;
    diagnostics diag;
    const aws::aws_settings_options so{
        .profile = o.profile, .region = o.region, .endpoint_url = o.endpoint_url};
    if (error_code ec = aws::resolve_aws_settings(so, aws::system_config_sources(), s, diag)) {
        throw_config_error(ec, diag);
    }
    return s;
}

// Static credentials when given; otherwise the SDKs' chain (environment, web
// identity, profile, credential_process, container, instance metadata).
std::unique_ptr<aws::async_credentials_provider> credentials_source(const asio::any_io_executor& ex,
                                                                    const client_options& o,
                                                                    const aws::aws_settings& s) {
    if (o.credentials) {
        return std::make_unique<aws::static_credentials_provider>(*o.credentials);
    }
    std::unique_ptr<aws::async_credentials_provider> provider;
    diagnostics diag;
    if (error_code ec = aws::select_credentials_provider(
            ex, aws::system_config_sources(),
            {.profile = s.profile, .explicit_profile = !o.profile.empty(), .region = s.region},
            provider, diag)) {
        throw_config_error(ec, diag);
    }
    return provider;
}

}  // namespace

struct client::impl {
    impl(executor_type ex, client_options o)
        : executor(std::move(ex)),
          options(std::move(o)),
          settings(resolve(options)),
          credential_cache(executor, credentials_source(executor, options, settings),
                           {.refresh_margin = options.credentials_refresh_margin,
                            .on_fetch = options.credentials ? nullptr : options.on_credentials}),
          signer(settings.region, "dynamodb"),
          pool(executor, settings.endpoint, options.http),
          retry(options.retry),
          host(aws::host_header(settings.endpoint)) {}

    // The deadline of an operation: the caller's, or the client's default from now.
    steady_clock::time_point deadline_of(const operation_options& opts) const {
        return opts.deadline.value_or(steady_clock::now() + options.default_timeout);
    }

    // Signs a POST of `req.body` to `target` and sets the headers of `req`:
    // views of `host`, `target` and `auth`, which must stay alive until the
    // exchange ends. Not a coroutine, so that what signing needs stays on the
    // stack instead of in the frame of every request.
    error_code sign(std::string_view target, const dynalock::credentials& creds, http::request& req,
                    sigv4::auth_headers& auth) {
        const std::array<sigv4::header, 3> signed_headers{{
            {"host", host},
            {"content-type", content_type},
            {"x-amz-target", target},
        }};
        const sigv4::request to_sign{"POST", "/", "", signed_headers, req.body};
        if (error_code ec =
                signer.sign(to_sign, creds, skew.corrected_now(system_clock::now()), auth)) {
            return ec;
        }
        req.headers.clear();
        req.headers.emplace_back("Host", host);
        req.headers.emplace_back("Content-Type", content_type);
        req.headers.emplace_back("X-Amz-Target", target);
        req.headers.emplace_back("X-Amz-Date", auth.x_amz_date);
        if (!auth.x_amz_security_token.empty()) {
            req.headers.emplace_back("X-Amz-Security-Token", auth.x_amz_security_token);
        }
        req.headers.emplace_back("Authorization", auth.authorization);
        return {};
    }

    // What follows an attempt: success (no error, no retry), a final error, or
    // a retry after a delay.
    struct next_step {
        error_code ec;
        std::optional<std::chrono::milliseconds> retry_after;
    };

    next_step after_attempt(http::exchange_result& r, const http::response& res, bool repeatable,
                            steady_clock::time_point deadline, aws::retry_state& attempt,
                            diagnostics& diag) {
        error_code ec = r.ec;
        bool ambiguous = false;
        if (ec) {
            if (ec == asio::error::operation_aborted) {
                return {ec, {}};
            }
            diag.message = std::move(r.detail);
            ambiguous = r.request_sent && is_ambiguous(ec);
        } else {
            const unsigned status = res.result_int();
            diag.http_status = status;
            diag.request_id.assign(res["x-amzn-RequestId"]);
            if (status >= 200 && status < 300) {
                const auto crc = res.field("x-amz-crc32");
                ec = crc ? verify_crc32(*crc, res.body()) : error_code{};
                if (!ec) {
                    retry.on_success(attempt);
                    return {};
                }
                diag.message = "the response body does not match its x-amz-crc32 header";
                ambiguous = true;
            } else {
                ec = parse_error(status, res.body(), diag.request_id, diag);
                if (ec == errc::clock_skew) {
                    skew.on_clock_skew_error(res["Date"], system_clock::now());
                }
                ambiguous = is_ambiguous(ec);
            }
        }
        if (ambiguous && !repeatable) {
            return {ec, {}};
        }
        return {ec, retry.next_delay(ec, attempt, deadline - steady_clock::now())};
    }

    class request_operation;

    // Sends an encoded request: a request_operation for a completion token.
    // Completion signature `void(error_code, encoded_response)`.
    template <class CompletionToken>
    static auto async_send(std::shared_ptr<impl> self, std::string_view target, http::request req,
                           steady_clock::time_point deadline, diagnostics* diag_out,
                           CompletionToken&& token);

    // The coroutine of an operation on a typed request: checks and encodes
    // it, sends it, decodes the answer.
    template <request Request>
    static asio::awaitable<std::tuple<error_code, response_t<Request>>> run(
        std::shared_ptr<impl> self, Request req, operation_options opts) {
        co_await detail::no_throw_on_cancel;
        diagnostics local;
        diagnostics& diag = opts.diagnostics != nullptr ? *opts.diagnostics : local;
        diag.clear();
        response_t<Request> resp{};
        if (error_code ec = validate(req, diag)) {
            co_return std::tuple{ec, std::move(resp)};
        }
        const auto deadline = self->deadline_of(opts);
        auto [ec, answer] = co_await async_send(
            std::move(self), operation<Request>::target,
            http::request{.body = encode(req), .repeatable = safe_to_repeat(req)}, deadline, &diag,
            asio::as_tuple(asio::deferred));
        if constexpr (std::is_same_v<Request, transact_write_items_request>) {
            if (ec == errc::transaction_canceled) {
                diagnostics reasons_diag;
                parse_cancellation_reasons(answer.body, resp.cancellation_reasons, reasons_diag);
            }
        }
        if (!ec) {
            ec = decode(answer.body, resp, diag);
        }
        co_return std::tuple{ec, std::move(resp)};
    }

    executor_type executor;
    client_options options;
    aws::aws_settings settings;
    aws::credentials_cache credential_cache;
    sigv4::signer signer;
    http::connection_pool pool;
    aws::retry_policy retry;
    aws::clock_skew skew;
    std::string host;
};

// One logical request: attempts, retries and waits until success, a final
// failure, or the deadline. The answer is the body of the response: the 2xx
// one on success, else the error response's, if any.
//
// A hand-written operation rather than a coroutine: a heartbeat is one of
// these, and its usual path (valid credentials cached, one attempt) costs no
// coroutine frame and no allocation. The operations are kept per thread for
// reuse, with what they read and sign into (the response's fields, the
// header strings); their steps' handlers draw from the thread's kept blocks
// (pooled_allocator, see resume).
// It holds the client (which may be destroyed while it runs).
class client::impl::request_operation {
public:
    using handler_type = asio::any_completion_handler<void(error_code, encoded_response)>;

    // Owns the operation while a step is pending; its end gives the operation
    // back for reuse.
    struct recycle {
        void operator()(request_operation* op) const noexcept;
    };
    using owner = std::unique_ptr<request_operation, recycle>;

    // `diag_out` may be null.
    static void start(std::shared_ptr<impl> client, std::string_view target, http::request req,
                      steady_clock::time_point deadline, diagnostics* diag_out,
                      handler_type handler);

private:
    enum class pending : std::uint8_t { nothing, credentials, exchange, pause };
    using spares = detail::thread_spares<request_operation, std::unique_ptr<request_operation>, 64>;

    // Resumes the operation when a step completes; the caller's cancellation
    // reaches the step through it. Its memory is the thread's kept blocks,
    // not a block of the operation: the pool type-erases it, and a
    // type-erased handler destroyed unused (its executor gone) frees its
    // memory after destroying it, and with it this operation.
    template <class Result, void (request_operation::*Step)(owner, Result)>
    struct resume {
        owner op;
        using allocator_type = detail::pooled_allocator<void>;
        allocator_type get_allocator() const noexcept { return {}; }
        using cancellation_slot_type = asio::cancellation_slot;
        cancellation_slot_type get_cancellation_slot() const noexcept {
            return op->step_cancel_.slot();
        }
        void operator()(Result r) {
            request_operation& self = *op;
            self.pending_ = pending::nothing;
            (self.*Step)(std::move(op), std::move(r));
        }
    };

    static asio::awaitable<error_code> fetch(aws::credentials_cache& cache,
                                             dynalock::credentials& out, diagnostics& diag) {
        co_await detail::no_throw_on_cancel;
        co_return co_await cache.get(out, diag);
    }

    diagnostics& diag() noexcept { return diag_out_ != nullptr ? *diag_out_ : unread_; }
    void attempt(owner self);
    void on_credentials(owner self, error_code ec);
    void exchange(owner self, const dynalock::credentials& creds);
    void on_exchanged(owner self, http::exchange_result r);
    void on_paused(owner self, error_code ec);
    void finish(owner self, error_code ec);
    void cancel();

    std::shared_ptr<impl> client_;
    std::string_view target_;
    http::request req_;
    steady_clock::time_point deadline_;
    diagnostics* diag_out_ = nullptr;
    diagnostics unread_;  // when the caller asks for none
    http::response res_;
    sigv4::auth_headers auth_;
    dynalock::credentials fetched_;  // when none valid were cached
    aws::retry_state attempt_;
    handler_type handler_;
    asio::cancellation_slot caller_slot_;
    asio::cancellation_signal step_cancel_;
    std::optional<asio::steady_timer> pause_;  // made for the first retry
    // Where the caller's handler runs: with outstanding work counted while
    // this runs, unless that is the client's own context.
    asio::any_completion_executor handler_ex_;
    pending pending_ = pending::nothing;
    bool cancelled_ = false;
    bool* finished_here_ = nullptr;  // set while start() runs
};

void client::impl::request_operation::recycle::operator()(request_operation* op) const noexcept {
    if (op->handler_) {
        // Abandoned, its handler never called (its executor was destroyed
        // with a step pending): the caller's slot may still point here, so
        // it is not reused.
        delete op;
        return;
    }
    op->client_.reset();
    op->caller_slot_ = {};
    op->pause_.reset();
    op->handler_ex_ = {};
    op->pending_ = pending::nothing;
    op->res_.clear();
    // No secret outlives its request; usually there is none (cached
    // credentials are used where they are), and nothing to write.
    if (auto& f = op->fetched_;
        !f.access_key_id.empty() || !f.secret_access_key.empty() || !f.session_token.empty()) {
        f = {};
    }
    spares::give(std::unique_ptr<request_operation>(op));
}

void client::impl::request_operation::start(std::shared_ptr<impl> client, std::string_view target,
                                            http::request req, steady_clock::time_point deadline,
                                            diagnostics* diag_out, handler_type handler) {
    std::optional<std::unique_ptr<request_operation>> spare = spares::take();
    owner op(spare ? spare->release() : new request_operation());
    request_operation& self = *op;
    self.client_ = std::move(client);
    self.target_ = target;
    self.req_.body = std::move(req.body);
    self.req_.repeatable = req.repeatable;
    self.deadline_ = deadline;
    self.diag_out_ = diag_out;
    self.attempt_ = {};
    self.cancelled_ = false;
    // Swapped in: Asio 1.81's move assignment of any_completion_handler
    // wraps the handler in itself instead of taking it over.
    self.handler_.swap(handler);
    using io_executor = asio::io_context::executor_type;
    self.handler_ex_ = detail::completion_executor(self.handler_, self.client_->executor);
    const auto* handler_io = self.handler_ex_.target<io_executor>();
    const auto* client_io = self.client_->executor.target<io_executor>();
    if (handler_io == nullptr || client_io == nullptr ||
        &handler_io->context() != &client_io->context()) {
        self.handler_ex_ =
            asio::prefer(self.handler_ex_, asio::execution::outstanding_work.tracked);
    }
    self.caller_slot_ = asio::get_associated_cancellation_slot(self.handler_);
    if (self.caller_slot_.is_connected()) {
        // Terminal only, as a coroutine's default filter had it.
        self.caller_slot_.assign([&self](asio::cancellation_type type) {
            if ((type & asio::cancellation_type::terminal) != asio::cancellation_type::none) {
                self.cancel();
            }
        });
    }
    bool finished_here = false;
    self.finished_here_ = &finished_here;
    self.attempt(std::move(op));
    // Otherwise a step is pending, and the operation is still there.
    if (!finished_here) {
        self.finished_here_ = nullptr;
    }
}

void client::impl::request_operation::cancel() {
    cancelled_ = true;
    switch (pending_) {
        case pending::credentials:
        case pending::exchange:
            step_cancel_.emit(asio::cancellation_type::terminal);
            break;
        case pending::pause:
            pause_->cancel();
            break;
        case pending::nothing:
            break;
    }
}

void client::impl::request_operation::attempt(owner self) {
    diag().clear();
    res_.clear();
    if (cancelled_) {
        return finish(std::move(self), asio::error::operation_aborted);
    }
    if (steady_clock::now() >= deadline_) {
        // Never send what may apply after the caller stopped waiting.
        diag().message = "the deadline passed before the request was sent";
        return finish(std::move(self), errc::timeout);
    }
    // Temporary credentials are refreshed in the background before they
    // expire; this waits only when there are none valid. Valid ones are used
    // in place: nothing suspends until they have signed.
    if (const dynalock::credentials* creds = client_->credential_cache.valid_now()) {
        return exchange(std::move(self), *creds);
    }
    pending_ = pending::credentials;
    const asio::any_io_executor ex = client_->executor;
    asio::co_spawn(ex, fetch(client_->credential_cache, fetched_, diag()),
                   detail::slotted_handler(
                       step_cancel_.slot(),
                       [self = std::move(self)](std::exception_ptr e, error_code ec) mutable {
                           request_operation& op = *self;
                           op.pending_ = pending::nothing;
                           op.on_credentials(std::move(self), e ? detail::thrown_error(e) : ec);
                       }));
}

void client::impl::request_operation::on_credentials(owner self, error_code ec) {
    if (ec) {
        return finish(std::move(self), ec);
    }
    exchange(std::move(self), fetched_);
}

void client::impl::request_operation::exchange(owner self, const dynalock::credentials& creds) {
    if (cancelled_) {  // while credentials were fetched
        return finish(std::move(self), asio::error::operation_aborted);
    }
    if (error_code ec = client_->sign(target_, creds, req_, auth_)) {
        diag().message = "the request could not be signed";
        return finish(std::move(self), ec);
    }
    pending_ = pending::exchange;
    http::connection_pool& pool = client_->pool;
    pool.async_exchange(
        req_, res_, deadline_,
        resume<http::exchange_result, &request_operation::on_exchanged>{std::move(self)});
}

void client::impl::request_operation::on_exchanged(owner self, http::exchange_result r) {
    const next_step next =
        client_->after_attempt(r, res_, req_.repeatable, deadline_, attempt_, diag());
    if (!next.retry_after) {
        return finish(std::move(self), next.ec);
    }
    if (cancelled_) {  // while the answer was on its way
        return finish(std::move(self), asio::error::operation_aborted);
    }
    if (!pause_) {
        pause_.emplace(client_->executor);
    }
    pause_->expires_after(*next.retry_after);
    pending_ = pending::pause;
    pause_->async_wait(resume<error_code, &request_operation::on_paused>{std::move(self)});
}

void client::impl::request_operation::on_paused(owner self, error_code ec) {
    if (ec) {
        return finish(std::move(self), ec);
    }
    attempt(std::move(self));
}

void client::impl::request_operation::finish(owner self, error_code ec) {
    if (caller_slot_.is_connected()) {
        caller_slot_.clear();
    }
    recycle_body(std::move(req_.body));
    encoded_response answer{std::move(res_.body())};
    handler_type handler(std::move(handler_));
    const asio::any_io_executor client_ex = client_->executor;
    const asio::any_completion_executor ex = std::move(handler_ex_);
    bool* const finished_here = std::exchange(finished_here_, nullptr);
    self.reset();
    if (finished_here != nullptr) {
        // Never inside the initiating function.
        *finished_here = true;
        asio::post(client_ex, asio::append(std::move(handler), ec, std::move(answer)));
        return;
    }
    // On the handler's executor: here when that is the client's thread, as it
    // usually is.
    if (const auto* io = ex.target<asio::io_context::executor_type>();
        io != nullptr && io->running_in_this_thread()) {
        std::move(handler)(ec, std::move(answer));
        return;
    }
    asio::dispatch(ex, asio::append(std::move(handler), ec, std::move(answer)));
}

template <class CompletionToken>
auto client::impl::async_send(std::shared_ptr<impl> self, std::string_view target,
                              http::request req, steady_clock::time_point deadline,
                              diagnostics* diag_out, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(error_code, encoded_response)>(
        [](auto handler, std::shared_ptr<impl> client, std::string_view t, http::request r,
           steady_clock::time_point d, diagnostics* diag) {
            request_operation::start(std::move(client), t, std::move(r), d, diag,
                                     std::move(handler));
        },
        token, std::move(self), target, std::move(req), deadline, diag_out);
}

client::client(executor_type ex, client_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}
client::~client() {
    // Operations in flight keep the rest alive; the user's hook must go now.
    if (impl_) {
        impl_->credential_cache.stop_reporting();
    }
}
client::client(client&&) noexcept = default;
client& client::operator=(client&& other) noexcept {
    if (impl_ && impl_ != other.impl_) {
        impl_->credential_cache.stop_reporting();
    }
    impl_ = std::move(other.impl_);
    return *this;
}

client::executor_type client::get_executor() const noexcept {
    return impl_->executor;
}
const std::string& client::region() const noexcept {
    return impl_->settings.region;
}
const std::string& client::endpoint_url() const noexcept {
    return impl_->settings.endpoint_url;
}

template <request Request>
void client::start(Request req, operation_options opts,
                   asio::any_completion_handler<void(error_code, response_t<Request>)> handler) {
    if constexpr (std::is_same_v<Request, encoded_request>) {
        // Checked and encoded by the caller; its answer goes back as it is.
        impl::request_operation::start(
            impl_, req.target,
            http::request{.body = std::move(req.body), .repeatable = req.repeatable},
            impl_->deadline_of(opts), opts.diagnostics, std::move(handler));
    } else {
        detail::spawn_own_op(impl_->executor, impl::run(impl_, std::move(req), opts),
                             std::move(handler));
    }
}

#define DYNALOCK_INSTANTIATE(R)                          \
    template void client::start<R>(R, operation_options, \
                                   asio::any_completion_handler<void(error_code, response_t<R>)>)
DYNALOCK_INSTANTIATE(get_item_request);
DYNALOCK_INSTANTIATE(put_item_request);
DYNALOCK_INSTANTIATE(update_item_request);
DYNALOCK_INSTANTIATE(delete_item_request);
DYNALOCK_INSTANTIATE(query_request);
DYNALOCK_INSTANTIATE(scan_request);
DYNALOCK_INSTANTIATE(transact_write_items_request);
DYNALOCK_INSTANTIATE(create_table_request);
DYNALOCK_INSTANTIATE(describe_table_request);
DYNALOCK_INSTANTIATE(delete_table_request);
DYNALOCK_INSTANTIATE(update_time_to_live_request);
DYNALOCK_INSTANTIATE(describe_time_to_live_request);
DYNALOCK_INSTANTIATE(encoded_request);
#undef DYNALOCK_INSTANTIATE

}  // namespace dynalock::dynamodb
