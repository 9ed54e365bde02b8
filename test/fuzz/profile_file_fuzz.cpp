// The text of a shared config or credentials file (~/.aws/config,
// ~/.aws/credentials), parsed as both kinds. A file the user or a tool wrote
// badly gives errc::invalid_config with "<path>:<line>: <problem>", never a
// crash; what parses keeps its documented shape.
#include "fuzz_check.hpp"

#include <aws/profile_file.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

using namespace dynalock;
using namespace dynalock::aws;
using dynalock::fuzz::require;

constexpr std::string_view path = "/fuzz/config";

bool lower_case(std::string_view key) {
    for (const char c : key) {
        if (std::isupper(static_cast<unsigned char>(c))) {
            return false;
        }
    }
    return true;
}

void parse_as(std::string_view text, profile_file_kind kind) {
    profile_file parsed;
    diagnostics diag;
    const error_code ec = parse_profile_file(text, path, kind, parsed, diag);
    if (ec) {
        require(ec == errc::invalid_config, "a bad file gives invalid_config");
        require(diag.message.starts_with(std::string(path) + ":"),
                "the message names the file and line");
        return;
    }
    for (const auto* sections : {&parsed.profiles, &parsed.services}) {
        for (const auto& [name, properties] : *sections) {
            for (const auto& [key, property] : properties) {
                require(lower_case(key), "keys are stored lower-case");
                require(find_property(properties, key) == &property.value,
                        "find_property finds every key");
                for (const auto& sub : property.sub_properties) {
                    require(lower_case(sub.first), "sub-property keys are stored lower-case");
                }
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    parse_as(text, profile_file_kind::config);
    parse_as(text, profile_file_kind::credentials);
    return 0;
}
