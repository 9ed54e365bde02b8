// dynalock: create the lock table, guard a command with a lease, see and
// unstick locks. See `dynalock --help`.

#include "child_process.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "exit_status.hpp"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    // Before anything opens a descriptor: these are the ones the user hands
    // on to the command of `dynalock run`.
    const std::vector<int> inherited = dynalock::process::open_descriptors();
    const std::vector<std::string> args(argv + 1, argv + argc);
    auto parsed = dynalock::cli::parse_command_line(args, [](std::string_view name) {
        const char* v = std::getenv(std::string(name).c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
    });
    if (auto* e = std::get_if<dynalock::cli::usage_error>(&parsed)) {
        std::cerr << "dynalock: " << e->message << "\n";
        return dynalock::cli::exit_usage;
    }
    const auto& inv = std::get<dynalock::cli::invocation>(parsed);
    if (const auto* print = std::get_if<dynalock::cli::print_command>(&inv.command)) {
        std::cout << print->text;
        return dynalock::cli::exit_ok;
    }
    return dynalock::cli::execute(inv, inherited);
}
