#!/usr/bin/env bash
# Builds the image with Docker and smoke-tests it (docs/deployment.md, "What has and has not been
# verified"): a Redis container and the gateway's demo on a private network; /healthz, /readyz and a
# demo query must answer, Docker's HEALTHCHECK must report healthy, `docker stop` must drain and exit
# 0, and the container must run as uid 1000. Prints the image size. Needs a Docker daemon and the
# base images (node:20-bookworm-slim, redis:7-bookworm) pulled or built locally.
#   bash scripts/check-image-docker.sh        (exit 0: every check passed)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tag="switchboard:check-$$"
net="sb-check-$$"
key="sb_image_check_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
cleanup() {
  docker rm -f "sb-gw-$$" "sb-redis-$$" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  docker rmi "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; docker logs "sb-gw-$$" 2>&1 | tail -20 || true; exit 1; }

echo "[build] $tag"
docker build -q -t "$tag" "$repo" >/dev/null
echo "[build] image size: $(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}')"
[ "$(docker run --rm "$tag" id -u)" = 1000 ] || fail "the image does not run as uid 1000"

docker network create "$net" >/dev/null
docker run -d --name "sb-redis-$$" --network "$net" redis:7-bookworm redis-server --save '' >/dev/null
docker run -d --name "sb-gw-$$" --network "$net" -e NODE_ENV=development -e REDIS_URL="redis://sb-redis-$$:6379" \
  -e SWITCHBOARD_DEMO_API_KEY="$key" "$tag" >/dev/null
# Requests from a throwaway container on the same network (no published port needed).
inside() { docker run --rm --network "$net" "$tag" node -e "$1"; }
for _ in $(seq 1 60); do
  inside "fetch('http://sb-gw-$$:4000/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" && break
  [ "$(docker inspect "sb-gw-$$" --format '{{.State.Running}}')" = true ] || fail "the gateway exited"
  sleep 1
done
inside "fetch('http://sb-gw-$$:4000/healthz').then(async (r) => { console.log('[run] /healthz', r.status, await r.text()); process.exit(r.ok ? 0 : 1) })" || fail /healthz
inside "fetch('http://sb-gw-$$:4000/readyz').then(async (r) => { console.log('[run] /readyz', r.status, await r.text()); process.exit(r.ok ? 0 : 1) })" || fail /readyz
inside "fetch('http://sb-gw-$$:4000/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer $key' },
  body: JSON.stringify({ query: '{ contacts(first: 2) { nodes { name } } }' }) }).then((r) => r.json()).then((b) => {
  console.log('[run] demo query', JSON.stringify(b)); process.exit(b.data?.contacts?.nodes?.length === 2 ? 0 : 1) })" || fail "demo query"

for _ in $(seq 1 60); do
  health="$(docker inspect "sb-gw-$$" --format '{{.State.Health.Status}}')"
  [ "$health" = starting ] || break
  sleep 1
done
[ "$health" = healthy ] || fail "HEALTHCHECK says $health"
echo "[run] HEALTHCHECK: $health"

docker stop -t 30 "sb-gw-$$" >/dev/null
code="$(docker inspect "sb-gw-$$" --format '{{.State.ExitCode}}')"
[ "$code" = 0 ] || fail "docker stop: exit code $code"
docker logs "sb-gw-$$" 2>&1 | grep -q 'drain: closed Redis connections; stopped' || fail "no drain in the log"
echo "[stop] docker stop: drained, exit 0"
echo "all checks passed"
