#include "credential_providers/credential_chain.hpp"

#include "aws/credentials_provider.hpp"
#include "aws/profile_file.hpp"
#include "credential_providers/credential_process.hpp"
#include "credential_providers/imds_credentials.hpp"
#include "credential_providers/sts.hpp"

#include <algorithm>
#include <vector>

namespace dynalock::aws {

namespace asio = boost::asio;

asio::awaitable<error_code> static_credentials_provider::fetch(
    credentials& out, diagnostics&, std::chrono::steady_clock::time_point) {
    out = credentials_;
    co_return error_code{};
}

namespace {

std::string join(const std::vector<std::string>& reasons) {
    std::string joined;
    for (const std::string& reason : reasons) {
        joined += joined.empty() ? "" : "; ";
        joined += reason;
    }
    return joined;
}

// The instance metadata service, asked when nothing else applied: its failure
// is the chain's, so it names every source tried.
class last_resort_provider final : public async_credentials_provider {
public:
    last_resort_provider(std::unique_ptr<async_credentials_provider> provider, std::string reasons)
        : provider_(std::move(provider)), reasons_(std::move(reasons)) {}

    asio::awaitable<error_code> fetch(credentials& out, diagnostics& diag,
                                      std::chrono::steady_clock::time_point deadline) override {
        auto fetch = provider_->fetch(out, diag, deadline);
        if (error_code ec = co_await std::move(fetch)) {
            diag.message = "no AWS credentials found: " + reasons_ + "; " + diag.message;
            co_return errc::credentials_unavailable;
        }
        co_return error_code{};
    }

private:
    std::unique_ptr<async_credentials_provider> provider_;
    std::string reasons_;
};

// A profile's sources, with `source_profile` chains followed.
class profile_resolver {
public:
    profile_resolver(asio::any_io_executor executor, const config_sources& sources,
                     const credential_chain_options& options,
                     const loaded_profile_file& credentials_file,
                     const loaded_profile_file& config_file)
        : executor_(std::move(executor)),
          sources_(sources),
          options_(options),
          credentials_file_(credentials_file),
          config_file_(config_file) {}

    error_code resolve(const std::string& name, std::vector<std::string>& visited,
                       std::unique_ptr<async_credentials_provider>& out, diagnostics& diag) {
        if (std::find(visited.begin(), visited.end(), name) != visited.end()) {
            diag.message = "source_profile cycle: ";
            for (const std::string& step : visited) {
                diag.message += step + " -> ";
            }
            diag.message += name;
            return errc::invalid_config;
        }
        visited.push_back(name);
        if (const std::string* role_arn = value(name, "role_arn")) {
            return resolve_role(name, *role_arn, visited, out, diag);
        }
        std::vector<std::string> reasons;
        error_code ec = static_keys(name, out, diag);
        if (ec != errc::credentials_unavailable) {
            return ec;
        }
        reasons.push_back(std::move(diag.message));
        if (const std::string* command = value(name, "credential_process")) {
            out = std::make_unique<credential_process_provider>(executor_, *command, options_.now);
            return {};
        }
        reasons.push_back("profile \"" + name + "\" has no credential_process");
        diag.message = join(reasons);
        return errc::credentials_unavailable;
    }

private:
    // A key of the profile, from the credentials file, else the config file.
    const std::string* value(const std::string& name, std::string_view key) const {
        for (const loaded_profile_file* file : {&credentials_file_, &config_file_}) {
            if (const profile* p = file->find_profile(name)) {
                if (const std::string* v = find_property(*p, key); v != nullptr && !v->empty()) {
                    return v;
                }
            }
        }
        return nullptr;
    }

    error_code static_keys(const std::string& name,
                           std::unique_ptr<async_credentials_provider>& out,
                           diagnostics& diag) const {
        std::vector<std::string> reasons;
        for (const loaded_profile_file* file : {&credentials_file_, &config_file_}) {
            credentials found;
            diagnostics attempt;
            error_code ec = profile_credentials_provider(*file, name).resolve(found, attempt);
            if (!ec) {
                out = std::make_unique<static_credentials_provider>(std::move(found));
                return {};
            }
            diag.message = std::move(attempt.message);
            if (ec != errc::credentials_unavailable) {
                return ec;
            }
            reasons.push_back(std::move(diag.message));
        }
        diag.message = join(reasons);
        return errc::credentials_unavailable;
    }

    // A profile with role_arn: web identity when it names a token file (as
    // botocore, whatever else it says), else AssumeRole signed with the
    // credentials of its source_profile or of its credential_source.
    error_code resolve_role(const std::string& name, const std::string& role_arn,
                            std::vector<std::string>& visited,
                            std::unique_ptr<async_credentials_provider>& out, diagnostics& diag) {
        sts_endpoint endpoint;
        if (error_code endpoint_error =
                resolve_sts_endpoint(sources_, options_.region, endpoint, diag)) {
            return endpoint_error;
        }
        auto text = [&](std::string_view key) {
            const std::string* v = value(name, key);
            return v != nullptr ? *v : std::string();
        };
        if (const std::string* token_file = value(name, "web_identity_token_file")) {
            out = std::make_unique<web_identity_provider>(
                executor_, sources_, std::move(endpoint), *token_file,
                assume_role_parameters{.role_arn = role_arn,
                                       .role_session_name = text("role_session_name")},
                options_.now);
            return {};
        }
        const std::string* source = value(name, "source_profile");
        const std::string* credential_source = value(name, "credential_source");
        std::unique_ptr<async_credentials_provider> source_provider;
        if (source != nullptr && credential_source != nullptr) {
            diag.message =
                "profile \"" + name + "\" sets both source_profile and credential_source; set one";
            return errc::invalid_config;
        }
        if (credential_source != nullptr) {
            if (error_code ec =
                    credential_source_provider(name, *credential_source, source_provider, diag)) {
                return ec;
            }
        } else if (source != nullptr) {
            if (error_code ec =
                    source_profile_provider(name, *source, visited, source_provider, diag)) {
                return ec;
            }
        } else {
            diag.message = "profile \"" + name +
                           "\" has role_arn but no source_profile, credential_source or "
                           "web_identity_token_file";
            return errc::invalid_config;
        }
        out = std::make_unique<assume_role_provider>(
            executor_, std::move(endpoint),
            assume_role_parameters{.role_arn = role_arn,
                                   .role_session_name = text("role_session_name"),
                                   .external_id = text("external_id"),
                                   .duration_seconds = text("duration_seconds")},
            std::move(source_provider), options_.now);
        return {};
    }

