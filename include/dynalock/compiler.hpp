#pragma once

/// \file
/// The check of the compiler that every header with asynchronous operations
/// includes: g++ 12 and older are refused with an `#error`.

// The compilers dynalock's coroutine API can be used with. g++ 12 and older
// compile ordinary coroutine code wrongly: an object built inside a
// full-expression that contains `co_await` (an aggregate such as an options
// struct or a request, a lambda's captures, the result of `c ? co_await a :
// co_await b`) is copied bit for bit and destroyed twice. No library can
// shield code written in those shapes, so they are refused here, before the
// first program crashes. docs/compilers.md has the reproducers and which
// versions were checked.

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#error \
    "dynalock: g++ 12 and older destroy temporaries of co_await expressions twice (docs/compilers.md); compile with clang++ (Debian package clang) or g++ 13 or newer"
#endif
