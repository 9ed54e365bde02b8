// The client's per-request CPU outside the network, piece by piece: encoding an
// UpdateItem body, signing it, and decoding an ALL_NEW UpdateItem response.
// Google Benchmark flags apply (e.g. --benchmark_filter, --benchmark_repetitions).
// The usual console table goes to stderr; stdout gets one JSON line per run.

#include "harness/json_line.hpp"

#include "dynamodb/protocol.hpp"

#include "sigv4/signer.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <iostream>
#include <string>

namespace {

namespace ddb = dynalock::dynamodb;

/// An acquire as the lock layer sends it: the widest UpdateItem on the hot path.
ddb::update_item_request acquire_request() {
    ddb::update_item_request r;
    r.table_name = "locks";
    r.key = {{"key", "shard-0042"}};
    r.update_expression =
        "SET #on = :on, #ld = :ld, #rvn = :rvn, #f = if_not_exists(#f, :zero) + :one REMOVE #ir";
    r.condition_expression = "attribute_not_exists(#pk) OR #ir = :ir";
    r.expression_attribute_names = {{"#pk", "key"},           {"#on", "ownerName"},
                                    {"#ld", "leaseDuration"}, {"#rvn", "recordVersionNumber"},
                                    {"#f", "fence"},          {"#ir", "isReleased"}};
    r.expression_attribute_values = {{":on", "worker-7.example.internal-3f9a"},
                                     {":ld", "20000"},
                                     {":rvn", "5f0c2b9e-8d7a-41c3-b6e2-d9f8a7c6b5e4"},
                                     {":zero", dynalock::number{"0"}},
                                     {":one", dynalock::number{"1"}},
                                     {":ir", "1"}};
    r.return_values = ddb::return_values::all_new;
    return r;
}

/// The ALL_NEW answer to that acquire: the lock item's six attributes.
constexpr std::string_view acquire_response_body =
    R"({"Attributes":{"key":{"S":"shard-0042"},"ownerName":{"S":"worker-7.example.internal-3f9a"},)"
    R"("leaseDuration":{"S":"20000"},"recordVersionNumber":{"S":"5f0c2b9e-8d7a-41c3-b6e2-d9f8a7c6b5e4"},)"
    R"("fence":{"N":"1842"},"data":{"B":"eyJqb2IiOiJyZWluZGV4IiwicGFydCI6NDJ9"}}})";

/// Signs `body` as the client does: host, content-type and target headers.
class request_signer {
public:
    request_signer()
        : signer_("us-east-1", "dynamodb"),
          host_(dynalock::sigv4::host_header_value("dynamodb.us-east-1.amazonaws.com", 443, true)) {
        credentials_.access_key_id = "AKIDEXAMPLE";
        credentials_.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    }

    dynalock::error_code sign(std::string_view body) {
        const std::array<dynalock::sigv4::header, 3> headers{{
            {"host", host_},
            {"content-type", ddb::content_type},
            {"x-amz-target", ddb::operation<ddb::update_item_request>::target},
        }};
        const dynalock::sigv4::request request{"POST", "/", "", headers, body};
        const auto ec =
            signer_.sign(request, credentials_, std::chrono::system_clock::now(), auth_);
        benchmark::DoNotOptimize(auth_.authorization.data());
        return ec;
    }

private:
    dynalock::sigv4::signer signer_;
    std::string host_;
    dynalock::credentials credentials_;
    dynalock::sigv4::auth_headers auth_;
};

void encode_update_item(benchmark::State& state) {
    const auto request = acquire_request();
    std::string body;
    for (auto _ : state) {
        ddb::encode(request, body);
        benchmark::DoNotOptimize(body.data());
    }
}
BENCHMARK(encode_update_item);

void sign_update_item(benchmark::State& state) {
    const auto body = ddb::encode(acquire_request());
    request_signer signer;
    for (auto _ : state) {
        if (const auto ec = signer.sign(body)) {
            state.SkipWithError(("sign: " + ec.message()).c_str());
            break;
        }
    }
}
BENCHMARK(sign_update_item);

/// What every attempt costs before the first byte is written.
void encode_and_sign_update_item(benchmark::State& state) {
    const auto request = acquire_request();
    std::string body;
    request_signer signer;
    for (auto _ : state) {
        ddb::encode(request, body);
        if (const auto ec = signer.sign(body)) {
            state.SkipWithError(("sign: " + ec.message()).c_str());
            break;
        }
    }
}
BENCHMARK(encode_and_sign_update_item);

void decode_update_item_response(benchmark::State& state) {
    dynalock::diagnostics diag;
    for (auto _ : state) {
        ddb::update_item_response response;
        if (const auto ec = ddb::decode(acquire_response_body, response, diag)) {
            state.SkipWithError(("decode: " + diag.message).c_str());
            break;
        }
        benchmark::DoNotOptimize(response);
    }
}
BENCHMARK(decode_update_item_response);

/// The console table on stderr, plus one compact JSON line per run on stdout.
class json_lines_reporter : public benchmark::ConsoleReporter {
public:
    json_lines_reporter() : ConsoleReporter(OO_None) {
        SetOutputStream(&std::cerr);
        SetErrorStream(&std::cerr);
    }

    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& run : runs) {
            const double to_ns = 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
            dynalock::harness::json_line line;
            line.add("bench", "micro").add("name", run.benchmark_name());
            if (run.run_type == Run::RT_Aggregate)
                line.add("aggregate", run.aggregate_name);
            if (run.error_occurred)
                line.add("error", run.error_message);
            line.add("iterations", static_cast<std::int64_t>(run.iterations));
            if (run.aggregate_unit == benchmark::kPercentage) {  // e.g. the cv aggregate
                line.add("real", run.real_accumulated_time).add("cpu", run.cpu_accumulated_time);
            } else {
                line.add("real_ns", run.GetAdjustedRealTime() * to_ns)
                    .add("cpu_ns", run.GetAdjustedCPUTime() * to_ns);
            }
            for (const auto& [name, counter] : run.counters)
                line.add(name, counter.value);
            line.print();
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    json_lines_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
}
