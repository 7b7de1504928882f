#!/usr/bin/env bash
# Build every image of deploy/swarm/stack.yml locally (no registry):
#   faas-ts/node-base:20      scripts/images/build-base.sh (the host's node binary)
#   faas-ts/gateway           esbuild bundle of cli/main.ts (`gateway` sub-command)
#   faas-ts/provider-swarm    esbuild bundle of provider-swarm/main.ts
#   faas-ts/queue-worker      esbuild bundle of queue-worker/main.ts
#   faas-ts/nats              the host's nats-server binary
#   faas-ts/prometheus        Debian's prometheus binary
#   faas-ts/alertmanager      Debian's prometheus-alertmanager binary
# Binaries not installed on the host are taken from their Debian package with
# `apt-get download` + `dpkg -x` (nothing is installed).
#
# usage: deploy/swarm/build-images.sh [COMPONENT...]      (default: all)
# env:   FAAS_TS_TAG (dev), FAAS_TS_IMAGE_PREFIX (faas-ts), BASE_IMAGE (faas-ts/node-base:20)
#
# linux/arm/v7: set BASE_IMAGE to the armhf base from scripts/images/build-armhf.sh
# and FAAS_TS_TAG=dev-armhf. The binaries must then be armhf ones (put them in
# $BIN_DIR/{nats-server,prometheus,alertmanager}); the Node components need Node 20,
# which Debian bookworm's armhf nodejs (18) is not (see deploy/swarm/README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tag=${FAAS_TS_TAG:-dev}
prefix=${FAAS_TS_IMAGE_PREFIX:-faas-ts}
base=${BASE_IMAGE:-faas-ts/node-base:20}
components=("$@")
[ ${#components[@]} -gt 0 ] || components=(gateway provider-swarm queue-worker nats prometheus alertmanager)

docker image inspect "$base" >/dev/null 2>&1 || "$repo/scripts/images/build-base.sh" "$base"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node_app() { # name entry dockerfile
  local ctx="$work/$1"
  mkdir -p "$ctx/node_modules"
  (cd "$repo" && node deploy/swarm/bundle.mjs "$2" "$ctx/app.mjs")
  cp -r "$repo/node_modules/undici" "$ctx/node_modules/"
  # the CLI finds its package root (package.json, templates) above its own file
  cp "$repo/package.json" "$ctx/"
  cp -r "$repo/templates" "$ctx/templates"
  DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$base" -f "$here/docker/$3" -t "$prefix/$1:$tag" "$ctx" >/dev/null
}

binary() { # name dockerfile debian-package binary-path-in-package [config files...]
  local name=$1 file=$2 pkg=$3 path=$4; shift 4
  local ctx="$work/$name" bin
  mkdir -p "$ctx/bin" "$ctx/etc" "$ctx/share"
  if [ -n "${BIN_DIR:-}" ] && [ -x "$BIN_DIR/$(basename "$path")" ]; then
    bin="$BIN_DIR/$(basename "$path")"
  elif [ -x "$path" ]; then
    bin=$path
  else
    (cd "$work" && apt-get download -qq "$pkg" >/dev/null && dpkg -x "$work"/"$pkg"_*.deb "$work/pkg-$pkg")
    bin="$work/pkg-$pkg$path"
    # alertmanager's default notification templates live under /usr/share
    [ -d "$work/pkg-$pkg/usr/share/prometheus" ] && cp -r "$work/pkg-$pkg/usr/share/prometheus" "$ctx/share/"
  fi
  [ -d "/usr/share/prometheus" ] && [ "$bin" = "$path" ] && cp -r /usr/share/prometheus "$ctx/share/" || true
  cp "$bin" "$ctx/bin/$(basename "$path")"
  for f in "$@"; do cp "$f" "$ctx/etc/"; done
  DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$base" -f "$here/docker/$file" -t "$prefix/$name:$tag" "$ctx" >/dev/null
}

for c in "${components[@]}"; do
  start=$(date +%s)
  case "$c" in
    gateway) node_app gateway cli/main.ts gateway.Dockerfile ;;
    provider-swarm) node_app provider-swarm provider-swarm/main.ts provider.Dockerfile ;;
    queue-worker) node_app queue-worker queue-worker/main.ts queue-worker.Dockerfile ;;
    nats) binary nats nats.Dockerfile nats-server /usr/sbin/nats-server ;;
    prometheus) binary prometheus prometheus.Dockerfile prometheus /usr/bin/prometheus "$here/prometheus/prometheus.yml" "$here/prometheus/alert.rules.yml" ;;
    alertmanager) binary alertmanager alertmanager.Dockerfile prometheus-alertmanager /usr/bin/prometheus-alertmanager "$here/prometheus/alertmanager.yml" ;;
    *) echo "unknown component: $c" >&2; exit 2 ;;
  esac
  echo "$prefix/$c:$tag ($(( $(date +%s) - start ))s)"
done
