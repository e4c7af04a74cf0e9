#!/usr/bin/env bash
# Brings the whole system up locally and keeps it running until Ctrl-C: Redis, akash-sim with a demo deployment,
# the API and a worker. Prints an API key and a curl that runs a command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/bootstrap.sh
exec node scripts/up.ts "$@"
