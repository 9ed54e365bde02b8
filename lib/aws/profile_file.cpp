#include "aws/profile_file.hpp"

#include <boost/system/errc.hpp>

#include <algorithm>
#include <cctype>

namespace dynalock::aws {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_comment(std::string_view trimmed) {
    return !trimmed.empty() && (trimmed.front() == '#' || trimmed.front() == ';');
}

// The SDKs end a value at a '#' or ';' that follows whitespace, so that
// `region = us-east-1 # prod` works while `a#b` stays one value.
std::string_view strip_inline_comment(std::string_view value) {
    for (std::size_t i = 1; i < value.size(); ++i) {
        if ((value[i] == '#' || value[i] == ';') && is_blank(value[i - 1])) {
            return value.substr(0, i);
        }
    }
    return value;
}

// `word` followed by whitespace and a non-empty rest: returns the rest.
std::optional<std::string_view> after_keyword(std::string_view name, std::string_view word) {
    if (name.size() <= word.size() || name.substr(0, word.size()) != word ||
        !is_blank(name[word.size()])) {
        return std::nullopt;
    }
    return trim(name.substr(word.size()));
}

class parser {
public:
    parser(std::string_view path, profile_file_kind kind, profile_file& out, diagnostics& diag)
        : path_(path), kind_(kind), out_(out), diag_(diag) {}

    error_code parse(std::string_view text) {
        while (!text.empty()) {
            ++line_number_;
            std::size_t eol = text.find('\n');
            std::string_view line = text.substr(0, eol);
            text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
            if (error_code ec = parse_line(line)) {
                return ec;
            }
        }
        return {};
    }

private:
    error_code parse_line(std::string_view line) {
        std::string_view trimmed = trim(line);
        if (trimmed.empty() || is_comment(trimmed)) {
            return {};
        }
        if (is_blank(line.front())) {
            return parse_continuation(trimmed);
        }
        if (line.front() == '[') {
            return parse_section_header(trimmed);
        }
        return parse_property(trimmed);
    }

    error_code parse_section_header(std::string_view line) {
        std::size_t close = line.find(']');
        if (close == std::string_view::npos) {
            return fail("section header is missing its closing ']'");
        }
        std::string_view rest = trim(line.substr(close + 1));
        if (!rest.empty() && !is_comment(rest)) {
            return fail("unexpected text after the section header's ']'");
        }
        std::string_view name = trim(line.substr(1, close - 1));
        if (name.empty()) {
            return fail("empty section name");
        }
        property_ = nullptr;
        if (kind_ == profile_file_kind::credentials) {
            section_ = &out_.profiles[std::string(name)];
            return {};
        }
        if (name == "default") {
            section_ = &out_.profiles["default"];
        } else if (auto profile_name = after_keyword(name, "profile")) {
            section_ = &out_.profiles[std::string(*profile_name)];
        } else if (auto services_name = after_keyword(name, "services")) {
            section_ = &out_.services[std::string(*services_name)];
        } else if (name == "profile" || name == "services") {
            return fail("'[" + std::string(name) + "]' needs a name after '" + std::string(name) +
                        "'");
        } else {
            section_ = &ignored_;
        }
        return {};
    }

    error_code parse_property(std::string_view line) {
        if (section_ == nullptr) {
            return fail("property before the first [section] header");
        }
        std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            return fail("expected 'key = value' or a [section] header");
        }
        std::string_view key = trim(line.substr(0, eq));
        if (key.empty()) {
            return fail("missing key before '='");
        }
        property_ = &(*section_)[lower(key)];
        property_->value = std::string(trim(strip_inline_comment(line.substr(eq + 1))));
        property_->sub_properties.clear();
        property_has_inline_value_ = !property_->value.empty();
        return {};
    }

    error_code parse_continuation(std::string_view line) {
        if (property_ == nullptr) {
            return fail("indented line does not continue any property");
        }
        if (property_has_inline_value_) {
            property_->value += '\n';
            property_->value += line;
            return {};
        }
        std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            return fail("expected 'key = value' in the indented block");
        }
        std::string_view key = trim(line.substr(0, eq));
        if (key.empty()) {
            return fail("missing key before '=' in the indented block");
        }
        property_->sub_properties[lower(key)] = std::string(trim(line.substr(eq + 1)));
        return {};
    }

    error_code fail(std::string_view problem) {
        diag_.message =
            std::string(path_) + ":" + std::to_string(line_number_) + ": " + std::string(problem);
        return errc::invalid_config;
    }

    std::string_view path_;
    profile_file_kind kind_;
    profile_file& out_;
    diagnostics& diag_;
    std::size_t line_number_ = 0;
    profile* section_ = nullptr;
    profile ignored_;
    profile_property* property_ = nullptr;
    bool property_has_inline_value_ = false;
};

}  // namespace

error_code parse_profile_file(std::string_view text, std::string_view path, profile_file_kind kind,
                              profile_file& out, diagnostics& diag) {
    return parser(path, kind, out, diag).parse(text);
}

const std::string* find_property(const profile& p, std::string_view key) {
    auto it = p.find(key);
    return it == p.end() ? nullptr : &it->second.value;
}

const profile* loaded_profile_file::find_profile(std::string_view name) const {
    if (!contents) {
        return nullptr;
    }
    auto it = contents->profiles.find(name);
    return it == contents->profiles.end() ? nullptr : &it->second;
}

error_code load_profile_file(const config_sources& sources, std::string_view path_variable,
                             std::string_view default_name, profile_file_kind kind,
                             loaded_profile_file& out, diagnostics& diag) {
    out = {};
    std::optional<std::string> configured = sources.get_env(path_variable);
    std::string path = configured && !configured->empty() ? std::move(*configured)
                                                          : "~/.aws/" + std::string(default_name);
    if (path.front() == '~' && (path.size() == 1 || path[1] == '/')) {
        std::optional<std::string> home = sources.get_env("HOME");
        if (!home || home->empty()) {
            out.absence_reason = "HOME is not set, so " + path + " cannot be located";
            return {};
        }
        path = *home + path.substr(1);
    }
    out.path = path;

    std::string text;
    if (error_code ec = sources.read_file(path, text)) {
        if (ec == boost::system::errc::no_such_file_or_directory) {
            out.absence_reason = path + " does not exist";
            return {};
        }
        diag.message = "cannot read " + path + ": " + ec.message();
        return errc::invalid_config;
    }
    profile_file parsed;
    if (error_code ec = parse_profile_file(text, path, kind, parsed, diag)) {
        return ec;
    }
    out.contents = std::move(parsed);
    return {};
}

}  // namespace dynalock::aws
