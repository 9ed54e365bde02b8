#!/usr/bin/env bash
# The main job, end to end on a fresh Debian machine: installs what is needed,
# builds, starts a local dynalite, and runs examples/shard_demo.py against it —
# three worker processes share 24 shard leases, one is killed with SIGKILL, the
# others take its shards over with higher fences — then stops dynalite. Every
# process it starts is stopped, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
exec python3 tools/test_servers.py --only dynalite -- bash -c '
    export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB="$DYNALOCK_TEST_DYNALITE_URL"
    export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
    # The demo parses the /metrics of a worker with python3-prometheus-client
    # (Debian), which another python3 earlier on PATH may not see.
    py=python3
    "$py" -c "import prometheus_client" 2>/dev/null || py=/usr/bin/python3
    exec "$py" examples/shard_demo.py --worker build/examples/shard_workers \
        --cli build/tools/cli/dynalock'
