#include "dynamodb/json_reader.hpp"
#include "dynamodb/protocol.hpp"

namespace dynalock::dynamodb {
namespace {

std::optional<attribute_map> optional_attributes(const json& object, std::string_view name) {
    const json* found = find_member(object, name);
    if (found == nullptr) {
        return std::nullopt;
    }
    return as_attributes(*found, name);
}

// The item responses are the hot path: most take the DOM-free reader, and
// whatever it leaves goes through the full one.
error_code decode_attributes_member(std::string_view body, std::string_view name,
                                    std::optional<attribute_map>& attributes, diagnostics& diag) {
    if (read_canonical_attributes_member(body, name, attributes)) {
        return {};
    }
    return decode_guarded(
        body, diag, [&](const json& object) { attributes = optional_attributes(object, name); });
}

std::uint64_t optional_unsigned(const json& object, std::string_view name) {
    const json* found = find_member(object, name);
    return found == nullptr ? 0 : as_unsigned(*found, name);
}

table_status to_table_status(std::string_view text) {
    if (text == "CREATING")
        return table_status::creating;
    if (text == "UPDATING")
        return table_status::updating;
    if (text == "DELETING")
        return table_status::deleting;
    if (text == "ACTIVE")
        return table_status::active;
    if (text == "INACCESSIBLE_ENCRYPTION_CREDENTIALS") {
        return table_status::inaccessible_encryption_credentials;
    }
    if (text == "ARCHIVING")
        return table_status::archiving;
    if (text == "ARCHIVED")
        return table_status::archived;
    return table_status::unknown;
}

scalar_attribute_type to_scalar_type(std::string_view text) {
    if (text == "S")
        return scalar_attribute_type::s;
    if (text == "N")
        return scalar_attribute_type::n;
    if (text == "B")
        return scalar_attribute_type::b;
    throw malformed_json("AttributeType: not S, N or B");
}

// KeySchema names the keys; AttributeDefinitions gives their types.
void read_key_schema(const json& description, table_description& table) {
    const json* schema = find_member(description, "KeySchema");
    if (schema == nullptr) {
        return;  // DeleteTable's description may leave it out
    }
    const json* definitions = find_member(description, "AttributeDefinitions");
    auto type_of = [&](const std::string& name) {
        if (definitions != nullptr) {
            for (const auto& definition : as_array(*definitions, "AttributeDefinitions")) {
                as_object(definition, "AttributeDefinitions");
                if (as_string(member(definition, "AttributeName"), "AttributeName") == name) {
                    return to_scalar_type(
                        as_string(member(definition, "AttributeType"), "AttributeType"));
                }
            }
        }
        throw malformed_json("AttributeDefinitions: no type for a key attribute");
    };
    bool has_partition_key = false;
    for (const auto& element : as_array(*schema, "KeySchema")) {
        as_object(element, "KeySchema");
        const std::string& name = as_string(member(element, "AttributeName"), "AttributeName");
        const std::string& key_type = as_string(member(element, "KeyType"), "KeyType");
        if (key_type == "HASH" && !has_partition_key) {
            table.partition_key = {name, type_of(name)};
            has_partition_key = true;
        } else if (key_type == "RANGE" && !table.sort_key) {
            table.sort_key = key_attribute{name, type_of(name)};
        } else {
            throw malformed_json("KeySchema: unexpected KeyType");
        }
    }
    if (!has_partition_key) {
        throw malformed_json("KeySchema: no HASH key");
    }
}

table_description read_table_description(const json& value, std::string_view what) {
    const json& description = as_object(value, what);
    table_description table;
    table.table_name = as_string(member(description, "TableName"), "TableName");
    if (const json* arn = find_member(description, "TableArn")) {
        table.table_arn = as_string(*arn, "TableArn");
    }
    if (const json* status = find_member(description, "TableStatus")) {
        table.status = to_table_status(as_string(*status, "TableStatus"));
    }
    read_key_schema(description, table);
    table.item_count = optional_unsigned(description, "ItemCount");
    table.table_size_bytes = optional_unsigned(description, "TableSizeBytes");
    if (const json* summary = find_member(description, "BillingModeSummary")) {
        if (const json* mode =
                find_member(as_object(*summary, "BillingModeSummary"), "BillingMode")) {
            table.billing_mode = as_string(*mode, "BillingMode") == "PAY_PER_REQUEST"
                                     ? billing_mode::pay_per_request
                                     : billing_mode::provisioned;
        }
    }
    if (const json* provisioned = find_member(description, "ProvisionedThroughput")) {
        const json& units = as_object(*provisioned, "ProvisionedThroughput");
        table.provisioned_throughput = {optional_unsigned(units, "ReadCapacityUnits"),
                                        optional_unsigned(units, "WriteCapacityUnits")};
    }
    return table;
}

time_to_live_status to_ttl_status(std::string_view text) {
    if (text == "ENABLING")
        return time_to_live_status::enabling;
    if (text == "DISABLING")
        return time_to_live_status::disabling;
    if (text == "ENABLED")
        return time_to_live_status::enabled;
    if (text == "DISABLED")
        return time_to_live_status::disabled;
    return time_to_live_status::unknown;
}

}  // namespace

error_code decode(std::string_view body, get_item_response& response, diagnostics& diag) {
    return decode_attributes_member(body, "Item", response.item, diag);
}

error_code decode(std::string_view body, put_item_response& response, diagnostics& diag) {
    return decode_attributes_member(body, "Attributes", response.attributes, diag);
}

error_code decode(std::string_view body, update_item_response& response, diagnostics& diag) {
    return decode_attributes_member(body, "Attributes", response.attributes, diag);
}

error_code decode(std::string_view body, delete_item_response& response, diagnostics& diag) {
    return decode_attributes_member(body, "Attributes", response.attributes, diag);
}

error_code decode(std::string_view body, item_page& response, diagnostics& diag) {
    return decode_guarded(body, diag, [&](const json& object) {
        response.items.clear();
        if (const json* items = find_member(object, "Items")) {
            for (const auto& element : as_array(*items, "Items")) {
                response.items.push_back(as_attributes(element, "Items"));
            }
        }
        response.count = as_unsigned(member(object, "Count"), "Count");
        response.scanned_count = optional_unsigned(object, "ScannedCount");
        response.last_evaluated_key = optional_attributes(object, "LastEvaluatedKey");
    });
}

error_code decode(std::string_view body, transact_write_items_response& response,
                  diagnostics& diag) {
    return decode_guarded(body, diag, [&](const json&) { response.cancellation_reasons.clear(); });
}

error_code decode(std::string_view body, create_table_response& response, diagnostics& diag) {
    return decode_guarded(body, diag, [&](const json& object) {
        response.table_description =
            read_table_description(member(object, "TableDescription"), "TableDescription");
    });
}

error_code decode(std::string_view body, describe_table_response& response, diagnostics& diag) {
    return decode_guarded(body, diag, [&](const json& object) {
        response.table = read_table_description(member(object, "Table"), "Table");
    });
}

error_code decode(std::string_view body, delete_table_response& response, diagnostics& diag) {
    return decode_guarded(body, diag, [&](const json& object) {
        response.table_description =
            read_table_description(member(object, "TableDescription"), "TableDescription");
    });
}

error_code decode(std::string_view body, update_time_to_live_response& response,
                  diagnostics& diag) {
    return decode_guarded(body, diag, [&](const json& object) {
        const json& spec =
            as_object(member(object, "TimeToLiveSpecification"), "TimeToLiveSpecification");
        response.attribute_name = as_string(member(spec, "AttributeName"), "AttributeName");
        response.enabled = as_bool(member(spec, "Enabled"), "Enabled");
    });
}

error_code decode(std::string_view body, describe_time_to_live_response& response,
                  diagnostics& diag) {
    return decode_guarded(body, diag, [&](const json& object) {
        const json& description =
            as_object(member(object, "TimeToLiveDescription"), "TimeToLiveDescription");
        response.status =
            to_ttl_status(as_string(member(description, "TimeToLiveStatus"), "TimeToLiveStatus"));
        const json* name = find_member(description, "AttributeName");
        response.attribute_name =
            name == nullptr ? std::string() : as_string(*name, "AttributeName");
    });
}

}  // namespace dynalock::dynamodb
