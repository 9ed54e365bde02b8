#pragma once

#include "aws/aws_settings.hpp"

#include <boost/system/errc.hpp>

#include <map>
#include <string>

namespace dynalock::test {

/// An in-memory environment and file system.
struct fake_sources {
    std::map<std::string, std::string, std::less<>> env;
    std::map<std::string, std::string, std::less<>> files;
    std::map<std::string, error_code, std::less<>> unreadable;

    aws::config_sources sources() const {
        return aws::config_sources{
            .get_env = [this](std::string_view name) -> std::optional<std::string> {
                auto it = env.find(name);
                return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
            },
            .read_file = [this](const std::string& path, std::string& contents) -> error_code {
                if (auto bad = unreadable.find(path); bad != unreadable.end()) {
                    return bad->second;
                }
                auto it = files.find(path);
                if (it == files.end()) {
                    return make_error_code(boost::system::errc::no_such_file_or_directory);
                }
                contents = it->second;
                return {};
            },
        };
    }
};

}  // namespace dynalock::test
