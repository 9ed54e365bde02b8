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
#include "sigv4/signer.hpp"
#include "spawn_op.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <vector>

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
                ec = res.has("x-amz-crc32") ? verify_crc32(res["x-amz-crc32"], res.body())
                                            : error_code{};
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

    // What an attempt reads the response and signs into. Requests take one and
    // give it back, so that the response's fields and the header strings keep
    // their room instead of being allocated anew for every request.
    struct scratch {
        http::response res;
        sigv4::auth_headers auth;
    };
    class borrowed_scratch {
    public:
        explicit borrowed_scratch(impl& owner) : owner_(owner) {
            if (owner.spare_scratch.empty()) {
                taken_ = std::make_unique<scratch>();
            } else {
                taken_ = std::move(owner.spare_scratch.back());
                owner.spare_scratch.pop_back();
            }
        }
        borrowed_scratch(const borrowed_scratch&) = delete;
        borrowed_scratch& operator=(const borrowed_scratch&) = delete;
        ~borrowed_scratch() {
            // As many as requests may be out at once; the rest go.
            if (owner_.spare_scratch.size() < owner_.options.http.max_connections) {
                taken_->res.clear();
                try {
                    owner_.spare_scratch.push_back(std::move(taken_));
                } catch (const std::bad_alloc&) {
                }
            }
        }
        scratch* operator->() const noexcept { return taken_.get(); }

    private:
        impl& owner_;
        std::unique_ptr<scratch> taken_;
    };

    // A coroutine of its own, so that the timer takes room only when a retry waits.
    static asio::awaitable<error_code> pause(const executor_type& ex,
                                             std::chrono::milliseconds delay) {
        asio::steady_timer timer(ex, delay);
        const auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::deferred));
        co_return ec;
    }

    // One logical request: attempts, retries and waits until success, a final
    // failure, or the deadline; the coroutine of a whole operation for an
    // encoded_request (one frame per request), holding `self` (the client may
    // be destroyed while it runs). The answer is the body of the response: the
    // 2xx one on success, else the error response's, if any. `diag_out` may be null.
    static asio::awaitable<std::tuple<error_code, encoded_response>> send(
        std::shared_ptr<impl> self, std::string_view target, http::request req,
        steady_clock::time_point deadline, diagnostics* diag_out) {
        co_await detail::no_throw_on_cancel;
        // Only for an encoded_request sent without diagnostics (the lock
        // store always asks for them): not in the frame.
        std::unique_ptr<diagnostics> unread;
        if (diag_out == nullptr) {
            unread = std::make_unique<diagnostics>();
        }
        diagnostics& diag = diag_out != nullptr ? *diag_out : *unread;
        const borrowed_scratch scratch(*self);
        http::response& res = scratch->res;
        sigv4::auth_headers& auth = scratch->auth;
        // Only when no valid credentials are cached, which is rare: not in the frame.
        std::unique_ptr<dynalock::credentials> fetched;
        aws::retry_state attempt;
        error_code ec;
        for (;;) {
            diag.clear();
            res.clear();
            if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                ec = asio::error::operation_aborted;
                break;
            }
            if (steady_clock::now() >= deadline) {
                // Never send what may apply after the caller stopped waiting.
                diag.message = "the deadline passed before the request was sent";
                ec = errc::timeout;
                break;
            }
            // Temporary credentials are refreshed in the background before
            // they expire; this waits only when there are none valid. Valid
            // ones are used in place: nothing suspends until they have signed.
            const dynalock::credentials* creds = self->credential_cache.valid_now();
            if (creds == nullptr) {
                if (!fetched) {
                    fetched = std::make_unique<dynalock::credentials>();
                }
                auto getting = self->credential_cache.get(*fetched, diag);
                if ((ec = co_await std::move(getting))) {
                    break;
                }
                creds = fetched.get();
            }
            if ((ec = self->sign(target, *creds, req, auth))) {
                diag.message = "the request could not be signed";
                break;
            }
            http::exchange_result r = co_await self->pool.exchange(req, res, deadline);
            const next_step next =
                self->after_attempt(r, res, req.repeatable, deadline, attempt, diag);
            ec = next.ec;
            if (!next.retry_after) {
                break;
            }
            if (error_code wait_ec = co_await pause(self->executor, *next.retry_after)) {
                ec = wait_ec;
                break;
            }
        }
        recycle_body(std::move(req.body));
        co_return std::tuple{ec, encoded_response{std::move(res.body())}};
    }

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
        auto [ec, answer] = co_await send(
            std::move(self), operation<Request>::target,
            http::request{.body = encode(req), .repeatable = safe_to_repeat(req)}, deadline, &diag);
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
    std::vector<std::unique_ptr<scratch>> spare_scratch;
};

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
        detail::spawn_own_op(
            impl_->executor,
            impl::send(impl_, req.target,
                       http::request{.body = std::move(req.body), .repeatable = req.repeatable},
                       impl_->deadline_of(opts), opts.diagnostics),
            std::move(handler));
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
