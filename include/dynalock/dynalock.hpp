#pragma once

// Everything public, for those who prefer one include.

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
#include <dynalock/store.hpp>
#include <dynalock/version.hpp>
