#!/usr/bin/env bash
# Build the certifier's generic function image with no registry: the faas-ts watchdog
# in classic mode on the local Node base, with the host's coreutils (classic.Dockerfile).
# Tag it `functions/alpine:latest` to stand in for the upstream image on a node that
# cannot pull.
#
# usage: scripts/images/build-classic.sh TAG [HEALTHCHECK_INTERVAL]   (default interval 2s)
# env:   BASE_IMAGE (default faas-ts/node-base:20; built if missing),
#        LABEL (optional KEY=VALUE image label, e.g. an input hash for caching)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tag=$1; interval=${2:-2s}
base=${BASE_IMAGE:-faas-ts/node-base:20}
tools="cat env sha512sum sha256sum md5sum wc head tr echo sleep"
[ -f "$repo/dist/fwatchdog.cjs" ] || (cd "$repo" && npm run -s build:watchdog)
docker image inspect "$base" >/dev/null 2>&1 || "$here/build-base.sh" "$base"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$repo/dist/fwatchdog.cjs" "$ctx/"
mkdir -p "$ctx/root/usr/bin"
for tool in $tools; do
  bin=$(readlink -f "$(type -P "$tool")")
  cp "$bin" "$ctx/root/usr/bin/$tool"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do cp --parents -L "$lib" "$ctx/root"; done
done
sed "s/@HEALTHCHECK_INTERVAL@/$interval/" "$here/classic.Dockerfile" >"$ctx/Dockerfile"
label=()
[ -n "${LABEL:-}" ] && label=(--label "$LABEL")
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$base" "${label[@]}" -t "$tag" "$ctx" >/dev/null
echo "$tag"
