#!/usr/bin/env bash
# The main job, end to end on a fresh Debian machine: installs what is needed,
# builds, starts a local dynalite, runs the examples against it — a DynamoDB
# round trip, then two workers taking turns on one lease — and stops dynalite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
exec python3 tools/test_servers.py --only dynalite -- bash -c '
    export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB="$DYNALOCK_TEST_DYNALITE_URL"
    export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
    echo "== round_trip: the DynamoDB client" && build/examples/round_trip &&
    echo "== critical_section: two workers, one lease" && build/examples/critical_section'
