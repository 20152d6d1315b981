#!/usr/bin/env bash
# Installs the peers that bench/models.bench.ts measures beside ours, on demand (never by `npm run setup` or
# `npm test`), into bench/peers/node_modules (ignored by git, prettier, eslint and tsc):
#   - node-llama-cpp 3.21.1 with its prebuilt CPU binaries (@node-llama-cpp/linux-x64), run on the repo's
#     SmolLM2 Q4_1 GGUF (llm-prefill, llm-decode);
#   - @huggingface/transformers 4.3.2 (onnxruntime-node 1.30.0, CPU) on all-MiniLM-L6-v2 exported to ONNX
#     from the repo's own safetensors (embed).
# Install scripts: none is run (--ignore-scripts). node-llama-cpp's postinstall would only probe/compile a
# binary (the prebuilt one is used at run time with build: 'never'); onnxruntime-node's would download the
# CUDA provider libraries from NuGet (ONNXRUNTIME_NODE_INSTALL=skip is set as well); protobufjs's only
# prints a version-scheme warning. --omit=optional drops the other platforms' and the CUDA/Vulkan builds of
# node-llama-cpp; the two platform packages that are needed are named in bench/peers/package.json.
# The ONNX export needs the `onnx` Python package, which .venv lacks: it goes (with protobuf and ml_dtypes,
# --no-deps) into bench/peers/node_modules/.efflab-pylib, not into .venv. Idempotent: a no-op when present.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=bench/peers
NM=$PEERS/node_modules
ONNX_DIR=$NM/.efflab-minilm-onnx
PYLIB=$NM/.efflab-pylib
PY=.venv/bin/python
[ -x "$PY" ] || { echo "ensure-peers: .venv is missing; run npm run setup first" >&2; exit 1; }

installed() { # name version
  node -e 'const p=require(process.argv[1]+"/package.json"); process.exit(p.version===process.argv[2]?0:1)' \
    "$PWD/$NM/$1" "$2" 2>/dev/null
}
if ! { installed node-llama-cpp 3.21.1 && installed @node-llama-cpp/linux-x64 3.21.1 &&
  installed @huggingface/transformers 4.3.2 && installed @img/sharp-linux-x64 0.35.4; }; then
  echo "[ensure-peers] npm ci --prefix $PEERS (node-llama-cpp, transformers.js; ~560 MB, once)" >&2
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix "$PEERS" --ignore-scripts --omit=optional --no-audit --no-fund >&2
fi

if [ ! -s "$ONNX_DIR/onnx/model.onnx" ]; then
  bash scripts/ensure-torch.sh
  if ! PYTHONPATH="$PYLIB" "$PY" -c 'import onnx' 2>/dev/null; then
    echo "[ensure-peers] onnx 1.23.1 into $PYLIB (for torch.onnx.export)" >&2
    "$PY" -m pip install -q --target "$PYLIB" --no-deps 'onnx==1.23.1' 'protobuf==6.33.6' 'ml_dtypes==0.5.4'
  fi
  rm -rf "$ONNX_DIR.tmp"
  log=$(mktemp)
  if ! PYTHONPATH="$PYLIB" "$PY" bench/baselines/export_minilm_onnx.py "$ONNX_DIR.tmp" >"$log" 2>&1 ||
    [ ! -s "$ONNX_DIR.tmp/onnx/model.onnx" ]; then
    cat "$log" >&2; echo "ensure-peers: the ONNX export of MiniLM failed (log above)" >&2; exit 1
  fi
  grep '^\[export_minilm_onnx\]' "$log" >&2 || true
  rm -f "$log"
  rm -rf "$ONNX_DIR" && mv "$ONNX_DIR.tmp" "$ONNX_DIR"
fi
