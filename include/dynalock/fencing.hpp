#pragma once

/// \file
/// Fencing a write with the lease itself: a DynamoDB transaction whose first
/// entry checks that the lock item still records this grant. A holder whose
/// lease was taken over (a paused process, a partition) has its write refused
/// by DynamoDB, whatever it believes. This is the strongest form of
/// Kleppmann's fencing token for data that lives in DynamoDB; for other
/// storage, write `lease::fence()` with the data and have the storage refuse
/// smaller fences than it has seen.

#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lease.hpp>

namespace dynalock {

/// A ConditionCheck on the lock item of `l`: it holds while the item carries
/// this grant — the same owner and fence, not released. Heartbeats change the
/// record version but not the fence, so a check built before a heartbeat
/// still holds after it. (An item without a fence, written by a client that
/// mints none, never satisfies it.)
dynamodb::condition_check lease_check(const dynamodb_store& store, const lease& l);

/// TransactWriteItems of `lease_check(store, l)` followed by `write`: on
/// errc::transaction_canceled the first cancellation reason says whether the
/// lease check failed ("ConditionalCheckFailed").
dynamodb::transact_write_items_request fenced_write(const dynamodb_store& store, const lease& l,
                                                    dynamodb::transact_write_item write);

}  // namespace dynalock
