"""numpy baseline of prboost-match: soft matching (thesis Eqs. 2.5-2.7) of n rows x m rules.
Input JSON: {"n", "m", "d", "k", "vocab", "alpha", "sigma", "reps", "dir"}; `dir` holds the TypeScript side's
exact inputs (rows.f32, rules.f32 raw float32; words.json with the index lists). Timed: cosine of L2-normalised rows (one matmul), overlap from multi-hot matrices
(one matmul), the mix, and the best rule per row with the σ cut. Prints {"ms": median, "checksum": ...}."""
import json
import os
import sys
import time

import numpy as np

a = json.loads(sys.argv[1])
n, m, d, k, V = a["n"], a["m"], a["d"], a["k"], a["vocab"]
emb = np.fromfile(os.path.join(a["dir"], "rows.f32"), dtype=np.float32).reshape(n, d)
rules = np.fromfile(os.path.join(a["dir"], "rules.f32"), dtype=np.float32).reshape(m, d)
words = json.load(open(os.path.join(a["dir"], "words.json")))
row_words = np.array(words["rowWords"], dtype=np.int64).reshape(n, k)
rule_words = words["ruleWords"]
U = np.zeros((n, V), dtype=np.float32)
np.put_along_axis(U, row_words, 1.0, axis=1)
R = np.zeros((m, V), dtype=np.float32)
for j, ws in enumerate(rule_words):
    R[j, ws] = 1.0


def run():
    en = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    rn = rules / np.linalg.norm(rules, axis=1, keepdims=True)
    s = a["alpha"] * (en @ rn.T) + (1 - a["alpha"]) * ((U @ R.T) / k)
    best = s.argmax(axis=1)
    score = s[np.arange(n), best]
    label = np.where(score >= a["sigma"], best, -1)
    return score, label


times = []
for _ in range(a["reps"] + 1):
    t = time.perf_counter()
    score, label = run()
    times.append((time.perf_counter() - t) * 1000)
times = sorted(times[1:])
print(json.dumps({"ms": times[len(times) // 2], "matched": int((label >= 0).sum()), "scoreSum": float(score.sum())}))
