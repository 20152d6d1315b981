"""Baselines for bench/gemm.bench.ts, timed in the same run as ours.

argv[1]: JSON {"gemm": [[M, N, K, transB], ...], "matvec": {"layers": [[N, K], ...]}, "bandwidth_mb": 256, "reps": 5}
Prints JSON: median ms per GEMM shape (numpy float32, its default BLAS threads), median ms of the float32
matrix-vector products over the layer stack (W @ x, one after another), and the machine's streaming read
bandwidth (GB/s of numpy summing a large float32 array, median of reps).
"""
import json
import sys
import time

import numpy as np

cfg = json.loads(sys.argv[1])
reps = cfg.get("reps", 5)


def median_ms(fn, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return ts[len(ts) // 2]


rng = np.random.default_rng(0)
out = {"numpy": np.__version__, "gemm": []}
try:
    cfgs = np.show_config(mode="dicts")
    out["blas"] = cfgs.get("Build Dependencies", {}).get("blas", {}).get("name", "unknown")
except Exception as e:  # older numpy
    out["blas"] = f"unknown ({e})"

for M, N, K, trans_b in cfg.get("gemm", []):
    a = rng.standard_normal((M, K), dtype=np.float32)
    b = rng.standard_normal((N, K) if trans_b else (K, N), dtype=np.float32)
    f = (lambda: a @ b.T) if trans_b else (lambda: a @ b)
    out["gemm"].append(median_ms(f))

mv = cfg.get("matvec")
if mv:
    ws = [rng.standard_normal((n, k), dtype=np.float32) for n, k in mv["layers"]]
    xs = [rng.standard_normal(k, dtype=np.float32) for _, k in mv["layers"]]

    def chain():
        for w, x in zip(ws, xs):
            w @ x

    out["matvec_ms"] = median_ms(chain)
    out["matvec_bytes"] = sum(w.nbytes for w in ws)

mb = cfg.get("bandwidth_mb")
if mb:
    big = np.ones(mb * 2**20 // 4, dtype=np.float32)
    ms = median_ms(lambda: big.sum())
    out["read_gbs"] = big.nbytes / (ms * 1e6)

print(json.dumps(out))
