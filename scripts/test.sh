#!/usr/bin/env bash
# The whole test suite: lint, type check, then every test (unit, integration over a private Redis, akash-sim).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/bootstrap.sh
exec pnpm test "$@"
