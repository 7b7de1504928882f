#!/usr/bin/env bash
# Opt-in (takes minutes, not part of npm test): build a 32-bit ARM (linux/arm/v7)
# Node base image and the test function image on it, on an amd64 host with no
# registry, then run the function as a swarm service and call it.
#
#   1. qemu-user-static + binfmt (ARM binaries run through the kernel's binfmt_misc, flag F)
#   2. debootstrap --arch=armhf bookworm (minbase) + Debian's nodejs (v18), host CA bundle
#   3. docker import, then fix the recorded platform to linux/arm/v7 (engine 20.10's
#      `docker import --platform` is ignored): save → edit config → load
#   4. function image FROM it (scripts/images/build-function.sh, BASE_IMAGE=...)
#   5. a dnsrr + host-mode-port swarm service; GET / must report "arch":"arm"
#
# usage (root): scripts/images/build-armhf.sh
# env: ROOTFS (default /var/cache/faas-ts/deb-armhf, kept between runs), MIRROR (default:
#      the mirror apt uses), BASE_TAG (faas-ts/node-base:18-armhf), FN_TAG (faas-ts-test/echo:armhf),
#      KEEP_SERVICE=1 to leave the test service running
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROOTFS=${ROOTFS:-/var/cache/faas-ts/deb-armhf}
BASE_TAG=${BASE_TAG:-faas-ts/node-base:18-armhf}
FN_TAG=${FN_TAG:-faas-ts-test/echo:armhf}
t0=$(date +%s)
step() { echo "[$(( $(date +%s) - t0 ))s] $*" >&2; }

need=()
command -v qemu-arm-static >/dev/null || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-arm 2>/dev/null || true
grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-arm || { echo "qemu-arm binfmt is not registered with flag F" >&2; exit 1; }
step "binfmt: $(head -1 /proc/sys/fs/binfmt_misc/qemu-arm)"

if [ ! -x "$ROOTFS/usr/bin/node" ]; then
  MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
  MIRROR=${MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)}
  rm -rf "$ROOTFS"; mkdir -p "$ROOTFS"
  step "debootstrap armhf (first stage) from $MIRROR"
  debootstrap --arch=armhf --foreign --variant=minbase bookworm "$ROOTFS" "$MIRROR" >/dev/null
  step "debootstrap second stage (under qemu)"
  chroot "$ROOTFS" /debootstrap/debootstrap --second-stage >/dev/null
  step "nodejs (under qemu)"
  chroot "$ROOTFS" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*'
  # ca-certificates' postinst is very slow under qemu; the bundle is the same text on every arch
  mkdir -p "$ROOTFS/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/"
  chroot "$ROOTFS" /bin/sh -c 'id app >/dev/null 2>&1 || useradd -u 1000 -m -d /home/app app'
else
  step "reusing rootfs $ROOTFS"
fi
step "rootfs node: $(chroot "$ROOTFS" node -e 'console.log(process.version, process.arch)')"

step "docker import + platform fix"
tar -C "$ROOTFS" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["node"]' - "$BASE_TAG-tmp" >/dev/null
"$here/set-image-arch.sh" "$BASE_TAG-tmp" "$BASE_TAG" arm v7 >/dev/null
docker rmi "$BASE_TAG-tmp" >/dev/null
step "base: $(docker image inspect "$BASE_TAG" --format '{{.Os}}/{{.Architecture}}/{{.Variant}}')"

step "function image"
BASE_IMAGE="$BASE_TAG" "$here/build-function.sh" "$FN_TAG-tmp" "$repo/provider-swarm/testdata/echo" "$repo/templates/node20" >/dev/null
# Emulated node starts about 10x slower: a longer healthcheck (a node process per check)
printf 'FROM %s\nHEALTHCHECK --interval=3s --timeout=20s --start-period=20s --retries=5 CMD ["node", "-e", "process.exit(require(\x27fs\x27).existsSync(\x27/tmp/.lock\x27) ? 0 : 1)"]\n' "$FN_TAG-tmp" |
  DOCKER_BUILDKIT=0 docker build -q -t "$FN_TAG" - >/dev/null
docker rmi "$FN_TAG-tmp" >/dev/null
step "function: $(docker image inspect "$FN_TAG" --format '{{.Os}}/{{.Architecture}}/{{.Variant}}')"

svc=armhf-check-$$
docker service create --detach --no-resolve-image --name "$svc" --restart-delay 0s --label faas-ts.armhf-check=1 \
  --endpoint-mode dnsrr --publish mode=host,target=8080 "$FN_TAG" >/dev/null
cleanup() { [ -n "${KEEP_SERVICE:-}" ] || docker service rm "$svc" >/dev/null 2>&1 || true; }
trap cleanup EXIT
created=$(date +%s%N)
out=""
for i in $(seq 1 600); do
  task=$(docker service ps -q --filter desired-state=running "$svc" | head -1)
  port=$( [ -n "$task" ] && docker inspect --format '{{with .Status.PortStatus.Ports}}{{(index . 0).PublishedPort}}{{end}}' "$task" 2>/dev/null || true)
  if [ -n "$port" ] && out=$(curl -sf -m 5 "http://127.0.0.1:$port/"); then break; fi
  sleep 0.2
done
[ -n "$out" ] || { echo "the armhf function never answered" >&2; docker service logs --raw "$svc" >&2; exit 1; }
step "service create → first 200: $(( ($(date +%s%N) - created) / 1000000 )) ms; answer: $out"
echo "$out" | grep -q '"arch":"arm"' || { echo "expected arch arm" >&2; exit 1; }
step "OK: $FN_TAG runs as linux/arm/v7 under qemu"
