#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dynalock::harness {

/// One flat JSON object, printed as a single line on stdout: the machine-readable
/// result of a bench run. Keys appear in the order they were added.
class json_line {
public:
    json_line& add(std::string_view key, std::string_view value);
    json_line& add(std::string_view key, const char* value) {
        return add(key, std::string_view(value));
    }
    json_line& add(std::string_view key, std::int64_t value);
    json_line& add(std::string_view key, int value) { return add(key, std::int64_t{value}); }
    json_line& add(std::string_view key, std::uint64_t value);
    /// Non-finite values (a ratio over zero requests) become `null`.
    json_line& add(std::string_view key, double value);

    const std::string& text() const noexcept { return text_; }
    /// Writes the line and flushes, so a consumer reading a pipe sees each result at once.
    void print() const;

private:
    void key(std::string_view k);
    std::string text_;
};

}  // namespace dynalock::harness
