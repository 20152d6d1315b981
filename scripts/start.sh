#!/usr/bin/env bash
# `npm start` (after setup): JupyterLab from .venv on notebooks/, configured by jupyter-config.json
# (notebook folder, default kernel `efflab`, the tour as the first page). Without a display, the
# server runs under xvfb-run so kernels can use efflab's headless-GL backend. Extra arguments go
# to `jupyter lab` (e.g. `npm start -- --no-browser --port 8899`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/jupyter ]; then
  echo "[start] .venv is missing: run npm run setup" >&2
  exit 1
fi
cmd=(.venv/bin/jupyter lab --config=jupyter-config.json)
# Containers and CI often run as root, which JupyterLab refuses without this flag.
[ "$(id -u)" = 0 ] && cmd+=(--allow-root)
cmd+=("$@")
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
  exec xvfb-run -a -s "-screen 0 1280x1024x24" "${cmd[@]}"
fi
exec "${cmd[@]}"
