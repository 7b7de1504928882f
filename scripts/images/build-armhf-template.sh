#!/usr/bin/env bash
# Opt-in (not part of npm test; see README "armhf"): build the bash-streaming
# template's image for linux/arm/v7 on an amd64 host, with no registry, and
# check that its watchdog answers a request under qemu emulation.
#
#   1. the armhf Node base (Debian bookworm armhf rootfs via debootstrap, run
#      through qemu-user-static + binfmt): built by scripts/images/build-armhf.sh
#      when the tag is missing (minutes the first time; the rootfs is cached)
#   2. image: the template's function/ and template env (mode=streaming,
#      fprocess="bash function/handler.sh"), the bundled watchdog, user 1000,
#      HEALTHCHECK on the lock file, CMD the watchdog
#   3. docker run --platform linux/arm/v7 on a loopback port; poll /_/health,
#      POST a body, expect it streamed back; `uname -m` inside must be armv7l
#
# usage (root): scripts/images/build-armhf-template.sh
# env: BASE_TAG (faas-ts/node-base:18-armhf), TAG (faas-ts-test/bash-streaming:armhf),
#      TEMPLATE (templates/bash-streaming), KEEP=1 keeps the container
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BASE_TAG=${BASE_TAG:-faas-ts/node-base:18-armhf}
TAG=${TAG:-faas-ts-test/bash-streaming:armhf}
TEMPLATE=${TEMPLATE:-$repo/templates/bash-streaming}
t0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
step() { echo "[$(ms "$t0") ms] $*" >&2; }

[ -e /proc/sys/fs/binfmt_misc/qemu-arm ] || update-binfmts --enable qemu-arm 2>/dev/null || true
if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  step "base $BASE_TAG missing: scripts/images/build-armhf.sh"
  BASE_TAG="$BASE_TAG" "$here/build-armhf.sh"
fi
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-arm || { echo "qemu-arm binfmt is not registered with flag F (run scripts/images/build-armhf.sh once)" >&2; exit 1; }
step "binfmt: $(head -1 /proc/sys/fs/binfmt_misc/qemu-arm); base $(docker image inspect "$BASE_TAG" --format '{{.Os}}/{{.Architecture}}/{{.Variant}}')"
[ -f "$repo/dist/fwatchdog.cjs" ] || (cd "$repo" && npm run -s build:watchdog)

ctx=$(mktemp -d)
c=""
cleanup() { rm -rf "$ctx"; [ -n "$c" ] && [ -z "${KEEP:-}" ] && docker rm -f "$c" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cp "$repo/dist/fwatchdog.cjs" "$ctx/"
cp -r "$TEMPLATE/function" "$ctx/function"
fprocess=$(node -e 'console.log(require(process.argv[1]).fprocess)' "$TEMPLATE/faas-ts.env.json")
mode=$(node -e 'console.log(require(process.argv[1]).mode)' "$TEMPLATE/faas-ts.env.json")
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE_TAG
COPY fwatchdog.cjs /usr/lib/faas-ts/fwatchdog.cjs
WORKDIR /home/app
COPY --chown=1000:1000 function/ ./function/
USER 1000:1000
ENV mode="$mode" fprocess="$fprocess"
# Emulated node starts about 10x slower than native.
HEALTHCHECK --interval=3s --timeout=20s --start-period=20s --retries=5 CMD ["node", "-e", "process.exit(require('fs').existsSync('/tmp/.lock') ? 0 : 1)"]
EXPOSE 8080
CMD ["node", "/usr/lib/faas-ts/fwatchdog.cjs"]
DOCKERFILE
tb=$(date +%s%N)
DOCKER_BUILDKIT=0 docker build -q -t "$TAG-tmp" "$ctx" >/dev/null
# The legacy builder records the daemon's architecture: set linux/arm/v7 explicitly.
"$here/set-image-arch.sh" "$TAG-tmp" "$TAG" arm v7 >/dev/null
docker rmi "$TAG-tmp" >/dev/null
step "image $TAG built in $(ms "$tb") ms: $(docker image inspect "$TAG" --format '{{.Os}}/{{.Architecture}}/{{.Variant}} user={{.Config.User}}')"

tr=$(date +%s%N)
c=$(docker run -d --platform linux/arm/v7 -p 127.0.0.1::8080 "$TAG")
port=$(docker port "$c" 8080/tcp | head -1 | sed 's/.*://')
for _ in $(seq 1 600); do
  curl -sf -m 5 "http://127.0.0.1:$port/_/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf -m 5 "http://127.0.0.1:$port/_/health" >/dev/null || { echo "watchdog never became healthy" >&2; docker logs "$c" >&2; exit 1; }
step "docker run → /_/health 200: $(ms "$tr") ms"
ti=$(date +%s%N)
out=$(printf 'hello from armhf\nsecond line\n' | curl -sf -m 60 --data-binary @- "http://127.0.0.1:$port/")
step "first invocation (fork bash under qemu): $(ms "$ti") ms"
[ "$out" = "$(printf 'hello from armhf\nsecond line')" ] || { echo "unexpected answer: $out" >&2; docker logs "$c" >&2; exit 1; }
machine=$(docker exec "$c" uname -m)
[ "$machine" = armv7l ] || { echo "expected uname -m armv7l, got $machine" >&2; exit 1; }
step "answer: $(echo "$out" | tr '\n' '|'); uname -m in the container: $machine"
docker logs "$c" 2>&1 | tail -4 >&2
step "OK: the $(basename "$TEMPLATE") template runs as linux/arm/v7 under qemu (total $(ms "$t0") ms)"
