#!/usr/bin/env bash
# Runs the Dockerfile's build and runtime steps without Docker (no daemon on the machines we test
# on): a clean temp dir gets exactly what the build stage COPYs, then `npm ci`, `npm run build`,
# `npm prune --omit=dev`; a second dir gets only what the runtime stage copies (package.json,
# node_modules, dist), and `node dist/src/main.js` must start there with NODE_ENV=production and
# answer /healthz. What this does NOT check: the base image (node:20-bookworm-slim), the `node`
# user and file ownership, the HEALTHCHECK line as Docker runs it, and the image's size.
#   bash scripts/check-image-build.sh      (exit 0: every step passed)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "[build stage] in $work/build"
mkdir -p "$work/build"
cd "$work/build"
cp "$repo/package.json" "$repo/package-lock.json" .
npm ci --no-audit --no-fund --loglevel=error
cp "$repo/tsconfig.json" "$repo/tsconfig.build.json" .
cp -r "$repo/schema" "$repo/src" "$repo/connectors" .
npm run build --silent
npm prune --omit=dev --no-audit --no-fund --loglevel=error

echo "[runtime stage] in $work/app"
mkdir -p "$work/app"
cp -r package.json node_modules dist "$work/app/"
cd "$work/app"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
# As compose runs it: a tenants file, a public URL, a vault key (no Redis: the in-memory stores).
digest="$(node -e "console.log(require('crypto').createHash('sha256').update(require('crypto').randomBytes(32)).digest('hex'))")"
printf '{"tenants":[{"id":"acme","apiKeys":[{"id":"k","sha256":"%s"}],"connections":[]}]}' "$digest" >"$work/tenants.json"
NODE_ENV=production HOST=127.0.0.1 PORT="$port" SWITCHBOARD_CONFIG="$work/tenants.json" \
  SWITCHBOARD_PUBLIC_URL="https://switchboard.example.com" \
  SWITCHBOARD_MASTER_KEYS="check:$(node -e "console.log(require('crypto').randomBytes(32).toString('base64'))")" \
  node dist/src/main.js >"$work/out.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    echo "[runtime stage] node dist/src/main.js answered /healthz on port $port (production mode, dev dependencies pruned)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "the gateway exited:"; cat "$work/out.log"; exit 1; fi
  sleep 0.3
done
echo "no /healthz answer within 30 s:"; cat "$work/out.log"; exit 1
