#include "dynamodb/item_write.hpp"
#include "dynamodb/json_writer.hpp"
#include "dynamodb/protocol.hpp"
#include "thread_spares.hpp"

#include <string>

namespace dynalock::dynamodb {
namespace {

std::string_view wire_name(return_values v) {
    switch (v) {
        case return_values::none:
            return "NONE";
        case return_values::all_old:
            return "ALL_OLD";
        case return_values::updated_old:
            return "UPDATED_OLD";
        case return_values::all_new:
            return "ALL_NEW";
        case return_values::updated_new:
            return "UPDATED_NEW";
    }
    return "NONE";
}

std::string_view wire_name(select_attributes v) {
    switch (v) {
        case select_attributes::unspecified:
            break;
        case select_attributes::all_attributes:
            return "ALL_ATTRIBUTES";
        case select_attributes::all_projected_attributes:
            return "ALL_PROJECTED_ATTRIBUTES";
        case select_attributes::specific_attributes:
            return "SPECIFIC_ATTRIBUTES";
        case select_attributes::count:
            return "COUNT";
    }
    return {};
}

std::string_view wire_name(scalar_attribute_type v) {
    switch (v) {
        case scalar_attribute_type::s:
            return "S";
        case scalar_attribute_type::n:
            return "N";
        case scalar_attribute_type::b:
            return "B";
    }
    return "S";
}

// The default (NONE) is left out, which keeps heartbeat bodies short.
void write_return_values(json_writer& w, return_values v) {
    if (v != return_values::none) {
        w.key("ReturnValues");
        w.string(wire_name(v));
    }
}

void write_return_values_on_failure(json_writer& w, return_values_on_condition_check_failure v) {
    if (v == return_values_on_condition_check_failure::all_old) {
        w.key("ReturnValuesOnConditionCheckFailure");
        w.string("ALL_OLD");
    }
}

void write_condition(json_writer& w, const std::string& condition, const expression_names& names,
                     const expression_values& values) {
    w.optional_string("ConditionExpression", condition);
    w.optional_names("ExpressionAttributeNames", names);
    w.optional_attributes("ExpressionAttributeValues", values);
}

void write_table_key(json_writer& w, const std::string& table_name, const item& key) {
    w.key("TableName");
    w.string(table_name);
    w.key("Key");
    w.attributes(key);
}

void write_table_name_only(const std::string& table_name, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    w.key("TableName");
    w.string(table_name);
    w.end_object();
}

void write_key_attribute(json_writer& w, const key_attribute& a, std::string_view key_type,
                         bool schema) {
    w.begin_object();
    w.key("AttributeName");
    w.string(a.name);
    w.key(schema ? json_name("KeyType") : json_name("AttributeType"));
    w.string(schema ? key_type : wire_name(a.type));
    w.end_object();
}

// Query and Scan share every member but a few.
template <class Request>
void write_read_options(json_writer& w, const Request& r) {
    w.key("TableName");
    w.string(r.table_name);
    w.optional_string("IndexName", r.index_name);
    w.optional_string("FilterExpression", r.filter_expression);
    w.optional_string("ProjectionExpression", r.projection_expression);
    w.optional_names("ExpressionAttributeNames", r.expression_attribute_names);
    w.optional_attributes("ExpressionAttributeValues", r.expression_attribute_values);
    if (r.limit) {
        w.key("Limit");
        w.unsigned_number(*r.limit);
    }
    if (r.consistent_read) {
        w.key("ConsistentRead");
        w.boolean(true);
    }
    if (r.select != select_attributes::unspecified) {
        w.key("Select");
        w.string(wire_name(r.select));
    }
    if (r.exclusive_start_key) {
        w.key("ExclusiveStartKey");
        w.attributes(*r.exclusive_start_key);
    }
}

void write_transact_entry(json_writer& w, const transact_write_item& entry) {
    struct visitor {
        json_writer& w;
        void operator()(const transact_put& p) {
            w.key("Put");
            w.begin_object();
            w.key("TableName");
            w.string(p.table_name);
            w.key("Item");
            w.attributes(p.item);
            write_condition(w, p.condition_expression, p.expression_attribute_names,
                            p.expression_attribute_values);
            write_return_values_on_failure(w, p.return_values_on_condition_check_failure);
            w.end_object();
        }
        void operator()(const transact_update& u) {
            w.key("Update");
            w.begin_object();
            write_table_key(w, u.table_name, u.key);
            w.key("UpdateExpression");
            w.string(u.update_expression);
            write_condition(w, u.condition_expression, u.expression_attribute_names,
                            u.expression_attribute_values);
            write_return_values_on_failure(w, u.return_values_on_condition_check_failure);
            w.end_object();
        }
        void operator()(const transact_delete& d) {
            w.key("Delete");
            w.begin_object();
            write_table_key(w, d.table_name, d.key);
            write_condition(w, d.condition_expression, d.expression_attribute_names,
                            d.expression_attribute_values);
            write_return_values_on_failure(w, d.return_values_on_condition_check_failure);
            w.end_object();
        }
        void operator()(const condition_check& c) {
            w.key("ConditionCheck");
            w.begin_object();
            write_table_key(w, c.table_name, c.key);
            write_condition(w, c.condition_expression, c.expression_attribute_names,
                            c.expression_attribute_values);
            write_return_values_on_failure(w, c.return_values_on_condition_check_failure);
            w.end_object();
        }
    };
    w.begin_object();
    std::visit(visitor{w}, entry);
    w.end_object();
}

}  // namespace

void encode(const get_item_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    write_table_key(w, r.table_name, r.key);
    if (r.consistent_read) {
        w.key("ConsistentRead");
        w.boolean(true);
    }
    w.optional_string("ProjectionExpression", r.projection_expression);
    w.optional_names("ExpressionAttributeNames", r.expression_attribute_names);
    w.end_object();
}

void encode(const put_item_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    w.key("TableName");
    w.string(r.table_name);
    w.key("Item");
    w.attributes(r.item);
    write_condition(w, r.condition_expression, r.expression_attribute_names,
                    r.expression_attribute_values);
    write_return_values(w, r.return_values);
    write_return_values_on_failure(w, r.return_values_on_condition_check_failure);
    w.end_object();
}

void encode(const update_item_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    write_table_key(w, r.table_name, r.key);
    w.optional_string("UpdateExpression", r.update_expression);
    write_condition(w, r.condition_expression, r.expression_attribute_names,
                    r.expression_attribute_values);
    write_return_values(w, r.return_values);
    write_return_values_on_failure(w, r.return_values_on_condition_check_failure);
    w.end_object();
}

void encode(const delete_item_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    write_table_key(w, r.table_name, r.key);
    write_condition(w, r.condition_expression, r.expression_attribute_names,
                    r.expression_attribute_values);
    write_return_values(w, r.return_values);
    write_return_values_on_failure(w, r.return_values_on_condition_check_failure);
    w.end_object();
}

void encode(const query_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    write_read_options(w, r);
    w.optional_string("KeyConditionExpression", r.key_condition_expression);
    if (!r.scan_index_forward) {
        w.key("ScanIndexForward");
        w.boolean(false);
    }
    w.end_object();
}

void encode(const scan_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    write_read_options(w, r);
    if (r.segment) {
        w.key("Segment");
        w.unsigned_number(*r.segment);
    }
    if (r.total_segments) {
        w.key("TotalSegments");
        w.unsigned_number(*r.total_segments);
    }
    w.end_object();
}

void encode(const transact_write_items_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    w.key("TransactItems");
    w.begin_array();
    for (const auto& entry : r.transact_items) {
        write_transact_entry(w, entry);
    }
    w.end_array();
    w.optional_string("ClientRequestToken", r.client_request_token);
    w.end_object();
}

void encode(const create_table_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    w.key("TableName");
    w.string(r.table_name);
    for (const bool schema : {false, true}) {
        w.key(schema ? json_name("KeySchema") : json_name("AttributeDefinitions"));
        w.begin_array();
        write_key_attribute(w, r.partition_key, "HASH", schema);
        if (r.sort_key) {
            write_key_attribute(w, *r.sort_key, "RANGE", schema);
        }
        w.end_array();
    }
    w.key("BillingMode");
    if (r.billing_mode == billing_mode::provisioned) {
        w.string("PROVISIONED");
        w.key("ProvisionedThroughput");
        w.begin_object();
        w.key("ReadCapacityUnits");
        w.unsigned_number(r.provisioned_throughput.read_capacity_units);
        w.key("WriteCapacityUnits");
        w.unsigned_number(r.provisioned_throughput.write_capacity_units);
        w.end_object();
    } else {
        w.string("PAY_PER_REQUEST");
    }
    w.end_object();
}

void encode(const describe_table_request& r, std::string& body) {
    write_table_name_only(r.table_name, body);
}

void encode(const delete_table_request& r, std::string& body) {
    write_table_name_only(r.table_name, body);
}

void encode(const describe_time_to_live_request& r, std::string& body) {
    write_table_name_only(r.table_name, body);
}

void encode(const update_time_to_live_request& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    w.key("TableName");
    w.string(r.table_name);
    w.key("TimeToLiveSpecification");
    w.begin_object();
    w.key("AttributeName");
    w.string(r.attribute_name);
    w.key("Enabled");
    w.boolean(r.enabled);
    w.end_object();
    w.end_object();
}

void encode(const item_write& r, std::string& body) {
    body.clear();
    json_writer w(body);
    w.begin_object();
    w.key("TableName");
    w.string(r.table_name);
    w.key("Key");
    w.begin_object();
    for (const auto& [name, value] : r.key) {
        w.escaped_key(name);
        w.begin_object();
        w.key("S");
        w.string(value);
        w.end_object();
    }
    w.end_object();
    w.optional_string("UpdateExpression", r.update_expression);
    w.optional_string("ConditionExpression", r.condition_expression);
    if (!r.names.empty()) {
        w.key("ExpressionAttributeNames");
        w.begin_object();
        for (const auto& [placeholder, name] : r.names) {
            w.escaped_key(placeholder);
            w.string(name);
        }
        w.end_object();
    }
    if (!r.values.empty()) {
        w.key("ExpressionAttributeValues");
        w.begin_object();
        for (const auto& [placeholder, value] : r.values) {
            w.escaped_key(placeholder);
            w.attribute(*value);
        }
        w.end_object();
    }
    write_return_values(w, r.return_values);
    write_return_values_on_failure(w, r.return_values_on_condition_check_failure);
    w.end_object();
}

// As many as requests a client has out at once by default, each of at most
// 4 KiB: a large page's buffer is not kept.
using spare_bodies = detail::thread_spares<struct body_tag, std::string, 64>;
constexpr std::size_t largest_body_kept = 4096;

std::string new_body() {
    if (auto spare = spare_bodies::take()) {
        return std::move(*spare);
    }
    std::string body;
    body.reserve(initial_body_capacity);
    return body;
}

void recycle_body(std::string&& body) noexcept {
    if (body.capacity() >= initial_body_capacity && body.capacity() <= largest_body_kept) {
        body.clear();
        spare_bodies::give(std::move(body));
    }
}

}  // namespace dynalock::dynamodb
