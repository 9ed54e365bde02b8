#include <dynalock/dynamodb_store.hpp>

#include "completion_executor.hpp"
#include "dynamodb/item_write.hpp"
#include "dynamodb/protocol.hpp"
#include "lock/lock_item.hpp"
#include "lock/write_encoder.hpp"
#include "pooled_allocator.hpp"
#include "thread_spares.hpp"

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <system_error>

namespace dynalock {

namespace asio = boost::asio;
namespace ddb = dynamodb;

namespace {

using write_handler = asio::any_completion_handler<void(error_code, write_result)>;
using read_handler = asio::any_completion_handler<void(error_code, std::optional<lock_record>)>;
using list_handler = asio::any_completion_handler<void(error_code, record_page)>;
using table_handler = asio::any_completion_handler<void(error_code)>;

/// Where and how a caller's handler wants to be completed, captured before the
/// handler moves into a continuation: every client call made on its behalf
/// completes on the handler's executor and is cancelled through its slot. The
/// client type-erases the continuation: its room comes from the thread's kept
/// blocks (pooled_allocator), not a malloc per request.
struct handler_context {
    asio::any_completion_executor executor;
    asio::cancellation_slot slot;

    template <class Handler>
    handler_context(const Handler& h, const asio::any_io_executor& fallback)
        : executor(detail::completion_executor(h, fallback)),
          slot(asio::get_associated_cancellation_slot(h)) {}

