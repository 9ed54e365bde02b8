#!/usr/bin/env bash
# The main job, end to end on a fresh Debian machine: installs what is needed,
# builds, starts a local dynalite, runs the example against it, stops dynalite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
exec python3 tools/test_servers.py --only dynalite -- bash -c '
    AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB="$DYNALOCK_TEST_DYNALITE_URL" \
    AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo build/examples/round_trip'
