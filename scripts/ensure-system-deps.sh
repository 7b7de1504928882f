#!/usr/bin/env bash
# Make sure the system packages the tests use are installed. As root: apt-get
# install them. Otherwise: stop and print the exact command to run.
set -euo pipefail
# command (a name on PATH, or an absolute path) → Debian package. Debian's own
# python3 is named by path: the local Python base image is made from it, and a
# python3 elsewhere on PATH (pyenv) would hide its absence.
declare -A needed=(
  [/usr/bin/python3]=python3
  [nats-server]=nats-server
  [dockerd]=docker.io
  [chromium]=chromium
  [mosquitto]=mosquitto
  [prometheus]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
)
missing=()
for cmd in "${!needed[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needed[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
else
  echo "missing system packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
