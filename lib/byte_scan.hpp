#pragma once

// Tests on eight bytes at once, for the scans every request makes over its
// strings (JSON escaping, header values). Each says whether some byte of a
// word has a property, and says it exactly: a borrow can mark only bytes
// above one that has the property, so a word is never marked wrongly as a
// whole, though the marked byte may be the wrong one.

#include <cstdint>
#include <cstring>

namespace dynalock::detail {

inline constexpr std::uint64_t byte_ones = 0x0101010101010101U;
inline constexpr std::uint64_t byte_highs = 0x8080808080808080U;

/// Some byte of `w` is below `n` (n at most 128; bytes from 0x80 never are).
constexpr bool has_byte_below(std::uint64_t w, std::uint64_t n) noexcept {
    return ((w - byte_ones * n) & ~w & byte_highs) != 0;
}

/// Some byte of `w` is `c`.
constexpr bool has_byte(std::uint64_t w, unsigned char c) noexcept {
    return has_byte_below(w ^ (byte_ones * c), 1);
}

/// The eight bytes at `p`, in memory order (any alignment).
inline std::uint64_t load_word(const char* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

}  // namespace dynalock::detail
