// Plain C++20, no library: the shapes of coroutine code that g++ 12 compiles
// wrongly (docs/compilers.md). Each case builds a value inside a
// full-expression that contains `co_await` and checks that every object was
// destroyed exactly once. Compiled with AddressSanitizer by
// check_compiler.py; a correct compiler prints "ok" for every case.
//
//   usage: coroutine_temporaries CASE   (aggregate | lambda | conditional)

#include <coroutine>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace {

int live = 0;  // objects of `counted` constructed and not yet destroyed

struct counted {
    std::unique_ptr<std::string> text = std::make_unique<std::string>(64, 'x');
    counted() { ++live; }
    counted(const counted& o) : text(std::make_unique<std::string>(*o.text)) { ++live; }
    counted(counted&& o) noexcept : text(std::move(o.text)) { ++live; }
    ~counted() { --live; }
};

struct task {
    struct promise_type {
        task get_return_object() { return {}; }
        std::suspend_never initial_suspend() { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() {}
    };
};

std::coroutine_handle<> suspended;

struct suspend_once {
    bool await_ready() { return false; }
    void await_suspend(std::coroutine_handle<> h) { suspended = h; }
    counted await_resume() { return {}; }
};

struct with_counted {  // an aggregate with an owning member
    counted member;
};

suspend_once pass(const with_counted&) {
    return {};
}

template <class F>
suspend_once call(F f) {
    f();
    return {};
}

// `co_await f(Aggregate{...})`: g++ 12 bitwise-copies the aggregate and
// destroys both copies.
task aggregate_temporary() {
    co_await pass(with_counted{});
}

// A lambda with an owning capture, made in the co_await expression: the same.
task lambda_capture() {
    counted c;
    co_await call([c] { (void)c; });
}

// `x = cond ? co_await a : co_await b`: g++ 12 bitwise-copies the result
// into `x` and destroys both.
task conditional_result(bool cond) {
    counted x = cond ? co_await suspend_once{} : co_await suspend_once{};
    (void)x;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s aggregate|lambda|conditional\n", argv[0]);
        return 2;
    }
    if (std::strcmp(argv[1], "aggregate") == 0) {
        aggregate_temporary();
    } else if (std::strcmp(argv[1], "lambda") == 0) {
        lambda_capture();
    } else if (std::strcmp(argv[1], "conditional") == 0) {
        conditional_result(true);
    } else {
        std::fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    suspended.resume();
    if (live != 0) {
        std::printf("%s: %d objects destroyed twice or never\n", argv[1], -live);
        return 1;
    }
    std::printf("%s: ok\n", argv[1]);
    return 0;
}
