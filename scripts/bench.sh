#!/usr/bin/env bash
# Every benchmark under bench/*.bench.ts (under xvfb-run so the GL backend is measured too).
# Each writes bench/results/<name>.json with its baseline measured in the same run.
# Usage: bash scripts/bench.sh [name-filter]
set -euo pipefail
cd "$(dirname "$0")/.."
filter="${1:-}"
for f in bench/*.bench.ts; do
  [[ -z "$filter" || "$f" == *"$filter"* ]] || continue
  echo "[bench] $f"
  xvfb-run -a -s "-screen 0 1280x1024x24" node --import tsx "$f"
done
