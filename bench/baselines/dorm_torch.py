"""PyTorch side of bench/dorm.bench.ts: Algorithm 1 steps, the MC-dropout prior, sentence-transformers features.

Called as `python dorm_torch.py '<json>'` and prints one JSON object. Inputs come as raw little-endian files in
`dir` (written by the TypeScript side): theta.f64 (the head's flat parameters [W1 (h×d), b1, W2 (1×h), b2]),
ta.f32 / tb.f32 (training pairs, n×d), va.f32 / vb.f32 (validation pairs), w0.f64 (prior weights), rows.i32
(batch rows, steps×B), vrows.i32 (validation rows, steps×V).
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
torch.set_num_threads(int(cfg.get("threads", 2)))


def cpu():
    t = os.times()
    return (t.user + t.system) * 1000


def load(name, dtype, shape=None):
    a = np.fromfile(os.path.join(cfg["dir"], name), dtype=dtype)
    return a.reshape(shape) if shape else a


class Head(torch.nn.Module):
    def __init__(self, d, h, p):
        super().__init__()
        self.l1 = torch.nn.Linear(d, h)
        self.l2 = torch.nn.Linear(h, 1)
        self.p = p

    def forward(self, x):
        z = F.relu(self.l1(x))
        z = F.dropout(z, self.p, self.training)
        return self.l2(z).squeeze(-1)


def make_head(theta, d, h, p):
    m = Head(d, h, p)
    o1 = h * d
    with torch.no_grad():
        m.l1.weight.copy_(torch.from_numpy(theta[:o1].reshape(h, d)))
        m.l1.bias.copy_(torch.from_numpy(theta[o1:o1 + h]))
        m.l2.weight.copy_(torch.from_numpy(theta[o1 + h:o1 + 2 * h].reshape(1, h)))
        m.l2.bias.copy_(torch.from_numpy(theta[o1 + 2 * h:o1 + 2 * h + 1]))
    return m


def pair_losses(m, a, b):
    return F.softplus(-(m(a) - m(b)))


cmd = cfg["cmd"]
if cmd in ("step", "prior", "check"):
    d, h, p = cfg["dim"], cfg["hidden"], cfg["dropout"]
    theta = load("theta.f64", "<f8").astype(np.float32)
    ta = torch.from_numpy(load("ta.f32", "<f4", (-1, d)))
    tb = torch.from_numpy(load("tb.f32", "<f4", (-1, d)))

if cmd == "check":
    # L_α and ∂L_α/∂θ on one batch without dropout, for the TypeScript side to compare with its float64 values.
    va = torch.from_numpy(load("va.f32", "<f4", (-1, d)))
    vb = torch.from_numpy(load("vb.f32", "<f4", (-1, d)))
    rows = torch.from_numpy(load("rows.i32", "<i4")[: cfg["batch"]].astype(np.int64))
    vrows = torch.from_numpy(load("vrows.i32", "<i4")[: cfg["vbatch"]].astype(np.int64))
    w = torch.from_numpy(load("w.f64", "<f8").astype(np.float32))
    w0 = torch.from_numpy(load("w0.f64", "<f8").astype(np.float32))
    th = make_head(theta, d, h, p).eval()
    u = make_head(load("proxy.f64", "<f8").astype(np.float32), d, h, p).eval()
    alpha, beta = cfg["alpha"], cfg["beta"]
    lv = pair_losses(th, va[vrows], vb[vrows]).mean()
    lt = pair_losses(th, ta[rows], tb[rows])
    lu = pair_losses(u, ta[rows], tb[rows])
    wb = w[rows]
    val = lv + beta * ((wb - w0[rows]) ** 2).mean() + alpha * (wb * lt).mean() - alpha * (wb * lu).mean()
    val.backward()
    g = torch.cat([th.l1.weight.grad.flatten(), th.l1.bias.grad, th.l2.weight.grad.flatten(), th.l2.bias.grad])
    print(json.dumps({"value": float(val), "grad": g.double().tolist()}))

elif cmd == "step":
    va = torch.from_numpy(load("va.f32", "<f4", (-1, d)))
    vb = torch.from_numpy(load("vb.f32", "<f4", (-1, d)))
    B, V, steps = cfg["batch"], cfg["vbatch"], cfg["steps"]
    rows = torch.from_numpy(load("rows.i32", "<i4").reshape(steps, B).astype(np.int64))
    vrows = torch.from_numpy(load("vrows.i32", "<i4").reshape(steps, V).astype(np.int64))
    w0 = torch.from_numpy(load("w0.f64", "<f8").astype(np.float32))
    alpha, beta, lr_t, lr_w = cfg["alpha"], cfg["beta"], cfg["lrTheta"], cfg["lrWeights"]
    th = make_head(theta, d, h, p).train()
    u = make_head(theta, d, h, p).train()
    opt_t = torch.optim.Adam(th.parameters(), lr=lr_t, betas=(0.9, 0.98), eps=1e-8)
    opt_u = torch.optim.Adam(u.parameters(), lr=lr_t, betas=(0.9, 0.98), eps=1e-8)
    w = torch.ones(ta.shape[0])

    def run(k):
        r, vr = rows[k], vrows[k]
        a, b = ta[r], tb[r]
        wb = w[r]
        # Line 3: the proxy's gradient at u_t.
        opt_u.zero_grad()
        lu = pair_losses(u, a, b)
        (alpha * (wb * lu).mean()).backward()
        # Line 4: θ's gradient at θ_t.
        opt_t.zero_grad()
        lt = pair_losses(th, a, b)
        (pair_losses(th, va[vr], vb[vr]).mean() + alpha * (wb * lt).mean()).backward()
        opt_u.step()
        opt_t.step()
        # Line 5 with the proximal pull, as in src/methods/dorm/solver.ts.
        with torch.no_grad():
            c = lr_w * 2 * beta / B
            g = alpha * (lt - lu) / B
            w[r] = torch.clamp((wb - lr_w * g + c * w0[r]) / (1 + c), min=0)

    run(0)  # warm-up
    c0, t0 = cpu(), time.perf_counter()
    for k in range(1, steps):
        run(k)
    n = steps - 1
    print(json.dumps({"wall": (time.perf_counter() - t0) * 1000 / n, "cpu": (cpu() - c0) / n, "torch": torch.__version__}))

elif cmd == "prior":
    N, gamma = cfg["passes"], cfg["gamma"]
    th = make_head(theta, d, h, p).train()

    def prior():
        with torch.no_grad():
            ps = torch.stack([torch.sigmoid(th(ta) - th(tb)) for _ in range(N)])
            u = ps.var(0, unbiased=False)
            q = (1 - ps.mean(0)).abs() / (ps.max(0).values - ps.min(0).values).clamp(min=1e-6)
            return torch.exp(u - gamma * q)

    def prior_hoisted():
        # The same masks' arithmetic with the first layer computed once: dropout only follows it.
        with torch.no_grad():
            ha, hb = F.relu(th.l1(ta)), F.relu(th.l1(tb))
            def margin():
                return th.l2(F.dropout(ha, p, True)).squeeze(-1) - th.l2(F.dropout(hb, p, True)).squeeze(-1)

            ps = torch.stack([torch.sigmoid(margin()) for _ in range(N)])
            u = ps.var(0, unbiased=False)
            q = (1 - ps.mean(0)).abs() / (ps.max(0).values - ps.min(0).values).clamp(min=1e-6)
            return torch.exp(u - gamma * q)

    def timed(fn):
        fn()
        times, cpus = [], []
        for _ in range(cfg["reps"]):
            c0, t0 = cpu(), time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
            cpus.append(cpu() - c0)
        return float(np.median(times)), float(np.median(cpus))

    wall, cpu_ms = timed(prior)
    hoisted_wall, _ = timed(prior_hoisted)
    print(json.dumps({"wall": wall, "cpu": cpu_ms, "hoisted_wall": hoisted_wall, "torch": torch.__version__}))

elif cmd == "features":
    from sentence_transformers import SentenceTransformer

    texts = json.load(open(os.path.join(cfg["dir"], "texts.json")))
    st = SentenceTransformer(cfg["model_dir"], device="cpu")
    st.encode(texts[:16], batch_size=16)
    c0, t0 = cpu(), time.perf_counter()
    st.encode(texts, batch_size=cfg["batch"])
    wall = (time.perf_counter() - t0) * 1000
    print(json.dumps({"wall": wall, "cpu": cpu() - c0, "torch": torch.__version__}))
