#!/usr/bin/env bash
# Build the Node.js runtime base image from this machine's own node binary and the
# shared libraries it links against (no registry, no network): `docker import` of a
# minimal rootfs. The image has no shell, so Dockerfiles FROM it must use exec-form
# CMD/HEALTHCHECK and no RUN.
#
# usage: scripts/images/build-base.sh [TAG]      (default faas-ts/node-base:20)
# env:   NODE_BIN (default: the node on PATH), FORCE=1 to rebuild an existing tag
set -euo pipefail
tag=${1:-faas-ts/node-base:20}
node_bin=${NODE_BIN:-$(command -v node)}
node_bin=$(readlink -f "$node_bin")
if [ -z "${FORCE:-}" ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag exists (FORCE=1 to rebuild)" >&2
  exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/etc" "$root/tmp" "$root/app" "$root/home/app"
chmod 1777 "$root/tmp"
cp "$node_bin" "$root/usr/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do cp --parents -L "$lib" "$root"; done
cp --parents -L /etc/ssl/certs/ca-certificates.crt "$root" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000:app:/home/app:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chown -R 1000:1000 "$root/home/app"
tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/bin' -c 'CMD ["node"]' - "$tag" >/dev/null
docker run --rm "$tag" node -e 'console.log("built", process.argv[1], process.version, process.arch)' "$tag"
