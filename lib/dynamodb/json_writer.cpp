#include "dynamodb/json_writer.hpp"

#include "byte_scan.hpp"
#include "dynamodb/base64.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <variant>

namespace dynalock::dynamodb {

void json_writer::separate() {
    if (!first_) {
        out_ += ',';
    }
    first_ = false;
}

void json_writer::open(char c) {
    separate();
    out_ += c;
    first_ = true;
}

void json_writer::close(char c) {
    out_ += c;
    first_ = false;
}

void json_writer::key(json_name name) {
    separate();
    out_ += '"';
    out_.append(name.text()).append("\":", 2);
    first_ = true;  // the value follows the colon, not a comma
}

void json_writer::escaped_key(std::string_view name) {
    separate();
    escaped(name);
    out_ += ':';
    first_ = true;
}

void json_writer::string(std::string_view value) {
    separate();
    escaped(value);
}

void json_writer::boolean(bool value) {
    separate();
    out_ += value ? "true" : "false";
}

void json_writer::binary(const bytes& value) {
    separate();
    out_ += '"';
    append_base64(out_, value);
    out_ += '"';
}

void json_writer::unsigned_number(std::uint64_t value) {
    separate();
    char buf[20];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, r.ptr);
}

namespace {

// A quote, a backslash or a C0 control among the eight bytes of `w`.
bool needs_escape(std::uint64_t w) noexcept {
    return detail::has_byte_below(w, 0x20) || detail::has_byte(w, '"') || detail::has_byte(w, '\\');
}

// The same for one byte, by table.
constexpr std::array<bool, 256> escaped_bytes = [] {
    std::array<bool, 256> table{};
    for (std::size_t c = 0; c < 0x20; ++c) {
        table[c] = true;
    }
    table['"'] = table['\\'] = true;
    return table;
}();

// The first byte of [p, end) that needs escaping, or end.
const char* next_to_escape(const char* p, const char* const end) noexcept {
    return detail::find_byte(p, end, needs_escape,
                             [](unsigned char c) { return escaped_bytes[c]; });
}

}  // namespace

// Bytes ≥ 0x80 pass through: the body is UTF-8 and JSON needs no escape for
// them. Only the quote, the backslash and C0 controls must be escaped. What
// needs none is appended in runs: the request's strings are hundreds of
// bytes in some thirty strings, and a byte at a time with an append per
// string was 4 % of the client's user time in a heartbeat.
void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    const char* p = text.data();
    const char* const end = p + text.size();
    for (;;) {
        const char* const run = p;
        p = next_to_escape(p, end);
        out.append(run, static_cast<std::size_t>(p - run));
        if (p == end) {
            break;
        }
        const auto c = static_cast<unsigned char>(*p++);
        out += '\\';
        switch (c) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '\b':
                out += 'b';
                break;
            case '\f':
                out += 'f';
                break;
            case '\n':
                out += 'n';
                break;
            case '\r':
                out += 'r';
                break;
            case '\t':
                out += 't';
                break;
            default:
                out += "u00";
                out += hex[c >> 4];
                out += hex[c & 15];
        }
    }
    out += '"';
}

void json_writer::escaped(std::string_view text) {
    append_json_string(out_, text);
}

void json_writer::attribute(const attribute_value& value) {
    struct visitor {
        json_writer& w;
        void operator()(const std::string& s) {
            w.key("S");
            w.string(s);
        }
        void operator()(const number& n) {
            w.key("N");
            w.string(n.text);
        }
        void operator()(const bytes& b) {
            w.key("B");
            w.binary(b);
        }
        void operator()(bool b) {
            w.key("BOOL");
            w.boolean(b);
        }
        void operator()(null_value) {
            w.key("NULL");
            w.boolean(true);
        }
        void operator()(const attribute_list& l) {
            w.key("L");
            w.begin_array();
            for (const auto& element : l) {
                w.attribute(element);
            }
            w.end_array();
        }
        void operator()(const attribute_map& m) {
            w.key("M");
            w.attributes(m);
        }
        void operator()(const string_set& s) {
            w.key("SS");
            w.begin_array();
            for (const auto& element : s.values) {
                w.string(element);
            }
            w.end_array();
        }
        void operator()(const number_set& s) {
            w.key("NS");
            w.begin_array();
            for (const auto& element : s.values) {
                w.string(element.text);
            }
            w.end_array();
        }
        void operator()(const binary_set& s) {
            w.key("BS");
            w.begin_array();
            for (const auto& element : s.values) {
                w.binary(element);
            }
            w.end_array();
        }
    };
    begin_object();
    std::visit(visitor{*this}, value.value());
    end_object();
}

void json_writer::attributes(const attribute_map& map) {
    begin_object();
    for (const auto& [name, value] : map) {
        escaped_key(name);
        attribute(value);
    }
    end_object();
}

void json_writer::string_map(const std::map<std::string, std::string>& map) {
    begin_object();
    for (const auto& [name, value] : map) {
        escaped_key(name);
        string(value);
    }
    end_object();
}

void json_writer::optional_string(json_name name, std::string_view value) {
    if (!value.empty()) {
        key(name);
        string(value);
    }
}

void json_writer::optional_names(json_name name, const std::map<std::string, std::string>& map) {
    if (!map.empty()) {
        key(name);
        string_map(map);
    }
}

void json_writer::optional_attributes(json_name name, const attribute_map& map) {
    if (!map.empty()) {
        key(name);
        attributes(map);
    }
}

}  // namespace dynalock::dynamodb
