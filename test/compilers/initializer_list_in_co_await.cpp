// Plain C++20: a braced initializer list in a co_await expression. g++ 12
// refuses to compile it ("array used as initializer"); a correct compiler
// accepts it (docs/compilers.md).

#include <coroutine>
#include <string>
#include <vector>

struct task {
    struct promise_type {
        task get_return_object() { return {}; }
        std::suspend_never initial_suspend() { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() {}
    };
};

std::suspend_never take(std::vector<std::string>) {
    return {};
}

task braced() {
    co_await take({"first", "second"});
}

int main() {
    braced();
}
