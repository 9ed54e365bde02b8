#include "aws/aws_settings.hpp"

#include "aws/profile_file.hpp"

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace dynalock::aws {

std::optional<std::string> non_empty_env(const config_sources& sources, std::string_view name) {
    std::optional<std::string> value = sources.get_env(name);
    if (value && value->empty()) {
        return std::nullopt;
    }
    return value;
}

namespace {

// A value found somewhere, and where: error messages name the source.
struct sourced_value {
    std::string value;
    std::string source;
};

std::string profile_place(const aws::loaded_profile_file& file, std::string_view profile_name) {
    return "profile \"" + std::string(profile_name) + "\" in " +
           (file.path.empty() ? std::string("the config file") : file.path);
}

// What the config file says about why it gave no value, for region_missing.
std::string config_absence(const aws::loaded_profile_file& file, std::string_view profile_name,
                           std::string_view key) {
    if (!file.contents) {
        return file.absence_reason;
    }
    if (file.find_profile(profile_name) == nullptr) {
        return file.path + " has no profile \"" + std::string(profile_name) + "\"";
    }
    return profile_place(file, profile_name) + " has no " + std::string(key);
}

// Region names become part of the host name, so only DNS label characters.
bool is_valid_region(std::string_view region) {
    if (region.empty() || region.size() > 63 || region.front() == '-' || region.back() == '-') {
        return false;
    }
    for (char c : region) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
            return false;
        }
    }
    return true;
}

error_code resolve_region(const aws_settings_options& options, const config_sources& sources,
                          const aws::loaded_profile_file& config, std::string_view profile_name,
                          std::string& out, diagnostics& diag) {
    std::optional<sourced_value> found;
    if (!options.region.empty()) {
        found = sourced_value{options.region, "the options"};
    } else if (auto env = non_empty_env(sources, "AWS_REGION")) {
        found = sourced_value{*env, "AWS_REGION"};
    } else if (auto env_default = non_empty_env(sources, "AWS_DEFAULT_REGION")) {
        found = sourced_value{*env_default, "AWS_DEFAULT_REGION"};
    } else if (const aws::profile* p = config.find_profile(profile_name)) {
        if (const std::string* region = aws::find_property(*p, "region");
            region != nullptr && !region->empty()) {
            found = sourced_value{*region, profile_place(config, profile_name)};
        }
    }
    if (!found) {
        diag.message =
            "no AWS region: none in the options, AWS_REGION and AWS_DEFAULT_REGION are not set, "
            "and " +
            config_absence(config, profile_name, "region");
        return errc::region_missing;
    }
    if (!is_valid_region(found->value)) {
        diag.message = "the region \"" + found->value + "\" from " + found->source +
                       " is not a valid region name";
        return errc::invalid_config;
    }
    out = std::move(found->value);
    return {};
}

// The `services` section form: `services = name` in the profile and
// `[services name]` holding `dynamodb =` with an indented `endpoint_url`.
const std::string* services_endpoint_url(const aws::loaded_profile_file& config,
                                         const aws::profile& p) {
    const std::string* services_name = aws::find_property(p, "services");
    if (services_name == nullptr) {
        return nullptr;
    }
    auto services = config.contents->services.find(*services_name);
    if (services == config.contents->services.end()) {
        return nullptr;
    }
    auto dynamodb = services->second.find("dynamodb");
    if (dynamodb == services->second.end()) {
        return nullptr;
    }
    auto url = dynamodb->second.sub_properties.find("endpoint_url");
    return url == dynamodb->second.sub_properties.end() ? nullptr : &url->second;
}

std::optional<sourced_value> configured_endpoint_url(const aws_settings_options& options,
                                                     const config_sources& sources,
                                                     const aws::loaded_profile_file& config,
                                                     std::string_view profile_name) {
    if (!options.endpoint_url.empty()) {
        return sourced_value{options.endpoint_url, "the options"};
    }
    if (auto env = non_empty_env(sources, "AWS_ENDPOINT_URL_DYNAMODB")) {
        return sourced_value{*env, "AWS_ENDPOINT_URL_DYNAMODB"};
    }
    if (auto env = non_empty_env(sources, "AWS_ENDPOINT_URL")) {
        return sourced_value{*env, "AWS_ENDPOINT_URL"};
    }
    const aws::profile* p = config.find_profile(profile_name);
    if (p == nullptr) {
        return std::nullopt;
    }
    if (const std::string* url = services_endpoint_url(config, *p);
        url != nullptr && !url->empty()) {
        return sourced_value{*url,
                             "the services section of " + profile_place(config, profile_name)};
    }
    if (const std::string* url = aws::find_property(*p, "endpoint_url");
        url != nullptr && !url->empty()) {
        return sourced_value{*url, profile_place(config, profile_name)};
    }
    return std::nullopt;
}

std::string default_endpoint_url(std::string_view region) {
    std::string url = "https://dynamodb." + std::string(region) + ".amazonaws.com";
    if (region.starts_with("cn-")) {
        url += ".cn";
    }
    return url;
}

error_code read_whole_file(const std::string& path, std::string& contents) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) {
        return {errno, boost::system::system_category()};
    }
    contents.clear();
    std::array<char, 4096> buffer;
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get())) {
        contents.append(buffer.data(), n);
    }
    if (std::ferror(file.get())) {
        return {errno, boost::system::system_category()};
    }
    return {};
}

}  // namespace

config_sources system_config_sources() {
    return config_sources{
        .get_env = [](std::string_view name) -> std::optional<std::string> {
            const char* value = std::getenv(std::string(name).c_str());
            return value ? std::optional<std::string>(value) : std::nullopt;
        },
        .read_file = &read_whole_file,
    };
}

error_code resolve_aws_settings(const aws_settings_options& options, const config_sources& sources,
                                aws_settings& out, diagnostics& diag) {
    aws_settings result;
    if (!options.profile.empty()) {
        result.profile = options.profile;
    } else {
        result.profile = non_empty_env(sources, "AWS_PROFILE").value_or("default");
    }

    aws::loaded_profile_file config_file;
    if (error_code ec = aws::load_profile_file(sources, "AWS_CONFIG_FILE", "config",
                                               aws::profile_file_kind::config, config_file, diag)) {
        return ec;
    }

    if (error_code ec =
            resolve_region(options, sources, config_file, result.profile, result.region, diag)) {
        return ec;
    }

    std::optional<sourced_value> url =
        configured_endpoint_url(options, sources, config_file, result.profile);
    result.endpoint_url = url ? url->value : default_endpoint_url(result.region);
    if (error_code ec = parse_endpoint(result.endpoint_url, result.endpoint, diag)) {
        diag.message += url ? " (from " + url->source + ")" : " (derived from the region)";
        return ec;
    }

    out = std::move(result);
    return {};
}

}  // namespace dynalock::aws
