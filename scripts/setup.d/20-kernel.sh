#!/usr/bin/env bash
# Installs the `efflab` kernelspec into .venv (idempotent): TypeScript (efflab), run by this
# checkout's Node with the compiled kernel in dist/. Rewritten only when its content changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
NODE=$(command -v node)
MAIN="$ROOT/dist/kernel/src/main.js"
if [ ! -f "$MAIN" ]; then
  echo "[setup] kernel: $MAIN is missing (did tsc run?)" >&2
  exit 1
fi
SPEC=$(mktemp -d)
trap 'rm -rf "$SPEC"' EXIT
mkdir -p "$SPEC/efflab"
cat > "$SPEC/efflab/kernel.json" <<JSON
{
  "argv": ["$NODE", "$MAIN", "--connection-file", "{connection_file}"],
  "display_name": "TypeScript (efflab)",
  "language": "typescript",
  "interrupt_mode": "message",
  "metadata": { "debugger": false }
}
JSON
TARGET=.venv/share/jupyter/kernels/efflab/kernel.json
if cmp -s "$SPEC/efflab/kernel.json" "$TARGET"; then
  echo "[setup] kernel: kernelspec efflab is up to date"
else
  .venv/bin/jupyter kernelspec install --sys-prefix --name efflab "$SPEC/efflab" >/dev/null 2>&1
  echo "[setup] kernel: installed kernelspec efflab into .venv"
fi
