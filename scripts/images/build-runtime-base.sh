#!/usr/bin/env bash
# Build a template runtime base image from this machine's own files (no registry, no
# network): node, a POSIX shell (dash as /bin/sh), bash and the few coreutils the
# template Dockerfiles' RUN lines use, each with the shared libraries ldd reports,
# put together by `docker import`. With PYTHON=1 it also holds the machine's Debian
# python3 and its standard library (lib-dynload extension modules and their libraries
# included). /etc/passwd has root and nobody only: the template Dockerfiles add uid 1000
# (with no useradd/adduser in the image, by appending to /etc/passwd).
#
# The templates take it as their base with --build-arg BASE_IMAGE=<tag>, e.g.
#   scripts/images/build-runtime-base.sh                  -> faas-ts/runtime-base:20
#   scripts/images/build-python-base.sh                   -> faas-ts/python-base:3
#
# usage: scripts/images/build-runtime-base.sh [TAG]
# env:   PYTHON=1 add python3; PYTHON_BIN (default /usr/bin/python3, Debian's, not pyenv's);
#        NODE_BIN (default: node on PATH); FORCE=1 rebuild even when the inputs are unchanged.
# Cache: the image carries a label with a hash of the input files (path, size, mtime) and
# of this script; when the tag exists with the same hash nothing is done (well under 1 s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-}
if [ -n "$python" ]; then tag=${1:-faas-ts/python-base:3}; else tag=${1:-faas-ts/runtime-base:20}; fi
node_bin=$(readlink -f "${NODE_BIN:-$(command -v node)}")
tools="/usr/bin/dash /usr/bin/bash /usr/bin/env /usr/bin/cat /usr/bin/chmod /usr/bin/chown /usr/bin/mkdir /usr/bin/rm /usr/bin/cp /usr/bin/mv /usr/bin/ln /usr/bin/ls /usr/bin/id /usr/bin/grep /usr/bin/sed /usr/bin/head /usr/bin/touch /usr/bin/sleep /usr/bin/uname"
bins="$node_bin $tools"
pydir=""
if [ -n "$python" ]; then
  py_bin=$(readlink -f "${PYTHON_BIN:-/usr/bin/python3}")
  [ -x "$py_bin" ] || { echo "no Debian python3 at ${PYTHON_BIN:-/usr/bin/python3}: apt-get install -y python3-minimal" >&2; exit 1; }
  pyver=$("$py_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  pydir=/usr/lib/python$pyver
  bins="$bins $py_bin"
fi
libs_of() { ldd "$@" 2>/dev/null | grep -v ':$' | grep -o '/[^ :]*' | sort -u; }
dynload=""
[ -n "$pydir" ] && dynload=$(ls "$pydir"/lib-dynload/*.so)
# shellcheck disable=SC2086
files=$( { printf '%s\n' $bins; libs_of $bins $dynload; } | sort -u)
hash=$( { cat "$0"; for f in $files; do stat -L -c '%n %s %Y' "$f"; done; [ -n "$pydir" ] && find "$pydir" -maxdepth 1 -newer "$py_bin" -printf '%p %T@\n' | sort; true; } | sha256sum | cut -c1-16)
if [ -z "${FORCE:-}" ] && [ "$(docker image inspect "$tag" --format '{{index .Config.Labels "faas-ts.base-inputs"}}' 2>/dev/null)" = "$hash" ]; then
  echo "$tag is up to date (inputs $hash)" >&2
  exit 0
fi
t0=$(date +%s%N)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/usr/bin "$root"/usr/sbin "$root"/usr/lib "$root"/usr/lib64 "$root"/etc "$root"/tmp "$root"/root "$root"/var/openfaas/secrets
# Mirror the host's merged /usr (bin -> usr/bin, lib64 -> usr/lib64, ...) so the ELF
# interpreter and library paths that ldd printed resolve the same way.
for d in bin sbin lib lib64; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$root/$d"; else mkdir -p "$root/$d"; fi
done
chmod 1777 "$root/tmp"
for f in $files; do cp --parents -L "$f" "$root"; done
ln -sf dash "$root/usr/bin/sh"
[ "$node_bin" = /usr/bin/node ] || ln -sf "$node_bin" "$root/usr/bin/node"
if [ -n "$pydir" ]; then
  cp -a --parents "$pydir" "$root"
  rm -rf "$root$pydir/test" "$root$pydir/idlelib" "$root$pydir/tkinter" "$root$pydir/ensurepip" "$root$pydir/lib2to3/tests"
  [ -d "/etc/python$pyver" ] && cp -a --parents "/etc/python$pyver" "$root"
  ln -sf "$(basename "$py_bin")" "$root/usr/bin/python3"
  [ -e "$root/usr/bin/python" ] || ln -s python3 "$root/usr/bin/python"
fi
cp --parents -L /etc/ssl/certs/ca-certificates.crt "$root" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\npasswd: files\ngroup: files\n' >"$root/etc/nsswitch.conf"
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "LABEL faas-ts.base-inputs=$hash" -c 'CMD ["/bin/sh"]' - "$tag" >/dev/null
echo "built $tag in $(( ($(date +%s%N) - t0) / 1000000 )) ms ($(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%d MB", $1/1e6}'))" >&2
docker run --rm "$tag" sh -c 'node -e "console.log(\"node\", process.version, process.arch)"; if command -v python3 >/dev/null; then python3 -c "import sys, json, http.server, email; print(\"python\", sys.version.split()[0])"; fi' >&2
