#!/usr/bin/env bash
# The whole suite: format + lint + type check, then every test file under node's built-in runner.
# GL-backed tests need an X server: the runner is started under xvfb-run so the headless-gl backend
# (gpu.js 'headlessgl' on Mesa) is available to every test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export EFFLAB_REPO_ROOT="$(pwd)"
echo "[test] prettier --check"
npx prettier --check . --log-level warn
echo "[test] eslint"
npx eslint . --max-warnings 0
echo "[test] tsc --noEmit"
npx tsc -p tsconfig.json --noEmit
mapfile -t files < <(find tests -name '*.test.ts' | sort)
echo "[test] node --test (${#files[@]} files) under xvfb-run"
mkdir -p test-artifacts
exec xvfb-run -a -s "-screen 0 1280x1024x24" node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./scripts/summary-reporter.mjs --test-reporter-destination=stdout "${files[@]}"
