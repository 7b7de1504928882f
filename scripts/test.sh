#!/usr/bin/env bash
# The whole test suite: bring system packages the tests need, build, run tap,
# and print a closing "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-deps.sh
npm run build --silent
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
npx tap "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
node scripts/tap-summary.mjs "$log"
exit "$status"
