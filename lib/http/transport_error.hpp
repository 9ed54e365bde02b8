#pragma once

#include <dynalock/error.hpp>

namespace dynalock::http {

/// The step of an exchange where a transport error happened: the same raw error
/// (say, end of file) means a failed handshake in one step and a lost connection
/// in another.
enum class exchange_step { resolve, connect, handshake, write, read };

/// Maps an Asio, Beast or OpenSSL error to the `dynalock::errc` a caller acts on.
/// `operation_aborted` (cancellation, pool closed) is returned unchanged.
error_code to_dynalock_error(error_code ec, exchange_step step);

/// True when `ec` is what a connection closed by the server while idle produces
/// on the next write or read (EOF, reset, broken pipe, TLS truncation): the
/// request can be retried once on a fresh connection if no response byte came.
bool is_stale_connection_error(error_code ec);

}  // namespace dynalock::http
