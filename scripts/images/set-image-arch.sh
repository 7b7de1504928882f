#!/usr/bin/env bash
# usage: set-image-arch.sh SRC_IMAGE DST_IMAGE ARCH [VARIANT]   e.g. local/x:tmp local/x:armhf arm v7
# Engine 20.10's `docker import` records the host architecture whatever --platform says;
# rewrite the image config's architecture/variant with save → edit → load.
set -euo pipefail
src=$1; dst=$2; arch=$3; variant=${4:-}
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
docker save "$src" | tar -C "$d" -x
cfg=$(node -e 'console.log(require(process.argv[1])[0].Config)' "$d/manifest.json")
node -e '
  const fs = require("fs"); const [cfgPath, manPath, dst, arch, variant] = process.argv.slice(1);
  const c = JSON.parse(fs.readFileSync(cfgPath)); c.architecture = arch;
  if (variant) c.variant = variant; else delete c.variant;
  fs.writeFileSync(cfgPath, JSON.stringify(c));
  const m = JSON.parse(fs.readFileSync(manPath)); m[0].RepoTags = [dst]; fs.writeFileSync(manPath, JSON.stringify(m));
  fs.rmSync(require("path").dirname(manPath) + "/repositories", { force: true });
' "$d/$cfg" "$d/manifest.json" "$dst" "$arch" "$variant"
tar -C "$d" -c . | docker load -q
