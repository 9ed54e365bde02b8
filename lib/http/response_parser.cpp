#include <http/response_parser.hpp>

#include "byte_scan.hpp"
#include "field_text.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <system_error>

namespace dynalock::http {
namespace {

using boost::beast::http::error;
using field_text::iequals;

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view blank_line = "\r\n\r\n";

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t';
}

bool is_control(unsigned char c) noexcept {
    return c < 0x20 || c == 0x7f;
}

// Takes the first line off `block` (whole lines, each ending in CRLF) into
// `line`. False when a control byte other than a tab comes before its CRLF:
// field values and reason phrases hold tabs, visible ASCII, spaces and
// obs-text, and a bare CR or LF is refused. One scan, eight bytes at a time,
// finds the line's end and checks it.
bool next_line(std::string_view& block, std::string_view& line) noexcept {
    const char* const begin = block.data();
    const char* const end = begin + block.size();
    const char* p = begin;
    for (;;) {
        p = detail::find_byte(
            p, end,
            [](std::uint64_t w) {
                return detail::has_byte_below(w, 0x20) || detail::has_byte(w, 0x7f);
            },
            is_control);
        if (p == end || *p != '\t') {
            break;
        }
        ++p;
    }
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
        return false;
    }
    line = std::string_view(begin, static_cast<std::size_t>(p - begin));
    block.remove_prefix(line.size() + 2);
    return true;
}

// Any control byte but a tab: for a chunk's extensions, which are skipped.
bool is_field_text(std::string_view s) noexcept {
    return std::none_of(s.begin(), s.end(), [](char c) {
        return c != '\t' && is_control(static_cast<unsigned char>(c));
    });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// Calls `each` with every element of a comma-separated field value, trimmed;
// empty elements, which the list syntax allows, are skipped.
template <class Each>
void for_each_element(std::string_view list, Each each) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view element = trim(list.substr(0, comma));
        if (!element.empty()) {
            each(element);
        }
        if (comma == std::string_view::npos) {
            return;
        }
        list.remove_prefix(comma + 1);
    }
}

// The whole of `s` as an unsigned number in `base`: digits only (no sign, no
// space, no prefix), and no overflow.
bool parse_whole(std::string_view s, int base, std::uint64_t& out) noexcept {
    const char* const end = s.data() + s.size();
    const auto [stop, ec] = std::from_chars(s.data(), end, out, base);
    return ec == std::errc() && stop == end;
}

}  // namespace

response_parser::response_parser(response& res, std::size_t body_limit) noexcept
    : res_(res), body_limit_(body_limit) {
    res_.clear();
}

std::size_t response_parser::put(std::string_view bytes, error_code& ec) {
    ec = {};
    std::size_t used = 0;
    while (state_ != state::done) {
        const std::string_view rest = bytes.substr(used);
        // Every unfinished state needs at least one more byte.
        if (rest.empty()) {
            ec = error::need_more;
            return used;
        }
        std::size_t n = 0;
        switch (state_) {
            case state::nothing_yet:
                state_ = state::header;
                continue;
            case state::header:
                n = parse_header(rest, ec);
                break;
            case state::body_counted:
                n = take_counted(rest, state::done);
                break;
            case state::body_to_eof:
                if (rest.size() > body_limit_ - res_.body_.size()) {
                    ec = error::body_limit;
                    return used;
                }
                res_.body_.append(rest);
                n = rest.size();
                break;
            case state::chunk_header:
                n = parse_chunk_header(rest, ec);
                break;
            case state::chunk_data:
                n = take_counted(rest, state::chunk_end);
                break;
            case state::chunk_end:
                if (rest[0] != '\r' || (rest.size() > 1 && rest[1] != '\n')) {
                    ec = error::bad_chunk;
                } else if (rest.size() < 2) {
                    ec = error::need_more;
                } else {
                    n = 2;
                    state_ = state::chunk_header;
                }
                break;
            case state::trailer:
                n = parse_trailer(rest, ec);
                break;
            case state::done:
                break;
        }
        used += n;
        if (ec) {
            return used;
        }
    }
    return used;
}

void response_parser::put_eof(error_code& ec) {
    ec = {};
    if (state_ == state::body_to_eof) {
        state_ = state::done;
    } else if (state_ == state::nothing_yet) {
        ec = error::end_of_stream;
    } else if (state_ != state::done) {
        ec = error::partial_message;
    }
}

