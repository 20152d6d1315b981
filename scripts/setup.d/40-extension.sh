#!/usr/bin/env bash
# Builds the JupyterLab extension in extension/ and installs it into .venv as a prebuilt labextension.
# Idempotent: npm runs only when extension/package*.json changed, the webpack build only when the
# sources changed (hash stamp in .setup-stamps/), and the install is a symlink that is fixed if wrong.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
EXT="$ROOT/extension"
STAMPS="$ROOT/.setup-stamps"
NAME=efflab-extension
OUT="$EXT/efflab_extension/labextension"
DEST="$ROOT/.venv/share/jupyter/labextensions/$NAME"
mkdir -p "$STAMPS"
log() { printf '[setup:extension] %s\n' "$*"; }

deps_hash=$(cat "$EXT/package.json" "$EXT/package-lock.json" | sha256sum | cut -c1-16)
if [ ! -d "$EXT/node_modules" ] || [ "$(cat "$STAMPS/extension-npm" 2>/dev/null)" != "$deps_hash" ]; then
  log "npm: installing extension dependencies"
  (cd "$EXT" && flock /tmp/efflab-npm.lock npm install --no-audit --no-fund --loglevel=error)
  echo "$deps_hash" > "$STAMPS/extension-npm"
fi

# The extension also compiles the shared wire contract src/protocol (and src/errors.ts it throws).
src_hash=$( (cd "$EXT" && find src style package.json package-lock.json tsconfig.json webpack.config.js \
  ../src/protocol ../src/errors.ts -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
if [ ! -f "$OUT/package.json" ] || [ "$(cat "$STAMPS/extension-build" 2>/dev/null)" != "$src_hash" ]; then
  log "build: tsc + @jupyterlab/builder (a few minutes: plotly.js is large)"
  core=$("$ROOT/.venv/bin/python" -c 'import jupyterlab, os; print(os.path.join(os.path.dirname(jupyterlab.__file__), "staging"))')
  (cd "$EXT" && npx tsc -p tsconfig.json && node node_modules/@jupyterlab/builder/lib/build-labextension.js \
    --core-path "$core" .)
  echo "$src_hash" > "$STAMPS/extension-build"
fi

if [ "$(readlink "$DEST" 2>/dev/null)" != "$OUT" ]; then
  log "install: linking $DEST -> $OUT"
  mkdir -p "$(dirname "$DEST")"
  rm -rf "$DEST"
  ln -s "$OUT" "$DEST"
fi
if ! "$ROOT/.venv/bin/jupyter" labextension list 2>&1 | grep -q "$NAME.*enabled.*OK"; then
  "$ROOT/.venv/bin/jupyter" labextension list >&2 || true
  echo "[setup:extension] $NAME is not listed as enabled and OK by 'jupyter labextension list'" >&2
  exit 1
fi
