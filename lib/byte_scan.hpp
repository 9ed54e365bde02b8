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

/// The first byte of [p, end) that `is_wanted` (taking an unsigned char)
/// holds for, or `end`. `may_hold` says of eight bytes whether `is_wanted`
/// may hold for one of them: it may say so wrongly, costing a look at those
/// eight one by one, but must never miss one.
template <class WordTest, class ByteTest>
const char* find_byte(const char* p, const char* const end, WordTest may_hold,
                      ByteTest is_wanted) noexcept {
    while (end - p >= 8) {
        if (!may_hold(load_word(p))) {
            p += 8;
            continue;
        }
        for (const char* const word_end = p + 8; p != word_end; ++p) {
            if (is_wanted(static_cast<unsigned char>(*p))) {
                return p;
            }
        }
    }
    while (p != end && !is_wanted(static_cast<unsigned char>(*p))) {
        ++p;
    }
    return p;
}

}  // namespace dynalock::detail