bool response_parser::keep_alive() const noexcept {
    // HTTP/1.0 has no transfer codings: such framing is faulty (RFC 9112
    // 6.1), and a 101 hands the connection to another protocol.
    if (framed_by_eof_ || close_ || (has_transfer_encoding_ && !http11_) || res_.status_ == 101) {
        return false;
    }
    return http11_ || keep_alive_;
}

void response_parser::forget_header() noexcept {
    res_.clear();
    content_length_ = 0;
    http11_ = has_content_length_ = chunked_ = has_transfer_encoding_ = false;
    close_ = keep_alive_ = false;
}

// Nothing is used until the whole block is there, so a block cut anywhere
// parses as the same block whole; `scanned_` spares searching its start again.
std::size_t response_parser::find_block_end(std::string_view bytes, std::string_view end,
                                            error_code& ec) {
    const std::string_view window = bytes.substr(0, header_limit);
    const std::size_t from = scanned_ < end.size() ? 0 : scanned_ - (end.size() - 1);
    const std::size_t at = window.find(end, from);
    if (at == std::string_view::npos) {
        scanned_ = window.size();
        ec = bytes.size() >= header_limit ? error::header_limit : error::need_more;
        return 0;
    }
    scanned_ = 0;
    return at + end.size();
}

std::size_t response_parser::parse_header(std::string_view bytes, error_code& ec) {
    // A block that is only a status line ends at its first CRLF CRLF too.
    const std::size_t size = find_block_end(bytes, blank_line, ec);
    if (ec) {
        return 0;
    }
    std::string_view block = bytes.substr(0, size - crlf.size());
    std::string_view status_line;
    if (!next_line(block, status_line)) {
        ec = error::bad_reason;
        return 0;
    }
    parse_status_line(status_line, ec);
    if (ec) {
        return 0;
    }
    parse_fields(block, false, ec);
    if (ec) {
        return 0;
    }
    if (has_content_length_ && has_transfer_encoding_) {
        // Two framings: which one the server meant cannot be known.
        ec = error::bad_transfer_encoding;
        return 0;
    }
    const unsigned status = res_.status_;
    if (status >= 100 && status < 200 && status != 101) {
        // An interim response (100 Continue, 103 Early Hints): the final one
        // follows, and only its fields and framing count.
        forget_header();
        return size;
    }
    if (status == 101 || status == 204 || status == 304) {
        state_ = state::done;
    } else if (chunked_) {
        state_ = state::chunk_header;
    } else if (has_content_length_) {
        if (content_length_ > body_limit_) {
            ec = error::body_limit;
            return 0;
        }
        remaining_ = content_length_;
        res_.body_.reserve(static_cast<std::size_t>(content_length_));
        state_ = remaining_ == 0 ? state::done : state::body_counted;
    } else {
        // Neither framing, or a transfer coding other than chunked last.
        framed_by_eof_ = true;
        state_ = state::body_to_eof;
    }
    return size;
}

void response_parser::parse_status_line(std::string_view line, error_code& ec) {
    // HTTP-version SP status-code SP reason-phrase, the reason maybe empty.
    if (line.size() < 13 || line.substr(0, 5) != "HTTP/" || line[5] != '1' || line[6] != '.' ||
        (line[7] != '0' && line[7] != '1') || line[8] != ' ') {
        ec = error::bad_version;
        return;
    }
    std::uint64_t status = 0;
    if (!parse_whole(line.substr(9, 3), 10, status) || line[12] != ' ') {
        ec = error::bad_status;
        return;
    }
    http11_ = line[7] == '1';
    res_.status_ = static_cast<unsigned>(status);
}

