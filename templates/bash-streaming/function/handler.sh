#!/usr/bin/env bash
# stdin: the request body; stdout: the response, streamed as it is written.
set -euo pipefail
while IFS= read -r line || [ -n "$line" ]; do
  printf '%s\n' "$line"
done
