#include "dynamodb/base64.hpp"

#include <array>
#include <cstdint>

namespace dynalock::dynamodb {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t invalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
    std::array<std::uint8_t, 256> table{};
    table.fill(invalid);
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
    }
    return table;
}

constexpr auto decode_table = make_decode_table();

}  // namespace

void append_base64(std::string& out, const bytes& data) {
    const std::size_t start = out.size();
    out.resize(start + (data.size() + 2) / 3 * 4);
    char* p = out.data() + start;
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const auto v = (std::to_integer<std::uint32_t>(data[i]) << 16) |
                       (std::to_integer<std::uint32_t>(data[i + 1]) << 8) |
                       std::to_integer<std::uint32_t>(data[i + 2]);
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    const std::size_t rest = data.size() - i;
    if (rest != 0) {
        auto v = std::to_integer<std::uint32_t>(data[i]) << 16;
        if (rest == 2) {
            v |= std::to_integer<std::uint32_t>(data[i + 1]) << 8;
        }
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
}

std::optional<bytes> decode_base64(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') {
        padding = text[text.size() - 2] == '=' ? 2 : 1;
    }
    bytes out;
    out.reserve(text.size() / 4 * 3);
    const std::size_t data_chars = text.size() - padding;
    std::uint32_t acc = 0;
    for (std::size_t i = 0; i < data_chars; ++i) {
        const std::uint8_t v = decode_table[static_cast<unsigned char>(text[i])];
        if (v == invalid) {
            return std::nullopt;  // includes '=' before the end
        }
        acc = (acc << 6) | v;
        if (i % 4 == 3) {
            out.push_back(static_cast<std::byte>(acc >> 16));
            out.push_back(static_cast<std::byte>(acc >> 8));
            out.push_back(static_cast<std::byte>(acc));
            acc = 0;
        }
    }
    if (padding == 1) {
        out.push_back(static_cast<std::byte>(acc >> 10));
        out.push_back(static_cast<std::byte>(acc >> 2));
    } else if (padding == 2) {
        out.push_back(static_cast<std::byte>(acc >> 4));
    }
    return out;
}

}  // namespace dynalock::dynamodb
