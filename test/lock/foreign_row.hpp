#pragma once

// Lock rows as another tool might write them, for the tests of how badly
// written rows are read.

#include <dynalock/attribute_value.hpp>

#include <string>

namespace dynalock::test {

/// A lock row as another tool might write it: well formed (owner
/// "other-tool", lease 1000 ms, version "r1") but for `changes`, where a
/// null_value erases the attribute.
inline item foreign_row(const std::string& key, const item& changes = {}) {
    item it{{"key", attribute_value{key}},
            {"ownerName", attribute_value{"other-tool"}},
            {"leaseDuration", attribute_value{"1000"}},
            {"recordVersionNumber", attribute_value{"r1"}}};
    for (const auto& [name, value] : changes) {
        if (value.is<null_value>()) {
            it.erase(name);
        } else {
            it.insert_or_assign(name, value);
        }
    }
    return it;
}

}  // namespace dynalock::test
