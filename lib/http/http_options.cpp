#include <dynalock/http_options.hpp>

namespace dynalock {

std::optional<std::string> http_options::validate() const {
    if (max_connections == 0) {
        return "http_options.max_connections must be at least 1";
    }
    if (max_response_body_bytes == 0) {
        return "http_options.max_response_body_bytes must be at least 1";
    }
    if (connect_timeout <= std::chrono::milliseconds::zero()) {
        return "http_options.connect_timeout must be positive";
    }
    if (idle_timeout <= std::chrono::milliseconds::zero()) {
        return "http_options.idle_timeout must be positive";
    }
    return std::nullopt;
}

}  // namespace dynalock
