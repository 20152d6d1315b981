#!/usr/bin/env bash
# Run the ops and model benchmarks on a machine with an NVIDIA GPU and print the records.
#
# Usage (from a checkout where `npm run setup` has run):  bash bench/device.sh [--quick]
#   --quick     small sizes, prints records without writing bench/results (a smoke run).
#   DEVICE_BENCH_MODELS=0 skips bench/models.bench.ts (it needs the model files in ../shared).
#
# How GL reaches the GPU. headless-gl 8 (the `gl` package gpu.js drives) is built on ANGLE, whose Linux
# back end speaks GLX, so it needs *an* X display even for off-screen contexts. No X server on the GPU is
# needed: in order of preference this script
#   1. uses $DISPLAY as given (e.g. a headless Xorg already running on the NVIDIA driver);
#   2. runs under VirtualGL's EGL back end (`vglrun -d egl`, VirtualGL ≥ 3): an Xvfb display for the 2-D
#      part, every GLX call redirected to EGL on the NVIDIA device (headless EGL, no X server on the GPU);
#   3. starts a headless Xorg on the NVIDIA driver when Xorg and nvidia-xconfig are installed;
#   4. otherwise falls back to Xvfb (Mesa llvmpipe): GL then runs in software and is left out of the
#      records (OPS_BENCH_BACKENDS=wasm,js), said plainly in the output.
# The renderer GL actually got is printed before the benchmarks (efflab's `glRenderer()` / `glIsHardware()`);
# with a hardware renderer `EFFLAB_BACKEND=auto` selects gl, as src/ops/registry.ts documents.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
export EFFLAB_BENCH_QUICK=$QUICK

say() { printf '[device] %s\n' "$*"; }

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/[device] gpu: /'
else
  say "nvidia-smi not found: no NVIDIA driver here; GL will not be on a GPU"
fi
[ -d node_modules/gl ] || { say "node_modules missing: run 'npm run setup' first"; exit 1; }

RUN=()
CLEANUP=()
trap 'for c in "${CLEANUP[@]:-}"; do [ -n "$c" ] && eval "$c"; done' EXIT

start_xvfb() {
  local n=99
  while [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
  Xvfb ":$n" -screen 0 64x64x24 -nolisten tcp >/dev/null 2>&1 &
  CLEANUP+=("kill $! 2>/dev/null || true")
  export DISPLAY=":$n"
  sleep 1
}

if [ -n "${DISPLAY:-}" ]; then
  say "GL: using DISPLAY=$DISPLAY"
elif command -v vglrun >/dev/null 2>&1 && command -v Xvfb >/dev/null 2>&1; then
  start_xvfb
  RUN=(vglrun -d egl)
  say "GL: VirtualGL EGL back end on the NVIDIA device (2-D display Xvfb $DISPLAY)"
elif command -v Xorg >/dev/null 2>&1 && command -v nvidia-xconfig >/dev/null 2>&1; then
  conf=$(mktemp /tmp/xorg-nvidia-XXXX.conf)
  nvidia-xconfig --use-display-device=None --virtual=64x64 --output-xconfig="$conf" >/dev/null
  Xorg :98 -config "$conf" -noreset -nolisten tcp >/dev/null 2>&1 &
  CLEANUP+=("kill $! 2>/dev/null || true" "rm -f $conf")
  export DISPLAY=:98
  sleep 2
  say "GL: headless Xorg on the NVIDIA driver (DISPLAY=:98)"
elif command -v Xvfb >/dev/null 2>&1; then
  start_xvfb
  export OPS_BENCH_BACKENDS=wasm,js
  say "GL: no VirtualGL or Xorg here; Xvfb (Mesa llvmpipe) only, so gl is left out of the records"
else
  export OPS_BENCH_BACKENDS=wasm,js
  say "GL: no X display of any kind; gl is left out of the records"
fi

"${RUN[@]}" node --import tsx -e "
  const o = require('./src/ops');
  console.log('[device] gl renderer:', o.glRenderer() ?? 'none', '| hardware:', o.glIsHardware(),
    '| auto backend:', o.getBackend(), '| wasm threads:', o.wasmUnavailableReason() ? 0 : o.wasmThreads());
"

say "ops benchmarks (bench/ops.bench.ts)"
"${RUN[@]}" node --import tsx bench/ops.bench.ts

if [ "${DEVICE_BENCH_MODELS:-1}" != "0" ]; then
  say "model benchmarks (bench/models.bench.ts), EFFLAB_BACKEND=${EFFLAB_BACKEND:-auto}"
  "${RUN[@]}" node --import tsx bench/models.bench.ts
fi

if [ "$QUICK" = "0" ]; then
  say "records:"
  for f in bench/results/ops-*.json bench/results/llm-*.json bench/results/embed*.json; do
    [ -f "$f" ] && { echo "== $f"; cat "$f"; }
  done
fi