    template <class F>
    auto bind(F f) const {
        return asio::bind_cancellation_slot(
            slot,
            asio::bind_executor(
                executor, asio::bind_allocator(detail::pooled_allocator<void>(), std::move(f))));
    }
};

lock::key_schema schema_of(const dynamodb_store_options& o) {
    return {o.partition_key_name, o.sort_key_name};
}

/// The lock_key fits this table: a sort key exactly when the table has one.
error_code check_key_shape(const dynamodb_store_options& o, const lock_key& key) {
    return o.sort_key_name.empty() == key.sort.has_value() ? make_error_code(errc::invalid_argument)
                                                           : error_code{};
}

/// A deadline already passed fails before anything is sent, as in memory_store
/// (the client may still send a first attempt on an idle connection).
error_code check_deadline(store::clock::time_point deadline) {
    return store::clock::now() >= deadline ? make_error_code(errc::timeout) : error_code{};
}

error_code check_write(const dynamodb_store_options& o, const lock_write& w,
                       store::clock::time_point deadline) {
    if (auto ec = check_deadline(deadline)) {
        return ec;
    }
    std::string why;
    if (auto ec = lock::validate_write(w, why)) {
        return ec;
    }
    for (const auto& [name, value] : w.extra) {
        if (name == o.partition_key_name || name == o.sort_key_name ||
            name == o.ttl_attribute_name) {
            return errc::invalid_argument;
        }
    }
    return check_key_shape(o, w.key);
}

error_code check_read(const dynamodb_store_options& o, const lock_key& key,
                      store::clock::time_point deadline) {
    if (auto ec = check_deadline(deadline)) {
        return ec;
    }
    std::string why;
    if (auto ec = lock::validate_key(key, why)) {
        return ec;
    }
    return check_key_shape(o, key);
}

error_code check_list(const dynamodb_store_options& o, const std::optional<std::string>& partition,
                      const std::optional<lock_key>& after, store::clock::time_point deadline) {
    if (auto ec = check_deadline(deadline)) {
        return ec;
    }
    std::string why;
    if (partition && lock::validate_key(lock_key{*partition}, why)) {
        return errc::invalid_argument;
    }
    return after ? check_read(o, *after, deadline) : error_code{};
}

/// The diagnostics of a write, which this thread keeps between writes with
/// the room of their strings (the request id took an allocation each time).
using spare_diagnostics =
    detail::thread_spares<struct diagnostics_tag, std::unique_ptr<diagnostics>, 64>;

struct give_back_diagnostics {
    void operator()(diagnostics* d) const noexcept {
        d->clear();
        spare_diagnostics::give(std::unique_ptr<diagnostics>(d));
    }
};
using pooled_diagnostics = std::unique_ptr<diagnostics, give_back_diagnostics>;

pooled_diagnostics take_diagnostics() {
    auto spare = spare_diagnostics::take();
    return pooled_diagnostics(spare ? spare->release() : new diagnostics());
}

/// `in` as a lock_record: errc::malformed_item when it is not a well-formed
/// lock item (`out` is set all the same, with `malformed` saying why), or
/// errc::malformed_response when not even its key can be read. `in` is taken
/// apart.
error_code parse(const dynamodb_store_options& o, item&& in, std::optional<lock_record>& out) {
    std::string why;
    lock_record r;
    if (auto ec = lock::parse_lock_item(std::move(in), schema_of(o), r, why)) {
        return ec;
    }
    const bool malformed = r.malformed.has_value();
    out = std::move(r);
    return malformed ? make_error_code(errc::malformed_item) : error_code{};
}

/// A consistent GetItem of `key`; `f(error_code, std::optional<lock_record>)`.
template <class F>
void get_record(ddb::client& c, const dynamodb_store_options& o, const lock_key& key,
                store::clock::time_point deadline, const handler_context& ctx, F f) {
    ddb::get_item_request req{.table_name = o.table_name,
                              .key = lock::key_item(schema_of(o), key),
                              .consistent_read = true};
    c.async_execute(
        std::move(req), ddb::operation_options{.deadline = deadline},
        ctx.bind([&o, f = std::move(f)](error_code ec, ddb::get_item_response r) mutable {
            std::optional<lock_record> record;
            if (!ec && r.item) {
                ec = parse(o, std::move(*r.item), record);
            }
            f(ec, std::move(record));
        }));
}

/// The end of every write: the item it returned (absent after a delete), or
/// on a failed condition the item as it is (from the failure, else read).
/// A fallback read that fails reports its own error: the write did not apply.
/// A malformed item returned by a write that applied is errc::malformed_item;
/// a failed condition stays errc::conditional_check_failed, whatever the item.
void finish_write(ddb::client& c, const dynamodb_store_options& o, error_code ec,
                  std::optional<item> returned, std::optional<item> as_it_is, const lock_key& key,
                  store::clock::time_point deadline, const handler_context& ctx, write_handler h) {
    write_result result;
    if (ec == errc::conditional_check_failed && !as_it_is) {
        get_record(c, o, key, deadline, ctx,
                   [h = std::move(h)](error_code ec, std::optional<lock_record> r) mutable {
                       if (!ec || ec == errc::malformed_item) {
                           ec = errc::conditional_check_failed;
                       }
                       std::move(h)(ec, write_result{std::move(r)});
                   });
        return;
    }
    std::optional<item>& shown = ec ? as_it_is : returned;
    if ((!ec || ec == errc::conditional_check_failed) && shown) {
        const error_code pec = parse(o, std::move(*shown), result.record);
        if (pec && (!ec || pec != errc::malformed_item)) {
            ec = pec;
        }
    }
    std::move(h)(ec, std::move(result));
}

}  // namespace

dynamodb_store::dynamodb_store(ddb::client& client, dynamodb_store_options opts)
    : client_(client), opts_(std::move(opts)) {
    const auto reject = [](const std::string& why) {
        throw std::system_error(make_error_code(errc::invalid_argument), "dynamodb_store: " + why);
    };
    if (opts_.table_name.empty()) {
        reject("table_name is empty");
    }
    if (opts_.partition_key_name.empty()) {
        reject("partition_key_name is empty");
    }
    for (const std::string* name :
         {&opts_.partition_key_name, &opts_.sort_key_name, &opts_.ttl_attribute_name}) {
        if (lock::is_lock_attribute(*name)) {
            reject("attribute name '" + *name + "' is a lock attribute's");
        }
    }
    if (opts_.partition_key_name == opts_.sort_key_name ||
        opts_.partition_key_name == opts_.ttl_attribute_name ||
        (!opts_.sort_key_name.empty() && opts_.sort_key_name == opts_.ttl_attribute_name)) {
        reject("the partition key, sort key and TTL attribute names must differ");
    }
    // A year is far beyond any use (the TTL only collects abandoned rows), and
    // keeps the TTL time from overflowing the system clock.
    if (opts_.ttl_horizon.count() < 0 || opts_.ttl_horizon > std::chrono::days(365)) {
        reject("ttl_horizon must be from 0 to 365 days");
    }
    if (opts_.list_page_size && *opts_.list_page_size == 0) {
        reject("list_page_size is 0");
    }
    encoder_ = std::make_shared<const lock::write_encoder>(opts_);
}

store::executor_type dynamodb_store::get_executor() const {
    return client_.get_executor();
}

void dynamodb_store::do_write(lock_write&& w, clock::time_point deadline, write_handler h) {
    if (auto ec = check_write(opts_, w, deadline)) {
        asio::post(client_.get_executor(), asio::append(std::move(h), ec, write_result{}));
        return;
    }
    pooled_diagnostics diag = take_diagnostics();
    ddb::encoded_request req{
        .target = lock::write_encoder::target(w), .body = ddb::new_body(), .repeatable = false};
    if (error_code ec = encoder_->encode(w, std::chrono::system_clock::now(), req.body, *diag)) {
        ddb::recycle_body(std::move(req.body));
        asio::post(client_.get_executor(), asio::append(std::move(h), ec, write_result{}));
        return;
    }
    const bool returns_item = lock::write_encoder::returns_item(w);
    const handler_context ctx(h, client_.get_executor());
    const ddb::operation_options op{.deadline = deadline, .diagnostics = diag.get()};
    auto finish = [this, key = std::move(w.key), deadline, ctx, h = std::move(h)](
                      error_code ec, std::optional<item> returned,
                      std::optional<item> as_it_is) mutable {
        finish_write(client_, opts_, ec, std::move(returned), std::move(as_it_is), key, deadline,
                     ctx, std::move(h));
    };
    // The answer is decoded here, as the client decodes those of the requests it encodes.
    client_.async_execute(
        std::move(req), op,
        ctx.bind([finish = std::move(finish), diag = std::move(diag), is_delete = w.delete_item,
                  returns_item](error_code ec, ddb::encoded_response r) mutable {
            std::optional<item> returned;
            if (!ec && is_delete) {
                ddb::delete_item_response deleted;
                ec = ddb::decode(r.body, deleted, *diag);
            } else if (!ec) {
                ddb::update_item_response updated;
                ec = ddb::decode(r.body, updated, *diag);
                if (!ec && returns_item && !updated.attributes) {
                    ec = errc::malformed_response;  // ALL_NEW always returns the item
                }
                returned = std::move(updated.attributes);
            }
            finish(ec, std::move(returned), std::move(diag->item));
        }));
}

void dynamodb_store::do_read(lock_key key, clock::time_point deadline, read_handler h) {
    if (auto ec = check_read(opts_, key, deadline)) {
        asio::post(client_.get_executor(),
                   asio::append(std::move(h), ec, std::optional<lock_record>{}));
        return;
    }
    const handler_context ctx(h, client_.get_executor());
    get_record(client_, opts_, key, deadline, ctx,
               [h = std::move(h)](error_code ec, std::optional<lock_record> r) mutable {
                   std::move(h)(ec, std::move(r));
               });
}

void dynamodb_store::do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                             clock::time_point deadline, list_handler h) {
    if (auto ec = check_list(opts_, partition, after, deadline)) {
        asio::post(client_.get_executor(), asio::append(std::move(h), ec, record_page{}));
        return;
    }
    const handler_context ctx(h, client_.get_executor());
    std::optional<item> start;
    if (after) {
        start = lock::key_item(schema_of(opts_), *after);
    }
    auto finish = ctx.bind([this, h = std::move(h)](error_code ec, ddb::item_page p) mutable {
        record_page page;
        std::string why;
        // A malformed row is listed with what is wrong with it: one bad row
        // must not hide the others.
        for (std::size_t i = 0; !ec && i < p.items.size(); ++i) {
            std::optional<lock_record> r;
            if (const error_code pec = parse(opts_, std::move(p.items[i]), r);
                pec != errc::malformed_item) {
                ec = pec;
            }
            if (r) {
                page.records.push_back(std::move(*r));
            }
        }
        if (!ec && p.last_evaluated_key) {
            page.next.emplace();
            ec = lock::parse_lock_key(*p.last_evaluated_key, schema_of(opts_), *page.next, why);
        }
        std::move(h)(ec, ec ? record_page{} : std::move(page));
    });
    const ddb::operation_options op{.deadline = deadline};
    if (partition) {
        ddb::query_request req{
            .table_name = opts_.table_name,
            .key_condition_expression = "#pk = :pk",
            .expression_attribute_names = {{"#pk", opts_.partition_key_name}},
            .expression_attribute_values = {{":pk", attribute_value{*partition}}},
            .limit = opts_.list_page_size,
            .consistent_read = true,
            .exclusive_start_key = std::move(start),
        };
        client_.async_execute(std::move(req), op, std::move(finish));
    } else {
        ddb::scan_request req{
            .table_name = opts_.table_name,
            .limit = opts_.list_page_size,
            .consistent_read = true,
            .exclusive_start_key = std::move(start),
        };
        client_.async_execute(std::move(req), op, std::move(finish));
    }
}

