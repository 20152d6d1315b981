"""Baselines for the ops benchmarks, timed in the same run as ours.

argv[1]: JSON {"matmul": [512, 1024], "attention": {...}, "cosine": {...}, "reps": 5}
Prints JSON with median milliseconds per case and which implementation ran. numpy runs with its
default thread pool (reported via threadpoolctl); PyTorch is used for attention when importable.
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


out = {}
try:
    from threadpoolctl import threadpool_info

    out["blas"] = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} threads={i.get('num_threads')}" for i in threadpool_info()]
except Exception as e:  # threadpoolctl is optional
    out["blas"] = [f"unknown ({e})"]

rng = np.random.default_rng(0)
out["matmul"] = {}
for n in cfg.get("matmul", []):
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out["matmul"][str(n)] = median_ms(lambda: a @ b)

att = cfg.get("attention")
if att:
    T, Hq, Hkv, D = att["T"], att["Hq"], att["Hkv"], att["D"]
    q = rng.standard_normal((1, T, Hq, D), dtype=np.float32)
    k = rng.standard_normal((1, T, Hkv, D), dtype=np.float32)
    v = rng.standard_normal((1, T, Hkv, D), dtype=np.float32)
    try:
        import torch

        torch.set_num_threads(2)
        qt = torch.from_numpy(q).transpose(1, 2)
        kt = torch.from_numpy(k).transpose(1, 2).repeat_interleave(Hq // Hkv, dim=1)
        vt = torch.from_numpy(v).transpose(1, 2).repeat_interleave(Hq // Hkv, dim=1)
        f = lambda: torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=True)
        out["attention"] = {"ms": median_ms(f), "impl": f"PyTorch {torch.__version__} scaled_dot_product_attention (CPU, 2 threads)"}
    except ImportError:
        g = Hq // Hkv
        mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)

        def f():
            res = np.empty((T, Hq, D), dtype=np.float32)
            for h in range(Hq):
                s = q[0, :, h, :] @ k[0, :, h // g, :].T / np.float32(np.sqrt(D)) + mask
                s = np.exp(s - s.max(-1, keepdims=True))
                s /= s.sum(-1, keepdims=True)
                res[:, h, :] = s @ v[0, :, h // g, :]
            return res

        out["attention"] = {"ms": median_ms(f), "impl": f"numpy {np.__version__} (per-head matmuls, float32)"}

cos = cfg.get("cosine")
if cos:
    a = rng.standard_normal((cos["n"], cos["d"]), dtype=np.float32)
    b = rng.standard_normal((cos["m"], cos["d"]), dtype=np.float32)

    def f():
        an = a / np.linalg.norm(a, axis=1, keepdims=True)
        bn = b / np.linalg.norm(b, axis=1, keepdims=True)
        return an @ bn.T

    out["cosine"] = {"ms": median_ms(f), "impl": f"numpy {np.__version__} (normalise rows, matmul)"}

out["numpy"] = np.__version__
print(json.dumps(out))
