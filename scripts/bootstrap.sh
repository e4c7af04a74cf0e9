#!/usr/bin/env bash
# Makes this checkout runnable: Node >= 22.12 (installs Node 24 from the npm registry's `node` package into a
# user-level prefix when the machine's Node is older), pnpm 12, the locked dependencies. Idempotent, and quick
# when everything is already there. Source it (`. scripts/bootstrap.sh`) to get the toolchain on PATH.
set -euo pipefail

SHELL_EXEC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN_DIR="${SHELL_EXEC_TOOLCHAIN:-${XDG_DATA_HOME:-$HOME/.local/share}/shell-exec/toolchain}"
NODE_MAJOR_WANTED=24
PNPM_VERSION="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' "$SHELL_EXEC_ROOT/package.json")"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

node_is_recent_enough() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)'
}

# A Node installed from the npm registry trusts only its bundled CAs; where the machine's trust store holds more
# (a TLS-inspecting proxy on the way to the registry), hand it the system bundle unless the caller chose one.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

export PATH="$TOOLCHAIN_DIR/bin:$PATH"

if ! node_is_recent_enough; then
  command -v npm >/dev/null 2>&1 || { log "no npm on PATH: install Node.js (any version with npm) first"; exit 1; }
  log "Node $(node --version 2>/dev/null || echo none) is older than 22.12: installing Node ${NODE_MAJOR_WANTED} into $TOOLCHAIN_DIR"
  npm install --global --prefix "$TOOLCHAIN_DIR" --no-audit --no-fund --loglevel=error "node@${NODE_MAJOR_WANTED}" >&2
  hash -r
  node_is_recent_enough || { log "Node ${NODE_MAJOR_WANTED} install did not take effect"; exit 1; }
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  log "installing pnpm ${PNPM_VERSION} into $TOOLCHAIN_DIR"
  npm install --global --prefix "$TOOLCHAIN_DIR" --no-audit --no-fund --loglevel=error "pnpm@${PNPM_VERSION}" >&2
  hash -r
fi

cd "$SHELL_EXEC_ROOT"
# A stamp of the lockfile lets a warm checkout skip pnpm's own (slower) up-to-date check.
stamp="node_modules/.shell-exec-lock-stamp"
lock_sum="$( (cat pnpm-lock.yaml 2>/dev/null; node --version) | cksum)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  log "installing dependencies (pnpm install --frozen-lockfile)"
  CI=true pnpm install --frozen-lockfile --reporter=append-only >&2
  printf '%s' "$lock_sum" > "$stamp"
fi
log "ready: node $(node --version), pnpm $(pnpm --version)"