namespace {

ddb::key_attribute string_key(const std::string& name) {
    return {name, ddb::scalar_attribute_type::s};
}

asio::awaitable<error_code> create_and_wait(ddb::client& c, const dynamodb_store_options& so,
                                            table_creation_options o) {
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    const ddb::operation_options op{.deadline = deadline, .diagnostics = o.diagnostics};
    ddb::create_table_request create{
        .table_name = so.table_name,
        .partition_key = string_key(so.partition_key_name),
        .billing_mode = o.billing_mode,
        .provisioned_throughput = o.provisioned_throughput,
    };
    if (!so.sort_key_name.empty()) {
        create.sort_key = string_key(so.sort_key_name);
    }
    auto [ec, created] =
        co_await c.async_execute(std::move(create), op, asio::as_tuple(asio::deferred));
    if (ec) {
        co_return ec;
    }
    // CreateTable answers while the table is still CREATING.
    for (auto status = created.table_description.status; status != ddb::table_status::active;) {
        asio::steady_timer pause(co_await asio::this_coro::executor,
                                 std::chrono::milliseconds(100));
        if (std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline) {
            co_return errc::timeout;
        }
        co_await pause.async_wait(asio::use_awaitable);
        ddb::describe_table_request describe{.table_name = so.table_name};
        auto describing = c.async_execute(std::move(describe), op, asio::as_tuple(asio::deferred));
        auto [dec, d] = co_await std::move(describing);
        if (dec) {
            co_return dec;
        }
        status = d.table.status;
    }
    if (o.enable_ttl) {
        ddb::update_time_to_live_request ttl{.table_name = so.table_name,
                                             .attribute_name = so.ttl_attribute_name};
        auto enabling = c.async_execute(std::move(ttl), op, asio::as_tuple(asio::deferred));
        auto [tec, t] = co_await std::move(enabling);
        if (tec && o.diagnostics != nullptr) {
            o.diagnostics->message =
                "the table was created, but enabling TTL (UpdateTimeToLive) failed: " +
                o.diagnostics->message;
        }
        co_return tec;
    }
    co_return error_code{};
}

/// What differs between the table's key schema and the options; empty when none.
std::string key_schema_difference(const dynamodb_store_options& so,
                                  const ddb::table_description& t) {
    const auto describe = [](const ddb::key_attribute& k) {
        const char* type = k.type == ddb::scalar_attribute_type::s   ? "S"
                           : k.type == ddb::scalar_attribute_type::n ? "N"
                                                                     : "B";
        return "'" + k.name + "' (" + type + ")";
    };
    if (t.partition_key != string_key(so.partition_key_name)) {
        return "the partition key is " + describe(t.partition_key) + ", the store expects '" +
               so.partition_key_name + "' (S)";
    }
    if (so.sort_key_name.empty() && t.sort_key) {
        return "the table has sort key " + describe(*t.sort_key) +
               ", the store is configured without one";
    }
    if (!so.sort_key_name.empty() && t.sort_key != string_key(so.sort_key_name)) {
        return (t.sort_key ? "the sort key is " + describe(*t.sort_key)
                           : "the table has no sort key") +
               ", the store expects '" + so.sort_key_name + "' (S)";
    }
    return {};
}

}  // namespace

