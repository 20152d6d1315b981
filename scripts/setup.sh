#!/usr/bin/env bash
# Idempotent set-up: brings a fresh machine (Debian, Node 20, npm 11, python3) to a working efflab.
# Each step checks what is already there and does only what is missing, so `npm test` and `npm start`
# can call it every time. Steps contributed by later parts of the project live in scripts/setup.d/*.sh
# and run in name order after the core steps; each must be idempotent too.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STAMPS="$ROOT/.setup-stamps"
mkdir -p "$STAMPS"
log() { printf '[setup] %s\n' "$*"; }

# --- 1. Debian packages: Xvfb + Mesa + X11/GL headers for headless-gl, build tools, Chromium. ---
APT_PACKAGES=(xvfb xauth mesa-utils libgl1-mesa-dri libgl1-mesa-dev libglu1-mesa-dev libglew-dev libxi-dev
  libx11-dev libxext-dev pkg-config build-essential python3-venv chromium fonts-dejavu-core)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- 2. npm dependencies (native `gl` is built from source; it is approved in package.json allowScripts). ---
lock_hash=$(sha256sum package.json package-lock.json | sha256sum | cut -c1-16)
if [ ! -d node_modules ] || [ "$(cat "$STAMPS/npm" 2>/dev/null)" != "$lock_hash" ]; then
  log "npm: installing dependencies"
  npm install --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$STAMPS/npm"
fi
if [ ! -f node_modules/gl/build/Release/webgl.node ]; then
  log "npm: building the native gl module"
  npm rebuild gl
fi

# --- 3. Python venv with JupyterLab and the numeric baselines. ---
if [ ! -x .venv/bin/python ]; then
  log "venv: creating .venv"
  python3 -m venv .venv
fi
req_hash=$(cat scripts/requirements/*.txt | sha256sum | cut -c1-16)
if [ "$(cat "$STAMPS/pip" 2>/dev/null)" != "$req_hash" ]; then
  log "venv: installing scripts/requirements/*.txt"
  .venv/bin/python -m pip install -q --upgrade pip
  for f in scripts/requirements/*.txt; do .venv/bin/python -m pip install -q -r "$f"; done
  echo "$req_hash" > "$STAMPS/pip"
fi

# --- 4. Build the TypeScript library (incremental). ---
log "build: tsc"
npx tsc -p tsconfig.build.json

# --- 5. Contributed steps (kernelspec, labextension, model weights, ...). ---
for step in scripts/setup.d/*.sh; do
  [ -e "$step" ] || continue
  log "step: $step"
  bash "$step"
done
log "ready"
