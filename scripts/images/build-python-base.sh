#!/usr/bin/env bash
# Python template base (faas-ts/python-base:3) from this machine's Debian python3 and
# its standard library, plus node (the watchdog runs on it), sh and bash: no registry.
# If only pyenv's python is present: apt-get install -y python3-minimal first.
# usage: scripts/images/build-python-base.sh [TAG]   (see build-runtime-base.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=1 exec "$here/build-runtime-base.sh" "${1:-faas-ts/python-base:3}"
