#!/usr/bin/env bash
# Build a function image with no registry: FROM the local Node base, with
# dist/fwatchdog.cjs and a template runtime (default templates/node20).
#
# usage: scripts/images/build-function.sh TAG HANDLER_DIR [TEMPLATE_DIR]
# env:   BASE_IMAGE (default faas-ts/node-base:20; built if missing when it is the default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tag=$1; handler=$2; template=${3:-$repo/templates/node20}
base=${BASE_IMAGE:-faas-ts/node-base:20}
[ -f "$repo/dist/fwatchdog.cjs" ] || (cd "$repo" && npm run -s build:watchdog)
docker image inspect "$base" >/dev/null 2>&1 || "$here/build-base.sh" "$base"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$repo/dist/fwatchdog.cjs" "$ctx/"
mkdir -p "$ctx/template" "$ctx/function"
for f in index.js package.json; do [ -f "$template/$f" ] && cp "$template/$f" "$ctx/template/"; done
cp -r "$handler"/. "$ctx/function/"
cp "$here/function.Dockerfile" "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$base" -t "$tag" "$ctx" >/dev/null
echo "$tag"
