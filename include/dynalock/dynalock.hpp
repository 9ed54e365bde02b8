#pragma once

/// \file
/// Everything public, for those who prefer one include.

/// \mainpage dynalock API reference
///
/// Lease-based distributed locks on Amazon DynamoDB for C++20 programs built
/// on Boost.Asio. This reference is generated from the public headers
/// (`#include <dynalock/dynalock.hpp>` includes them all); README.md and
/// docs/ in the source tree explain the design, guarantees and operation.
///
/// Where to start:
/// - dynalock::lock_client acquires, heartbeats and releases locks, with the
///   options of dynalock::lock_client_options and dynalock::acquire_options.
/// - dynalock::lease is a held lock: its fencing token, its deadline, and why
///   it ended (dynalock::loss_reason).
/// - dynalock::session holds many locks with one heartbeat.
/// - dynalock::dynamodb_store keeps the lock items in a DynamoDB table;
///   dynalock::memory_store keeps them in this process.
/// - dynalock::dynamodb::client speaks DynamoDB's API
///   (dynamodb_operations.hpp), configured by dynalock::dynamodb::client_options.
/// - dynalock::errc lists every error; dynalock::is_retryable and
///   dynalock::is_ambiguous classify them.
/// - dynalock::fenced_write makes a DynamoDB write conditional on a lease.
///
/// Asynchronous operations follow Asio's conventions: each takes a completion
/// token (default `asio::deferred`, so `co_await` works as is), completes
/// with `void(error_code, T)` on the executor of its object, and documents
/// which per-operation cancellation it supports. The one exception is
/// dynalock::lock_client::async_with_lease, which completes as `co_spawn`
/// does.

/// \namespace dynalock
/// Lease-based distributed locks: `lock_client` grants a `lease` on a lock
/// item of a `store` (`dynamodb_store` in production, `memory_store` in one
/// process), heartbeats it, fences it and releases it; `session` holds many
/// locks with one heartbeat.

/// \namespace dynalock::dynamodb
/// The DynamoDB client the stores are built on: `client` runs the requests of
/// dynamodb_operations.hpp, signed with SigV4 and retried within a deadline.

#include <dynalock/attribute_value.hpp>
#include <dynalock/compiler.hpp>
#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/error.hpp>
#include <dynalock/fencing.hpp>
#include <dynalock/http_options.hpp>
#include <dynalock/leader_election.hpp>
#include <dynalock/lease.hpp>
#include <dynalock/lock_client.hpp>
#include <dynalock/lock_client_stats.hpp>
#include <dynalock/lock_event.hpp>
#include <dynalock/lock_record.hpp>
#include <dynalock/loss_reason.hpp>
#include <dynalock/memory_store.hpp>
#include <dynalock/prometheus.hpp>
#include <dynalock/retry_options.hpp>
#include <dynalock/session.hpp>
#include <dynalock/shard_group.hpp>
#include <dynalock/store.hpp>
#include <dynalock/version.hpp>
