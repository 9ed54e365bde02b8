#include "command_line.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace dynalock::harness {

void for_each_flag(
    int argc, char** argv, std::initializer_list<std::string_view> valueless,
    const std::function<void(std::string_view flag, std::string_view value)>& on_flag) {
    const auto takes_no_value = [&](std::string_view flag) {
        return std::find(valueless.begin(), valueless.end(), flag) != valueless.end();
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view flag = argv[i];
        std::string_view value;
        if (takes_no_value(flag)) {
            on_flag(flag, value);
            continue;
        }
        if (const auto eq = flag.find('='); eq != std::string_view::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
            if (takes_no_value(flag))
                throw std::invalid_argument(std::string(flag) + ": takes no value");
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw std::invalid_argument(std::string(flag) + ": missing value");
        }
        on_flag(flag, value);
    }
}

}  // namespace dynalock::harness
