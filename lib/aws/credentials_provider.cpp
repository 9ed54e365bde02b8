#include "aws/credentials_provider.hpp"

namespace dynalock::aws {
namespace {

error_code unavailable(std::string reason, diagnostics& diag) {
    diag.message = std::move(reason);
    return errc::credentials_unavailable;
}

// A half-configured pair is a mistake to report, never a reason to fall back
// to other credentials the user did not mean.
error_code partial(std::string_view where, std::string_view present, std::string_view missing,
                   diagnostics& diag) {
    diag.message = std::string(where) + " sets " + std::string(present) + " but not " +
                   std::string(missing) + "; set both or neither";
    return errc::invalid_config;
}

}  // namespace

error_code environment_credentials_provider::resolve(credentials& out, diagnostics& diag) const {
    std::optional<std::string> key = sources_.get_env("AWS_ACCESS_KEY_ID");
    std::optional<std::string> secret = sources_.get_env("AWS_SECRET_ACCESS_KEY");
    bool has_key = key && !key->empty();
    bool has_secret = secret && !secret->empty();
    if (!has_key && !has_secret) {
        return unavailable("environment: AWS_ACCESS_KEY_ID is not set", diag);
    }
    if (!has_secret) {
        return partial("the environment", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", diag);
    }
    if (!has_key) {
        return partial("the environment", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", diag);
    }
    out = credentials{.access_key_id = std::move(*key),
                      .secret_access_key = std::move(*secret),
                      .session_token = sources_.get_env("AWS_SESSION_TOKEN").value_or(""),
                      .expiration = std::nullopt};
    return {};
}

error_code profile_credentials_provider::resolve(credentials& out, diagnostics& diag) const {
    if (!file_.contents) {
        return unavailable(file_.absence_reason, diag);
    }
    const profile* p = file_.find_profile(profile_name_);
    std::string where = file_.path + " profile \"" + std::string(profile_name_) + "\"";
    if (p == nullptr) {
        return unavailable(file_.path + ": no profile \"" + std::string(profile_name_) + "\"",
                           diag);
    }
    const std::string* key = find_property(*p, "aws_access_key_id");
    const std::string* secret = find_property(*p, "aws_secret_access_key");
    bool has_key = key != nullptr && !key->empty();
    bool has_secret = secret != nullptr && !secret->empty();
    if (!has_key && !has_secret) {
        return unavailable(where + " has no aws_access_key_id", diag);
    }
    if (!has_secret) {
        return partial(where, "aws_access_key_id", "aws_secret_access_key", diag);
    }
    if (!has_key) {
        return partial(where, "aws_secret_access_key", "aws_access_key_id", diag);
    }
    const std::string* token = find_property(*p, "aws_session_token");
    out = credentials{.access_key_id = *key,
                      .secret_access_key = *secret,
                      .session_token = token != nullptr ? *token : std::string(),
                      .expiration = std::nullopt};
    return {};
}

}  // namespace dynalock::aws
