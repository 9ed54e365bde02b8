#pragma once

#include "aws/aws_settings.hpp"

#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace dynalock::aws {

/// One `key = value` of a profile. A key whose value is empty on its own line
/// may be followed by indented `sub_key = value` lines (e.g. `s3 =` or
/// `dynamodb =` blocks); a non-empty value may continue on indented lines,
/// joined with '\n'.
struct profile_property {
    std::string value;
    std::map<std::string, std::string, std::less<>> sub_properties;
};

/// Properties by key. Keys are case-insensitive (stored lower-case), as in
/// botocore; profile names are case-sensitive.
using profile = std::map<std::string, profile_property, std::less<>>;

/// The two shared files differ only in how sections are named.
enum class profile_file_kind {
    config,       ///< `[default]`, `[profile name]`, `[services name]`
    credentials,  ///< `[name]`, taken literally
};

struct profile_file {
    std::map<std::string, profile, std::less<>> profiles;
    /// `[services name]` sections of a config file, referenced by a profile's
    /// `services = name`.
    std::map<std::string, profile, std::less<>> services;
};

/// Parses the text of a shared config or credentials file. `path` is used only
/// in error messages. A section that appears twice is merged, later keys
/// winning. Config-file sections of other kinds (`[sso-session x]`, ...) are
/// checked for syntax and skipped. A malformed line fails with
/// errc::invalid_config and `diag.message` = "<path>:<line>: <problem>"; the
/// line's text is never quoted, since it may hold a secret.
error_code parse_profile_file(std::string_view text, std::string_view path, profile_file_kind kind,
                              profile_file& out, diagnostics& diag);

/// The value of `key` (lower-case) in `p`, or nullptr.
const std::string* find_property(const profile& p, std::string_view key);

/// A shared file as found on disk: where it was looked for and, when it
/// exists, its parsed contents.
struct loaded_profile_file {
    std::string path;  ///< empty when no path could be formed (HOME unset)
    std::optional<profile_file> contents;
    std::string absence_reason;  ///< why `contents` is empty, for messages

    /// The profile `name`, or nullptr when the file or the profile is absent.
    const profile* find_profile(std::string_view name) const;
};

/// Finds the file named by the environment variable `path_variable`, else
/// `~/.aws/<default_name>`, and parses it. A file that does not exist is not
/// an error; one that cannot be read or parsed is errc::invalid_config.
error_code load_profile_file(const config_sources& sources, std::string_view path_variable,
                             std::string_view default_name, profile_file_kind kind,
                             loaded_profile_file& out, diagnostics& diag);

}  // namespace dynalock::aws