void dynamodb_store::create_table(table_creation_options o, table_handler h) {
    const char* problem = nullptr;
    if (o.enable_ttl && opts_.ttl_attribute_name.empty()) {
        problem = "enable_ttl needs dynamodb_store_options::ttl_attribute_name";
    } else if (o.timeout <= std::chrono::milliseconds::zero() ||
               o.timeout > std::chrono::hours(1)) {
        problem = "table_creation_options::timeout must be positive and at most 1 hour";
    }
    if (problem != nullptr) {
        if (o.diagnostics != nullptr) {
            o.diagnostics->message = problem;
        }
        asio::post(client_.get_executor(),
                   asio::append(std::move(h), make_error_code(errc::invalid_argument)));
        return;
    }
    const handler_context ctx(h, client_.get_executor());
    asio::co_spawn(client_.get_executor(), create_and_wait(client_, opts_, o),
                   ctx.bind([h = std::move(h)](std::exception_ptr e, error_code ec) mutable {
                       if (e) {
                           std::rethrow_exception(e);  // only bad_alloc and the like
                       }
                       std::move(h)(ec);
                   }));
}

void dynamodb_store::check_table(diagnostics* diag, table_handler h) {
    const handler_context ctx(h, client_.get_executor());
    ddb::describe_table_request req{.table_name = opts_.table_name};
    client_.async_execute(std::move(req), ddb::operation_options{.diagnostics = diag},
                          ctx.bind([this, diag, h = std::move(h)](
                                       error_code ec, ddb::describe_table_response r) mutable {
                              if (!ec) {
                                  std::string difference = key_schema_difference(opts_, r.table);
                                  if (!difference.empty()) {
                                      ec = errc::invalid_argument;
                                      if (diag != nullptr) {
                                          diag->message =
                                              "table " + opts_.table_name + ": " + difference;
                                      }
                                  }
                              }
                              std::move(h)(ec);
                          }));
}

}  // namespace dynalock
