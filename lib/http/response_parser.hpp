#pragma once

#include <http/response.hpp>

#include <dynalock/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dynalock::http {

/// An HTTP/1.1 response parser writing into a `response` the caller keeps, so
/// that its strings' capacity is reused. Pure code: the caller reads the bytes
/// and puts them in.
///
/// It reads what the services dynalock talks to send (a status line, fields, a
/// body framed by Content-Length, chunked coding or the end of the connection)
/// and refuses what is malformed with Beast's `http::error` codes, so that
/// transport errors are classified in one place. It replaced Beast's parser
/// (about 2,000 fewer instructions per DynamoDB answer) and is stricter where
/// framing could be read two ways: folded field lines, Content-Length or
/// Transfer-Encoding repeated or both present, a coding that is not a bare
/// token, a connection option that is not a token are refused; "close" (also
/// in Proxy-Connection) wins over "keep-alive"; trailer fields are kept but
/// never frame or persist anything; HTTP/1.0 with a transfer coding and 101
/// are never kept alive. Interim responses (1xx but 101) are skipped: the
/// final response is what is parsed, as RFC 9110 15.2 asks of a client. The
/// fuzz target holds it to Beast's reading wherever Beast accepts the bytes
/// too, but for the interim responses Beast stops at.
class response_parser {
public:
    /// The largest header block (and, separately, trailer block) accepted.
    static constexpr std::size_t header_limit = 8 * 1024;

    /// Empties `res`, which must outlive the parser, and parses into it; a
    /// body longer than `body_limit` fails with `body_limit`.
    response_parser(response& res, std::size_t body_limit) noexcept;

    /// Parses what it can of `bytes` and returns how many it used; the caller
    /// keeps the rest and puts it again with what arrives next. `ec` is
    /// `need_more` while the response is unfinished and no error was found.
    /// A finished parser uses nothing more: bytes left over are not its own.
    std::size_t put(std::string_view bytes, error_code& ec);

    /// The connection ended: this finishes a body framed by the end of the
    /// connection, and is `partial_message` anywhere else.
    void put_eof(error_code& ec);

    /// Whether any byte was put.
    bool got_some() const noexcept { return state_ != state::nothing_yet; }
    /// Whether the whole response was parsed.
    bool is_done() const noexcept { return state_ == state::done; }
    /// Whether the response lets its connection carry another exchange.
    bool keep_alive() const noexcept;

private:
    enum class state : std::uint8_t {
        nothing_yet,
        header,
        body_counted,  // Content-Length
        body_to_eof,
        chunk_header,
        chunk_data,
        chunk_end,  // the CRLF after a chunk's data
        trailer,
        done,
    };

    void forget_header() noexcept;
    std::size_t find_block_end(std::string_view bytes, std::string_view end, error_code& ec);
    std::size_t parse_header(std::string_view bytes, error_code& ec);
    void parse_status_line(std::string_view line, error_code& ec);
    void parse_fields(std::string_view block, bool trailer, error_code& ec);
    void on_field(std::string_view name, std::string_view value, error_code& ec);
    std::size_t parse_chunk_header(std::string_view bytes, error_code& ec);
    std::size_t parse_trailer(std::string_view bytes, error_code& ec);
    // Takes what `bytes` hold of the `remaining_` body bytes, then moves to `then`.
    std::size_t take_counted(std::string_view bytes, state then);

    response& res_;
    std::uint64_t body_limit_;
    std::uint64_t remaining_ = 0;  // of the body or the current chunk
    std::uint64_t content_length_ = 0;
    std::size_t scanned_ = 0;  // bytes already searched for the end of a block
    state state_ = state::nothing_yet;
    bool http11_ = false;
    bool has_content_length_ = false;
    bool chunked_ = false;
    bool has_transfer_encoding_ = false;
    bool framed_by_eof_ = false;
    bool close_ = false;
    bool keep_alive_ = false;  // "Connection: keep-alive", which HTTP/1.0 needs
};

}  // namespace dynalock::http
