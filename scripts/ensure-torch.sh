#!/usr/bin/env bash
# Installs the heavy Python reference stack (PyTorch CPU, transformers, sentence-transformers, gguf) into
# .venv on demand. Used only by scripts/make-model-fixtures.py and bench/models.bench.ts, never by
# `npm test`. Idempotent: a no-op when the packages already import.
#
# PyPI has no CPU-only torch build for Linux x86-64; the default wheel pulls the CUDA libraries (a few GB).
# Set TORCH_INDEX_URL to a CPU wheel index if one is reachable; otherwise PyPI's wheel is used as is.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "ensure-torch: .venv is missing; run npm run setup first" >&2; exit 1; }
if "$PY" -c 'import torch, transformers, sentence_transformers, gguf, accelerate' 2>/dev/null; then
  exit 0
fi
echo "[ensure-torch] installing torch, transformers, sentence-transformers, gguf into .venv (large, once)" >&2
extra=()
[ -n "${TORCH_INDEX_URL:-}" ] && extra=(--index-url "$TORCH_INDEX_URL" --extra-index-url https://pypi.org/simple)
"$PY" -m pip install -q "${extra[@]}" 'torch>=2.4' 'transformers>=4.46' 'sentence-transformers>=3' 'gguf>=0.10' 'accelerate' 'sentencepiece' 'safetensors'
"$PY" -c 'import torch, transformers, sentence_transformers, gguf; print("[ensure-torch] torch", torch.__version__, "transformers", transformers.__version__)' >&2