    // `credential_source`: where the role's source credentials come from
    // instead of a source_profile. The source must be there: a profile that
    // names it means it.
    error_code credential_source_provider(const std::string& name, const std::string& source,
                                          std::unique_ptr<async_credentials_provider>& out,
                                          diagnostics& diag) {
        error_code ec;
        if (source == "Environment") {
            credentials keys;
            ec = environment_credentials_provider(sources_).resolve(keys, diag);
            if (!ec) {
                out = std::make_unique<static_credentials_provider>(std::move(keys));
            }
        } else if (source == "EcsContainer") {
            ec = container_credentials_provider::from_environment(
                executor_, sources_, out, diag, options_.container_base_url, options_.now);
        } else if (source == "Ec2InstanceMetadata") {
            ec = imds_credentials_provider::from_environment(executor_, sources_, out, diag,
                                                             options_.now);
        } else {
            diag.message = "profile \"" + name + "\" has credential_source \"" + source +
                           "\"; expected Environment, EcsContainer or Ec2InstanceMetadata";
            return errc::invalid_config;
        }
        if (ec == errc::credentials_unavailable) {
            diag.message = "credential_source " + source + " of profile \"" + name +
                           "\" has no credentials: " + diag.message;
            return errc::invalid_config;
        }
        return ec;
    }

    error_code source_profile_provider(const std::string& name, const std::string& source,
                                       std::vector<std::string>& visited,
                                       std::unique_ptr<async_credentials_provider>& out,
                                       diagnostics& diag) {
        if (credentials_file_.find_profile(source) == nullptr &&
            config_file_.find_profile(source) == nullptr) {
            diag.message = "profile \"" + name + "\" names source_profile \"" + source +
                           "\", which does not exist";
            return errc::invalid_config;
        }
        // A profile may be its own source: then its static keys are the source.
        error_code ec =
            source == name ? static_keys(name, out, diag) : resolve(source, visited, out, diag);
        if (ec == errc::credentials_unavailable) {
            diag.message = "source_profile \"" + source + "\" of profile \"" + name +
                           "\" has no credentials: " + diag.message;
            return errc::invalid_config;
        }
        return ec;
    }

    asio::any_io_executor executor_;
    const config_sources& sources_;
    const credential_chain_options& options_;
    const loaded_profile_file& credentials_file_;
    const loaded_profile_file& config_file_;
};

}  // namespace

error_code select_credentials_provider(asio::any_io_executor executor,
                                       const config_sources& sources,
                                       const credential_chain_options& options,
                                       std::unique_ptr<async_credentials_provider>& out,
                                       diagnostics& diag) {
    std::vector<std::string> reasons;
    // Each step: found (done), not configured (note why, go on), or an error.
    auto settle = [&](error_code ec) -> std::optional<error_code> {
        if (ec == errc::credentials_unavailable) {
            reasons.push_back(std::move(diag.message));
            diag.message.clear();
            return std::nullopt;
        }
        return ec;
    };

    credentials from_environment;
    if (options.explicit_profile) {
        reasons.push_back("environment: passed over for the profile chosen explicitly");
    } else if (auto done = settle(
                   environment_credentials_provider(sources).resolve(from_environment, diag))) {
        if (!*done) {
            out = std::make_unique<static_credentials_provider>(std::move(from_environment));
        }
        return *done;
    }
    if (auto done = settle(web_identity_provider::from_environment(
            executor, sources, options.region, out, diag, options.now))) {
        return *done;
    }

    loaded_profile_file credentials_file;
    loaded_profile_file config_file;
    if (error_code ec = load_profile_file(sources, "AWS_SHARED_CREDENTIALS_FILE", "credentials",
                                          profile_file_kind::credentials, credentials_file, diag)) {
        return ec;
    }
    if (error_code ec = load_profile_file(sources, "AWS_CONFIG_FILE", "config",
                                          profile_file_kind::config, config_file, diag)) {
        return ec;
    }
    profile_resolver profiles(executor, sources, options, credentials_file, config_file);
    std::vector<std::string> visited;
    if (auto done = settle(profiles.resolve(options.profile, visited, out, diag))) {
        return *done;
    }

    if (auto done = settle(container_credentials_provider::from_environment(
            executor, sources, out, diag, options.container_base_url, options.now))) {
        return *done;
    }

    std::unique_ptr<async_credentials_provider> imds;
    if (auto done = settle(imds_credentials_provider::from_environment(executor, sources, imds,
                                                                       diag, options.now))) {
        if (!*done) {
            out = std::make_unique<last_resort_provider>(std::move(imds), join(reasons));
        }
        return *done;
    }
    diag.message = "no AWS credentials found: " + join(reasons);
    return errc::credentials_unavailable;
}

}  // namespace dynalock::aws