void response_parser::parse_fields(std::string_view block, bool trailer, error_code& ec) {
    block = res_.keep_block(block);
    // The block ends in CRLF, which no name holds: the name's scan stops in it.
    const char* p = block.data();
    const char* const end = p + block.size();
    while (p != end) {
        const char* const name_begin = p;
        while (field_text::is_token_char(*p)) {
            ++p;
        }
        // Also a line starting with a space, continuing the last (obs-fold).
        if (p == name_begin || *p != ':') {
            ec = error::bad_field;
            return;
        }
        const std::string_view name(name_begin, static_cast<std::size_t>(p - name_begin));
        std::string_view rest(p + 1, static_cast<std::size_t>(end - (p + 1)));
        std::string_view value;
        if (!next_line(rest, value)) {
            ec = error::bad_value;
            return;
        }
        p = rest.data();
        value = trim(value);
        if (!trailer) {
            on_field(name, value, ec);
            if (ec) {
                return;
            }
        }
        res_.add_field(name, value);
    }
}

void response_parser::on_field(std::string_view name, std::string_view value, error_code& ec) {
    // Sizes first: most fields are none of these.
    if (name.size() == 14 && iequals(name, "content-length")) {
        if (has_content_length_ || !parse_whole(value, 10, content_length_)) {
            ec = error::bad_content_length;
        }
        has_content_length_ = true;
    } else if (name.size() == 17 && iequals(name, "transfer-encoding")) {
        if (has_transfer_encoding_) {
            ec = error::bad_transfer_encoding;
        }
        has_transfer_encoding_ = true;
        // Chunked must be the last coding, and only the last is decoded here.
        // A coding that is not a bare token leaves the framing in doubt:
        // parsers disagree on where a coding with parameters ends.
        bool chunked_before = false;
        bool bad_coding = false;
        for_each_element(value, [&](std::string_view coding) {
            bad_coding = bad_coding || !field_text::is_token(coding);
            chunked_before = chunked_before || chunked_;
            chunked_ = iequals(coding, "chunked");
        });
        if (chunked_before || bad_coding) {
            ec = error::bad_transfer_encoding;
        }
    } else if ((name.size() == 10 && iequals(name, "connection")) ||
               (name.size() == 16 && iequals(name, "proxy-connection"))) {
        // Persistence in doubt is refused rather than guessed.
        for_each_element(value, [&](std::string_view option) {
            if (!field_text::is_token(option)) {
                ec = error::bad_value;
            }
            close_ = close_ || iequals(option, "close");
            keep_alive_ = keep_alive_ || iequals(option, "keep-alive");
        });
    }
}

std::size_t response_parser::parse_chunk_header(std::string_view bytes, error_code& ec) {
    // chunk-size [ chunk-ext ] CRLF; extensions are skipped, not interpreted.
    const std::size_t size = find_block_end(bytes, crlf, ec);
    if (ec) {
        if (ec == error::header_limit) {
            ec = error::bad_chunk;
        }
        return 0;
    }
    const std::string_view line = bytes.substr(0, size - crlf.size());
    std::uint64_t chunk = 0;
    const auto [digits_end, parsed] =
        std::from_chars(line.data(), line.data() + line.size(), chunk, 16);
    const std::string_view extension =
        line.substr(static_cast<std::size_t>(digits_end - line.data()));
    const std::string_view trimmed = trim(extension);
    if (parsed != std::errc() || !is_field_text(extension) ||
        !(trimmed.empty() || trimmed.front() == ';')) {
        ec = error::bad_chunk;
        return 0;
    }
    if (chunk == 0) {
        state_ = state::trailer;
    } else if (chunk > body_limit_ - res_.body_.size()) {
        ec = error::body_limit;
        return 0;
    } else {
        remaining_ = chunk;
        state_ = state::chunk_data;
    }
    return size;
}

std::size_t response_parser::parse_trailer(std::string_view bytes, error_code& ec) {
    if (bytes.substr(0, crlf.size()) == crlf) {
        state_ = state::done;
        return crlf.size();
    }
    if (bytes.size() < crlf.size() && bytes[0] == '\r') {
        ec = error::need_more;
        return 0;
    }
    const std::size_t size = find_block_end(bytes, blank_line, ec);
    if (ec) {
        return 0;
    }
    parse_fields(bytes.substr(0, size - crlf.size()), true, ec);
    if (ec) {
        return 0;
    }
    state_ = state::done;
    return size;
}

std::size_t response_parser::take_counted(std::string_view bytes, state then) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), remaining_));
    res_.body_.append(bytes.data(), n);
    remaining_ -= n;
    if (remaining_ == 0) {
        state_ = then;
    }
    return n;
}

}  // namespace dynalock::http
